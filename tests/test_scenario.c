/*
 * test_scenario.c: scenario loading, merging, checking and writing.
 *
 * The bad-input corpus tests/data/bad_yaml/ pairs every NAME.yaml with
 * NAME.expect, the exact message it must produce; @DIR@ in an .expect file
 * stands for the corpus folder. Files only used as bases live in
 * bad_yaml/bases/ and are not loaded on their own. Every shipped scenario
 * must load and survive a write/load round trip unchanged.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portfolio.h"
#include "scenario.h"

#define BAD_DIR CASCADE_TEST_DATA "/bad_yaml"
#define SCENARIO_DIR CASCADE_SOURCE_DIR "/scenarios"

/* ---- helpers ------------------------------------------------------------ */

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

/* s with every "@DIR@" replaced by dir (malloc'ed). */
static char *expand_dir(const char *s, const char *dir) {
  size_t cap = strlen(s) + 1, n = 0;
  for (const char *p = s; (p = strstr(p, "@DIR@")) != NULL; p += 5) cap += strlen(dir);
  char *out = malloc(cap);
  for (const char *p = s; *p;) {
    if (strncmp(p, "@DIR@", 5) == 0) {
      memcpy(out + n, dir, strlen(dir));
      n += strlen(dir);
      p += 5;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = '\0';
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = '\0';
  return out;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the *.yaml files in dir (NULL-terminated). */
static char **yaml_files(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "cannot open %s", dir);
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!ends_with(e->d_name, ".yaml")) continue;
    names = realloc(names, (n + 2) * sizeof *names);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_names);
  names[n] = NULL;
  *count = n;
  return names;
}

static void free_names(char **names) {
  for (size_t i = 0; names[i]; i++) free(names[i]);
  free(names);
}

static int same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Every resolved field equal, bit for bit (not the record of files read). */
static void expect_same(const cas_scenario *a, const cas_scenario *b, const char *what) {
  cr_expect_str_eq(a->name, b->name, "%s: name", what);
  cr_expect_str_eq(a->description, b->description, "%s: description", what);
  cr_expect_eq(a->seed, b->seed, "%s: seed", what);
  cr_expect_eq(a->paths, b->paths, "%s: paths", what);
  cr_expect_eq(a->portfolio.source, b->portfolio.source, "%s: portfolio source", what);
  if (a->portfolio.source == CAS_PORTFOLIO_FILE && b->portfolio.source == CAS_PORTFOLIO_FILE)
    cr_expect_str_eq(a->portfolio.file, b->portfolio.file, "%s: portfolio file", what);
  cr_expect_eq(a->portfolio.loans, b->portfolio.loans, "%s: loans", what);
  cr_expect_eq(a->portfolio.seed, b->portfolio.seed, "%s: portfolio seed", what);
  cr_expect_str_eq(a->copula, b->copula, "%s: copula", what);
  cr_expect_str_eq(a->lgd_model, b->lgd_model, "%s: lgd", what);
  cr_expect(memcmp(a->loading, b->loading, sizeof a->loading) == 0, "%s: loadings", what);
  cr_expect(memcmp(a->factor_corr, b->factor_corr, sizeof a->factor_corr) == 0,
            "%s: factor correlations", what);
  cr_expect_eq(a->factor_shift_mode, b->factor_shift_mode, "%s: factor_shift_mode", what);
  cr_expect_eq(a->nshocks, b->nshocks, "%s: number of shocks", what);
  for (size_t i = 0; i < a->nshocks && i < b->nshocks; i++) {
    const cas_shock *x = &a->shocks[i], *y = &b->shocks[i];
    cr_expect(x->region == y->region && x->sector == y->sector &&
                  same_double(x->pd_multiplier, y->pd_multiplier) &&
                  same_double(x->lgd_add, y->lgd_add) &&
                  same_double(x->ead_multiplier, y->ead_multiplier) &&
                  same_double(x->factor_shift, y->factor_shift),
              "%s: shock %zu", what, i);
  }
  cr_expect_eq(a->network.source, b->network.source, "%s: network source", what);
  if (a->network.source == CAS_NETWORK_FILE && b->network.source == CAS_NETWORK_FILE)
    cr_expect_str_eq(a->network.file, b->network.file, "%s: network file", what);
  cr_expect_eq(a->network.seed, b->network.seed, "%s: network seed", what);
  cr_expect_eq(a->contagion.enabled, b->contagion.enabled, "%s: contagion.enabled", what);
  cr_expect_eq(a->contagion.calibration, b->contagion.calibration, "%s: calibration", what);
  cr_expect_eq(a->contagion.calibration_paths, b->contagion.calibration_paths,
               "%s: calibration paths", what);
  cr_expect_eq(a->contagion.calibration_iterations, b->contagion.calibration_iterations,
               "%s: calibration iterations", what);
  cr_expect(same_double(a->contagion.supply_chain_scale, b->contagion.supply_chain_scale) &&
                same_double(a->contagion.guarantee_scale, b->contagion.guarantee_scale),
            "%s: contagion scales", what);
  cr_expect_eq(a->contagion.max_rounds, b->contagion.max_rounds, "%s: max_rounds", what);
  cr_expect_eq(a->contagion.nspillover, b->contagion.nspillover, "%s: number of spill-overs", what);
  for (size_t i = 0; i < a->contagion.nspillover && i < b->contagion.nspillover; i++) {
    const cas_spillover *x = &a->contagion.spillover[i], *y = &b->contagion.spillover[i];
    cr_expect(x->segment == y->segment && x->factor == y->factor && same_double(x->beta, y->beta),
              "%s: spill-over %zu", what, i);
  }
}

