/*
 * report.c: the HTML report of `cascade report` (report.h, docs/REPORT.md).
 *
 * How a dataset is shown is decided from what the file declares about it,
 * never from its name (the one exception is the contagion section, which
 * pairs es_contagion_share and es_contribution(_contagion) as the task of
 * the report asks):
 *
 *   declared shape                          shown as
 *   scalar (with NAME_se)                   summary table: value +- s.e., ratio to baseline
 *   (level) (with NAME_se)                  quantile table, one row per level
 *   NAME_se, NAME_lo, NAME_hi               partners of NAME (same shape): its standard
 *                                           error and 95% interval, shown with it
 *   (path)                                  histogram and exceedance curve P(X > x)
 *   (path, segment), additive               mean over paths, summed by region and by sector
 *   (segment), additive                     summed by region and by sector (tables, bars)
 *   (level, segment), additive              the same at each level
 *   (path, AXIS)                            mean over paths along AXIS (table, plot)
 *   anything else of rank 1 or 2            generic table (rank 1 also a plot)
 *   strings                                 verbatim text in the reproduction section
 *
 * "additive" means money (units CNY) or counts (an integer type): only
 * those may be summed over the segments of a region or sector. Grouping
 * uses the file's own segment_region / segment_sector labels. Dimension
 * scales label axes and are not shown on their own. Money is shown in CNY
 * million. The union of the datasets of all files is shown; a scenario
 * whose file lacks one shows "n/a".
 *
 * Memory: per-path datasets are read whole only when one-dimensional (the
 * distribution plots need them sorted); wider ones are averaged over paths
 * block by block.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "h5scan.h"
#include "output.h"
#include "stats.h"
#include "svg.h"
#include "textbuf.h"
#include "version.h"

typedef enum kind {
  K_SKIP,          /* a scale, a grouping label or an _se, _lo or _hi partner */
  K_SCALAR,
  K_LEVEL,
  K_DIST,
  K_SEGMENT,
  K_LEVEL_SEGMENT,
  K_PATH_SEGMENT,
  K_PATH_AXIS,
  K_GENERIC,
  K_TEXT,
  K_UNSHOWN
} kind;

typedef struct scen {
  cas_h5_file *f;
  const char *name;       /* scenario_name attribute */
  char **region, **sector; /* labels of each segment, NULL when absent */
  unsigned long long nseg;
} scen;

typedef struct item {
  const char *name;
  kind k;
  const cas_h5_var *v;   /* as declared by the first file that has it */
  size_t first;          /* index of that file */
} item;

typedef struct rep {
  scen *s;
  size_t ns;
  item *items;
  size_t nitems;
  char **regions, **sectors; /* union of group labels over files */
  size_t nregions, nsectors;
  cas_buf h;
  int nplots;
  const char *series[256]; /* scenario names, for plot legends */
  size_t colours[256];
  cas_status st;
  cas_error *err;
} rep;

/* ---- small helpers ---------------------------------------------------- */

static int is_money(const char *units) { return !strcmp(units, "CNY"); }
static double unit_factor(const char *units) { return is_money(units) ? 1e-6 : 1.0; }
static const char *unit_label(const char *units) {
  if (is_money(units)) return "CNY mn";
  if (!strcmp(units, "1")) return "";
  return units;
}

/* Numbers in tables: grouped thousands with one decimal from 100 up,
 * four significant digits below, integers as integers. */
static void fmt(double v, char *out, size_t size) {
  if (!isfinite(v)) {
    snprintf(out, size, "n/a");
    return;
  }
  double a = fabs(v);
  if (a >= 1e15 || (a > 0 && a < 1e-4)) {
    snprintf(out, size, "%.4g", v);
  } else if (a >= 100 || v == floor(v)) {
    char digits[40];
    int integral = v == floor(v) && a < 1e15;
    snprintf(digits, sizeof digits, integral ? "%.0f" : "%.1f", a);
    char *dot = strchr(digits, '.');
    size_t nint = dot ? (size_t)(dot - digits) : strlen(digits);
    char tmp[64];
    size_t j = 0;
    if (v < 0) tmp[j++] = '-';
    for (size_t i = 0; i < nint; i++) {
      if (i && (nint - i) % 3 == 0) tmp[j++] = ',';
      tmp[j++] = digits[i];
    }
    tmp[j] = '\0';
    snprintf(out, size, "%s%s", tmp, dot ? dot : "");
  } else {
    snprintf(out, size, "%.4g", v);
  }
}

static void put_num(rep *r, double v) {
  char t[64];
  fmt(v, t, sizeof t);
  cas_buf_put(&r->h, t);
}

static int any_finite(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) return 1;
  return 0;
}

static void no_plot(rep *r) { cas_buf_put(&r->h, "<p class=\"shape\">(no finite values to plot)</p>"); }

static int fail(rep *r, cas_status st) {
  if (r->st == CAS_OK) r->st = st;
  return -1;
}

static int dim_is(const cas_h5_var *v, int axis, const char *name) {
  return axis < v->rank && !strcmp(v->dim[axis], name);
}

static const cas_h5_var *find_numeric(const cas_h5_file *f, const char *name) {
  const cas_h5_var *v = cas_h5_find(f, name);
  return v && v->kind == CAS_H5_NUMBER ? v : NULL;
}

/* The `NAME_suffix` partner of v in f (suffix "_se", "_lo", "_hi"), if it
 * has the same shape. */
static const cas_h5_var *partner(const cas_h5_file *f, const cas_h5_var *v, const char *suffix) {
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s%s", v->name, suffix) >= (int)sizeof buf) return NULL;
  const cas_h5_var *p = find_numeric(f, buf);
  return p && p->n == v->n && p->rank == v->rank ? p : NULL;
}

static const cas_h5_var *se_partner(const cas_h5_file *f, const cas_h5_var *v) {
  return partner(f, v, "_se");
}

static int groupable(const scen *s, const cas_h5_var *v, int axis) {
  return s->region && s->sector && v->dims[axis] == s->nseg;
}

static int additive(const cas_h5_var *v) { return is_money(v->units) || v->integer; }

static kind classify(const scen *s, const cas_h5_var *v) {
  if (v->is_scale) return K_SKIP;
  if (!strcmp(v->name, "segment_region") || !strcmp(v->name, "segment_sector")) return K_SKIP;
  if (v->kind == CAS_H5_STRING) return K_TEXT;
  if (v->kind != CAS_H5_NUMBER) return K_UNSHOWN;
  size_t len = strlen(v->name);
  if (len > 3 && (!strcmp(v->name + len - 3, "_se") || !strcmp(v->name + len - 3, "_lo") ||
                  !strcmp(v->name + len - 3, "_hi"))) {
    char base[1024];
    if (len - 3 < sizeof base) {
      memcpy(base, v->name, len - 3);
      base[len - 3] = '\0';
      const cas_h5_var *b = find_numeric(s->f, base);
      if (b && b->n == v->n) return K_SKIP;
    }
  }
  if (v->rank == 0) return K_SCALAR;
  if (dim_is(v, 0, "path")) {
    if (v->rank == 1) return K_DIST;
    if (v->rank == 2 && dim_is(v, 1, "segment") && groupable(s, v, 1) && additive(v)) return K_PATH_SEGMENT;
    if (v->rank == 2) return K_PATH_AXIS;
    return K_UNSHOWN;
  }
  if (v->rank == 1 && dim_is(v, 0, "level")) return K_LEVEL;
  if (v->rank == 1 && dim_is(v, 0, "segment") && groupable(s, v, 0) && additive(v)) return K_SEGMENT;
  if (v->rank == 2 && dim_is(v, 0, "level") && dim_is(v, 1, "segment") && groupable(s, v, 1) && additive(v))
    return K_LEVEL_SEGMENT;
  if (v->rank <= 2) return K_GENERIC;
  return K_UNSHOWN;
}

/* Labels of axis `axis` of v in file s: the scale's strings or numbers,
 * else indices. Returns n new strings (cas_h5_free_strings), NULL on error. */
