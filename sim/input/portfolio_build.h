/*
 * portfolio_build.h: what the CSV loader (portfolio.c) and the built-in
 * books (models/books) share to build a cas_portfolio. Internal to the
 * engine library: not part of the interface of portfolio.h.
 */
#ifndef CASCADE_PORTFOLIO_BUILD_H
#define CASCADE_PORTFOLIO_BUILD_H

#include <stddef.h>

#include "portfolio.h"

/* A zeroed portfolio (n = 0, no ids, parks or classification) whose row
 * arrays (ead, pd, lgd, region, sector, city, park) have room for cap loans
 * (at least 1); NULL when out of memory. Free with cas_portfolio_destroy. */
cas_portfolio *cas_portfolio_alloc(size_t cap);

#endif