static cas_scenario *load_ok(const char *path) {
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cas_status st = cas_scenario_load(path, &sc, &err);
  cr_assert_eq(st, CAS_OK, "%s: %s", path, err.msg);
  return sc;
}

static cas_scenario *load_text_ok(const char *text, const char *path) {
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cas_status st = cas_scenario_load_text(text, path, &sc, &err);
  cr_assert_eq(st, CAS_OK, "%s: %s", path, err.msg);
  return sc;
}

/* Writes sc, loads the text back and checks both agree; returns the text. */
static char *round_trip(const cas_scenario *sc, const char *what) {
  char *text = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_write_yaml(sc, &text, &err), CAS_OK, "%s: %s", what, err.msg);
  cas_scenario *back = load_text_ok(text, "/nonexistent/written.yaml");
  expect_same(sc, back, what);
  cr_expect_eq(back->nfiles, 1, "%s: a written scenario is self-contained", what);
  char *again = NULL;
  cr_assert_eq(cas_scenario_write_yaml(back, &again, &err), CAS_OK);
  cr_expect_str_eq(again, text, "%s: writing is a fixed point", what);
  free(again);
  cas_scenario_destroy(back);
  return text;
}

/* ---- the bad-input corpus ----------------------------------------------- */

Test(scenario, bad_input_corpus) {
  size_t n;
  char **names = yaml_files(BAD_DIR, &n);
  cr_assert_geq(n, 50, "the corpus has %zu files", n);
  for (size_t i = 0; i < n; i++) {
    char path[PATH_MAX], expect_path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, names[i]);
    snprintf(expect_path, sizeof expect_path, "%s/%.*s.expect", BAD_DIR,
             (int)(strlen(names[i]) - 5), names[i]);
    char *raw = read_text(expect_path);
    cr_expect_not_null(raw, "%s has no .expect file", names[i]);
    if (raw == NULL) continue;
    char *expected = expand_dir(raw, BAD_DIR);
    cas_scenario *sc = (cas_scenario *)1;
    cas_error err = {0};
    cas_status st = cas_scenario_load(path, &sc, &err);
    cr_expect_eq(st, CAS_ERR_INPUT, "%s: status %d, message %s", names[i], st, err.msg);
    cr_expect_eq(err.status, st, "%s: error record status", names[i]);
    cr_expect_null(sc, "%s: no scenario on failure", names[i]);
    cr_expect_str_eq(err.msg, expected, "%s:\n   got: %s\nexpect: %s", names[i], err.msg,
                     expected);
    cas_scenario_destroy(sc);
    free(expected);
    free(raw);
  }
  free_names(names);
}

Test(scenario, missing_file_is_bad_input) {
  cas_scenario *sc = (cas_scenario *)1;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load(BAD_DIR "/no_such_scenario.yaml", &sc, &err), CAS_ERR_INPUT);
  cr_expect_null(sc);
  cr_expect_str_eq(err.msg,
                   "cannot read scenario '" BAD_DIR "/no_such_scenario.yaml': No such file or directory");
}

Test(scenario, default_name_must_be_an_identifier) {
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load_text("paths: 1000\n", "/tmp/my scenario.yaml", &sc, &err),
               CAS_ERR_INPUT);
  cr_expect_str_eq(err.msg,
                   "/tmp/my scenario.yaml: the scenario name defaults to the file name 'my "
                   "scenario', which is not an identifier of letters, digits, '_', '.' and '-': "
                   "set name or rename the file");
  sc = load_text_ok("name: my_scenario\n", "/tmp/my scenario.yaml");
  cr_expect_str_eq(sc->name, "my_scenario");
  cas_scenario_destroy(sc);
}

Test(scenario, alias_expansion_is_bounded) {
  /* Each level repeats the one before ten times: 10^7 values if expanded. */
  const char *text =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load_text(text, "laughs.yaml", &sc, &err), CAS_ERR_INPUT);
  cr_expect(strstr(err.msg, "document too large") != NULL, "%s", err.msg);
  cr_expect_null(sc);
}

/* ---- shipped scenarios --------------------------------------------------- */