static char **axis_labels(rep *r, const scen *s, const cas_h5_var *v, int axis, int *numeric, double **values) {
  unsigned long long n = v->dims[axis];
  *numeric = 1;
  if (values) *values = NULL;
  char **out = calloc(n ? n : 1, sizeof *out);
  double *vals = calloc(n ? n : 1, sizeof *vals);
  if (!out || !vals) {
    free(out);
    free(vals);
    fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
    return NULL;
  }
  for (unsigned long long i = 0; i < n; i++) vals[i] = (double)i;
  const cas_h5_var *sc = v->dim[axis][0] ? cas_h5_find(s->f, v->dim[axis]) : NULL;
  if (sc && (sc->rank != 1 || sc->dims[0] != n || sc->no_values)) sc = NULL;
  char **strs = NULL;
  if (sc && sc->kind == CAS_H5_STRING) {
    cas_error e;
    if (cas_h5_read_strings(s->f, sc, &strs, &e) == CAS_OK) *numeric = 0;
  } else if (sc && sc->kind == CAS_H5_NUMBER) {
    double *d = NULL;
    cas_error e;
    if (cas_h5_read_numbers(s->f, sc, &d, &e) == CAS_OK) {
      memcpy(vals, d, n * sizeof *vals);
      free(d);
    }
  }
  int is_level = !strcmp(v->dim[axis], "level");
  for (unsigned long long i = 0; i < n; i++) {
    char t[64];
    if (strs) {
      out[i] = strs[i];
      strs[i] = NULL;
      continue;
    }
    if (is_level) snprintf(t, sizeof t, "%g%%", 100 * vals[i]);
    else snprintf(t, sizeof t, "%g", vals[i]);
    out[i] = strdup(t);
  }
  free(strs);
  for (unsigned long long i = 0; i < n; i++)
    if (!out[i]) {
      cas_h5_free_strings(out, n);
      free(vals);
      fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
      return NULL;
    }
  if (values) *values = vals;
  else free(vals);
  return out;
}

/* All values of dataset `name` of scenario k scaled to display units, or
 * NULL when the file has no such numeric dataset (or on error: r->st). */
static double *load(rep *r, size_t k, const char *name, const cas_h5_var **vout) {
  const cas_h5_var *v = find_numeric(r->s[k].f, name);
  if (vout) *vout = v;
  if (!v) return NULL;
  double *d = NULL;
  if (cas_h5_read_numbers(r->s[k].f, v, &d, r->err) != CAS_OK) {
    fail(r, r->err->status);
    return NULL;
  }
  double f = unit_factor(v->units);
  for (unsigned long long i = 0; i < v->n; i++) d[i] *= f;
  return d;
}

/* Mean over the first axis (paths) of a rank-2 dataset, in display units. */
static double *path_mean(rep *r, size_t k, const cas_h5_var *v) {
  unsigned long long rows = v->dims[0], cols = v->dims[1], block = 4096;
  double *sum = calloc(cols ? cols : 1, sizeof *sum);
  double *buf = cols && block * cols < (1ULL << 27) ? malloc(block * cols * sizeof *buf) : NULL;
  if (!buf && cols) block = 1, buf = malloc(cols * sizeof *buf);
  if (!sum || !buf) {
    free(sum);
    free(buf);
    fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "%s: %s: out of memory", r->s[k].f->path, v->name));
    return NULL;
  }
  for (unsigned long long r0 = 0; r0 < rows && cols; r0 += block) {
    unsigned long long nr = rows - r0 < block ? rows - r0 : block;
    if (cas_h5_read_rows(r->s[k].f, v, r0, nr, buf, r->err) != CAS_OK) {
      free(sum);
      free(buf);
      fail(r, r->err->status);
      return NULL;
    }
    for (unsigned long long i = 0; i < nr; i++)
      for (unsigned long long c = 0; c < cols; c++) sum[c] += buf[i * cols + c];
  }
  free(buf);
  double f = unit_factor(v->units) / (rows ? (double)rows : NAN);
  for (unsigned long long c = 0; c < cols; c++) sum[c] *= f;
  return sum;
}

static int add_label(char ***list, size_t *n, const char *s) {
  for (size_t i = 0; i < *n; i++)
    if (!strcmp((*list)[i], s)) return 0;
  char **p = realloc(*list, (*n + 1) * sizeof *p);
  if (!p) return -1;
  *list = p;
  if (!(p[*n] = strdup(s))) return -1;
  (*n)++;
  return 0;
}

/* Sums segment values of scenario k into the region (by_region) or sector
 * groups; out has one entry per group of the union (NAN if no segment). */
static void group(const rep *r, size_t k, const double *seg, int by_region, double *out) {
  size_t ng = by_region ? r->nregions : r->nsectors;
  char **names = by_region ? r->regions : r->sectors;
  char **lab = by_region ? r->s[k].region : r->s[k].sector;
  for (size_t g = 0; g < ng; g++) {
    double sum = 0;
    int any = 0;
    for (unsigned long long i = 0; i < r->s[k].nseg; i++)
      if (!strcmp(lab[i], names[g])) sum += seg[i], any = 1;
    out[g] = any ? sum : NAN;
  }
}

/* ---- HTML pieces ------------------------------------------------------ */

static void put_esc(rep *r, const char *s) { cas_buf_put_escaped(&r->h, s); }

static void scenario_header_cells(rep *r) {
  for (size_t k = 0; k < r->ns; k++) {
    cas_buf_printf(&r->h, "<th><span class=\"sw\" style=\"background:%s\"></span>", cas_svg_colour(k));
    put_esc(r, r->s[k].name);
    cas_buf_put(&r->h, k == 0 ? " <small>(baseline)</small></th>" : "</th>");
  }
}

static void caption(rep *r, const cas_h5_var *v, const char *extra) {
  cas_buf_put(&r->h, "<figcaption>");
  put_esc(r, v->long_name[0] ? v->long_name : v->name);
  if (extra) cas_buf_put(&r->h, extra);
  const char *u = unit_label(v->units);
  if (u[0]) {
    cas_buf_put(&r->h, " [");
    put_esc(r, u);
    cas_buf_put(&r->h, "]");
  }
  cas_buf_put(&r->h, " <code>");
  put_esc(r, v->name);
  cas_buf_put(&r->h, "</code></figcaption>");
}

/* One table cell: value, optional s.e., ratio to the baseline. */
/* A value, its standard error and 95% interval (NAN: not shown). */
static void put_estimate(rep *r, double v, double se, double lo, double hi) {
  put_num(r, v);
  if (isfinite(se)) {
    cas_buf_put(&r->h, "<span class=\"se\"> &plusmn; ");
    put_num(r, se);
    cas_buf_put(&r->h, "</span>");
  }
  if (isfinite(lo) && isfinite(hi)) {
    cas_buf_put(&r->h, "<br><span class=\"ci\">[");
    put_num(r, lo);
    cas_buf_put(&r->h, ", ");
    put_num(r, hi);
    cas_buf_put(&r->h, "]</span>");
  }
}

static void value_cell(rep *r, double v, double se, double lo, double hi, double base,
                       int show_ratio) {
  cas_buf_put(&r->h, "<td>");
  put_estimate(r, v, se, lo, hi);
  if (show_ratio && isfinite(v) && isfinite(base) && base != 0) {
    char t[32];
    snprintf(t, sizeof t, "%.3f", v / base);
    cas_buf_printf(&r->h, "<br><span class=\"ratio\">&times; %s</span>", t);
  }
  cas_buf_put(&r->h, "</td>");
}


/* ---- sections --------------------------------------------------------- */

