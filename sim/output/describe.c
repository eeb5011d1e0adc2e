/*
 * describe.c: the datasets of a run, described for the I/O layer
 * (dataset.h; layout in docs/OUTPUT.md). The engine's own datasets are
 * here; the contagion model (models/contagion/datasets.c) and the
 * calibration (sim/engine/calibrate.c) describe theirs.
 */
#include "output.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytic.h"
#include "irb.h"
#include "version.h"

#define DS(...) cas_datasets_add(l, (cas_dataset){__VA_ARGS__})

static void utc_now(char *buf, size_t size) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void text_attr(cas_dataset_list *l, const char *name, const char *value) {
  cas_datasets_attribute(l, name, CAS_DT_STR, cas_datasets_keep_text(l, value ? value : ""));
}

/* Root attributes: what ran, with what, where from. */
static void describe_run(cas_dataset_list *l, const cas_run_record *rec, const cas_plan *plan) {
  const cas_scenario *sc = rec->scenario;
  char created[32];
  utc_now(created, sizeof created);
  text_attr(l, "title", "cascade stress-test result");
  text_attr(l, "cascade_version", CASCADE_VERSION);
  text_attr(l, "cascade_commit", CASCADE_GIT_COMMIT);
  text_attr(l, "scenario_name", sc->name);
  text_attr(l, "scenario_description", sc->description);
  cas_datasets_attribute(l, "seed", CAS_DT_U64, &sc->seed);
  cas_datasets_attribute(l, "paths", CAS_DT_U64, &sc->paths);
  uint64_t loans = plan->n;
  cas_datasets_attribute(l, "loans", CAS_DT_U64, cas_datasets_keep(l, &loans, sizeof loans));
  text_attr(l, "portfolio_source", rec->portfolio_source);
  if (rec->portfolio_file) {
    text_attr(l, "portfolio_file", rec->portfolio_file);
    text_attr(l, "portfolio_sha256", rec->portfolio_sha256);
  }
  if (rec->links_file) {
    text_attr(l, "links_file", rec->links_file);
    text_attr(l, "links_sha256", rec->links_sha256);
  }
  text_attr(l, "copula", sc->copula);
  if (plan->copula->needs_df)
    cas_datasets_attribute(l, "copula_degrees_of_freedom", CAS_DT_F64, &plan->copula->df);
  text_attr(l, "lgd_model", sc->lgd_model);
  cas_datasets_attribute(l, "horizon_years", CAS_DT_I32, &plan->years);
  if (plan->years > 1)
    cas_datasets_attribute(l, "factor_autocorrelation", CAS_DT_F64, &plan->factor_ar);
  text_attr(l, "kernel", rec->kernel);
  text_attr(l, "factor_shift_mode", cas_shift_mode_names[sc->factor_shift_mode]);
  cas_datasets_attribute(l, "threads", CAS_DT_I32, &rec->threads);
  cas_datasets_attribute(l, "ranks", CAS_DT_I32, &rec->ranks);
  cas_datasets_attribute(l, "elapsed_seconds", CAS_DT_F64, &rec->elapsed_seconds);
  text_attr(l, "command_line", rec->command_line);
  text_attr(l, "created_utc", created);
  text_attr(l, "units_note", "money in CNY; factors in standard deviations");
  if (!rec->contagion) text_attr(l, "contagion", "off");
  text_attr(l, "contagion_model", sc->contagion.model);
  text_attr(l, "classification", plan->tax->source);
}

/* The dimensions every run has. */
static void describe_dimensions(cas_dataset_list *l, const cas_run_record *rec,
                                const cas_plan *plan, const cas_results *res,
                                const cas_summary *sum) {
  const cas_scenario *sc = rec->scenario;
  const cas_taxonomy *tax = plan->tax;
  uint64_t np = res->paths, nseg = (uint64_t)plan->nsegments;
  int64_t *path_index = cas_datasets_own(l, malloc((np ? np : 1) * sizeof *path_index));
  size_t label_max = 2 * CAS_NAME_MAX + 2;
  char *seg_buf = cas_datasets_own(l, malloc((nseg ? nseg : 1) * label_max));
  const char **seg_names = cas_datasets_own(l, malloc((nseg ? nseg : 1) * sizeof *seg_names));
  if (l->failed) return;
  for (uint64_t p = 0; p < np; p++) path_index[p] = (int64_t)p;
  for (uint64_t s = 0; s < nseg; s++) {
    cas_taxonomy_segment_name(tax, (int)s, seg_buf + s * label_max, label_max);
    seg_names[s] = seg_buf + s * label_max;
  }
  const char *const *fac = (const char *const *)sc->factors->names.name;
  uint64_t nf = (uint64_t)plan->nfactors;
  int recorded = rec->record_nfiles > 0;
  uint64_t nfiles = recorded ? rec->record_nfiles : sc->nfiles;
  const void *files = recorded ? (const void *)rec->record_paths : (const void *)sc->file_paths;
  cas_datasets_dimension(l, (cas_dimension){"path", CAS_DT_I64, np, path_index, NULL,
                                            "Monte Carlo path index"});
  cas_datasets_dimension(l, (cas_dimension){"segment", CAS_DT_STR, nseg, seg_names, NULL,
                                            "portfolio segment (region/sector)"});
  cas_datasets_dimension(l, (cas_dimension){"region", CAS_DT_STR, (uint64_t)tax->regions.n,
                                            tax->regions.name, NULL,
                                            "region of the book's classification"});
  cas_datasets_dimension(l, (cas_dimension){"sector", CAS_DT_STR, (uint64_t)tax->sectors.n,
                                            tax->sectors.name, NULL,
                                            "sector of the book's classification"});
  cas_datasets_dimension(l, (cas_dimension){"factor", CAS_DT_STR, nf, fac, NULL, "systematic factor"});
  cas_datasets_dimension(l, (cas_dimension){"factor2", CAS_DT_STR, nf, fac, NULL,
                                            "systematic factor (second axis)"});
  cas_datasets_dimension(l, (cas_dimension){"level", CAS_DT_F64, (uint64_t)sum->nlevels,
                                            sum->levels, "1", "confidence level of VaR and ES"});
  cas_datasets_dimension(l, (cas_dimension){"scenario_file", CAS_DT_STR, nfiles, files, NULL,
                                            "scenario file read (0: the scenario, then its bases via extends)"});
}