Test(scenario, every_shipped_scenario_loads_and_round_trips) {
  size_t n;
  char **names = yaml_files(SCENARIO_DIR, &n);
  static const char *const required[] = {
    "reference.yaml", "baseline.yaml", "tech_funding_winter.yaml", "green_transition.yaml",
    "inclusive_micro_stress.yaml", "sensitivity_pd_x2.yaml", "sensitivity_pd_x3.yaml",
    "sensitivity_pd_x5.yaml", NULL};
  for (size_t k = 0; required[k]; k++) {
    int found = 0;
    for (size_t i = 0; i < n; i++) found |= strcmp(names[i], required[k]) == 0;
    cr_expect(found, "scenarios/%s is missing", required[k]);
  }
  for (size_t i = 0; i < n; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", SCENARIO_DIR, names[i]);
    cas_scenario *sc = load_ok(path);
    cr_expect_eq(strncmp(sc->name, names[i], strlen(names[i]) - 5), 0,
                 "%s: the name %s should be the file name", names[i], sc->name);
    cr_expect_eq(strlen(sc->name), strlen(names[i]) - 5, "%s: name %s", names[i], sc->name);
    cr_expect_gt(strlen(sc->description), 40, "%s: describe what the scenario represents",
                 names[i]);
    char *file_text = read_text(path);
    cr_expect_str_eq(sc->file_texts[0], file_text, "%s: the text is recorded byte-exact",
                     names[i]);
    free(file_text);
    free(round_trip(sc, names[i]));
    cas_scenario_destroy(sc);
  }
  free_names(names);
}

Test(scenario, reference_holds_the_defaults) {
  cas_scenario *ref = load_ok(SCENARIO_DIR "/reference.yaml");
  cas_scenario *def = load_text_ok("", "/nonexistent/reference.yaml");
  /* Same model and sizes as an empty file; only the neutral examples differ. */
  free(def->description);
  def->description = strdup(ref->description);
  cas_shock *shocks = def->shocks;
  size_t nshocks = def->nshocks;
  def->shocks = ref->shocks;
  def->nshocks = ref->nshocks;
  cas_spillover *spill = def->contagion.spillover;
  size_t nspill = def->contagion.nspillover;
  def->contagion.spillover = ref->contagion.spillover;
  def->contagion.nspillover = ref->contagion.nspillover;
  expect_same(ref, def, "reference.yaml against the defaults");
  def->shocks = shocks;
  def->nshocks = nshocks;
  def->contagion.spillover = spill;
  def->contagion.nspillover = nspill;
  cr_expect_gt(ref->contagion.nspillover, 0, "reference.yaml must show a spill-over example");
  for (size_t i = 0; i < ref->contagion.nspillover; i++)
    cr_expect_eq(ref->contagion.spillover[i].beta, 0.0,
                 "reference.yaml: example spill-over %zu must be neutral", i);
  for (size_t i = 0; i < ref->nshocks; i++) {
    const cas_shock *sh = &ref->shocks[i];
    cr_expect(sh->pd_multiplier == 1 && sh->lgd_add == 0 && sh->ead_multiplier == 1 &&
                  sh->factor_shift == 0,
              "reference.yaml: example shock %zu must be neutral", i);
  }
  cas_scenario_destroy(ref);
  cas_scenario_destroy(def);
}

Test(scenario, stress_scenarios_extend_the_baseline) {
  static const char *const stress[] = {"tech_funding_winter", "green_transition",
                                       "inclusive_micro_stress", "sensitivity_pd_x2",
                                       "sensitivity_pd_x3", "sensitivity_pd_x5", NULL};
  cas_scenario *base = load_ok(SCENARIO_DIR "/baseline.yaml");
  cr_expect_eq(base->nshocks, 0);
  cr_expect_eq(base->paths, 10000);
  cr_expect_eq(base->portfolio.source, CAS_PORTFOLIO_BUILTIN);
  cr_expect_eq(base->portfolio.loans, 100000);
  for (size_t k = 0; stress[k]; k++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.yaml", SCENARIO_DIR, stress[k]);
    cas_scenario *sc = load_ok(path);
    cr_expect_eq(sc->nfiles, 2, "%s", stress[k]);
    cr_expect(ends_with(sc->file_paths[1], "/baseline.yaml"), "%s", sc->file_paths[1]);
    cr_expect_str_eq(sc->file_texts[1], base->file_texts[0], "%s: base text", stress[k]);
    cr_expect_gt(sc->nshocks, 0, "%s has shocks", stress[k]);
    for (size_t i = 0; i < sc->nshocks; i++) {
      cr_expect_eq(sc->shocks[i].file, sc->file_paths[0], "%s: shock %zu file", stress[k], i);
      cr_expect_gt(sc->shocks[i].line, 0);
      cr_expect(sc->shocks[i].factor_shift <= 0, "%s: shifts are adverse (negative)", stress[k]);
    }
    /* Everything but name, description and shocks comes from the baseline. */
    cr_expect_eq(sc->seed, base->seed);
    cr_expect_eq(sc->paths, base->paths);
    cr_expect_eq(sc->portfolio.loans, base->portfolio.loans);
    cr_expect(memcmp(sc->loading, base->loading, sizeof sc->loading) == 0);
    cr_expect(memcmp(sc->factor_corr, base->factor_corr, sizeof sc->factor_corr) == 0);
    cas_scenario_destroy(sc);
  }
  cas_scenario_destroy(base);
}

/* A shipped scenario never lays a PD multiplier on a segment whose sector
 * or region factor (or the global factor) it also shifts: the two
 * instruments would stress that segment twice for one cause (docs/MODEL.md,
 * Shocks: which instrument for which story). A future scenario that needs
 * both for two different causes must say so here. */