static void section_summary(rep *r) {
  int any = 0;
  for (size_t i = 0; i < r->nitems; i++) any |= r->items[i].k == K_SCALAR || r->items[i].k == K_LEVEL;
  if (!any) return;
  cas_buf_put(&r->h, "<section id=\"summary\"><h2>Headline figures</h2>"
                     "<p>Monte Carlo estimates &plusmn; their standard errors, [their 95% "
                     "confidence intervals] where the file holds them (docs/OUTPUT.md); &times; "
                     "is the ratio to the baseline. Money in CNY million.</p>"
                     "<div class=\"wide\"><table class=\"num\"><thead><tr><th>measure</th><th>units</th>");
  scenario_header_cells(r);
  cas_buf_put(&r->h, "</tr></thead><tbody>");
  /* scalars before quantiles; what the baseline has before the rest */
  for (int pass = 0; pass < 4; pass++) {
    for (size_t i = 0; i < r->nitems && r->st == CAS_OK; i++) {
      const item *it = &r->items[i];
      if (it->k != (pass % 2 == 0 ? K_SCALAR : K_LEVEL) || (it->first == 0) != (pass < 2)) continue;
      double *val[256] = {0}, *se[256] = {0}, *lo[256] = {0}, *hi[256] = {0};
      for (size_t k = 0; k < r->ns; k++) {
        const cas_h5_var *v;
        val[k] = load(r, k, it->name, &v);
        if (v && (v->n != it->v->n)) {
          free(val[k]);
          val[k] = NULL;
        }
        const cas_h5_var *p = val[k] ? se_partner(r->s[k].f, v) : NULL;
        if (p) se[k] = load(r, k, p->name, NULL);
        const cas_h5_var *pl = val[k] ? partner(r->s[k].f, v, "_lo") : NULL;
        const cas_h5_var *ph = val[k] ? partner(r->s[k].f, v, "_hi") : NULL;
        if (pl && ph) {
          lo[k] = load(r, k, pl->name, NULL);
          hi[k] = load(r, k, ph->name, NULL);
        }
      }
      char **labels = NULL;
      int numeric;
      unsigned long long rows = it->v->rank ? it->v->dims[0] : 1;
      if (it->v->rank) labels = axis_labels(r, &r->s[it->first], it->v, 0, &numeric, NULL);
      for (unsigned long long row = 0; row < rows && r->st == CAS_OK; row++) {
        cas_buf_put(&r->h, "<tr><th>");
        put_esc(r, it->v->long_name[0] ? it->v->long_name : it->name);
        if (labels) {
          cas_buf_put(&r->h, " <b>");
          put_esc(r, labels[row]);
          cas_buf_put(&r->h, "</b>");
        }
        cas_buf_put(&r->h, " <code>");
        put_esc(r, it->name);
        cas_buf_put(&r->h, "</code></th><td>");
        put_esc(r, unit_label(it->v->units));
        cas_buf_put(&r->h, "</td>");
        double base = val[0] ? val[0][row] : NAN;
        for (size_t k = 0; k < r->ns; k++)
          value_cell(r, val[k] ? val[k][row] : NAN, se[k] ? se[k][row] : NAN,
                     lo[k] && hi[k] ? lo[k][row] : NAN, lo[k] && hi[k] ? hi[k][row] : NAN, base,
                     k > 0);
        cas_buf_put(&r->h, "</tr>");
      }
      if (labels) cas_h5_free_strings(labels, rows);
      for (size_t k = 0; k < r->ns; k++) free(val[k]), free(se[k]), free(lo[k]), free(hi[k]);
    }
  }
  cas_buf_put(&r->h, "</tbody></table></div></section>");
}

/* Each scenario's ES minus the baseline's, and as a ratio, with 95%
 * intervals, as `cascade compare` computes them: path by path for runs
 * with common random numbers (cas_output_same_random_numbers), else as
 * independent runs. Files that are not cascade results are left out. */