/* The realised LGD: loss / EAD of the defaulted loans, per path (NaN on a
 * path without defaults) and over all paths (sum of losses / sum of EADs). */
static void describe_realised_lgd(cas_dataset_list *l, const cas_results *res) {
  if (!res->ead_defaulted) return;
  double *lgd = cas_datasets_own(l, malloc((res->paths ? res->paths : 1) * sizeof *lgd));
  double *mean = cas_datasets_own(l, malloc(sizeof *mean));
  if (l->failed) return;
  double loss = 0.0, ead = 0.0;
  for (uint64_t p = 0; p < res->paths; p++) {
    double w = cas_results_weight(res, p);
    lgd[p] = res->ead_defaulted[p] > 0.0 ? res->loss[p] / res->ead_defaulted[p] : NAN;
    loss += w * res->loss[p];
    ead += w * res->ead_defaulted[p];
  }
  *mean = ead > 0.0 ? loss / ead : NAN;
  DS("ead_defaulted", CAS_DT_F64, 1, {"path"}, res->ead_defaulted, "CNY",
     "stressed exposure at default of the loans that defaulted on the path", 1);
  DS("lgd_realised", CAS_DT_F64, 1, {"path"}, lgd, "1",
     "realised loss given default on the path: loss / ead_defaulted (NaN without defaults)", 1);
  DS("lgd_realised_mean", CAS_DT_F64, 0, {NULL}, mean, "1",
     "realised loss given default over all paths: sum of loss / sum of ead_defaulted", 0);
}

/* Per-path results: the totals, and what output.per_path stores. */
static void describe_paths(cas_dataset_list *l, const cas_results *res) {
  DS("loss", CAS_DT_F64, 1, {"path"}, res->loss, "CNY", "portfolio loss on the path", 1);
  DS("defaults", CAS_DT_I64, 1, {"path"}, res->defaults, "1",
     "number of defaulted loans on the path", 1);
  describe_realised_lgd(l, res);
  if (res->loss_by_segment)
    DS("loss_by_segment", CAS_DT_F64, 2, {"path", "segment"}, res->loss_by_segment, "CNY",
       "loss by segment on the path", 1);
  DS("factor_value", CAS_DT_F64, 2, {"path", "factor"}, res->factors, "standard deviations",
     "systematic factor values on the path (after shifts)", 1);
  if (res->defaults_by_segment)
    DS("defaults_by_segment", CAS_DT_I32, 2, {"path", "segment"}, res->defaults_by_segment, "1",
       "defaulted loans by segment on the path", 1);
  for (int k = 0; k < res->ngroupings; k++) {
    const cas_grouping *g = &res->grouping[k];
    const char *dim = cas_datasets_keep_text(l, g->name);
    char name[64], text[96];
    snprintf(name, sizeof name, "loss_by_%s", g->name);
    snprintf(text, sizeof text, "loss by %s on the path", g->name);
    DS(cas_datasets_keep_text(l, name), CAS_DT_F64, 2, {"path", dim}, g->loss, "CNY",
       cas_datasets_keep_text(l, text), 1);
    snprintf(name, sizeof name, "defaults_by_%s", g->name);
    snprintf(text, sizeof text, "defaulted loans by %s on the path", g->name);
    DS(cas_datasets_keep_text(l, name), CAS_DT_I32, 2, {"path", dim}, g->defaults, "1",
       cas_datasets_keep_text(l, text), 1);
  }
}

/* The book by segment, before and after the shocks, and the simulated
 * rates (seg_mean: mean loss, default rate, its standard error). */
