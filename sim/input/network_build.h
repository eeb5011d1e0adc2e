/*
 * network_build.h: what the links loader (network.c) and the built-in
 * networks (models/networks) share to build a cas_network: links gathered
 * in arrival order, bucketed by source into compressed rows, repeated
 * links found or dropped, the statistics filled in. Internal to the engine
 * library: not part of the interface of network.h.
 */
#ifndef CASCADE_NETWORK_BUILD_H
#define CASCADE_NETWORK_BUILD_H

#include <stddef.h>
#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "error.h"
#include "network.h"
#include "portfolio.h"

/* OpenMP's thread counts, 1 thread (number 0) without OpenMP. */
static inline int cas_max_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

static inline int cas_thread_num(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

static inline int cas_team_size(void) {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

/* Links in arrival order (rows of a file, or generation order). */
typedef struct cas_linklist {
  uint32_t *from, *to;
  double *weight, *amount;
  uint8_t *type;
  size_t n, cap;
} cas_linklist;

/* Room for cap links (n unchanged); -1 when out of memory. */
int cas_linklist_reserve(cas_linklist *L, size_t cap);
/* Frees the arrays and zeroes L. */
void cas_linklist_free(cas_linklist *L);

/* Writes link k (k < cap). */
static inline void cas_linklist_put(cas_linklist *L, size_t k, uint32_t from, uint32_t to, int type,
                                    double weight, double amount) {
  L->from[k] = from;
  L->to[k] = to;
  L->type[k] = (uint8_t)type;
  L->weight[k] = weight;
  L->amount[k] = amount;
}

/* A new network of nloans loans holding the links of L by source, each
 * source's links in their order in L (a stable counting sort); NULL when
 * out of memory. If row is not NULL, row[p] receives the index in L of the
 * link at position p. */
cas_network *cas_network_from_list(const cas_linklist *L, size_t nloans, uint32_t *row);

/* Links repeating an earlier (from, to, type). drop: removes them, each
 * source keeping its first of every (to, type) in order (the generators).
 * Otherwise leaves the network as it is and reports the repeat earliest in
 * arrival order, row[p] being the arrival index of position p: *found = 1,
 * *rep_row and *orig_row the rows of the repeat and of its original (the
 * loader). CAS_ERR_NOMEM, or CAS_ERR_INTERNAL for a source of more than
 * 2^31 links; no message is set. */
cas_status cas_network_scan_repeats(cas_network *net, const uint32_t *row, int drop, int *found,
                                    uint64_t *rep_row, uint64_t *orig_row);

/* Fills links_by_type and cross_region_links. */
void cas_network_count(cas_network *net, const cas_portfolio *pf);

/* Gives back the unused tail of the link arrays (best effort). */
void cas_network_trim(cas_network *net);

#endif
