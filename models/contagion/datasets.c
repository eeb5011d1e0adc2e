/*
 * datasets.c: what the contagion models add to a result file, described
 * for the I/O layer (dataset.h; docs/OUTPUT.md, With contagion). Every
 * model books the network's guarantees; a model that spreads defaults
 * adds the cascade's datasets.
 */
#include "contagion/contagion.h"

#include <stdio.h>
#include <stdlib.h>

#include "kernel.h"
#include "stats.h"

#define DS(...) cas_datasets_add(l, (cas_dataset){__VA_ARGS__})

/* The network, and what its guarantees did on each path. */
static void describe_guarantees(cas_dataset_list *l, const cas_contagion *c,
                                const cas_network *net, const cas_results *res) {
  cas_datasets_attribute(l, "network_source", CAS_DT_STR, cas_datasets_keep_text(l, net->source));
  uint64_t counts[4] = {net->nlinks, net->links_by_type[CAS_LINK_SUPPLY_CHAIN],
                        net->links_by_type[CAS_LINK_GUARANTEE], net->cross_region_links};
  uint64_t *kept = cas_datasets_keep(l, counts, sizeof counts);
  if (!kept) return;
  cas_datasets_attribute(l, "network_links", CAS_DT_U64, &kept[0]);
  cas_datasets_attribute(l, "network_supply_chain_links", CAS_DT_U64, &kept[1]);
  cas_datasets_attribute(l, "network_guarantee_links", CAS_DT_U64, &kept[2]);
  cas_datasets_attribute(l, "network_cross_region_links", CAS_DT_U64, &kept[3]);
  DS("guaranteed_ead", CAS_DT_F64, 0, {NULL}, &c->guaranteed_ead, "CNY",
     "exposure covered by guarantees (each loan's at most its stressed EAD)", 0);
  if (res->loss_double_default) {
    double mean = 0.0;
    for (uint64_t p = 0; p < res->paths; p++)
      mean += cas_results_weight(res, p) * res->loss_double_default[p];
    mean /= (double)res->paths;
    DS("loss_double_default", CAS_DT_F64, 1, {"path"}, res->loss_double_default, "CNY",
       "covered parts of defaulted loans lost because the guarantor defaulted too", 1);
    DS("el_double_default", CAS_DT_F64, 0, {NULL}, cas_datasets_keep(l, &mean, sizeof mean), "CNY",
       "mean of loss_double_default (part of el)", 0);
  }
}

void cas_contagion_describe_none(cas_dataset_list *l, const cas_scenario *sc, const cas_contagion *c,
                          const cas_network *net, const cas_results *res,
                          const cas_contagion_summary *cs) {
  (void)sc, (void)cs;
  describe_guarantees(l, c, net, res);
}