static void section_differences(rep *r) {
  if (r->ns < 2) return;
  cas_output_headline hb, hk;
  cas_summary base, sk;
  cas_error e = {0};
  if (cas_output_read_headline(r->s[0].f->path, &hb, &e) != CAS_OK) return;
  cas_output_headline_summary(&hb, &base);
  cas_buf_put(&r->h, "<section id=\"differences\"><h2>Differences from the baseline</h2>"
                     "<p>Each scenario's expected shortfall minus the baseline's, and their "
                     "ratio, with 95% confidence intervals. Where both runs have the same seed, "
                     "book, number of paths and importance sampling (common random numbers: both "
                     "drew the same random numbers), the difference is taken path by path, and "
                     "the interval is far narrower than for independent runs (&times;N: how many "
                     "times). Money in CNY million.</p>"
                     "<div class=\"wide\"><table class=\"num\"><thead><tr><th>scenario</th>");
  for (int l = 0; l < base.nlevels; l++)
    cas_buf_printf(&r->h, "<th>ES %g%% &minus; base</th><th>ES %g%% / base</th>",
                   100 * base.levels[l], 100 * base.levels[l]);
  cas_buf_put(&r->h, "<th>pairing</th></tr></thead><tbody>");
  for (size_t k = 1; k < r->ns && r->st == CAS_OK; k++) {
    if (cas_output_read_headline(r->s[k].f->path, &hk, &e) != CAS_OK) continue;
    cas_output_headline_summary(&hk, &sk);
    /* the levels both have, in the baseline's order */
    cas_summary a = sk, b = base;
    int n = 0;
    for (int l = 0; l < base.nlevels; l++)
      for (int j = 0; j < sk.nlevels; j++)
        if (fabs(sk.levels[j] - base.levels[l]) < 1e-12) {
          a.levels[n] = sk.levels[j], a.var[n] = sk.var[j], a.var_se[n] = sk.var_se[j];
          a.var_lo[n] = sk.var_lo[j], a.var_hi[n] = sk.var_hi[j], a.es[n] = sk.es[j];
          a.es_se[n] = sk.es_se[j], a.es_lo[n] = sk.es_lo[j], a.es_hi[n] = sk.es_hi[j];
          b.levels[n] = base.levels[l], b.var[n] = base.var[l], b.var_se[n] = base.var_se[l];
          b.var_lo[n] = base.var_lo[l], b.var_hi[n] = base.var_hi[l], b.es[n] = base.es[l];
          b.es_se[n] = base.es_se[l], b.es_lo[n] = base.es_lo[l], b.es_hi[n] = base.es_hi[l];
          n++;
        }
    if (n == 0) continue;
    a.nlevels = b.nlevels = n;
    cas_difference un, d;
    cas_unpaired_difference(&a, &b, &un);
    d = un;
    int paired = 0;
    if (cas_output_same_random_numbers(&hk, &hb) && hk.paths >= 2) {
      double *la = NULL, *wa = NULL, *lb = NULL, *wb = NULL;
      if (cas_output_read_paths(r->s[k].f->path, hk.paths, &la, &wa, &e) == CAS_OK &&
          cas_output_read_paths(r->s[0].f->path, hb.paths, &lb, &wb, &e) == CAS_OK &&
          cas_paired_difference(hk.paths, la, wa, lb, wb, a.levels, n, &d, &e) == CAS_OK)
        paired = 1;
      else
        d = un;
      free(la), free(lb), free(wa), free(wb);
    }
    cas_buf_put(&r->h, "<tr><th>");
    put_esc(r, r->s[k].name);
    cas_buf_put(&r->h, "</th>");
    int shown = 0;
    for (int l = 0; l < base.nlevels; l++) {
      int j = -1;
      for (int q = 0; q < n; q++)
        if (fabs(d.levels[q] - base.levels[l]) < 1e-12) j = q;
      if (j < 0) {
        cas_buf_put(&r->h, "<td>n/a</td><td>n/a</td>");
        continue;
      }
      cas_buf_put(&r->h, "<td>");
      put_estimate(r, 1e-6 * d.es[j], 1e-6 * d.es_se[j], 1e-6 * d.es_lo[j], 1e-6 * d.es_hi[j]);
      cas_buf_printf(&r->h, "</td><td>%.3f<br><span class=\"ci\">[%.3f, %.3f]</span></td>",
                     d.es_ratio[j], d.es_ratio_lo[j], d.es_ratio_hi[j]);
      if (d.levels[j] > 0.9985 && d.levels[j] < 0.9995) shown = j + 1;
    }
    int at = shown ? shown - 1 : n - 1;
    double gain = d.es_hi[at] > d.es_lo[at]
                      ? (un.es_hi[at] - un.es_lo[at]) / (d.es_hi[at] - d.es_lo[at]) : NAN;
    if (paired) cas_buf_printf(&r->h, "<td>paths paired, &times;%.1f</td></tr>", gain);
    else cas_buf_put(&r->h, "<td>as independent runs</td></tr>");
  }
  cas_buf_put(&r->h, "</tbody></table></div></section>");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A path's value and weight, for sorting them together. */
typedef struct weighted {
  double v, w;
} weighted;

static int cmp_weighted(const void *a, const void *b) {
  double x = ((const weighted *)a)->v, y = ((const weighted *)b)->v;
  return (x > y) - (x < y);
}

static void section_distributions(rep *r) {
  int any = 0;
  for (size_t i = 0; i < r->nitems; i++) any |= r->items[i].k == K_DIST;
  if (!any) return;
  cas_buf_put(&r->h, "<section id=\"distributions\"><h2>Distributions over the Monte Carlo paths</h2>"
                     "<p>Each per-path output: its histogram (share of paths per bin) and its "
                     "exceedance curve P(X &gt; x) on a logarithmic axis, which shows the tail "
                     "where VaR and ES are read. A result made with importance sampling "
                     "weights each path by its <code>weight</code> (docs/OUTPUT.md): its "
                     "histogram and curve are the weighted ones.</p>");
  /* money first: the loss distribution is what the reader looks for */
  for (size_t pass_i = 0; pass_i < 2 * r->nitems && r->st == CAS_OK; pass_i++) {
    const item *it = &r->items[pass_i % r->nitems];
    if (it->k != K_DIST || is_money(it->v->units) != (pass_i < r->nitems)) continue;
    double *d[256] = {0}, *wt[256] = {0};   /* wt[k]: NULL, every weight 1 */
    size_t m[256] = {0};
    double lo = INFINITY, hi = -INFINITY;
    int all_int = 1;
    for (size_t k = 0; k < r->ns; k++) {
      const cas_h5_var *v;
      d[k] = load(r, k, it->name, &v);
      if (!d[k]) continue;
      if (v->rank != 1 || !dim_is(v, 0, "path")) {
        free(d[k]);
        d[k] = NULL;
        continue;
      }
      const cas_h5_var *wv = find_numeric(r->s[k].f, "weight");
      if (wv && wv->rank == 1 && wv->n == v->n && dim_is(wv, 0, "path") && strcmp(it->name, "weight"))
        wt[k] = load(r, k, "weight", NULL);
      if (wt[k]) {
        weighted *pw = malloc((v->n ? v->n : 1) * sizeof *pw);
        if (!pw) {
          fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
          break;
        }
        for (unsigned long long j = 0; j < v->n; j++)
          if (isfinite(d[k][j]) && isfinite(wt[k][j])) pw[m[k]++] = (weighted){d[k][j], wt[k][j]};
        qsort(pw, m[k], sizeof *pw, cmp_weighted);
        for (size_t j = 0; j < m[k]; j++) {
          d[k][j] = pw[j].v;
          wt[k][j] = pw[j].w;
        }
        free(pw);
      } else {
        for (unsigned long long j = 0; j < v->n; j++)
          if (isfinite(d[k][j])) d[k][m[k]++] = d[k][j];
        qsort(d[k], m[k], sizeof(double), cmp_double);
      }
      if (m[k]) {
        lo = fmin(lo, d[k][0]);
        hi = fmax(hi, d[k][m[k] - 1]);
      }
      for (size_t j = 0; j < m[k] && all_int; j++) all_int = d[k][j] == floor(d[k][j]);
    }
    if (r->st != CAS_OK) {
      for (size_t k = 0; k < r->ns; k++) free(d[k]), free(wt[k]);
      break;
    }
    if (!isfinite(lo)) lo = 0, hi = 1;
    /* bins: unit bins for small-range integers, else 40 equal bins */
    size_t nb;
    double b0, bw;
    if (all_int && hi - lo <= 60) {
      nb = (size_t)(hi - lo) + 1;
      b0 = lo - 0.5;
      bw = 1;
    } else {
      nb = 40;
      b0 = lo;
      bw = hi > lo ? (hi - lo) / 40 : 1;
    }
    enum { NEX = 160 };
    double *edges = malloc((nb + 1) * sizeof *edges);
    double *hist = calloc(r->ns * nb + 1, sizeof *hist);
    double *ex = malloc(r->ns * 2 * NEX * sizeof *ex);
    cas_svg_series *hs = calloc(r->ns + 1, sizeof *hs), *es = calloc(r->ns + 1, sizeof *es);
    if (!edges || !hist || !ex || !hs || !es) {
      fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
    } else {
      for (size_t b = 0; b <= nb; b++) edges[b] = b0 + (double)b * bw;
      size_t nh = 0;
      for (size_t k = 0; k < r->ns; k++) {
        if (!d[k] || !m[k]) continue;
        double *hk = hist + k * nb;
        for (size_t j = 0; j < m[k]; j++) {
          long b = (long)floor((d[k][j] - b0) / bw);
          if (b < 0) b = 0;
          if (b >= (long)nb) b = (long)nb - 1;
          hk[b] += (wt[k] ? wt[k][j] : 1.0) / (double)m[k];
        }
        hs[nh] = (cas_svg_series){r->s[k].name, edges, hk, nb, k};
        /* exceedance at order statistics with tail probabilities spaced
         * evenly in log10 from 1 down to the smallest: point (x_(i), the
         * weight of the paths from the i-th up / m), (m - i)/m unweighted */
        double *xs = ex + k * 2 * NEX, *ys = xs + NEX;
        size_t np = 0;
        long last = -1;
        double *tail = wt[k] ? malloc(m[k] * sizeof *tail) : NULL;
        if (tail) {
          double acc = 0.0;
          for (size_t j = m[k]; j-- > 0;) tail[j] = acc += wt[k][j];
        }
        double smallest = tail ? tail[m[k] - 1] / (double)m[k] : 1.0 / (double)m[k];
        double lm = smallest > 0.0 && smallest < 1.0 ? -log10(smallest) : log10((double)m[k]);
        for (int j = 0; j < NEX && (!wt[k] || tail); j++) {
          double p = pow(10, -lm * j / (NEX - 1));
          long idx;
          if (tail) {   /* the largest idx with tail[idx] >= p m (tail falls with idx) */
            double target = p * (double)m[k] * (1.0 - 1e-12);
            long a = 0, b = (long)m[k] - 1;
            idx = 0;
            while (a <= b) {
              long c = (a + b) / 2;
              if (tail[c] >= target) idx = c, a = c + 1;
              else b = c - 1;
            }
          } else {
            idx = (long)m[k] - (long)ceil(p * (double)m[k] - 1e-9);
          }
          if (idx < 0) idx = 0;
          if (idx >= (long)m[k]) idx = (long)m[k] - 1;
          if (idx == last) continue;
          last = idx;
          xs[np] = d[k][idx];
          ys[np] = tail ? tail[idx] / (double)m[k] : (double)((long)m[k] - idx) / (double)m[k];
          np++;
        }
        free(tail);
        es[nh] = (cas_svg_series){r->s[k].name, xs, ys, np, k};
        nh++;
      }
      char xl[256];
      const char *u = unit_label(it->v->units);
      snprintf(xl, sizeof xl, "%.200s%s%.40s%s", it->name, u[0] ? " [" : "", u, u[0] ? "]" : "");
      cas_buf_put(&r->h, "<figure>");
      caption(r, it->v, NULL);
      if (nh) {
        cas_buf_put(&r->h, "<div class=\"pair\">");
        cas_svg_axes ah = {xl, "share of paths", 0, 1, 1};
        cas_svg_lines(&r->h, &ah, hs, nh);
        cas_svg_axes ae = {xl, "P(X > x)", 1, 0, 0};
        cas_svg_lines(&r->h, &ae, es, nh);
        r->nplots += 2;
        cas_buf_put(&r->h, "</div>");
      } else {
        no_plot(r);
      }
      cas_buf_put(&r->h, "</figure>");
    }
    free(edges);
    free(hist);
    free(ex);
    free(hs);
    free(es);
    for (size_t k = 0; k < r->ns; k++) free(d[k]), free(wt[k]);
  }
  cas_buf_put(&r->h, "</section>");
}

/* Tables and bars of per-segment values (seg[k]: NULL when absent). */
static void grouped_figure(rep *r, const cas_h5_var *v, double *const *seg, int percent) {
  for (int by_region = 1; by_region >= 0; by_region--) {
    size_t ng = by_region ? r->nregions : r->nsectors;
    if (!ng) continue;
    double *g = malloc(ng * r->ns * sizeof *g), *tmp = malloc(ng * sizeof *tmp);
    if (!g || !tmp) {
      free(g);
      free(tmp);
      fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
      return;
    }
    for (size_t k = 0; k < r->ns; k++) {
      if (seg[k]) group(r, k, seg[k], by_region, tmp);
      for (size_t j = 0; j < ng; j++) g[j * r->ns + k] = seg[k] ? tmp[j] : NAN;
    }
    const char *xl = unit_label(v->units);
    cas_buf_put(&r->h, "<div class=\"grp\">");
    if (any_finite(g, ng * r->ns)) {
      cas_svg_bars(&r->h, percent ? "share" : xl[0] ? xl : v->name,
                   (const char *const *)(by_region ? r->regions : r->sectors), ng, r->series, r->colours, r->ns, g,
                   percent);
      r->nplots++;
    } else {
      no_plot(r);
    }
    cas_buf_printf(&r->h, "<table class=\"num\"><thead><tr><th>%s</th>", by_region ? "region" : "sector");
    scenario_header_cells(r);
    cas_buf_put(&r->h, "</tr></thead><tbody>");
    double *tot = calloc(r->ns, sizeof *tot);
    for (size_t j = 0; j < ng; j++) {
      cas_buf_put(&r->h, "<tr><th>");
      put_esc(r, by_region ? r->regions[j] : r->sectors[j]);
      cas_buf_put(&r->h, "</th>");
      for (size_t k = 0; k < r->ns; k++) {
        double x = g[j * r->ns + k];
        if (tot && isfinite(x)) tot[k] += x;
        value_cell(r, percent ? 100 * x : x, NAN, NAN, NAN, percent ? 100 * g[j * r->ns] : g[j * r->ns], k > 0 && !percent);
      }
      cas_buf_put(&r->h, "</tr>");
    }
    if (tot && !percent) {
      cas_buf_put(&r->h, "<tr class=\"total\"><th>total</th>");
      for (size_t k = 0; k < r->ns; k++) value_cell(r, seg[k] ? tot[k] : NAN, NAN, NAN, NAN, tot[0], k > 0);
      cas_buf_put(&r->h, "</tr>");
    }
    free(tot);
    cas_buf_put(&r->h, "</tbody></table></div>");
    free(g);
    free(tmp);
  }
}

static void section_groups(rep *r) {
  int any = 0;
  for (size_t i = 0; i < r->nitems; i++)
    any |= r->items[i].k == K_SEGMENT || r->items[i].k == K_PATH_SEGMENT || r->items[i].k == K_LEVEL_SEGMENT;
  if (!any) return;
  cas_buf_put(&r->h, "<section id=\"groups\"><h2>By region and by sector</h2>"
                     "<p>Every output over the portfolio's segments whose values add up (money, "
                     "counts), summed over the segments of each region and of each sector. "
                     "Per-path outputs are first averaged over the paths.</p>");
  /* money first, then counts: losses are what the reader looks for */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < r->nitems && r->st == CAS_OK; i++) {
      const item *it = &r->items[i];
      if (it->k != K_SEGMENT && it->k != K_PATH_SEGMENT && it->k != K_LEVEL_SEGMENT) continue;
      if (is_money(it->v->units) != (pass == 0)) continue;
      unsigned long long nl = it->k == K_LEVEL_SEGMENT ? it->v->dims[0] : 1;
      char **levels = NULL;
      int numeric;
      if (it->k == K_LEVEL_SEGMENT && !(levels = axis_labels(r, &r->s[it->first], it->v, 0, &numeric, NULL))) return;
      double *all[256] = {0};
      for (size_t k = 0; k < r->ns && r->st == CAS_OK; k++) {
        const cas_h5_var *v = find_numeric(r->s[k].f, it->name);
        if (!v || classify(&r->s[k], v) != it->k || (it->k == K_LEVEL_SEGMENT && v->dims[0] != nl)) continue;
        all[k] = it->k == K_PATH_SEGMENT ? path_mean(r, k, v) : load(r, k, it->name, NULL);
      }
      /* the highest level first: that is the one a reviewer reads */
      for (unsigned long long l = nl; l-- > 0 && r->st == CAS_OK;) {
        double *seg[256] = {0};
        for (size_t k = 0; k < r->ns; k++)
          if (all[k]) seg[k] = all[k] + l * r->s[k].nseg;
        cas_buf_put(&r->h, "<figure>");
        char extra[128] = "";
        if (levels) snprintf(extra, sizeof extra, " at level %.60s", levels[l]);
        if (it->k == K_PATH_SEGMENT) snprintf(extra, sizeof extra, ", mean over paths");
        cas_buf_put(&r->h, "<figcaption>");
        put_esc(r, it->v->long_name[0] ? it->v->long_name : it->name);
        put_esc(r, extra);
        const char *u = unit_label(it->v->units);
        if (u[0]) {
          cas_buf_put(&r->h, " [");
          put_esc(r, u);
          cas_buf_put(&r->h, "]");
        }
        cas_buf_put(&r->h, " <code>");
        put_esc(r, it->name);
        cas_buf_put(&r->h, "</code></figcaption><div class=\"pair\">");
        grouped_figure(r, it->v, seg, 0);
        cas_buf_put(&r->h, "</div></figure>");
      }
      if (levels) cas_h5_free_strings(levels, nl);
      for (size_t k = 0; k < r->ns; k++) free(all[k]);
    }
  cas_buf_put(&r->h, "</section>");
}