static void describe_segments(cas_dataset_list *l, const cas_plan *plan, const double *seg_mean) {
  const cas_taxonomy *tax = plan->tax;
  size_t nseg = (size_t)plan->nsegments, m = nseg ? nseg : 1;
  const char **seg_region = cas_datasets_own(l, malloc(2 * m * sizeof *seg_region));
  int64_t *loans = cas_datasets_own(l, malloc(m * sizeof *loans));
  double *pd = cas_datasets_own(l, malloc(2 * m * sizeof *pd));
  if (l->failed) return;
  const char **seg_sector = seg_region + nseg;
  double *expected_rate = pd + nseg;
  for (size_t s = 0; s < nseg; s++) {
    seg_region[s] = tax->regions.name[cas_taxonomy_segment_region(tax, (int)s)];
    seg_sector[s] = tax->sectors.name[cas_taxonomy_segment_sector(tax, (int)s)];
    loans[s] = (int64_t)plan->unstressed.loans[s];
    double n = plan->unstressed.loans[s] ? (double)plan->unstressed.loans[s] : 1.0;
    pd[s] = plan->unstressed.expected_defaults[s] / n;
    expected_rate[s] = plan->stressed.expected_defaults[s] / n;
  }
  DS("segment_region", CAS_DT_STR, 1, {"segment"}, seg_region, NULL, "region of the segment", 0);
  DS("segment_sector", CAS_DT_STR, 1, {"segment"}, seg_sector, NULL, "sector of the segment", 0);
  DS("portfolio_loans", CAS_DT_I64, 1, {"segment"}, loans, "1", "number of loans in the segment", 0);
  DS("portfolio_ead", CAS_DT_F64, 1, {"segment"}, plan->unstressed.ead, "CNY",
     "exposure at default before shocks", 0);
  DS("portfolio_expected_loss", CAS_DT_F64, 1, {"segment"}, plan->unstressed.expected_loss, "CNY",
     "sum of PD x LGD x EAD before shocks", 0);
  DS("stressed_ead", CAS_DT_F64, 1, {"segment"}, plan->stressed.ead, "CNY",
     "exposure at default after shocks", 0);
  DS("stressed_expected_loss", CAS_DT_F64, 1, {"segment"}, plan->stressed.expected_loss, "CNY",
     "analytic expected loss after shocks: sum over loans of the PD under the shifted "
     "factor means x stressed LGD x stressed EAD", 0);
  DS("portfolio_pd", CAS_DT_F64, 1, {"segment"}, pd, "1", "mean input PD of the segment's loans", 0);
  DS("stressed_default_rate", CAS_DT_F64, 1, {"segment"}, expected_rate, "1",
     "mean stressed PD: the analytic default rate without contagion", 0);
  DS("default_rate", CAS_DT_F64, 1, {"segment"}, seg_mean + nseg, "1",
     "simulated default rate of the segment (mean of defaults_by_segment / loans)", 0);
  DS("default_rate_se", CAS_DT_F64, 1, {"segment"}, seg_mean + 2 * nseg, "1",
     "Monte Carlo standard error of default_rate", 0);
}

/* The long names of the bounds of 95% confidence intervals (stats.h). */
#define CI_LO(x) "lower bound of the 95% confidence interval of " x
#define CI_HI(x) "upper bound of the 95% confidence interval of " x

static void describe_summary(cas_dataset_list *l, const cas_summary *sum) {
  DS("el", CAS_DT_F64, 0, {NULL}, &sum->el, "CNY", "expected loss (Monte Carlo mean)", 0);
  DS("el_se", CAS_DT_F64, 0, {NULL}, &sum->el_se, "CNY", "Monte Carlo standard error of el", 0);
  DS("el_lo", CAS_DT_F64, 0, {NULL}, &sum->el_lo, "CNY", CI_LO("el"), 0);
  DS("el_hi", CAS_DT_F64, 0, {NULL}, &sum->el_hi, "CNY", CI_HI("el"), 0);
  DS("sd", CAS_DT_F64, 0, {NULL}, &sum->sd, "CNY", "standard deviation of loss", 0);
  DS("sd_se", CAS_DT_F64, 0, {NULL}, &sum->sd_se, "CNY", "Monte Carlo standard error of sd", 0);
  DS("mean_defaults", CAS_DT_F64, 0, {NULL}, &sum->mean_defaults, "1",
     "mean number of defaults per path", 0);
  DS("var", CAS_DT_F64, 1, {"level"}, sum->var, "CNY", "value at risk (empirical loss quantile)", 0);
  DS("var_se", CAS_DT_F64, 1, {"level"}, sum->var_se, "CNY",
     "Monte Carlo standard error of var (order-statistic band)", 0);
  DS("var_lo", CAS_DT_F64, 1, {"level"}, sum->var_lo, "CNY", CI_LO("var") " (order statistic)", 0);
  DS("var_hi", CAS_DT_F64, 1, {"level"}, sum->var_hi, "CNY", CI_HI("var") " (order statistic)", 0);
  DS("es", CAS_DT_F64, 1, {"level"}, sum->es, "CNY", "expected shortfall (mean loss beyond var)", 0);
  DS("es_se", CAS_DT_F64, 1, {"level"}, sum->es_se, "CNY", "Monte Carlo standard error of es", 0);
  DS("es_lo", CAS_DT_F64, 1, {"level"}, sum->es_lo, "CNY", CI_LO("es") " (Hall)", 0);
  DS("es_hi", CAS_DT_F64, 1, {"level"}, sum->es_hi, "CNY", CI_HI("es") " (Hall)", 0);
  DS("es_contribution", CAS_DT_F64, 2, {"level", "segment"}, sum->es_contribution, "CNY",
     "segment's loss on the paths that make up es (sums to es)", 0);
  DS("el_by_segment", CAS_DT_F64, 1, {"segment"}, sum->el_by_segment, "CNY",
     "expected loss by segment (Monte Carlo mean)", 0);
}

/* The summaries of one per-path quantity by year: EL and its standard
 * error by year, VaR and ES and theirs by (year, level), in one block the
 * list owns. */
typedef struct year_stats {
  double *el, *el_se, *var, *var_se, *es, *es_se, *var_lo, *var_hi, *es_lo, *es_hi;
} year_stats;

/* rows[paths][years]: the values up to the end of each year (diff 0) or,
 * with diff 1, each year's own (row t less row t - 1). */
