/*
 * networks.h: the registry of built-in networks, the links between the
 * borrowers of a book drawn from the book and a seed.
 *
 * A scenario names its network (network: {builtin: NAME, seed}; the word
 * `none`, no network, is not a model); `cascade run` then generates it
 * through this registry (run.c). One file per model, each exporting one
 * descriptor; the registry is a constant table (networks.c). "yrd" is the
 * network of the Yangtze River Delta book (models/networks/yrd.c,
 * docs/NETWORK.md).
 *
 * Every model must satisfy, and tests/test_networks.c checks for every
 * registered one on a built-in book: the network depends on (book, seed)
 * only, the same bytes for any number of threads; it refers to the book's
 * loans (nloans, offsets from 0 to nlinks), every link joins two different
 * loans, weights are in [0, CAS_LINK_WEIGHT_MAX], guarantees carry a
 * finite amount > 0 and supply-chain links none (0), and no (from, to,
 * type) appears twice; links_by_type and cross_region_links count the
 * links. A book the model cannot draw for is CAS_ERR_INPUT.
 */
#ifndef CASCADE_NETWORKS_H
#define CASCADE_NETWORKS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "network.h"
#include "portfolio.h"
#include "registry.h"

typedef struct cas_network_model {
  cas_model_info info;  /* name and one-line description */
  /* Draws the links of book pf from seed into *out (owned by the caller,
   * cas_network_destroy); on failure *out is NULL and err says why. */
  cas_status (*generate)(const cas_portfolio *pf, uint64_t seed, cas_network **out,
                         cas_error *err);
} cas_network_model;

/* yrd: cas_network_generate (network.h). */
extern const cas_network_model cas_network_yrd;

/* The name a scenario's network.builtin holds when it names no built-in
 * network (it has none, or a links CSV): the default book's network. */
#define CAS_NETWORK_DEFAULT "yrd"

/* The model called name, or NULL. */
const cas_network_model *cas_network_lookup(const char *name);
/* Comma-separated names of every registered model. */
void cas_network_list(char *buf, size_t size);
/* Registry walk: the i-th model, NULL past the end. */
const cas_network_model *cas_network_at(size_t i);

#endif