/* Contagion's share of ES: es_contagion_share by level, and by region and
 * sector es_contribution_contagion / es_contribution at the highest level. */
static void section_contagion(rep *r) {
  int any = 0;
  for (size_t k = 0; k < r->ns; k++) any |= find_numeric(r->s[k].f, "es_contagion_share") != NULL;
  if (!any) return;
  cas_buf_put(&r->h, "<section id=\"contagion\"><h2>Contagion's share of expected shortfall</h2>"
                     "<p>The part of ES that defaults spreading along supply chains, guarantees "
                     "and regional spill-over add (docs/CONTAGION.md), for the scenarios that "
                     "model contagion.</p>");
  const cas_h5_var *v0 = NULL;
  size_t k0 = 0;
  for (size_t k = 0; k < r->ns && !v0; k++)
    if ((v0 = find_numeric(r->s[k].f, "es_contagion_share"))) k0 = k;
  if (v0->rank != 1) {
    cas_buf_put(&r->h, "</section>");
    return;
  }
  unsigned long long nl = v0->dims[0];
  int numeric;
  char **levels = axis_labels(r, &r->s[k0], v0, 0, &numeric, NULL);
  double *vals = calloc(nl * r->ns + 1, sizeof *vals);
  if (!levels || !vals) {
    free(vals);
    if (levels) cas_h5_free_strings(levels, nl);
    fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
    return;
  }
  for (size_t k = 0; k < r->ns; k++) {
    const cas_h5_var *v;
    double *d = load(r, k, "es_contagion_share", &v);
    for (unsigned long long l = 0; l < nl; l++) vals[l * r->ns + k] = d && v->n == nl ? d[l] : NAN;
    free(d);
  }
  cas_buf_put(&r->h, "<figure>");
  caption(r, v0, NULL);
  if (any_finite(vals, nl * r->ns)) {
    cas_svg_bars(&r->h, "share of ES", (const char *const *)levels, nl, r->series, r->colours, r->ns, vals, 1);
    r->nplots++;
  } else {
    no_plot(r);
  }
  cas_buf_put(&r->h, "</figure>");
  /* by region and sector at the highest level */
  double *segshare[256] = {0};
  int have = 0;
  for (size_t k = 0; k < r->ns; k++) {
    const cas_h5_var *vc = find_numeric(r->s[k].f, "es_contribution_contagion");
    const cas_h5_var *vt = find_numeric(r->s[k].f, "es_contribution");
    if (!vc || !vt || classify(&r->s[k], vc) != K_LEVEL_SEGMENT || classify(&r->s[k], vt) != K_LEVEL_SEGMENT ||
        vc->n != vt->n)
      continue;
    double *c = load(r, k, vc->name, NULL), *t = load(r, k, vt->name, NULL);
    unsigned long long ns = r->s[k].nseg, l = vc->dims[0] - 1;
    if (c && t) {
      /* shares of each segment cannot be summed: carry numerator and
       * denominator through the grouping instead */
      segshare[k] = malloc(2 * ns * sizeof(double));
      if (segshare[k]) {
        memcpy(segshare[k], c + l * ns, ns * sizeof(double));
        memcpy(segshare[k] + ns, t + l * ns, ns * sizeof(double));
        have = 1;
      }
    }
    free(c);
    free(t);
  }
  if (have && r->st == CAS_OK) {
    for (int by_region = 1; by_region >= 0; by_region--) {
      size_t ng = by_region ? r->nregions : r->nsectors;
      double *g = calloc(ng * r->ns + 1, sizeof *g), *a = calloc(ng + 1, sizeof *a), *b = calloc(ng + 1, sizeof *b);
      if (!g || !a || !b) {
        fail(r, cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory"));
      } else {
        for (size_t k = 0; k < r->ns; k++) {
          if (segshare[k]) {
            group(r, k, segshare[k], by_region, a);
            group(r, k, segshare[k] + r->s[k].nseg, by_region, b);
          }
          for (size_t j = 0; j < ng; j++) g[j * r->ns + k] = segshare[k] && b[j] != 0 ? a[j] / b[j] : NAN;
        }
        cas_buf_printf(&r->h, "<figure><figcaption>share of each %s's ES contribution that contagion adds, at level ",
                       by_region ? "region" : "sector");
        put_esc(r, levels[nl - 1]);
        cas_buf_put(&r->h, " <code>es_contribution_contagion / es_contribution</code></figcaption>");
        if (any_finite(g, ng * r->ns)) {
          cas_svg_bars(&r->h, "share", (const char *const *)(by_region ? r->regions : r->sectors), ng, r->series,
                       r->colours, r->ns, g, 1);
          r->nplots++;
        } else {
          no_plot(r);
        }
        cas_buf_put(&r->h, "</figure>");
      }
      free(g);
      free(a);
      free(b);
    }
  }
  for (size_t k = 0; k < r->ns; k++) free(segshare[k]);
  cas_h5_free_strings(levels, nl);
  free(vals);
  cas_buf_put(&r->h, "</section>");
}

/* A rank-1 series over an axis for every scenario: table and plot. */
static void axis_figure(rep *r, const item *it, double *const *vals, unsigned long long n, int axis) {
  int numeric;
  double *x = NULL;
  char **labels = axis_labels(r, &r->s[it->first], it->v, axis, &numeric, &x);
  if (!labels) return;
  int finite = 0;
  for (size_t k = 0; k < r->ns; k++) finite |= vals[k] && any_finite(vals[k], n);
  if (!finite) no_plot(r);
  if (n <= 200 && finite) {
    cas_svg_series ser[256];
    size_t nser = 0;
    for (size_t k = 0; k < r->ns; k++)
      if (vals[k]) ser[nser++] = (cas_svg_series){r->s[k].name, x, vals[k], n, k};
    if (numeric && n > 1) {
      char xl[256];
      snprintf(xl, sizeof xl, "%.200s", it->v->dim[axis][0] ? it->v->dim[axis] : "index");
      const char *u = unit_label(it->v->units);
      cas_svg_axes ax = {xl, u[0] ? u : it->name, 0, 0, 0};
      cas_svg_lines(&r->h, &ax, ser, nser);
      r->nplots++;
    } else if (n <= 60) {
      double *g = calloc(n * r->ns + 1, sizeof *g);
      if (g) {
        for (unsigned long long j = 0; j < n; j++)
          for (size_t k = 0; k < r->ns; k++) g[j * r->ns + k] = vals[k] ? vals[k][j] : NAN;
        const char *u = unit_label(it->v->units);
        cas_svg_bars(&r->h, u[0] ? u : it->name, (const char *const *)labels, n, r->series, r->colours,
                     r->ns, g, 0);
        r->nplots++;
        free(g);
      }
    }
  }
  cas_buf_put(&r->h, "<details><summary>values</summary><table class=\"num\"><thead><tr><th>");
  put_esc(r, it->v->dim[axis][0] ? it->v->dim[axis] : "index");
  cas_buf_put(&r->h, "</th>");
  scenario_header_cells(r);
  cas_buf_put(&r->h, "</tr></thead><tbody>");
  for (unsigned long long j = 0; j < n && j < 10000; j++) {
    cas_buf_put(&r->h, "<tr><th>");
    put_esc(r, labels[j]);
    cas_buf_put(&r->h, "</th>");
    for (size_t k = 0; k < r->ns; k++) value_cell(r, vals[k] ? vals[k][j] : NAN, NAN, NAN, NAN, vals[0] ? vals[0][j] : NAN, k > 0);
    cas_buf_put(&r->h, "</tr>");
  }
  cas_buf_put(&r->h, "</tbody></table></details>");
  cas_h5_free_strings(labels, n);
  free(x);
}

/* d with its partners se, lo, hi (each may be NULL). */
static void matrix_table(rep *r, size_t k, const cas_h5_var *v, const double *d, const double *se,
                         const double *lo, const double *hi) {
  int num;
  char **rl = axis_labels(r, &r->s[k], v, 0, &num, NULL);
  char **cl = rl ? axis_labels(r, &r->s[k], v, 1, &num, NULL) : NULL;
  if (!rl || !cl) {
    if (rl) cas_h5_free_strings(rl, v->dims[0]);
    return;
  }
  cas_buf_put(&r->h, "<details><summary>");
  put_esc(r, r->s[k].name);
  cas_buf_put(&r->h, "</summary><table class=\"num small\"><thead><tr><th></th>");
  for (unsigned long long c = 0; c < v->dims[1]; c++) {
    cas_buf_put(&r->h, "<th>");
    put_esc(r, cl[c]);
    cas_buf_put(&r->h, "</th>");
  }
  cas_buf_put(&r->h, "</tr></thead><tbody>");
  for (unsigned long long i = 0; i < v->dims[0]; i++) {
    cas_buf_put(&r->h, "<tr><th>");
    put_esc(r, rl[i]);
    cas_buf_put(&r->h, "</th>");
    for (unsigned long long c = 0; c < v->dims[1]; c++) {
      size_t at = i * v->dims[1] + c;
      cas_buf_put(&r->h, "<td>");
      put_estimate(r, d[at], se ? se[at] : NAN, lo && hi ? lo[at] : NAN, lo && hi ? hi[at] : NAN);
      cas_buf_put(&r->h, "</td>");
    }
    cas_buf_put(&r->h, "</tr>");
  }
  cas_buf_put(&r->h, "</tbody></table></details>");
  cas_h5_free_strings(rl, v->dims[0]);
  cas_h5_free_strings(cl, v->dims[1]);
}

static void shape_text(rep *r, const cas_h5_var *v) {
  cas_buf_put(&r->h, "(");
  for (int a = 0; a < v->rank; a++) {
    if (a) cas_buf_put(&r->h, ", ");
    put_esc(r, v->dim[a][0] ? v->dim[a] : "?");
    cas_buf_printf(&r->h, " %llu", v->dims[a]);
  }
  cas_buf_put(&r->h, v->rank ? ")" : "scalar)");
}

static void section_other(rep *r) {
  int any = 0;
  for (size_t i = 0; i < r->nitems; i++)
    any |= r->items[i].k == K_PATH_AXIS || r->items[i].k == K_GENERIC || r->items[i].k == K_UNSHOWN;
  if (!any) return;
  cas_buf_put(&r->h, "<section id=\"other\"><h2>Other outputs</h2>"
                     "<p>Every other dataset of the files, as declared by its dimensions, "
                     "<code>long_name</code> and <code>units</code>. Per-path outputs over a "
                     "second axis are averaged over the paths.</p>");
  for (size_t i = 0; i < r->nitems && r->st == CAS_OK; i++) {
    const item *it = &r->items[i];
    if (it->k != K_PATH_AXIS && it->k != K_GENERIC) continue;
    const cas_h5_var *v0 = it->v;
    cas_buf_put(&r->h, "<figure>");
    caption(r, v0, it->k == K_PATH_AXIS ? ", mean over paths" : NULL);
    cas_buf_put(&r->h, "<p class=\"shape\">dimensions ");
    shape_text(r, v0);
    cas_buf_put(&r->h, "</p>");
    if (it->k == K_PATH_AXIS || v0->rank == 1) {
      double *vals[256] = {0};
      unsigned long long n = it->k == K_PATH_AXIS ? v0->dims[1] : v0->dims[0];
      for (size_t k = 0; k < r->ns && r->st == CAS_OK; k++) {
        const cas_h5_var *v = find_numeric(r->s[k].f, it->name);
        if (!v || v->rank != v0->rank || v->dims[v->rank - 1] != n) continue;
        vals[k] = it->k == K_PATH_AXIS ? path_mean(r, k, v) : load(r, k, it->name, NULL);
      }
      if (r->st == CAS_OK) axis_figure(r, it, vals, n, it->k == K_PATH_AXIS ? 1 : 0);
      for (size_t k = 0; k < r->ns; k++) free(vals[k]);
    } else if (v0->rank == 2) {
      for (size_t k = 0; k < r->ns && r->st == CAS_OK; k++) {
        const cas_h5_var *v;
        if (!(v = find_numeric(r->s[k].f, it->name)) || v->rank != 2) continue;
        if (v->n > 20000) {
          cas_buf_put(&r->h, "<p>(too large for a table)</p>");
          continue;
        }
        double *d = load(r, k, it->name, NULL), *part[3] = {NULL, NULL, NULL};
        static const char *const suffix[3] = {"_se", "_lo", "_hi"};
        for (int j = 0; j < 3 && d; j++) {
          const cas_h5_var *pv = partner(r->s[k].f, v, suffix[j]);
          if (pv) part[j] = load(r, k, pv->name, NULL);
        }
        if (d) matrix_table(r, k, v, d, part[0], part[1], part[2]);
        free(d);
        for (int j = 0; j < 3; j++) free(part[j]);
      }
    }
    cas_buf_put(&r->h, "</figure>");
  }
  int unshown = 0;
  for (size_t i = 0; i < r->nitems; i++) unshown |= r->items[i].k == K_UNSHOWN;
  if (unshown) {
    cas_buf_put(&r->h, "<p>Datasets not shown (a type or rank the report does not draw): ");
    for (size_t i = 0, first = 1; i < r->nitems; i++) {
      if (r->items[i].k != K_UNSHOWN) continue;
      cas_buf_put(&r->h, first ? "<code>" : ", <code>");
      first = 0;
      put_esc(r, r->items[i].name);
      cas_buf_put(&r->h, "</code> ");
      shape_text(r, r->items[i].v);
    }
    cas_buf_put(&r->h, "</p>");
  }
  cas_buf_put(&r->h, "</section>");
}

/* s quoted for a POSIX shell: '...' with ' written as '\'' */
static void put_shell_quoted(rep *r, const char *s) {
  cas_buf_put(&r->h, "&#39;");
  for (const char *p = s; *p; p++) {
    if (*p == '\'') cas_buf_put(&r->h, "&#39;\\&#39;&#39;");
    else {
      char c[2] = {*p, 0};
      put_esc(r, c);
    }
  }
  cas_buf_put(&r->h, "&#39;");
}

static void section_reproduce(rep *r) {
  cas_buf_put(&r->h, "<section id=\"reproduce\"><h2>Reproducing each result</h2>"
                     "<p>Each result file records the scenario files it read, byte for byte, the "
                     "scenario as run (every key explicit, command-line overrides applied) and how "
                     "it was made. The commands rebuild the file from itself; "
                     "<code>h5diff</code> prints nothing when the losses are identical. A "
                     "portfolio or network read from a CSV file must be kept with the result.</p>");
  static const char *const key_attrs[] = {"scenario_name", "seed", "paths", "loans",
                                          "portfolio_source", "kernel", "copula", "lgd_model", "contagion",
                                          "cascade_version", "cascade_commit", "command_line", "created_utc"};
  const size_t nkey = sizeof key_attrs / sizeof key_attrs[0];
  for (size_t k = 0; k < r->ns && r->st == CAS_OK; k++) {
    const scen *s = &r->s[k];
    cas_buf_printf(&r->h, "<article class=\"scen\"><h3><span class=\"sw\" style=\"background:%s\"></span>",
                   cas_svg_colour(k));
    put_esc(r, s->name);
    cas_buf_put(&r->h, " <small>");
    put_esc(r, s->f->path);
    cas_buf_put(&r->h, "</small></h3>");
    const cas_h5_attr *desc = cas_h5_attr_find(s->f, "scenario_description");
    if (desc) {
      cas_buf_put(&r->h, "<p>");
      put_esc(r, desc->text);
      cas_buf_put(&r->h, "</p>");
    }
    cas_buf_put(&r->h, "<table class=\"kv\">");
    for (size_t a = 0; a < nkey; a++) {
      const cas_h5_attr *at = cas_h5_attr_find(s->f, key_attrs[a]);
      cas_buf_put(&r->h, "<tr><th>");
      put_esc(r, key_attrs[a]);
      cas_buf_put(&r->h, "</th><td>");
      put_esc(r, at ? at->text : "(not recorded)");
      cas_buf_put(&r->h, "</td></tr>");
    }
    cas_buf_put(&r->h, "</table>");
    /* the command */
    const cas_h5_attr *kern = cas_h5_attr_find(s->f, "kernel");
    const cas_h5_var *resolved = cas_h5_find(s->f, "scenario_resolved");
    cas_buf_put(&r->h, "<p>To reproduce:</p><pre class=\"cmd\">");
    if (resolved && resolved->kind == CAS_H5_STRING) {
      cas_buf_put(&r->h, "/usr/bin/python3 -c &#39;import h5py,sys; print(h5py.File(sys.argv[1])[&quot;scenario_resolved&quot;][()].decode())&#39; \\\n    ");
      put_shell_quoted(r, s->f->path);
      cas_buf_put(&r->h, " &gt; again.yaml\ncascade run again.yaml");
      if (kern) {
        cas_buf_put(&r->h, " --kernel ");
        put_shell_quoted(r, kern->text);
      }
      cas_buf_put(&r->h, " -o again.h5\nh5diff ");
      put_shell_quoted(r, s->f->path);
      cas_buf_put(&r->h, " again.h5 /loss /loss   # no output: identical");
    } else {
      cas_buf_put(&r->h, "(the file holds no scenario_resolved: it cannot reproduce itself)");
    }
    cas_buf_put(&r->h, "</pre>");
    /* every text the file holds */
    for (size_t i = 0; i < r->nitems && r->st == CAS_OK; i++) {
      if (r->items[i].k != K_TEXT) continue;
      const cas_h5_var *v = cas_h5_find(s->f, r->items[i].name);
      if (!v || v->kind != CAS_H5_STRING || v->rank > 1) continue;
      char **strs = NULL;
      if (cas_h5_read_strings(s->f, v, &strs, r->err) != CAS_OK) {
        fail(r, r->err->status);
        break;
      }
      char **labels = NULL;
      int numeric;
      if (v->rank == 1) labels = axis_labels(r, s, v, 0, &numeric, NULL);
      for (unsigned long long j = 0; j < v->n; j++) {
        cas_buf_put(&r->h, "<details open><summary>");
        put_esc(r, v->long_name[0] ? v->long_name : v->name);
        if (labels) {
          cas_buf_put(&r->h, ": <b>");
          put_esc(r, labels[j]);
          cas_buf_put(&r->h, "</b>");
        }
        cas_buf_put(&r->h, " <code>");
        put_esc(r, v->name);
        cas_buf_put(&r->h, "</code></summary><pre>");
        put_esc(r, strs[j]);
        cas_buf_put(&r->h, "</pre></details>");
      }
      if (labels) cas_h5_free_strings(labels, v->n);
      cas_h5_free_strings(strs, v->n);
    }
    cas_buf_put(&r->h, "<details><summary>every attribute of the file</summary><table class=\"kv\">");
    for (size_t a = 0; a < s->f->nattrs; a++) {
      cas_buf_put(&r->h, "<tr><th>");
      put_esc(r, s->f->attrs[a].name);
      cas_buf_put(&r->h, "</th><td>");
      put_esc(r, s->f->attrs[a].text);
      cas_buf_put(&r->h, "</td></tr>");
    }
    cas_buf_put(&r->h, "</table></details></article>");
  }
  cas_buf_put(&r->h, "</section>");
}

static const char *const css =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK SC',sans-serif;"
    "color:#1a1a1a;background:#fff;margin:0 auto;max-width:1320px;padding:18px 24px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:32px}"
    "h3{font-size:16px}code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12.5px}"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow-x:auto;white-space:pre-wrap}"
    "table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:3px 8px;vertical-align:top}"
    "thead th{background:#f0f3f6}table.num td{text-align:right;white-space:nowrap}tbody th{text-align:left;font-weight:normal}"
    "table.small td,table.small th{font-size:11px;padding:1px 4px}.wide{overflow-x:auto}"
    "table.num tbody th:first-child{min-width:15em}tr.total th,tr.total td{font-weight:bold}"
    ".se,.ci{color:#57606a}.ci{font-size:12px}.ratio{color:#0a5a9c;font-size:12px}.sw{display:inline-block;width:12px;height:12px;"
    "margin-right:5px;vertical-align:-1px;border-radius:2px}"
    "figure{margin:14px 0 22px}figcaption{font-weight:600;margin-bottom:6px}figcaption code{font-weight:normal;color:#57606a}"
    ".pair{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.grp{flex:1 1 600px}"
    "svg.plot{max-width:100%;height:auto;background:#fff}svg.plot text{font-size:11px;fill:#24292f}"
    "svg.plot .grid{stroke:#e3e6ea;stroke-width:1}svg.plot .tick{stroke:#57606a}"
    "svg.plot .frame{fill:none;stroke:#8c959f}svg.plot .zero{stroke:#57606a}"
    "svg.plot .series{fill:none;stroke-width:1.8;stroke-linejoin:round}"
    "table.kv th{text-align:left;font-weight:600;white-space:nowrap}article.scen{margin-bottom:26px}"
    ".shape{color:#57606a;margin:0}#plot-check{color:#57606a;font-size:12px}"
    "@media print{details{display:block}}";