static int year_summaries(cas_dataset_list *l, const cas_results *res, const double *rows,
                          int diff, const cas_summary *sum, year_stats *out) {
  size_t years = (size_t)res->years, nl = (size_t)sum->nlevels;
  double *block = cas_datasets_own(l, malloc(years * (2 + 8 * nl) * sizeof *block));
  double *col = malloc((res->paths ? res->paths : 1) * sizeof *col);
  if (l->failed || !col) {
    free(col);
    l->failed = 1;
    return 0;
  }
  *out = (year_stats){.el = block, .el_se = block + years, .var = block + 2 * years};
  out->var_se = out->var + years * nl;
  out->es = out->var_se + years * nl;
  out->es_se = out->es + years * nl;
  out->var_lo = out->es_se + years * nl;
  out->var_hi = out->var_lo + years * nl;
  out->es_lo = out->var_hi + years * nl;
  out->es_hi = out->es_lo + years * nl;
  cas_summary_options opt = {.levels = sum->levels, .nlevels = sum->nlevels, .weight = res->weight};
  for (size_t t = 0; t < years; t++) {
    for (uint64_t p = 0; p < res->paths; p++) {
      const double *r = &rows[p * years];
      col[p] = diff && t > 0 ? r[t] - r[t - 1] : r[t];
    }
    cas_summary y;
    cas_error err = {0};
    if (cas_summary_compute(res->paths, col, &opt, NULL, &y, &err) != CAS_OK) {
      free(col);
      l->failed = 1;
      return 0;
    }
    out->el[t] = y.el;
    out->el_se[t] = y.el_se;
    for (size_t k = 0; k < nl; k++) {
      out->var[t * nl + k] = y.var[k];
      out->var_se[t * nl + k] = y.var_se[k];
      out->es[t * nl + k] = y.es[k];
      out->es_se[t * nl + k] = y.es_se[k];
      out->var_lo[t * nl + k] = y.var_lo[k];
      out->var_hi[t * nl + k] = y.var_hi[k];
      out->es_lo[t * nl + k] = y.es_lo[k];
      out->es_hi[t * nl + k] = y.es_hi[k];
    }
    cas_summary_free(&y);
  }
  free(col);
  return 1;
}

static void describe_year_stats(cas_dataset_list *l, const year_stats *y, const char *suffix,
                                const char *what) {
  static const char *const stat[10] = {"el", "el", "var", "var", "es", "es", "var", "var", "es", "es"};
  static const char *const part[10] = {"", "_se", "", "_se", "", "_se", "_lo", "_hi", "_lo", "_hi"};
  static const char *const text[10] = {
      "expected loss", "Monte Carlo standard error of the expected loss", "value at risk",
      "Monte Carlo standard error of the value at risk", "expected shortfall",
      "Monte Carlo standard error of the expected shortfall",
      CI_LO("the value at risk"), CI_HI("the value at risk"),
      CI_LO("the expected shortfall"), CI_HI("the expected shortfall")};
  double *const data[10] = {y->el, y->el_se, y->var, y->var_se, y->es, y->es_se,
                            y->var_lo, y->var_hi, y->es_lo, y->es_hi};
  for (int k = 0; k < 10; k++) {
    char name[64], long_name[192];
    snprintf(name, sizeof name, "%s_%s%s", stat[k], suffix, part[k]);
    snprintf(long_name, sizeof long_name, "%s of %s", text[k], what);
    if (k < 2)
      DS(cas_datasets_keep_text(l, name), CAS_DT_F64, 1, {"year"}, data[k], "CNY",
         cas_datasets_keep_text(l, long_name), 0);
    else
      DS(cas_datasets_keep_text(l, name), CAS_DT_F64, 2, {"year", "level"}, data[k], "CNY",
         cas_datasets_keep_text(l, long_name), 0);
  }
}

/* A multi-year horizon: the year dimension, the losses by year and up to
 * each year's end per path, and their distributions' summaries. */
static void describe_years(cas_dataset_list *l, const cas_results *res, const cas_summary *sum) {
  if (res->years <= 1) return;
  size_t years = (size_t)res->years;
  int64_t *year = cas_datasets_own(l, malloc(years * sizeof *year));
  double *by_year = cas_datasets_own(l, malloc(res->paths * years * sizeof *by_year + 1));
  double *mean_defaults = cas_datasets_own(l, malloc(3 * years * sizeof *mean_defaults));
  if (l->failed) return;
  double *lgd = mean_defaults + years, *ead = lgd + years;
  for (size_t t = 0; t < years; t++) {
    year[t] = (int64_t)t + 1;
    mean_defaults[t] = lgd[t] = ead[t] = 0.0;
  }
  for (uint64_t p = 0; p < res->paths; p++)
    for (size_t t = 0; t < years; t++) {
      const double *r = &res->loss_cumulative[p * years];
      double w = cas_results_weight(res, p);
      by_year[p * years + t] = t > 0 ? r[t] - r[t - 1] : r[t];
      mean_defaults[t] += w * res->defaults_by_year[p * years + t];
      lgd[t] += w * by_year[p * years + t];
      if (res->ead_defaulted_by_year) ead[t] += w * res->ead_defaulted_by_year[p * years + t];
    }
  for (size_t t = 0; t < years; t++) {
    mean_defaults[t] /= res->paths ? (double)res->paths : 1.0;
    lgd[t] = ead[t] > 0.0 ? lgd[t] / ead[t] : NAN;
  }
  cas_datasets_dimension(l, (cas_dimension){"year", CAS_DT_I64, years, year, "year",
                                            "year of the horizon (1: the first)"});
  DS("loss_by_year", CAS_DT_F64, 2, {"path", "year"}, by_year, "CNY",
     "loss of the loans that defaulted in the year (loss_cumulative's increments)", 1);
  DS("factor_value_by_year", CAS_DT_F64, 3, {"path", "year", "factor"}, res->factors_by_year,
     "standard deviations", "systematic factor values of each year on the path (after the year's "
     "shifts; year 1 is factor_value)", 1);
  DS("loss_cumulative", CAS_DT_F64, 2, {"path", "year"}, res->loss_cumulative, "CNY",
     "loss up to the end of the year (the last year's is loss)", 1);
  DS("defaults_by_year", CAS_DT_I32, 2, {"path", "year"}, res->defaults_by_year, "1",
     "loans that defaulted in the year (a defaulted loan leaves the book)", 1);
  DS("mean_defaults_by_year", CAS_DT_F64, 1, {"year"}, mean_defaults, "1",
     "mean number of defaults in the year per path", 0);
  if (res->ead_defaulted_by_year) {
    DS("ead_defaulted_by_year", CAS_DT_F64, 2, {"path", "year"}, res->ead_defaulted_by_year, "CNY",
       "stressed exposure at default of the loans that defaulted in the year", 1);
    DS("lgd_realised_by_year", CAS_DT_F64, 1, {"year"}, lgd, "1",
       "realised loss given default of the year's defaults over all paths: sum of loss_by_year / "
       "sum of ead_defaulted_by_year", 0);
  }
  year_stats y;
  if (year_summaries(l, res, res->loss_cumulative, 1, sum, &y))
    describe_year_stats(l, &y, "by_year", "the year's loss (loss_by_year)");
  if (year_summaries(l, res, res->loss_cumulative, 0, sum, &y))
    describe_year_stats(l, &y, "cumulative", "the loss up to the end of the year (loss_cumulative)");
  if (res->loss_net_cumulative && year_summaries(l, res, res->loss_net_cumulative, 0, sum, &y))
    describe_year_stats(l, &y, "net_cumulative",
                        "the loss up to the end of the year net of mitigants (loss_net_cumulative)");
}