Test(scenario, shipped_scenarios_do_not_stress_a_segment_twice) {
  size_t n;
  char **names = yaml_files(SCENARIO_DIR, &n);
  for (size_t i = 0; i < n; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", SCENARIO_DIR, names[i]);
    cas_scenario *sc = load_ok(path);
    for (size_t a = 0; a < sc->nshocks; a++) {
      const cas_shock *mult = &sc->shocks[a];
      if (mult->pd_multiplier == 1.0) continue;
      for (size_t b = 0; b < sc->nshocks; b++) {
        const cas_shock *shift = &sc->shocks[b];
        if (shift->factor_shift == 0.0) continue;
        int global = shift->region < 0 && shift->sector < 0;
        int same_sector = shift->sector >= 0 && (mult->sector < 0 || mult->sector == shift->sector);
        int same_region = shift->region >= 0 && (mult->region < 0 || mult->region == shift->region);
        cr_expect(!(global || same_sector || same_region),
                  "%s: shocks[%zu] multiplies PDs that shocks[%zu] already stresses through a "
                  "factor shift", names[i], a, b);
      }
    }
    cas_scenario_destroy(sc);
  }
  free_names(names);
}

Test(scenario, sensitivity_tests_multiply_every_pd) {
  static const int factor[] = {2, 3, 5};
  for (int k = 0; k < 3; k++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/sensitivity_pd_x%d.yaml", SCENARIO_DIR, factor[k]);
    cas_scenario *sc = load_ok(path);
    cr_assert_eq(sc->nshocks, 1);
    cr_expect_eq(sc->shocks[0].region, -1);
    cr_expect_eq(sc->shocks[0].sector, -1);
    cr_expect_eq(sc->shocks[0].pd_multiplier, (double)factor[k]);
    cr_expect_eq(sc->shocks[0].factor_shift, 0.0);
    cas_scenario_destroy(sc);
  }
}

/* ---- defaults and merging ------------------------------------------------ */

Test(scenario, defaults) {
  static const char *const texts[] = {"", "# only a comment\n", "{}\n", NULL};
  for (size_t t = 0; texts[t]; t++) {
    cas_scenario *sc = load_text_ok(texts[t], "/nonexistent/folder/defaults_probe.yaml");
    cr_expect_str_eq(sc->name, "defaults_probe");
    cr_expect_str_eq(sc->description, "");
    cr_expect_eq(sc->seed, 1);
    cr_expect_eq(sc->paths, 10000);
    cr_expect_eq(sc->portfolio.source, CAS_PORTFOLIO_BUILTIN);
    cr_expect_null(sc->portfolio.file);
    cr_expect_eq(sc->portfolio.loans, CAS_PORTFOLIO_DEFAULT_LOANS);
    cr_expect_eq(sc->portfolio.seed, 1);
    cr_expect_str_eq(sc->copula, "gaussian");
    cr_expect_str_eq(sc->lgd_model, "fixed");
    cr_expect_eq(sc->loading[CAS_SECTOR_TECH_STARTUP][CAS_LOADING_GLOBAL], 0.205);
    cr_expect_eq(sc->loading[CAS_SECTOR_TECH_STARTUP][CAS_LOADING_SECTOR], 0.277);
    cr_expect_eq(sc->loading[CAS_SECTOR_HOUSEHOLD][CAS_LOADING_REGION], 0.228);
    cr_expect_eq(sc->loading[CAS_SECTOR_REAL_ESTATE][CAS_LOADING_SECTOR], 0.274);
    for (int i = 0; i < CAS_NFACTORS; i++)
      for (int j = 0; j < CAS_NFACTORS; j++)
        cr_expect_eq(sc->factor_corr[i][j], i == j ? 1.0 : 0.0, "C[%d][%d]", i, j);
    cr_expect_eq(sc->nshocks, 0);
    cr_expect_eq(sc->factor_shift_mode, CAS_SHIFT_CONDITIONAL);
    cr_expect_eq(sc->nfiles, 1);
    cr_expect_str_eq(sc->file_paths[0], "/nonexistent/folder/defaults_probe.yaml");
    cr_expect_str_eq(sc->file_texts[0], texts[t]);
    /* Asset correlations of the defaults: the Basel IRB targets of
     * docs/CALIBRATION.md (sim/input/scenario.c), to the rounding of the loadings. */
    static const double target[CAS_NSECTORS] = {0.14, 0.19, 0.10, 0.18, 0.16, 0.15, 0.17, 0.21, 0.13};
    for (int s = 0; s < CAS_NSECTORS; s++) {
      double r2 = cas_scenario_systematic_variance(sc, CAS_REGION_ANHUI, s);
      cr_expect(fabs(r2 - target[s]) <= 0.001, "%s: a'Ca %g, documented %g", cas_sector_names[s], r2, target[s]);
    }
    cas_scenario_destroy(sc);
  }
}

/* docs/CALIBRATION.md, "Asset correlations": under scenarios/baseline.yaml
 * every segment's asset correlation a'Ca stays inside the Basel IRB range
 * of its sector (CRE31.5-31.10): corporate 0.12-0.24, with the small-firm
 * adjustment down to 0.08 (tech start-ups, wholesale and retail); retail
 * 0.03-0.16 (inclusive micro-loans, households: mortgages 0.15 and other
 * retail). The baseline correlates region factors with region factors and
 * sector factors with sector factors only, so a'Ca is the sum of the
 * squared loadings, as without correlations. */
