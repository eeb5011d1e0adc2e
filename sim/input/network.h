/*
 * network.h: directed links between borrowers, along which defaults spread.
 *
 * A link from -> to says: when `from` defaults, `to` is hit.
 *   supply_chain: `to`'s latent variable is shifted down by weight [SD];
 *   guarantee:    `from` is the borrower, `to` its guarantor, who covers
 *                 amount [CNY] of its loan: the guarantee is called, the
 *                 covered part is lost only if `to` defaults too
 *                 (contagion.h), and `to`'s latent variable is shifted down
 *                 by weight [SD].
 * Each loan of the portfolio is one borrower. Links are stored by source
 * (compressed sparse rows), sources and targets being portfolio indices;
 * within a source, links keep file or generation order.
 *
 * Memory: 8 bytes per loan (offsets) + 21 bytes per link.
 */
#ifndef CASCADE_NETWORK_H
#define CASCADE_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "portfolio.h"

typedef enum cas_link_type {
  CAS_LINK_SUPPLY_CHAIN = 0,
  CAS_LINK_GUARANTEE = 1,
  CAS_NLINK_TYPES
} cas_link_type;

extern const char *const cas_link_type_names[CAS_NLINK_TYPES]; /* "supply_chain", "guarantee" */

/* Largest weight a link may carry [SD of the latent variable]. */
#define CAS_LINK_WEIGHT_MAX 5.0

typedef struct cas_network {
  size_t nloans;        /* size of the portfolio it refers to */
  size_t nlinks;
  uint64_t *offset;     /* [nloans + 1]: links of loan i are offset[i] .. offset[i+1]-1 */
  uint32_t *target;     /* [nlinks] portfolio index of the loan hit */
  double *weight;       /* [nlinks] latent shift [SD], in [0, CAS_LINK_WEIGHT_MAX] */
  double *amount;       /* [nlinks] guaranteed amount [CNY] (> 0 for guarantees, 0 otherwise) */
  uint8_t *type;        /* [nlinks] cas_link_type */
  uint64_t links_by_type[CAS_NLINK_TYPES];
  uint64_t cross_region_links;  /* links whose ends are in different regions */
  char source[512];     /* "builtin:yrd seed=S" or "file:PATH" */
} cas_network;

/* Loads links from CSV: header row with columns from,to,type,weight and
 * amount (any order; amount required for guarantee rows, empty or 0 for
 * supply_chain rows). Ids are the portfolio's (cas_portfolio_id). Errors,
 * CAS_ERR_INPUT, "file:line:col: reason": unknown id, self-link, duplicate
 * link (same from, to and type; says the first line), unknown type, weight
 * outside [0, CAS_LINK_WEIGHT_MAX], amount missing/not positive for a
 * guarantee, non-numeric, wrong number of fields, unknown or missing
 * column, empty file. */
cas_status cas_network_load_csv(const char *path, const cas_portfolio *pf, cas_network **out,
                                cas_error *err);
/* As cas_network_load_csv, reading the size bytes at data as the file
 * path's contents (data NULL: the file itself). */
cas_status cas_network_load_csv_mem(const char *path, const void *data, size_t size,
                                    const cas_portfolio *pf, cas_network **out, cas_error *err);

/* The built-in network of the default Yangtze River Delta book, for any
 * portfolio with cities, sectors and parks (docs/NETWORK.md): supply chains
 * around a chain-master firm in each industrial park, some suppliers and
 * buyers in other provinces; technology links along the G60 corridor;
 * mutual-guarantee circles among small firms with a heavy-tailed size
 * distribution; ordinary trade links among small and mid-sized firms
 * outside the parks. About 3 links per loan. Deterministic from (portfolio,
 * seed), identical for any thread count. The network model "yrd"
 * (networks.h), defined in models/networks/yrd.c. */
cas_status cas_network_generate(const cas_portfolio *pf, uint64_t seed, cas_network **out,
                                cas_error *err);

/* Writes the links as CSV (from,to,type,weight,amount) under a temporary
 * name, renamed when complete; loads back to the same network. */
cas_status cas_network_export_csv(const cas_network *net, const cas_portfolio *pf,
                                  const char *path, cas_error *err);

void cas_network_destroy(cas_network *net);

#endif
