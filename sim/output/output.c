/*
 * output.c: writes and reads result files (layout in docs/OUTPUT.md).
 *
 * Design: a handful of writers (dimension, variable, attribute) that every
 * dataset goes through, so that no dataset can be written without dimension
 * scales on all its axes and units on its values; the netCDF rules they
 * follow are in output.h. HDF5's automatic error printing is switched off:
 * failures become one cas_error naming the dataset.
 */
#include "output.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "version.h"

typedef struct writer {
  hid_t file;
  hid_t str_type;   /* variable-length UTF-8 string */
  int failed;
  char what[160];   /* first thing that failed */
} writer;

static void fail(writer *w, const char *what) {
  if (!w->failed) snprintf(w->what, sizeof w->what, "%s", what);
  w->failed = 1;
}

static void attr_string(writer *w, hid_t obj, const char *name, const char *value) {
  if (w->failed) return;
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, w->str_type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0 || H5Awrite(a, w->str_type, &value) < 0) fail(w, name);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
}

static void attr_scalar(writer *w, hid_t obj, const char *name, hid_t type, const void *value) {
  if (w->failed) return;
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0 || H5Awrite(a, type, value) < 0) fail(w, name);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
}

static void describe(writer *w, hid_t d, const char *units, const char *long_name) {
  if (units) attr_string(w, d, "units", units);
  if (long_name) attr_string(w, d, "long_name", long_name);
}