Test(scenario, baseline_asset_correlations_in_irb_ranges) {
  static const double lo[CAS_NSECTORS] = {0.08, 0.12, 0.03, 0.12, 0.08, 0.12, 0.12, 0.12, 0.03};
  static const double hi[CAS_NSECTORS] = {0.24, 0.24, 0.16, 0.24, 0.24, 0.24, 0.24, 0.24, 0.16};
  cas_scenario *sc = load_ok(SCENARIO_DIR "/baseline.yaml");
  for (int s = 0; s < CAS_NSECTORS; s++) {
    const double *a = sc->loading[s];
    double squares = a[CAS_LOADING_GLOBAL] * a[CAS_LOADING_GLOBAL] + a[CAS_LOADING_REGION] * a[CAS_LOADING_REGION] +
                     a[CAS_LOADING_SECTOR] * a[CAS_LOADING_SECTOR];
    for (int r = 0; r < CAS_NREGIONS; r++) {
      double r2 = cas_scenario_systematic_variance(sc, r, s);
      cr_expect(r2 >= lo[s] && r2 <= hi[s], "%s/%s: a'Ca %g outside [%g, %g]", cas_region_names[r],
                cas_sector_names[s], r2, lo[s], hi[s]);
      cr_expect(fabs(r2 - squares) <= 1e-12, "%s/%s: a'Ca %g, squared loadings %g", cas_region_names[r],
                cas_sector_names[s], r2, squares);
    }
  }
  cas_scenario_destroy(sc);
}

Test(scenario, shock_defaults_and_position) {
  cas_scenario *sc = load_text_ok("paths: 1000\nshocks:\n  - sector: green\n    lgd_add: 0.1\n"
                                  "  - {region: anhui, factor_shift: -1.5}\n",
                                  "/nonexistent/shock_probe.yaml");
  cr_assert_eq(sc->nshocks, 2);
  const cas_shock *a = &sc->shocks[0], *b = &sc->shocks[1];
  cr_expect_eq(a->region, -1);
  cr_expect_eq(a->sector, CAS_SECTOR_GREEN);
  cr_expect_eq(a->pd_multiplier, 1.0);
  cr_expect_eq(a->lgd_add, 0.1);
  cr_expect_eq(a->ead_multiplier, 1.0);
  cr_expect_eq(a->factor_shift, 0.0);
  cr_expect_eq(a->line, 3);
  cr_expect_eq(a->col, 5);
  cr_expect_eq(a->file, sc->file_paths[0]);
  cr_expect_eq(b->region, CAS_REGION_ANHUI);
  cr_expect_eq(b->sector, -1);
  cr_expect_eq(b->factor_shift, -1.5);
  cr_expect_eq(b->line, 5);
  cr_expect_eq(b->col, 5);
  cas_scenario_destroy(sc);
}

Test(scenario, extends_merges_mappings_and_replaces_the_rest) {
  /* The child stands for a file next to baseline.yaml (it is not read). */
  const char *child = "extends: baseline.yaml\n"
                      "paths: 2000\n"
                      "model:\n"
                      "  loadings:\n"
                      "    green: {sector: 0.3}\n";
  cas_scenario *base = load_ok(SCENARIO_DIR "/baseline.yaml");
  cas_scenario *sc = load_text_ok(child, SCENARIO_DIR "/merge_probe.yaml");
  cr_expect_str_eq(sc->name, "merge_probe", "name is not inherited");
  cr_expect_str_eq(sc->description, "", "description is not inherited");
  cr_expect_eq(sc->paths, 2000);
  cr_expect_eq(sc->seed, base->seed);
  cr_expect_eq(sc->loading[CAS_SECTOR_GREEN][CAS_LOADING_SECTOR], 0.3);
  cr_expect_eq(sc->loading[CAS_SECTOR_GREEN][CAS_LOADING_GLOBAL],
               base->loading[CAS_SECTOR_GREEN][CAS_LOADING_GLOBAL]);
  cr_expect_eq(sc->loading[CAS_SECTOR_GREEN][CAS_LOADING_REGION],
               base->loading[CAS_SECTOR_GREEN][CAS_LOADING_REGION]);
  for (int s = 0; s < CAS_NSECTORS; s++)
    if (s != CAS_SECTOR_GREEN)
      cr_expect(memcmp(sc->loading[s], base->loading[s], sizeof sc->loading[s]) == 0, "%d", s);
  cr_expect(memcmp(sc->factor_corr, base->factor_corr, sizeof sc->factor_corr) == 0,
            "model.correlations and the shortcuts are inherited");
  cr_expect_eq(sc->nfiles, 2);
  cr_expect_str_eq(sc->file_paths[0], SCENARIO_DIR "/merge_probe.yaml");
  cr_expect_str_eq(sc->file_paths[1], SCENARIO_DIR "/baseline.yaml");
  cr_expect_str_eq(sc->file_texts[0], child);
  char *base_text = read_text(SCENARIO_DIR "/baseline.yaml");
  cr_expect_str_eq(sc->file_texts[1], base_text);
  free(base_text);
  free(round_trip(sc, "merge probe"));
  cas_scenario_destroy(sc);

  /* A child's sequence replaces the base's: one shock, not base + child. */
  sc = load_text_ok("extends: tech_funding_winter.yaml\nshocks:\n  - pd_multiplier: 1.1\n",
                    SCENARIO_DIR "/chain_probe.yaml");
  cr_expect_eq(sc->nfiles, 3, "chains are followed");
  cr_expect_eq(sc->nshocks, 1);
  cr_expect_eq(sc->shocks[0].pd_multiplier, 1.1);
  cr_expect_str_eq(sc->file_paths[2], SCENARIO_DIR "/baseline.yaml");
  cas_scenario_destroy(sc);
  cas_scenario_destroy(base);
}