/* Mitigants: each pool's payouts by path, the loss net of them and its
 * summary, how often each pool ran dry. */
static void describe_mitigants(cas_dataset_list *l, const cas_run_record *rec,
                               const cas_plan *plan, const cas_results *res) {
  const cas_summary *net = rec->summary_net;
  if (!res->npools || !net) return;
  size_t np = (size_t)res->npools, years = (size_t)res->years;
  const char **names = cas_datasets_own(l, malloc(np * sizeof *names));
  const char **kinds = cas_datasets_own(l, malloc(np * sizeof *kinds));
  double *cap = cas_datasets_own(l, malloc((4 + 2 * years) * np * sizeof *cap));
  if (l->failed) return;
  /* by pool; exhausted and paid by (year, pool) */
  double *share = cap + np, *cap_year = cap + 2 * np, *total = cap + 3 * np;
  double *exhausted = cap + 4 * np, *paid = exhausted + years * np;
  double m = res->paths ? (double)res->paths : 1.0;
  for (size_t k = 0; k < np; k++) {
    names[k] = plan->pools[k].name;
    kinds[k] = cas_mitigant_kinds[plan->pools[k].kind];
    cap[k] = plan->pools[k].cap;
    share[k] = plan->pools[k].share;
    cap_year[k] = plan->pools[k].cap_per_year;
    total[k] = 0.0;
    for (size_t t = 0; t < years; t++) {
      double dry = 0.0, sum = 0.0;
      for (uint64_t p = 0; p < res->paths; p++) {
        size_t at = (p * years + t) * np + k;
        double w = cas_results_weight(res, p);
        dry += res->pool_dry[at] ? w : 0.0;
        sum += w * res->pool_payout[at];
      }
      exhausted[t * np + k] = dry / m;
      paid[t * np + k] = sum / m;
      total[k] += sum / m;
    }
  }
  cas_datasets_dimension(l, (cas_dimension){"pool", CAS_DT_STR, np, names, NULL,
                                            "mitigant: guarantee fund, risk-compensation pool or "
                                            "loan-guarantee insurance (scenario key mitigants)"});
  DS("pool_kind", CAS_DT_STR, 1, {"pool"}, kinds, NULL, "kind of the mitigant", 0);
  DS("pool_share", CAS_DT_F64, 1, {"pool"}, share, "1", "share of each covered loss the pool pays", 0);
  DS("pool_cap", CAS_DT_F64, 1, {"pool"}, cap, "CNY", "most the pool pays over the horizon", 0);
  DS("pool_cap_per_year", CAS_DT_F64, 1, {"pool"}, cap_year, "CNY",
     "most the pool pays in one year (inf: no cap per year)", 0);
  if (years == 1) {
    DS("pool_payout", CAS_DT_F64, 2, {"path", "pool"}, res->pool_payout, "CNY",
       "what the pool paid on the path (at most pool_cap)", 1);
    DS("pool_expected_payout", CAS_DT_F64, 1, {"pool"}, paid, "CNY",
       "mean of pool_payout over the paths", 0);
    DS("pool_exhausted_probability", CAS_DT_F64, 1, {"pool"}, exhausted, "1",
       "fraction of paths on which the pool paid its whole cap (its claims reached it)", 0);
  } else {
    DS("pool_payout", CAS_DT_F64, 3, {"path", "year", "pool"}, res->pool_payout, "CNY",
       "what the pool paid in the year (at most pool_cap_per_year, and pool_cap in all)", 1);
    DS("pool_expected_payout", CAS_DT_F64, 2, {"year", "pool"}, paid, "CNY",
       "mean of pool_payout over the paths", 0);
    DS("pool_expected_payout_total", CAS_DT_F64, 1, {"pool"}, total, "CNY",
       "mean over the paths of what the pool paid over the horizon", 0);
    DS("pool_exhausted_probability", CAS_DT_F64, 2, {"year", "pool"}, exhausted, "1",
       "fraction of paths on which the pool was exhausted in the year: its cap over the "
       "horizon reached by then, or its cap per year that year", 0);
    DS("loss_net_cumulative", CAS_DT_F64, 2, {"path", "year"}, res->loss_net_cumulative, "CNY",
       "loss up to the end of the year less what the pools paid up to then", 1);
  }
  DS("loss_net", CAS_DT_F64, 1, {"path"}, res->loss_net, "CNY",
     "portfolio loss on the path less what the pools paid", 1);
  DS("el_net", CAS_DT_F64, 0, {NULL}, &net->el, "CNY", "expected loss net of mitigants", 0);
  DS("el_net_se", CAS_DT_F64, 0, {NULL}, &net->el_se, "CNY", "Monte Carlo standard error of el_net", 0);
  DS("var_net", CAS_DT_F64, 1, {"level"}, net->var, "CNY", "value at risk of loss_net", 0);
  DS("var_net_se", CAS_DT_F64, 1, {"level"}, net->var_se, "CNY",
     "Monte Carlo standard error of var_net", 0);
  DS("var_net_lo", CAS_DT_F64, 1, {"level"}, net->var_lo, "CNY", CI_LO("var_net"), 0);
  DS("var_net_hi", CAS_DT_F64, 1, {"level"}, net->var_hi, "CNY", CI_HI("var_net"), 0);
  DS("es_net", CAS_DT_F64, 1, {"level"}, net->es, "CNY", "expected shortfall of loss_net", 0);
  DS("es_net_se", CAS_DT_F64, 1, {"level"}, net->es_se, "CNY",
     "Monte Carlo standard error of es_net", 0);
  DS("es_net_lo", CAS_DT_F64, 1, {"level"}, net->es_lo, "CNY", CI_LO("es_net"), 0);
  DS("es_net_hi", CAS_DT_F64, 1, {"level"}, net->es_hi, "CNY", CI_HI("es_net"), 0);
}