/* A dimension with string labels. Returns the scale dataset (caller closes). */
static hid_t dim_labels(writer *w, const char *name, const char *const *labels, hsize_t n,
                        const char *long_name) {
  if (w->failed) return -1;
  hid_t space = H5Screate_simple(1, &n, NULL);
  hid_t d = H5Dcreate2(w->file, name, w->str_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  if (d < 0 || H5Dwrite(d, w->str_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) < 0 ||
      H5DSset_scale(d, name) < 0) {
    fail(w, name);
    if (d >= 0) H5Dclose(d);
    return -1;
  }
  describe(w, d, NULL, long_name);
  return d;
}

/* A numeric dimension (coordinate values given). */
static hid_t dim_values(writer *w, const char *name, hid_t mem_type, hid_t file_type,
                        const void *values, hsize_t n, const char *units, const char *long_name) {
  if (w->failed) return -1;
  hid_t space = H5Screate_simple(1, &n, NULL);
  hid_t d = H5Dcreate2(w->file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  if (d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0 ||
      H5DSset_scale(d, name) < 0) {
    fail(w, name);
    if (d >= 0) H5Dclose(d);
    return -1;
  }
  describe(w, d, units, long_name);
  return d;
}

/* A data variable over rank dimensions (rank 0: a scalar). Per-path
 * variables (first dimension "path") are chunked and compressed. */
static void variable(writer *w, const char *name, hid_t mem_type, hid_t file_type, int rank,
                     const hid_t *dims, const hsize_t *shape, const void *data,
                     const char *units, const char *long_name, int compress) {
  if (w->failed) return;
  hid_t space = rank ? H5Screate_simple(rank, shape, NULL) : H5Screate(H5S_SCALAR);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (compress && shape[0] > 0) {
    hsize_t chunk[2] = {shape[0], rank > 1 ? shape[1] : 1};
    hsize_t row = rank > 1 ? shape[1] : 1;
    hsize_t rows = 65536 / row;
    if (rows < 1) rows = 1;
    if (chunk[0] > rows) chunk[0] = rows;
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
  }
  hid_t d = H5Dcreate2(w->file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  if (d < 0 || H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail(w, name);
    if (d >= 0) H5Dclose(d);
    return;
  }
  for (int k = 0; k < rank; k++)
    if (H5DSattach_scale(d, dims[k], (unsigned)k) < 0) fail(w, name);
  describe(w, d, units, long_name);
  H5Dclose(d);
}

static void write_string_scalar(writer *w, const char *name, const char *text, const char *long_name) {
  variable(w, name, w->str_type, w->str_type, 0, NULL, NULL, &text, NULL, long_name, 0);
}

static void utc_now(char *buf, size_t size) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The network: what it is, and what its guarantees did on each path. */
static void write_network(writer *w, const cas_run_record *rec, const cas_results *res,
                          hid_t d_path) {
  const cas_network *net = rec->network;
  hid_t root = w->file;
  hsize_t np = res->paths;
  attr_string(w, root, "network_source", net->source);
  unsigned long long links = net->nlinks, sc_links = net->links_by_type[CAS_LINK_SUPPLY_CHAIN],
                     g_links = net->links_by_type[CAS_LINK_GUARANTEE], cross = net->cross_region_links;
  attr_scalar(w, root, "network_links", H5T_NATIVE_ULLONG, &links);
  attr_scalar(w, root, "network_supply_chain_links", H5T_NATIVE_ULLONG, &sc_links);
  attr_scalar(w, root, "network_guarantee_links", H5T_NATIVE_ULLONG, &g_links);
  attr_scalar(w, root, "network_cross_region_links", H5T_NATIVE_ULLONG, &cross);
  if (rec->network_model) {
    double covered = rec->network_model->guaranteed_ead;
    variable(w, "guaranteed_ead", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &covered,
             "CNY", "exposure covered by guarantees (each loan's at most its stressed EAD)", 0);
  }
  if (res->loss_double_default) {
    double mean = 0.0;
    for (hsize_t p = 0; p < np; p++) mean += res->loss_double_default[p];
    mean /= (double)np;
    variable(w, "loss_double_default", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_path, &np,
             res->loss_double_default, "CNY",
             "covered parts of defaulted loans lost because the guarantor defaulted too", 1);
    variable(w, "el_double_default", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &mean,
             "CNY", "mean of loss_double_default (part of el)", 0);
  }
}

/* The PD-preserving calibration of contagion, by segment. */
static void write_calibration(writer *w, const cas_calibration *cal, hid_t d_seg) {
  hid_t root = w->file;
  hsize_t nseg = (hsize_t)cal->nsegments;
  unsigned long long paths = cal->paths, groups = cal->ngroups;
  unsigned iterations = cal->iterations;
  attr_scalar(w, root, "calibration_paths", H5T_NATIVE_ULLONG, &paths);
  attr_scalar(w, root, "calibration_iterations", H5T_NATIVE_UINT, &iterations);
  attr_scalar(w, root, "calibration_groups", H5T_NATIVE_ULLONG, &groups);
  variable(w, "calibration_max_residual", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL,
           &cal->max_residual, "1",
           "largest |pilot default rate - input PD| / input PD over the calibration groups", 0);
  variable(w, "calibration_mean_residual", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL,
           &cal->mean_residual, "1",
           "sum over the calibration groups of |pilot defaults - input PDs| / sum of input PDs", 0);
  variable(w, "calibration_target_pd", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           cal->target_pd, "1", "mean input PD of the segment, before shocks (the target)", 0);
  variable(w, "calibration_default_rate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           cal->rate, "1",
           "default rate on the pilot paths at the calibrated thresholds, cascade included", 0);
  variable(w, "calibration_default_rate_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           cal->rate_se, "1", "Monte Carlo standard error of calibration_default_rate", 0);
  variable(w, "calibration_cascade_rate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           cal->cascade_rate, "1", "part of calibration_default_rate from the cascade", 0);
  variable(w, "calibration_threshold_offset", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           cal->mean_offset, "standard deviations",
           "mean lowering of the segment's default thresholds by the calibration", 0);
}

/* Contagion: what the cascade added, path by path and in the summary. */
static void write_contagion(writer *w, const cas_run_record *rec, const cas_results *res,
                            hid_t d_path, hid_t d_seg, hid_t d_level, hsize_t nlevels) {
  const cas_contagion_summary *cs = rec->contagion;
  const cas_scenario *sc = rec->scenario;
  hid_t root = w->file;
  hsize_t np = res->paths, nseg = (hsize_t)cs->nsegments, nl = nlevels, nr = res->rounds_cap;
  hsize_t nrank = (hsize_t)cs->nlongest;

  attr_string(w, root, "contagion", "on");
  attr_scalar(w, root, "supply_chain_scale", H5T_NATIVE_DOUBLE, &sc->contagion.supply_chain_scale);
  attr_scalar(w, root, "guarantee_scale", H5T_NATIVE_DOUBLE, &sc->contagion.guarantee_scale);
  attr_string(w, root, "calibration", cas_calibration_mode_names[sc->contagion.calibration]);

  int32_t *round_index = malloc(nr * sizeof *round_index);
  int64_t *rank_index = malloc((nrank ? nrank : 1) * sizeof *rank_index);
  int64_t *longest = malloc((nrank ? nrank : 1) * sizeof *longest);
  if (!round_index || !rank_index || !longest) {
    fail(w, "memory for the contagion datasets");
    free(round_index);
    free(rank_index);
    free(longest);
    return;
  }
  for (hsize_t r = 0; r < nr; r++) round_index[r] = (int32_t)r;
  for (hsize_t k = 0; k < nrank; k++) {
    rank_index[k] = (int64_t)k;
    longest[k] = (int64_t)cs->longest_paths[k];
  }
  hid_t d_round = dim_values(w, "round", H5T_NATIVE_INT32, H5T_STD_I32LE, round_index, nr, "1",
                             "cascade round (0: factor-driven defaults)");
  hid_t d_rank = dim_values(w, "cascade_rank", H5T_NATIVE_INT64, H5T_STD_I64LE, rank_index, nrank,
                            "1", "rank among the longest cascades (0: longest)");

  hsize_t shp_ps[2] = {np, nseg}, shp_pr[2] = {np, nr}, shp_ls[2] = {nl, nseg};
  hid_t dims_ps[2] = {d_path, d_seg}, dims_pr[2] = {d_path, d_round}, dims_ls[2] = {d_level, d_seg};
  variable(w, "loss_contagion", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_path, &np,
           res->loss_contagion, "CNY", "part of the path's loss caused by contagion", 1);
  if (res->contagion_by_segment)
    variable(w, "contagion_loss_by_segment", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_ps, shp_ps,
             res->contagion_by_segment, "CNY", "contagion loss by segment on the path", 1);
  variable(w, "defaults_by_round", H5T_NATIVE_INT32, H5T_STD_I32LE, 2, dims_pr, shp_pr,
           res->defaults_by_round, "1", "new defaults in each cascade round", 1);
  variable(w, "cascade_rounds", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, &d_path, &np, res->rounds,
           "1", "last cascade round with new defaults (0: no contagion default)", 1);
  variable(w, "cascade_truncated", H5T_NATIVE_UINT8, H5T_STD_U8LE, 1, &d_path, &np,
           res->truncated, "1", "1 if max_rounds stopped the cascade", 1);
  variable(w, "el_contagion", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &cs->el_contagion,
           "CNY", "mean contagion loss", 0);
  variable(w, "el_contagion_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL,
           &cs->el_contagion_se, "CNY", "Monte Carlo standard error of el_contagion", 0);
  variable(w, "mean_cascade_rounds", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL,
           &cs->mean_rounds, "1", "mean of cascade_rounds", 0);
  variable(w, "var_factor_only", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl,
           cs->var_factor, "CNY", "VaR of the loss without its contagion part", 0);
  variable(w, "es_factor_only", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl,
           cs->es_factor, "CNY", "ES of the loss without its contagion part", 0);
  variable(w, "es_contagion", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl,
           cs->es_contagion, "CNY", "contagion loss on the paths that make up es", 0);
  variable(w, "es_contagion_share", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl,
           cs->es_contagion_share, "1", "es_contagion / es: the share of ES that contagion adds", 0);
  variable(w, "es_contribution_contagion", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_ls, shp_ls,
           cs->es_contribution_contagion, "CNY",
           "contagion loss by segment on the paths that make up es (sums to es_contagion)", 0);
  variable(w, "longest_cascade_path", H5T_NATIVE_INT64, H5T_STD_I64LE, 1, &d_rank, &nrank, longest,
           "1", "paths with the longest cascades (rounds, then contagion loss)", 0);
  variable(w, "longest_cascade_rounds", H5T_NATIVE_INT32, H5T_STD_I32LE, 1, &d_rank, &nrank,
           cs->longest_rounds, "1", "cascade rounds of longest_cascade_path", 0);
  free(round_index);
  free(rank_index);
  free(longest);
  if (d_round >= 0) H5Dclose(d_round);
  if (d_rank >= 0) H5Dclose(d_rank);
}

static void write_all(writer *w, const cas_run_record *rec, const cas_plan *plan,
                      const cas_results *res, const cas_summary *sum, const double *seg_mean) {
  const cas_scenario *sc = rec->scenario;
  hid_t root = w->file;
  const cas_taxonomy *tax = plan->tax;
  hsize_t np = res->paths, nseg = (hsize_t)plan->nsegments, nf = (hsize_t)plan->nfactors,
          nl = (hsize_t)sum->nlevels;
  hsize_t nreg = (hsize_t)tax->regions.n, nsec = (hsize_t)tax->sectors.n;
  /* Root attributes: what ran, with what, where from. */
  char created[32];
  utc_now(created, sizeof created);
  attr_string(w, root, "title", "cascade stress-test result");
  attr_string(w, root, "cascade_version", CASCADE_VERSION);
  attr_string(w, root, "cascade_commit", CASCADE_GIT_COMMIT);
  attr_string(w, root, "scenario_name", sc->name);
  attr_string(w, root, "scenario_description", sc->description ? sc->description : "");
  attr_scalar(w, root, "seed", H5T_NATIVE_UINT64, &sc->seed);
  attr_scalar(w, root, "paths", H5T_NATIVE_UINT64, &sc->paths);
  unsigned long long loans = plan->n;
  attr_scalar(w, root, "loans", H5T_NATIVE_ULLONG, &loans);
  attr_string(w, root, "portfolio_source", rec->portfolio_source);
  if (rec->portfolio_file) {
    attr_string(w, root, "portfolio_file", rec->portfolio_file);
    attr_string(w, root, "portfolio_sha256", rec->portfolio_sha256 ? rec->portfolio_sha256 : "");
  }
  if (rec->links_file) {
    attr_string(w, root, "links_file", rec->links_file);
    attr_string(w, root, "links_sha256", rec->links_sha256 ? rec->links_sha256 : "");
  }
  attr_string(w, root, "copula", sc->copula);
  attr_string(w, root, "lgd_model", sc->lgd_model);
  attr_string(w, root, "kernel", rec->kernel);
  attr_string(w, root, "factor_shift_mode", cas_shift_mode_names[sc->factor_shift_mode]);
  attr_scalar(w, root, "threads", H5T_NATIVE_INT, &rec->threads);
  attr_scalar(w, root, "elapsed_seconds", H5T_NATIVE_DOUBLE, &rec->elapsed_seconds);
  attr_string(w, root, "command_line", rec->command_line ? rec->command_line : "");
  attr_string(w, root, "created_utc", created);
  attr_string(w, root, "units_note", "money in CNY; factors in standard deviations");
  if (!rec->contagion) attr_string(w, root, "contagion", "off");
  attr_string(w, root, "contagion_model", sc->contagion.model);

  /* Dimensions. */
  int64_t *path_index = malloc(np * sizeof *path_index);
  if (!path_index) {
    fail(w, "memory for the path index");
    return;
  }
  for (hsize_t p = 0; p < np; p++) path_index[p] = (int64_t)p;
  hid_t d_path = dim_values(w, "path", H5T_NATIVE_INT64, H5T_STD_I64LE, path_index, np, NULL,
                            "Monte Carlo path index");
  free(path_index);

  /* Labels: segments "region/sector", with the classification's own lists. */
  size_t label_max = 2 * CAS_NAME_MAX + 2;
  char *seg_buf = malloc(nseg * label_max);
  const char **seg_names = malloc(nseg * 3 * sizeof *seg_names);
  if (!seg_buf || !seg_names) {
    free(seg_buf);
    free(seg_names);
    if (d_path >= 0) H5Dclose(d_path);
    fail(w, "memory for the segment labels");
    return;
  }
  const char **seg_region = seg_names + nseg, **seg_sector = seg_region + nseg;
  for (int s = 0; s < (int)nseg; s++) {
    cas_taxonomy_segment_name(tax, s, seg_buf + (size_t)s * label_max, label_max);
    seg_names[s] = seg_buf + (size_t)s * label_max;
    seg_region[s] = tax->regions.name[cas_taxonomy_segment_region(tax, s)];
    seg_sector[s] = tax->sectors.name[cas_taxonomy_segment_sector(tax, s)];
  }
  hid_t d_seg = dim_labels(w, "segment", seg_names, nseg, "portfolio segment (region/sector)");
  hid_t d_region = dim_labels(w, "region", (const char *const *)tax->regions.name, nreg,
                              "region of the book's classification");
  hid_t d_sector = dim_labels(w, "sector", (const char *const *)tax->sectors.name, nsec,
                              "sector of the book's classification");
  attr_string(w, root, "classification", tax->source);
  const char *const *fac_names = (const char *const *)rec->scenario->factors->names.name;
  hid_t d_fac = dim_labels(w, "factor", fac_names, nf, "systematic factor");
  hid_t d_fac2 = dim_labels(w, "factor2", fac_names, nf, "systematic factor (second axis)");
  hid_t d_level = dim_values(w, "level", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, sum->levels, nl,
                             "1", "confidence level of VaR and ES");
  int recorded = rec->record_nfiles > 0;
  hsize_t nfiles = recorded ? rec->record_nfiles : sc->nfiles;
  const char *const *file_paths = (const char *const *)(recorded ? rec->record_paths : sc->file_paths);
  const char *const *file_texts = (const char *const *)(recorded ? rec->record_texts : sc->file_texts);
  hid_t d_file = dim_labels(w, "scenario_file", file_paths, nfiles,
                            "scenario file read (0: the scenario, then its bases via extends)");

  /* Per-path results. */
  hsize_t shp_seg[2] = {np, nseg}, shp_fac[2] = {np, nf};
  hid_t dims_ps[2] = {d_path, d_seg}, dims_pf[2] = {d_path, d_fac};
  variable(w, "loss", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_path, &np, res->loss, "CNY",
           "portfolio loss on the path", 1);
  variable(w, "defaults", H5T_NATIVE_INT64, H5T_STD_I64LE, 1, &d_path, &np, res->defaults, "1",
           "number of defaulted loans on the path", 1);
  if (res->loss_by_segment)
    variable(w, "loss_by_segment", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_ps, shp_seg,
             res->loss_by_segment, "CNY", "loss by segment on the path", 1);
  variable(w, "factor_value", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_pf, shp_fac,
           res->factors, "standard deviations", "systematic factor values on the path (after shifts)", 1);
  if (res->defaults_by_segment)
    variable(w, "defaults_by_segment", H5T_NATIVE_INT32, H5T_STD_I32LE, 2, dims_ps, shp_seg,
             res->defaults_by_segment, "1", "defaulted loans by segment on the path", 1);
  /* Groupings stored per path instead of (or besides) the segments. */
  for (int k = 0; k < res->ngroupings; k++) {
    const cas_grouping *g = &res->grouping[k];
    hid_t d_g = !strcmp(g->name, "region") ? d_region : d_sector;
    hsize_t shp_g[2] = {np, (hsize_t)g->ngroups};
    hid_t dims_g[2] = {d_path, d_g};
    char name[64], text[96];
    snprintf(name, sizeof name, "loss_by_%s", g->name);
    snprintf(text, sizeof text, "loss by %s on the path", g->name);
    variable(w, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_g, shp_g, g->loss, "CNY", text, 1);
    snprintf(name, sizeof name, "defaults_by_%s", g->name);
    snprintf(text, sizeof text, "defaulted loans by %s on the path", g->name);
    variable(w, name, H5T_NATIVE_INT32, H5T_STD_I32LE, 2, dims_g, shp_g, g->defaults, "1", text, 1);
    if (g->contagion && rec->contagion) {
      snprintf(name, sizeof name, "contagion_loss_by_%s", g->name);
      snprintf(text, sizeof text, "contagion loss by %s on the path", g->name);
      variable(w, name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_g, shp_g, g->contagion, "CNY",
               text, 1);
    }
  }

  /* Segment table. */
  variable(w, "segment_region", w->str_type, w->str_type, 1, &d_seg, &nseg, seg_region, NULL,
           "region of the segment", 0);
  variable(w, "segment_sector", w->str_type, w->str_type, 1, &d_seg, &nseg, seg_sector, NULL,
           "sector of the segment", 0);
  int64_t *loans_by_seg = malloc(nseg * sizeof *loans_by_seg);
  double *input_pd = malloc(4 * nseg * sizeof *input_pd);
  if (!loans_by_seg || !input_pd) {
    free(loans_by_seg);
    free(input_pd);
    free(seg_buf);
    free(seg_names);
    fail(w, "memory for the segment table");
    return;
  }
  double *expected_rate = input_pd + nseg;
  const double *rate = seg_mean + nseg, *rate_se = seg_mean + 2 * nseg;
  for (hsize_t s = 0; s < nseg; s++) loans_by_seg[s] = (int64_t)plan->unstressed.loans[s];
  variable(w, "portfolio_loans", H5T_NATIVE_INT64, H5T_STD_I64LE, 1, &d_seg, &nseg, loans_by_seg,
           "1", "number of loans in the segment", 0);
  variable(w, "portfolio_ead", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           plan->unstressed.ead, "CNY", "exposure at default before shocks", 0);
  variable(w, "portfolio_expected_loss", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           plan->unstressed.expected_loss, "CNY", "sum of PD x LGD x EAD before shocks", 0);
  variable(w, "stressed_ead", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           plan->stressed.ead, "CNY", "exposure at default after shocks", 0);
  variable(w, "stressed_expected_loss", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           plan->stressed.expected_loss, "CNY",
           "analytic expected loss after shocks: sum over loans of the PD under the shifted "
           "factor means x stressed LGD x stressed EAD", 0);
  for (hsize_t s = 0; s < nseg; s++) {
    double l = plan->unstressed.loans[s] ? (double)plan->unstressed.loans[s] : 1.0;
    input_pd[s] = plan->unstressed.expected_defaults[s] / l;
    expected_rate[s] = plan->stressed.expected_defaults[s] / l;
  }
  variable(w, "portfolio_pd", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg, input_pd, "1",
           "mean input PD of the segment's loans", 0);
  variable(w, "stressed_default_rate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           expected_rate, "1", "mean stressed PD: the analytic default rate without contagion", 0);
  variable(w, "default_rate", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg, rate, "1",
           "simulated default rate of the segment (mean of defaults_by_segment / loans)", 0);
  variable(w, "default_rate_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg, rate_se, "1",
           "Monte Carlo standard error of default_rate", 0);
  free(loans_by_seg);
  free(input_pd);

  /* Summary. */
  variable(w, "el", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &sum->el, "CNY",
           "expected loss (Monte Carlo mean)", 0);
  variable(w, "el_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &sum->el_se, "CNY",
           "Monte Carlo standard error of el", 0);
  variable(w, "sd", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &sum->sd, "CNY",
           "standard deviation of loss", 0);
  variable(w, "sd_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL, &sum->sd_se, "CNY",
           "Monte Carlo standard error of sd", 0);
  variable(w, "mean_defaults", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 0, NULL, NULL,
           &sum->mean_defaults, "1", "mean number of defaults per path", 0);
  variable(w, "var", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl, sum->var, "CNY",
           "value at risk (empirical loss quantile)", 0);
  variable(w, "var_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl, sum->var_se, "CNY",
           "Monte Carlo standard error of var (order-statistic band)", 0);
  variable(w, "es", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl, sum->es, "CNY",
           "expected shortfall (mean loss beyond var)", 0);
  variable(w, "es_se", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_level, &nl, sum->es_se, "CNY",
           "Monte Carlo standard error of es", 0);
  hsize_t shp_ls[2] = {nl, nseg};
  hid_t dims_ls[2] = {d_level, d_seg};
  variable(w, "es_contribution", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_ls, shp_ls,
           sum->es_contribution, "CNY", "segment's loss on the paths that make up es (sums to es)", 0);
  variable(w, "el_by_segment", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_seg, &nseg,
           sum->el_by_segment, "CNY", "expected loss by segment (Monte Carlo mean)", 0);

  /* The model as run. */
  hsize_t shp_sf[2] = {nseg, nf}, shp_ff[2] = {nf, nf};
  hid_t dims_sf[2] = {d_seg, d_fac}, dims_ff[2] = {d_fac, d_fac2};
  variable(w, "factor_loading", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_sf, shp_sf,
           plan->loading, "1", "loading of a segment's latent variable on each factor", 0);
  variable(w, "factor_correlation", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 2, dims_ff, shp_ff,
           sc->factors->corr, "1", "correlation of the systematic factors", 0);
  variable(w, "factor_shift", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_fac, &nf, plan->shift,
           "standard deviations",
           "mean of each factor as simulated: the scenario's shifts and, in the conditional "
           "factor_shift_mode, their propagation to correlated factors", 0);
  variable(w, "factor_shift_given", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, 1, &d_fac, &nf,
           plan->shift_given, "standard deviations",
           "factor shifts as the scenario's shocks give them, summed by factor (0: not shifted)", 0);

  /* Reproducibility: the texts read and the resolved scenario. */
  variable(w, "scenario_text", w->str_type, w->str_type, 1, &d_file, &nfiles,
           file_texts, NULL, "text of each scenario file read, byte for byte", 0);
  write_string_scalar(w, "scenario_resolved", rec->resolved_yaml,
                      "the scenario as run: self-contained YAML, every key explicit");

  if (rec->network) write_network(w, rec, res, d_path);
  if (rec->calibration) write_calibration(w, rec->calibration, d_seg);
  if (rec->contagion && res->rounds_cap) write_contagion(w, rec, res, d_path, d_seg, d_level, nl);

  free(seg_buf);
  free(seg_names);
  hid_t dims[] = {d_path, d_seg, d_region, d_sector, d_fac, d_fac2, d_level, d_file};
  for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++)
    if (dims[k] >= 0) H5Dclose(dims[k]);
}

cas_status cas_output_write(const char *path, const cas_run_record *rec, const cas_plan *plan,
                            const cas_results *res, const cas_summary *sum,
                            const double *seg_mean, cas_error *err) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return cas_error_set(err, CAS_ERR_USAGE, "output path too long: %s", path);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

  writer w = {0};
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  w.file = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  H5Pclose(fcpl);
  if (w.file < 0)
    return cas_error_set(err, CAS_ERR_IO, "cannot create %s: %s", tmp,
                         errno ? strerror(errno) : "HDF5 error");
  w.str_type = H5Tcopy(H5T_C_S1);
  H5Tset_size(w.str_type, H5T_VARIABLE);
  H5Tset_cset(w.str_type, H5T_CSET_UTF8);

  write_all(&w, rec, plan, res, sum, seg_mean);

  H5Tclose(w.str_type);
  if (H5Fclose(w.file) < 0) fail(&w, "closing the file");
  if (w.failed) {
    unlink(tmp);
    return cas_error_set(err, CAS_ERR_IO, "writing %s failed at '%s'", path, w.what);
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return cas_error_set(err, CAS_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
  }
  return CAS_OK;
}

/* Reads a dataset of exactly n doubles (n = 1: a scalar); -1 if the
 * dataset is missing or has another size, so a foreign file cannot
 * overflow the caller's buffer. */
static int read_doubles(hid_t file, const char *name, double *out, hssize_t n) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t space = H5Dget_space(d);
  hssize_t have = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (space >= 0) H5Sclose(space);
  herr_t rc = have == n ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
  H5Dclose(d);
  return rc < 0 ? -1 : 0;
}

/* Number of elements of a dataset, or -1. */
static hssize_t dataset_size(hid_t file, const char *name) {
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t space = H5Dget_space(d);
  hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (space >= 0) H5Sclose(space);
  H5Dclose(d);
  return n;
}

int cas_output_headline_level(const cas_output_headline *h, double a) {
  for (int l = 0; l < h->nlevels; l++)
    if (fabs(h->levels[l] - a) < 1e-12) return l;
  return -1;
}

static int read_attr_u64(hid_t file, const char *name, unsigned long long *out) {
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  if (a < 0) return -1;
  hid_t space = H5Aget_space(a);
  hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  if (space >= 0) H5Sclose(space);
  herr_t rc = n == 1 ? H5Aread(a, H5T_NATIVE_ULLONG, out) : -1;
  H5Aclose(a);
  return rc < 0 ? -1 : 0;
}

static int read_attr_string(hid_t file, const char *name, char *buf, size_t size) {
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  if (a < 0) return -1;
  hid_t space = H5Aget_space(a), ftype = H5Aget_type(a);
  int ok = space >= 0 && H5Sget_simple_extent_npoints(space) == 1 && ftype >= 0 &&
           H5Tis_variable_str(ftype) > 0;
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  if (!ok) {
    H5Aclose(a);
    return -1;
  }
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  char *s = NULL;
  herr_t rc = H5Aread(a, t, &s);
  if (rc >= 0 && s) {
    snprintf(buf, size, "%s", s);
    H5free_memory(s);
  }
  H5Tclose(t);
  H5Aclose(a);
  return rc < 0 ? -1 : 0;
}

cas_status cas_output_read_headline(const char *path, cas_output_headline *out, cas_error *err) {
  memset(out, 0, sizeof *out);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (access(path, R_OK) != 0)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read: %s", path, strerror(errno));
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return cas_error_set(err, CAS_ERR_INPUT, "%s: not an HDF5 file", path);
  int bad = 0;
  bad |= read_attr_string(f, "scenario_name", out->scenario, sizeof out->scenario);
  bad |= read_attr_u64(f, "seed", &out->seed);
  bad |= read_attr_u64(f, "paths", &out->paths);
  bad |= read_attr_u64(f, "loans", &out->loans);
  bad |= read_doubles(f, "el", &out->el, 1);
  bad |= read_doubles(f, "el_se", &out->el_se, 1);
  hssize_t nl = dataset_size(f, "level");
  if (nl < 1 || nl > CAS_MAX_LEVELS) bad = 1;
  else {
    out->nlevels = (int)nl;
    bad |= read_doubles(f, "level", out->levels, nl);
    bad |= read_doubles(f, "var", out->var, nl);
    bad |= read_doubles(f, "var_se", out->var_se, nl);
    bad |= read_doubles(f, "es", out->es, nl);
    bad |= read_doubles(f, "es_se", out->es_se, nl);
  }
  hssize_t nseg = dataset_size(f, "stressed_ead");
  double *ead = nseg > 0 && nseg <= CAS_SEGMENTS_MAX ? malloc((size_t)nseg * sizeof *ead) : NULL;
  if (ead == NULL) bad = 1;
  else bad |= read_doubles(f, "stressed_ead", ead, nseg);
  for (hssize_t s = 0; s < nseg && !bad; s++) out->exposure += ead[s];
  free(ead);
  H5Fclose(f);
  if (bad) return cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade result file", path);
  return CAS_OK;
}