/* A scratch folder with a portfolio CSV and scenarios around it. */
static char scratch[64];

static void make_scratch(void) {
  snprintf(scratch, sizeof scratch, "/tmp/cascade_scenario_XXXXXX");
  cr_assert_not_null(mkdtemp(scratch));
}

static void remove_scratch(const char *const *files) {
  char path[PATH_MAX];
  for (size_t i = 0; files[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", scratch, files[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/sub", scratch);
  rmdir(path);
  rmdir(scratch);
}

Test(scenario, portfolio_file_is_resolved_and_replaces_the_builtin) {
  make_scratch();
  char path[PATH_MAX], sub[PATH_MAX];
  snprintf(sub, sizeof sub, "%s/sub", scratch);
  cr_assert_eq(mkdir(sub, 0700), 0);
  snprintf(path, sizeof path, "%s/sub/book.csv", scratch);
  write_text(path, "id,region,sector,ead,pd,lgd\nL1,anhui,green,1000,0.01,0.4\n");
  snprintf(path, sizeof path, "%s/sub/base.yaml", scratch);
  write_text(path, "paths: 500\nportfolio:\n  file: book.csv\n");
  snprintf(path, sizeof path, "%s/builtin.yaml", scratch);
  write_text(path, "portfolio:\n  builtin: yrd\n  loans: 2000\n");
  snprintf(path, sizeof path, "%s/child.yaml", scratch);
  write_text(path, "extends: sub/base.yaml\nseed: 9\n");
  snprintf(path, sizeof path, "%s/over.yaml", scratch);
  write_text(path, "extends: builtin.yaml\nportfolio:\n  file: sub/book.csv\n");

  char *real = realpath(sub, NULL);
  char expected[PATH_MAX];
  snprintf(expected, sizeof expected, "%s/book.csv", real);
  free(real);

  /* A base's relative file is relative to the base's folder. */
  snprintf(path, sizeof path, "%s/child.yaml", scratch);
  cas_scenario *sc = load_ok(path);
  cr_expect_eq(sc->portfolio.source, CAS_PORTFOLIO_FILE);
  cr_expect_str_eq(sc->portfolio.file, expected);
  cr_expect_eq(sc->paths, 500);
  cr_expect_eq(sc->seed, 9);
  char *text = round_trip(sc, "portfolio file");
  cr_expect(strstr(text, expected) != NULL, "the written file path is absolute:\n%s", text);
  free(text);
  cas_scenario_destroy(sc);

  /* A child's file replaces the base's builtin instead of clashing with it. */
  snprintf(path, sizeof path, "%s/over.yaml", scratch);
  sc = load_ok(path);
  cr_expect_eq(sc->portfolio.source, CAS_PORTFOLIO_FILE);
  cr_expect_str_eq(sc->portfolio.file, expected);
  cr_expect_eq(sc->portfolio.loans, 2000, "loans are inherited (and unused with a file)");
  cas_scenario_destroy(sc);

  static const char *const files[] = {"sub/book.csv", "sub/base.yaml", "builtin.yaml",
                                      "child.yaml", "over.yaml", NULL};
  remove_scratch(files);
}

/* ---- the factor model ---------------------------------------------------- */

Test(scenario, correlation_shortcuts_and_pairs) {
  cas_scenario *sc = load_text_ok("model:\n"
                                  "  region_correlation: 0.4\n"
                                  "  sector_correlation: 0.1\n"
                                  "  correlations:\n"
                                  "    - {factors: [region.shanghai, region.jiangsu], value: 0.7}\n"
                                  "    - {factors: [region.anhui, global], value: -0.2}\n",
                                  "/nonexistent/corr_probe.yaml");
  double expect[CAS_NFACTORS][CAS_NFACTORS];
  for (int i = 0; i < CAS_NFACTORS; i++)
    for (int j = 0; j < CAS_NFACTORS; j++) {
      int ri = i >= CAS_FACTOR_REGION0 && i < CAS_FACTOR_SECTOR0;
      int rj = j >= CAS_FACTOR_REGION0 && j < CAS_FACTOR_SECTOR0;
      int si = i >= CAS_FACTOR_SECTOR0, sj = j >= CAS_FACTOR_SECTOR0;
      expect[i][j] = i == j ? 1.0 : (ri && rj) ? 0.4 : (si && sj) ? 0.1 : 0.0;
    }
  int sh = CAS_FACTOR_REGION0 + CAS_REGION_SHANGHAI, js = CAS_FACTOR_REGION0 + CAS_REGION_JIANGSU;
  int ah = CAS_FACTOR_REGION0 + CAS_REGION_ANHUI;
  expect[sh][js] = expect[js][sh] = 0.7;
  expect[ah][CAS_FACTOR_GLOBAL] = expect[CAS_FACTOR_GLOBAL][ah] = -0.2;
  for (int i = 0; i < CAS_NFACTORS; i++)
    for (int j = 0; j < CAS_NFACTORS; j++)
      cr_expect_eq(sc->factor_corr[i][j], expect[i][j], "C[%d][%d] = %g, expected %g", i, j,
                   sc->factor_corr[i][j], expect[i][j]);
  char *text = round_trip(sc, "correlation probe");
  /* The shortcuts are written back, and only the two pairs that differ. */
  cr_expect(strstr(text, "region_correlation: 0.4\n") != NULL, "%s", text);
  cr_expect(strstr(text, "sector_correlation: 0.1\n") != NULL, "%s", text);
  size_t pairs = 0;
  for (const char *p = text; (p = strstr(p, "factors:")) != NULL; p++) pairs++;
  cr_expect_eq(pairs, 2, "%s", text);
  free(text);
  cas_scenario_destroy(sc);
}

Test(scenario, systematic_variance) {
  cas_scenario *sc = load_text_ok("model:\n"
                                  "  loadings:\n"
                                  "    tech_startup: {global: 0.3, region: 0.2, sector: 0.4}\n"
                                  "  correlations:\n"
                                  "    - {factors: [global, sector.tech_startup], value: 0.5}\n"
                                  "    - {factors: [region.jiangsu, sector.tech_startup], value: 0.25}\n",
                                  "/nonexistent/variance_probe.yaml");
  /* a'Ca = 0.09 + 0.04 + 0.16 + 2 (0.3)(0.4)(0.5) [+ 2 (0.2)(0.4)(0.25) in Jiangsu] */
  double shanghai = cas_scenario_systematic_variance(sc, CAS_REGION_SHANGHAI,
                                                     CAS_SECTOR_TECH_STARTUP);
  double jiangsu = cas_scenario_systematic_variance(sc, CAS_REGION_JIANGSU,
                                                    CAS_SECTOR_TECH_STARTUP);
  cr_expect_float_eq(shanghai, 0.41, 1e-14);
  cr_expect_float_eq(jiangsu, 0.45, 1e-14);
  /* green keeps its defaults: 0.276^2 + 0.195^2 + 0.276^2 */
  cr_expect_float_eq(cas_scenario_systematic_variance(sc, CAS_REGION_ANHUI, CAS_SECTOR_GREEN),
                     0.190377, 1e-14);
  cas_scenario_destroy(sc);
}

/* ---- writing ------------------------------------------------------------- */

Test(scenario, strings_and_numbers_round_trip_exactly) {
  const char *text =
      "name: quoting-probe.1\n"
      "description: \"quote \\\" backslash \\\\ newline \\n tab \\t bell-free, 长三角 "
      "C1 \\u0080 del \\x7F bom \\uFEFF line-sep \\u2028 astral \\U0001F30A  \"\n"
      "seed: 18446744073709551615\n"
      "paths: 1000000000\n"
      "portfolio: {loans: 100000000, seed: 0}\n"
      "model:\n"
      "  loadings:\n"
      "    green: {global: 0.1, region: -0.0, sector: 0.30000000000000004}\n"
      "    household: {global: 1e-300, region: 0.123456789012345678, sector: -0.3}\n"
      "  sector_correlation: -0.05\n"
      "  correlations:\n"
      "    - {factors: [sector.green, sector.household], value: -0.05}\n"
      "    - {factors: [sector.green, region.zhejiang], value: 0.33333333333333331}\n"
      "shocks:\n"
      "  - {region: zhejiang, sector: green, pd_multiplier: 1.1, ead_multiplier: 1e-3}\n"
      "  - {sector: household, factor_shift: -10, lgd_add: -1}\n"
      "  - {region: shanghai, factor_shift: 0.1}\n"
      "  - {pd_multiplier: 3}\n";
  cas_scenario *sc = load_text_ok(text, "/nonexistent/quoting-probe.1.yaml");
  cr_expect(strstr(sc->description, "长三角") != NULL);
  cr_expect_eq(sc->seed, UINT64_MAX);
  char *written = round_trip(sc, "quoting probe");
  cr_expect(strstr(written, "0.30000000000000004") != NULL, "%s", written);
  cr_expect(strstr(written, "global: 0.1,") != NULL, "shortest exact form:\n%s", written);
  free(written);
  cas_scenario_destroy(sc);
}

/* Found by fuzzing: a value that underflows to a subnormal double (strtod
 * says ERANGE) was rejected as out of range, so the exact subnormal
 * 0x1p-1030 loaded but its resolved text 8.69...e-311 did not. */
Test(scenario, subnormal_numbers_load_and_round_trip) {
  const char *text =
      "model:\n"
      "  loadings:\n"
      "    green: {global: 0.1, region: 4.9e-324, sector: 0.3}\n"
      "shocks:\n"
      "  - {factor_shift: 0x1p-1030, lgd_add: -1e-310}\n";
  cas_scenario *sc = load_text_ok(text, "/nonexistent/subnormal.yaml");
  cr_expect_eq(sc->loading[CAS_SECTOR_GREEN][CAS_LOADING_REGION], 4.9e-324);
  cr_expect_eq(sc->shocks[0].factor_shift, ldexp(1.0, -1030));
  cr_expect_eq(sc->shocks[0].lgd_add, -1e-310);
  cr_expect(sc->shocks[0].lgd_add < 0 && sc->shocks[0].lgd_add > -DBL_MIN);
  free(round_trip(sc, "subnormal probe"));
  cas_scenario_destroy(sc);
}

/* Leading white space of any kind is not part of a number (strtod would
 * skip a newline, form feed or vertical tab given in a quoted scalar). */
Test(scenario, numbers_reject_leading_white_space) {
  const char *texts[] = {"shocks: [{lgd_add: \"\\n0.5\"}]\n", "shocks: [{lgd_add: \"\\f0.5\"}]\n",
                         "shocks: [{lgd_add: \"\\v0.5\"}]\n", "shocks: [{lgd_add: \" 0.5\"}]\n"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    cas_scenario *sc = NULL;
    cas_error err = {0};
    cr_expect_eq(cas_scenario_load_text(texts[i], "/nonexistent/ws.yaml", &sc, &err), CAS_ERR_INPUT,
                 "%s", texts[i]);
    cr_expect_null(sc);
    cr_expect(strstr(err.msg, "/nonexistent/ws.yaml:1:20: shocks[0].lgd_add: got") == err.msg, "%s", err.msg);
  }
}

/* The range of a PD multiplier and of the product of those that apply to
 * one segment is [0.001, 1000], both ends included (the corpus has the
 * messages for values and products outside it). */
Test(scenario, pd_multipliers_at_the_range_limits_load) {
  cas_scenario *sc = load_text_ok("shocks:\n"
                                  "  - {region: shanghai, sector: green, pd_multiplier: 1000}\n"
                                  "  - {sector: household, pd_multiplier: 0.001}\n"
                                  "  - {region: anhui, pd_multiplier: 10}\n"
                                  "  - {region: anhui, sector: tech_startup, pd_multiplier: 100}\n"
                                  "  - {region: jiangsu, sector: green, pd_multiplier: 0.001}\n",
                                  "/nonexistent/limits.yaml");
  cr_expect_eq(sc->shocks[0].pd_multiplier, 1000.0);
  cr_expect_eq(sc->shocks[1].pd_multiplier, 0.001);
  free(round_trip(sc, "multipliers at the limits"));
  cas_scenario_destroy(sc);
  /* Anhui green: 1000 x 10 is out, at the shock that takes it out. */
  cas_scenario *bad = NULL;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load_text("shocks:\n"
                                      "  - {sector: green, pd_multiplier: 1000}\n"
                                      "  - {region: anhui, pd_multiplier: 10}\n",
                                      "/nonexistent/limits.yaml", &bad, &err),
               CAS_ERR_INPUT);
  cr_expect_null(bad);
  cr_expect(strstr(err.msg, "/nonexistent/limits.yaml:3:36: shocks[1].pd_multiplier: with the "
                            "shocks before it, the PD multipliers that apply to anhui/green "
                            "multiply to 10000") == err.msg, "%s", err.msg);
}