/* Checks, once the page is laid out, that every plot has a size and drawn
 * data marks with a size; writes the verdict into #plot-check. */
static const char *const check_script =
    "<script>window.addEventListener('load',function(){"
    "var p=document.querySelectorAll('svg.plot'),ok=0,bad=[];"
    "p.forEach(function(s,i){var b=s.getBoundingClientRect(),m=s.querySelectorAll('polyline.series,circle.mark,rect.bar'),d=0;"
    "m.forEach(function(e){var x=e.getBBox();if(x.width>0||x.height>0)d++;});"
    "if(b.width>0&&b.height>0&&d>0)ok++;else bad.push(i);});"
    "var c=document.getElementById('plot-check');c.setAttribute('data-ok',ok);c.setAttribute('data-total',p.length);"
    "c.textContent='plots drawn: '+ok+' of '+p.length+(bad.length?' (not drawn: '+bad.join(' ')+')':'');"
    "});</script>";

/* ---- driver ----------------------------------------------------------- */

static void free_rep(rep *r) {
  for (size_t k = 0; k < r->ns; k++) {
    cas_h5_free_strings(r->s[k].region, r->s[k].nseg);
    cas_h5_free_strings(r->s[k].sector, r->s[k].nseg);
    cas_h5_close(r->s[k].f);
  }
  free(r->s);
  free(r->items);
  for (size_t i = 0; i < r->nregions; i++) free(r->regions[i]);
  for (size_t i = 0; i < r->nsectors; i++) free(r->sectors[i]);
  free(r->regions);
  free(r->sectors);
  cas_buf_free(&r->h);
}