/* The model as run, and the texts that reproduce it. */
static void describe_model(cas_dataset_list *l, const cas_run_record *rec, const cas_plan *plan) {
  const cas_scenario *sc = rec->scenario;
  /* mostly zeros: a large one is chunked and compressed */
  int large = (uint64_t)plan->nsegments * (uint64_t)plan->nfactors > (1u << 16);
  DS("factor_loading", CAS_DT_F64, 2, {"segment", "factor"}, plan->loading, "1",
     "loading of a segment's latent variable on each factor", large);
  DS("factor_correlation", CAS_DT_F64, 2, {"factor", "factor2"}, sc->factors->corr, "1",
     "correlation of the systematic factors", 0);
  DS("factor_shift", CAS_DT_F64, 1, {"factor"}, plan->shift, "standard deviations",
     "mean of each factor as simulated: the scenario's shifts and, in the conditional "
     "factor_shift_mode, their propagation to correlated factors", 0);
  DS("factor_shift_given", CAS_DT_F64, 1, {"factor"}, plan->shift_given, "standard deviations",
     "factor shifts as the scenario's shocks give them, summed by factor (0: not shifted)", 0);
  const void *texts = rec->record_nfiles > 0 ? (const void *)rec->record_texts
                                             : (const void *)sc->file_texts;
  DS("scenario_text", CAS_DT_STR, 1, {"scenario_file"}, texts, NULL,
     "text of each scenario file read, byte for byte", 0);
  const char **resolved = cas_datasets_keep(l, &rec->resolved_yaml, sizeof rec->resolved_yaml);
  DS("scenario_resolved", CAS_DT_STR, 0, {NULL}, resolved, NULL,
     "the scenario as run: self-contained YAML, every key explicit", 0);
}

/* ES contributions by region and by sector (sums of the segments'), and
 * of the single loans that contribute most at the highest level. */