Test(scenario, factor_shift_mode_is_read_inherited_and_written) {
  cas_scenario *sc = load_text_ok("factor_shift_mode: isolated\n"
                                  "shocks:\n  - {sector: green, factor_shift: -1}\n",
                                  "/nonexistent/mode_probe.yaml");
  cr_expect_eq(sc->factor_shift_mode, CAS_SHIFT_ISOLATED);
  char *text = round_trip(sc, "isolated mode");
  cr_expect(strstr(text, "\nfactor_shift_mode: \"isolated\"\n") != NULL, "%s", text);
  free(text);
  cas_scenario_destroy(sc);
  sc = load_text_ok("factor_shift_mode: conditional\n", "/nonexistent/mode_probe.yaml");
  cr_expect_eq(sc->factor_shift_mode, CAS_SHIFT_CONDITIONAL);
  text = round_trip(sc, "conditional mode");
  cr_expect(strstr(text, "\nfactor_shift_mode: \"conditional\"\n") != NULL, "%s", text);
  free(text);
  cas_scenario_destroy(sc);
  /* A child inherits the base's mode, and can replace it. */
  make_scratch();
  char base[PATH_MAX], child[PATH_MAX], over[PATH_MAX];
  snprintf(base, sizeof base, "%s/base.yaml", scratch);
  snprintf(child, sizeof child, "%s/child.yaml", scratch);
  snprintf(over, sizeof over, "%s/over.yaml", scratch);
  write_text(base, "factor_shift_mode: isolated\n");
  write_text(child, "extends: base.yaml\npaths: 500\n");
  write_text(over, "extends: base.yaml\nfactor_shift_mode: conditional\n");
  sc = load_ok(child);
  cr_expect_eq(sc->factor_shift_mode, CAS_SHIFT_ISOLATED);
  cas_scenario_destroy(sc);
  sc = load_ok(over);
  cr_expect_eq(sc->factor_shift_mode, CAS_SHIFT_CONDITIONAL);
  cas_scenario_destroy(sc);
  static const char *const files[] = {"base.yaml", "child.yaml", "over.yaml", NULL};
  remove_scratch(files);
}

Test(scenario, destroy_null_is_a_no_op) { cas_scenario_destroy(NULL); }