static cas_status open_inputs(rep *r, const cas_report_options *opt) {
  r->s = calloc(opt->ninputs, sizeof *r->s);
  if (!r->s) return cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory");
  for (size_t k = 0; k < opt->ninputs; k++) {
    scen *s = &r->s[k];
    /* a result as compare and verify take it (output.h), or none */
    cas_output_headline h;
    cas_status st = cas_output_read_headline(opt->inputs[k], &h, r->err);
    if (st != CAS_OK) return st;
    st = cas_h5_open(opt->inputs[k], &s->f, r->err);
    if (st != CAS_OK) return st;
    r->ns++;
    const cas_h5_attr *name = cas_h5_attr_find(s->f, "scenario_name");
    const cas_h5_var *loss = find_numeric(s->f, "loss");
    if (!name || name->is_number || !loss || loss->rank != 1 || !dim_is(loss, 0, "path"))
      return cas_error_set(r->err, CAS_ERR_INPUT,
                           "%s: not a cascade result (expected a 'scenario_name' attribute and a 'loss' "
                           "dataset over 'path', as written by cascade run)",
                           opt->inputs[k]);
    s->name = name->text;
    const cas_h5_var *vr = cas_h5_find(s->f, "segment_region"), *vs = cas_h5_find(s->f, "segment_sector");
    if (vr && vs && vr->kind == CAS_H5_STRING && vs->kind == CAS_H5_STRING && vr->rank == 1 && vs->rank == 1 &&
        vr->n == vs->n && vr->n <= 100000) {
      if ((st = cas_h5_read_strings(s->f, vr, &s->region, r->err)) != CAS_OK) return st;
      s->nseg = vr->n;
      if ((st = cas_h5_read_strings(s->f, vs, &s->sector, r->err)) != CAS_OK) return st;
      for (unsigned long long i = 0; i < s->nseg; i++)
        if (add_label(&r->regions, &r->nregions, s->region[i]) || add_label(&r->sectors, &r->nsectors, s->sector[i]))
          return cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory");
    }
  }
  /* the union of datasets, in the order of the first file that has them */
  size_t cap = 0;
  for (size_t k = 0; k < r->ns; k++) cap += r->s[k].f->nvars;
  r->items = calloc(cap ? cap : 1, sizeof *r->items);
  if (!r->items) return cas_error_set(r->err, CAS_ERR_NOMEM, "report: out of memory");
  for (size_t k = 0; k < r->ns; k++)
    for (size_t i = 0; i < r->s[k].f->nvars; i++) {
      const cas_h5_var *v = &r->s[k].f->vars[i];
      int seen = 0;
      for (size_t j = 0; j < r->nitems && !seen; j++) seen = !strcmp(r->items[j].name, v->name);
      if (seen) continue;
      r->items[r->nitems++] = (item){v->name, classify(&r->s[k], v), v, k};
    }
  for (size_t k = 0; k < r->ns && k < 256; k++) {
    r->series[k] = r->s[k].name;
    r->colours[k] = k;
  }
  return CAS_OK;
}