/* The cascade: what contagion added, path by path and in the summary. */
void cas_contagion_describe_network(cas_dataset_list *l, const cas_scenario *sc, const cas_contagion *c,
                             const cas_network *net, const cas_results *res,
                             const cas_contagion_summary *cs) {
  describe_guarantees(l, c, net, res);
  if (cs == NULL || res->rounds_cap == 0) return;
  cas_datasets_attribute(l, "contagion", CAS_DT_STR, "on");
  cas_datasets_attribute(l, "supply_chain_scale", CAS_DT_F64, &sc->contagion.supply_chain_scale);
  cas_datasets_attribute(l, "guarantee_scale", CAS_DT_F64, &sc->contagion.guarantee_scale);
  cas_datasets_attribute(l, "calibration", CAS_DT_STR,
                         cas_calibration_mode_names[sc->contagion.calibration]);
  uint64_t nr = res->rounds_cap, nrank = (uint64_t)cs->nlongest;
  int32_t *round_index = cas_datasets_own(l, malloc(nr * sizeof *round_index));
  int64_t *rank_index = cas_datasets_own(l, malloc((nrank ? nrank : 1) * sizeof *rank_index));
  int64_t *longest = cas_datasets_own(l, malloc((nrank ? nrank : 1) * sizeof *longest));
  if (l->failed) return;
  for (uint64_t r = 0; r < nr; r++) round_index[r] = (int32_t)r;
  for (uint64_t k = 0; k < nrank; k++) {
    rank_index[k] = (int64_t)k;
    longest[k] = (int64_t)cs->longest_paths[k];
  }
  cas_datasets_dimension(l, (cas_dimension){"round", CAS_DT_I32, nr, round_index, "1",
                                            "cascade round (0: factor-driven defaults)"});
  cas_datasets_dimension(l, (cas_dimension){"cascade_rank", CAS_DT_I64, nrank, rank_index, "1",
                                            "rank among the longest cascades (0: longest)"});
  DS("loss_contagion", CAS_DT_F64, 1, {"path"}, res->loss_contagion, "CNY",
     "part of the path's loss caused by contagion", 1);
  if (res->contagion_by_segment)
    DS("contagion_loss_by_segment", CAS_DT_F64, 2, {"path", "segment"}, res->contagion_by_segment,
       "CNY", "contagion loss by segment on the path", 1);
  for (int k = 0; k < res->ngroupings; k++) {
    const cas_grouping *g = &res->grouping[k];
    if (!g->contagion) continue;
    char name[64], text[96];
    snprintf(name, sizeof name, "contagion_loss_by_%s", g->name);
    snprintf(text, sizeof text, "contagion loss by %s on the path", g->name);
    DS(cas_datasets_keep_text(l, name), CAS_DT_F64, 2, {"path", cas_datasets_keep_text(l, g->name)},
       g->contagion, "CNY", cas_datasets_keep_text(l, text), 1);
  }
  DS("defaults_by_round", CAS_DT_I32, 2, {"path", "round"}, res->defaults_by_round, "1",
     "new defaults in each cascade round", 1);
  DS("cascade_rounds", CAS_DT_I32, 1, {"path"}, res->rounds, "1",
     "last cascade round with new defaults (0: no contagion default)", 1);
  DS("cascade_truncated", CAS_DT_U8, 1, {"path"}, res->truncated, "1",
     "1 if max_rounds stopped the cascade", 1);
  DS("el_contagion", CAS_DT_F64, 0, {NULL}, &cs->el_contagion, "CNY", "mean contagion loss", 0);
  DS("el_contagion_se", CAS_DT_F64, 0, {NULL}, &cs->el_contagion_se, "CNY",
     "Monte Carlo standard error of el_contagion", 0);
  DS("mean_cascade_rounds", CAS_DT_F64, 0, {NULL}, &cs->mean_rounds, "1", "mean of cascade_rounds", 0);
  DS("var_factor_only", CAS_DT_F64, 1, {"level"}, cs->var_factor, "CNY",
     "VaR of the loss without its contagion part", 0);
  DS("es_factor_only", CAS_DT_F64, 1, {"level"}, cs->es_factor, "CNY",
     "ES of the loss without its contagion part", 0);
  DS("var_factor_only_se", CAS_DT_F64, 1, {"level"}, cs->var_factor_se, "CNY",
     "Monte Carlo standard error of var_factor_only", 0);
  DS("var_factor_only_lo", CAS_DT_F64, 1, {"level"}, cs->var_factor_lo, "CNY",
     "lower bound of the 95% confidence interval of var_factor_only", 0);
  DS("var_factor_only_hi", CAS_DT_F64, 1, {"level"}, cs->var_factor_hi, "CNY",
     "upper bound of the 95% confidence interval of var_factor_only", 0);
  DS("es_factor_only_se", CAS_DT_F64, 1, {"level"}, cs->es_factor_se, "CNY",
     "Monte Carlo standard error of es_factor_only", 0);
  DS("es_factor_only_lo", CAS_DT_F64, 1, {"level"}, cs->es_factor_lo, "CNY",
     "lower bound of the 95% confidence interval of es_factor_only", 0);
  DS("es_factor_only_hi", CAS_DT_F64, 1, {"level"}, cs->es_factor_hi, "CNY",
     "upper bound of the 95% confidence interval of es_factor_only", 0);
  DS("es_contagion", CAS_DT_F64, 1, {"level"}, cs->es_contagion, "CNY",
     "contagion loss on the paths that make up es", 0);
  DS("es_contagion_share", CAS_DT_F64, 1, {"level"}, cs->es_contagion_share, "1",
     "es_contagion / es: the share of ES that contagion adds", 0);
  DS("es_contribution_contagion", CAS_DT_F64, 2, {"level", "segment"},
     cs->es_contribution_contagion, "CNY",
     "contagion loss by segment on the paths that make up es (sums to es_contagion)", 0);
  DS("longest_cascade_path", CAS_DT_I64, 1, {"cascade_rank"}, longest, "1",
     "paths with the longest cascades (rounds, then contagion loss)", 0);
  DS("longest_cascade_rounds", CAS_DT_I32, 1, {"cascade_rank"}, cs->longest_rounds, "1",
     "cascade rounds of longest_cascade_path", 0);
}