static void describe_contributions(cas_dataset_list *l, const cas_run_record *rec,
                                   const cas_plan *plan, const cas_summary *sum) {
  const cas_taxonomy *tax = plan->tax;
  int nl = sum->nlevels, nseg = sum->nsegments, nr = tax->regions.n, ns = tax->sectors.n;
  if (nseg > 0 && sum->es_contribution) {
    double *by_region = cas_datasets_own(l, calloc((size_t)(nl * nr + 1), sizeof *by_region));
    double *by_sector = cas_datasets_own(l, calloc((size_t)(nl * ns + 1), sizeof *by_sector));
    if (l->failed) return;
    for (int k = 0; k < nl; k++)
      for (int s = 0; s < nseg; s++) {
        double c = sum->es_contribution[(size_t)k * nseg + s];
        by_region[k * nr + cas_taxonomy_segment_region(tax, s)] += c;
        by_sector[k * ns + cas_taxonomy_segment_sector(tax, s)] += c;
      }
    DS("es_contribution_by_region", CAS_DT_F64, 2, {"level", "region"}, by_region, "CNY",
       "region's loss on the paths that make up es (Euler allocation; sums to es)", 0);
    DS("es_contribution_by_sector", CAS_DT_F64, 2, {"level", "sector"}, by_sector, "CNY",
       "sector's loss on the paths that make up es (Euler allocation; sums to es)", 0);
  }
  if (rec->var_contribution_paths)
    DS("var_contribution_paths", CAS_DT_I64, 1, {"level"}, rec->var_contribution_paths, "1",
       "paths near var that carry its contributions (the kernel estimator's window; few "
       "paths: noisy contributions)", 0);
  if (rec->var_contribution) {
    double *by_region = cas_datasets_own(l, calloc((size_t)(nl * nr + 1), sizeof *by_region));
    double *by_sector = cas_datasets_own(l, calloc((size_t)(nl * ns + 1), sizeof *by_sector));
    if (l->failed) return;
    for (int k = 0; k < nl; k++)
      for (int s = 0; s < nseg; s++) {
        double c = rec->var_contribution[(size_t)k * nseg + s];
        by_region[k * nr + cas_taxonomy_segment_region(tax, s)] += c;
        by_sector[k * ns + cas_taxonomy_segment_sector(tax, s)] += c;
      }
    DS("var_contribution", CAS_DT_F64, 2, {"level", "segment"}, rec->var_contribution, "CNY",
       "segment's expected loss given a portfolio loss near var (Euler allocation, kernel "
       "estimator; sums to var)", 0);
    DS("var_contribution_by_region", CAS_DT_F64, 2, {"level", "region"}, by_region, "CNY",
       "var_contribution summed by region (sums to var)", 0);
    DS("var_contribution_by_sector", CAS_DT_F64, 2, {"level", "sector"}, by_sector, "CNY",
       "var_contribution summed by sector (sums to var)", 0);
  } else {
    if (rec->var_contribution_region)
      DS("var_contribution_by_region", CAS_DT_F64, 2, {"level", "region"},
         rec->var_contribution_region, "CNY",
         "region's expected loss given a portfolio loss near var (Euler allocation, kernel "
         "estimator; sums to var)", 0);
    if (rec->var_contribution_sector)
      DS("var_contribution_by_sector", CAS_DT_F64, 2, {"level", "sector"},
         rec->var_contribution_sector, "CNY",
         "sector's expected loss given a portfolio loss near var (Euler allocation, kernel "
         "estimator; sums to var)", 0);
  }
  if (rec->nloans_top <= 0) return;
  uint64_t n = (uint64_t)rec->nloans_top;
  int64_t *rank = cas_datasets_own(l, malloc(n * sizeof *rank));
  if (l->failed) return;
  for (uint64_t i = 0; i < n; i++) rank[i] = (int64_t)i + 1;
  cas_datasets_dimension(l, (cas_dimension){"loan_rank", CAS_DT_I64, n, rank, NULL,
                                            "rank of a loan by its ES contribution (1: the largest)"});
  double *level = cas_datasets_keep(l, &rec->loans_level, sizeof rec->loans_level);
  double *total = cas_datasets_keep(l, &rec->loans_es_sum, sizeof rec->loans_es_sum);
  DS("es_contribution_loan", CAS_DT_F64, 1, {"loan_rank"}, rec->loans_top_es, "CNY",
     "the loan's loss on the paths that make up es at es_contribution_loan_level (Euler "
     "allocation), for the loans that contribute most", 0);
  DS("es_contribution_loan_id", CAS_DT_STR, 1, {"loan_rank"}, rec->loans_top_id, NULL,
     "the loan's id in the portfolio", 0);
  DS("es_contribution_loan_index", CAS_DT_I64, 1, {"loan_rank"}, rec->loans_top_index, "1",
     "the loan's row in the portfolio (0: the first)", 0);
  DS("es_contribution_loan_segment", CAS_DT_STR, 1, {"loan_rank"}, rec->loans_top_segment, NULL,
     "the loan's segment (region/sector)", 0);
  DS("es_contribution_loan_loss_given_default", CAS_DT_F64, 1, {"loan_rank"}, rec->loans_top_ead,
     "CNY", "what the loan loses if it defaults (stressed EAD x LGD, the part no guarantee covers)", 0);
  DS("es_contribution_loan_level", CAS_DT_F64, 0, {NULL}, level, "1",
     "the level of es the loan contributions allocate (the scenario's highest)", 0);
  DS("es_contribution_loans_total", CAS_DT_F64, 0, {NULL}, total, "CNY",
     "sum of the ES contributions of every loan of the book (equals es at that level up to "
     "rounding)", 0);
}

/* The closed-form cross-checks (analytic.h). */
static void describe_analytic(cas_dataset_list *l, const cas_run_record *rec, const cas_plan *plan) {
  const cas_analytic *a = rec->analytic;
  if (!a) return;
  const cas_scenario *sc = rec->scenario;
  int nseg = plan->nsegments;
  const char **cls = cas_datasets_own(l, malloc((size_t)(nseg ? nseg : 1) * sizeof *cls));
  double *rwa = cas_datasets_own(l, malloc(sizeof *rwa));
  if (l->failed) return;
  for (int s = 0; s < nseg; s++)
    cls[s] = cas_irb_class_names[sc->irb_class[cas_taxonomy_segment_sector(plan->tax, s)]];
  *rwa = 12.5 * a->irb_capital_total;
  DS("vasicek_quantile_by_segment", CAS_DT_F64, 2, {"level", "segment"}, a->vasicek, "CNY",
     "large-portfolio (Vasicek) loss quantile of the segment alone, with the model's correlation "
     "and the stressed PDs (first year)", 0);
  DS("vasicek_quantile_sum", CAS_DT_F64, 1, {"level"}, a->vasicek_sum, "CNY",
     "sum over the segments of vasicek_quantile_by_segment: every segment at its quantile at once "
     "(an upper bound of the book's large-portfolio quantile)", 0);
  DS("model_correlation_by_segment", CAS_DT_F64, 1, {"segment"}, a->model_correlation, "1",
     "the model's asset correlation of the segment, a' C a", 0);
  DS("irb_capital_by_segment", CAS_DT_F64, 1, {"segment"}, a->irb_capital, "CNY",
     "Basel IRB capital requirement K x EAD of the segment's loans (stressed PD and LGD, "
     "supervisory correlation, maturity adjustment, 99.9%)", 0);
  DS("irb_correlation_by_segment", CAS_DT_F64, 1, {"segment"}, a->irb_correlation, "1",
     "the segment's supervisory asset correlation (mean weighted by loss given default)", 0);
  DS("irb_class_by_segment", CAS_DT_STR, 1, {"segment"}, cls, NULL,
     "the IRB asset class of the segment's sector (model.irb_class)", 0);
  DS("irb_capital", CAS_DT_F64, 0, {NULL}, &a->irb_capital_total, "CNY",
     "Basel IRB capital requirement of the book", 0);
  DS("irb_risk_weighted_assets", CAS_DT_F64, 0, {NULL}, rwa, "CNY", "12.5 x irb_capital", 0);
  cas_datasets_attribute(l, "irb_maturity", CAS_DT_F64, &sc->irb_maturity);
}