static void page(rep *r, const cas_report_options *opt) {
  cas_buf *h = &r->h;
  cas_buf_put(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                 "<meta name=\"generator\" content=\"cascade report\"><title>Stress test: ");
  for (size_t k = 0; k < r->ns; k++) {
    if (k) cas_buf_put(h, ", ");
    put_esc(r, r->s[k].name);
  }
  cas_buf_printf(h, "</title><style>%s</style></head><body>", css);
  cas_buf_put(h, "<header><h1>Stress-test report</h1><p>");
  cas_buf_printf(h, "%zu scenario%s set beside the baseline <b>", r->ns, r->ns == 1 ? "" : "s");
  put_esc(r, r->s[0].name);
  cas_buf_put(h, "</b>. Every figure is read from the result files listed below; "
                 "money in CNY million unless marked.</p>"
                 "<table><thead><tr><th>scenario</th><th>file</th><th>paths</th><th>seed</th>"
                 "<th>loans</th><th>contagion</th></tr></thead><tbody>");
  for (size_t k = 0; k < r->ns; k++) {
    const scen *s = &r->s[k];
    cas_buf_printf(h, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>", cas_svg_colour(k));
    put_esc(r, s->name);
    if (!k) cas_buf_put(h, " <small>(baseline)</small>");
    cas_buf_put(h, "</td><td><code>");
    put_esc(r, s->f->path);
    cas_buf_put(h, "</code></td>");
    static const char *const a[] = {"paths", "seed", "loans", "contagion"};
    for (int i = 0; i < 4; i++) {
      const cas_h5_attr *at = cas_h5_attr_find(s->f, a[i]);
      cas_buf_put(h, "<td>");
      put_esc(r, at ? at->text : "");
      cas_buf_put(h, "</td>");
    }
    cas_buf_put(h, "</tr>");
  }
  cas_buf_put(h, "</tbody></table><nav>Sections: <a href=\"#summary\">headline figures</a> &middot; "
                 "<a href=\"#distributions\">distributions</a> &middot; <a href=\"#groups\">by region and sector</a> "
                 "&middot; <a href=\"#contagion\">contagion</a> &middot; <a href=\"#other\">other outputs</a> "
                 "&middot; <a href=\"#reproduce\">reproducing each result</a></nav></header>");
  section_summary(r);
  if (r->st == CAS_OK) section_differences(r);
  if (r->st == CAS_OK) section_distributions(r);
  if (r->st == CAS_OK) section_groups(r);
  if (r->st == CAS_OK) section_contagion(r);
  if (r->st == CAS_OK) section_other(r);
  if (r->st == CAS_OK) section_reproduce(r);
  cas_buf_put(h, "<footer><p>Made by ");
  put_esc(r, CASCADE_VERSION_FULL);
  if (opt->command_line) {
    cas_buf_put(h, ": <code>");
    put_esc(r, opt->command_line);
    cas_buf_put(h, "</code>");
  }
  cas_buf_printf(h, ".</p><p id=\"plot-check\" data-plots=\"%d\">plots: %d</p></footer>", r->nplots, r->nplots);
  cas_buf_put(h, check_script);
  cas_buf_put(h, "</body></html>\n");
}

static cas_status write_file(const char *path, const cas_buf *b, cas_error *err) {
  return cas_outfile_write_all(path, b->data, b->len, err);
}

cas_status cas_report_write(const cas_report_options *opt, cas_error *err) {
  if (opt->ninputs == 0) return cas_error_set(err, CAS_ERR_USAGE, "no result files given");
  if (opt->ninputs > 256)
    return cas_error_set(err, CAS_ERR_USAGE, "%zu result files given (at most 256)", opt->ninputs);
  cas_status cst = cas_outfile_check(opt->output, err);   /* before reading anything */
  if (cst != CAS_OK) return cst;
  struct stat so;
  if (stat(opt->output, &so) == 0)
    for (size_t k = 0; k < opt->ninputs; k++) {
      struct stat si;
      if (stat(opt->inputs[k], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return cas_error_set(err, CAS_ERR_USAGE, "%s: the report would overwrite one of its inputs", opt->output);
    }
  rep r = {0};
  r.err = err;
  cas_status st = open_inputs(&r, opt);
  if (st == CAS_OK) {
    page(&r, opt);
    st = r.st;
    if (st == CAS_OK && r.h.failed) st = cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory", opt->output);
    if (st == CAS_OK) st = write_file(opt->output, &r.h, err);
  }
  free_rep(&r);
  return st;
}