/* Importance sampling: the weights and the shift that made them. */
static void describe_importance(cas_dataset_list *l, const cas_run_record *rec,
                                const cas_plan *plan, const cas_results *res) {
  const cas_scenario *sc = rec->scenario;
  if (!rec->is_shift || !res->weight) {
    cas_datasets_attribute(l, "importance_sampling", CAS_DT_STR, "off");
    return;
  }
  char text[256];
  if (sc->importance.mode == CAS_IS_LEVEL)
    snprintf(text, sizeof text, "factor shift to the design point of level %.17g", sc->importance.level);
  else
    snprintf(text, sizeof text, "factor shift to the design point of loss %.17g CNY", sc->importance.loss);
  if (sc->importance.plain_share > 0.0) {
    size_t len = strlen(text);
    snprintf(text + len, sizeof text - len, ", a share %.17g of the paths unshifted (defensive mixture)",
             sc->importance.plain_share);
  }
  cas_datasets_attribute(l, "importance_sampling", CAS_DT_STR, cas_datasets_keep_text(l, text));
  DS("weight", CAS_DT_F64, 1, {"path"}, res->weight, "1",
     "likelihood ratio of the path under importance sampling: the weight every statistic gives "
     "it (means are sum(weight x value) / paths)", 1);
  int years = plan->years > 1;
  if (years) {
    DS("importance_shift", CAS_DT_F64, 2, {"year", "factor"}, rec->is_shift, "standard deviations",
       "mean of the independent normals behind each year's factors under importance sampling "
       "(the design point, docs/MODEL.md)", 0);
    DS("importance_factor_move", CAS_DT_F64, 2, {"year", "factor"}, rec->is_moves,
       "standard deviations", "the design point as factor moves (Cholesky factor applied, "
       "beyond the scenario's shifts)", 0);
  } else {
    DS("importance_shift", CAS_DT_F64, 1, {"factor"}, rec->is_shift, "standard deviations",
       "mean of the independent normals behind the factors under importance sampling "
       "(the design point, docs/MODEL.md)", 0);
    DS("importance_factor_move", CAS_DT_F64, 1, {"factor"}, rec->is_moves, "standard deviations",
       "the design point as factor moves (Cholesky factor applied, beyond the scenario's shifts)", 0);
  }
  DS("importance_distance", CAS_DT_F64, 0, {NULL}, &rec->is_beta, "standard deviations",
     "norm of importance_shift: the design point's distance from the origin", 0);
  DS("importance_design_loss", CAS_DT_F64, 0, {NULL}, &rec->is_loss, "CNY",
     "expected loss given the factors at the design point (the large-portfolio approximation "
     "that chose the shift)", 0);
  double d[2];
  cas_weight_diagnostics(res->paths, res->weight, &d[0], &d[1]);
  double *diag = cas_datasets_keep(l, d, sizeof d);
  if (diag) {
    DS("importance_mean_weight", CAS_DT_F64, 0, {NULL}, &diag[0], "1",
       "mean of the paths' weights: 1 in expectation; an order of magnitude from 1 (outside 0.1 to "
       "10) the paths have not reached the region the weights correct for, and the weighted "
       "figures are not to be trusted (a nearer level, more paths, or plain_share)", 0);
    DS("importance_effective_paths", CAS_DT_F64, 0, {NULL}, &diag[1], "1",
       "effective sample size of the weights, (sum w)^2 / sum w^2: how many plain paths the "
       "weighted ones are worth for a mean (few by design when the shift aims at the tail)", 0);
  }
}

cas_status cas_output_describe(cas_dataset_list *l, const cas_run_record *rec,
                               const cas_plan *plan, const cas_results *res,
                               const cas_summary *sum, const double *seg_mean, cas_error *err) {
  describe_run(l, rec, plan);
  describe_dimensions(l, rec, plan, res, sum);
  describe_paths(l, res);
  describe_segments(l, plan, seg_mean);
  describe_summary(l, sum);
  describe_contributions(l, rec, plan, sum);
  describe_years(l, res, sum);
  describe_mitigants(l, rec, plan, res);
  describe_model(l, rec, plan);
  describe_importance(l, rec, plan, res);
  describe_analytic(l, rec, plan);
  /* What the models add: the network's guarantees and cascade, the
   * calibration of contagion. */
  if (rec->network && rec->network_model)
    rec->network_model->model->describe(l, rec->scenario, rec->network_model, rec->network, res,
                                        rec->contagion);
  if (rec->calibration) cas_calibration_describe(l, rec->calibration);
  if (l->failed) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory describing the result");
  return CAS_OK;
}
