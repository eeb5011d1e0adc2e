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

#include "timeout.h"

#include <dirent.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "books/books.h"
#include "networks/networks.h"
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

/* The delta's factor model (built-in book, or classification: yrd, default
 * families): 0 global, 1..4 region.<r>, 5..13 sector.<s>; its families are
 * 0 global, 1 region, 2 sector. */
enum {
  F_GLOBAL = 0,
  F_REGION0 = 1,
  F_SECTOR0 = 1 + CAS_YRD_NREGIONS,
  YRD_NFACTORS = 1 + CAS_YRD_NREGIONS + CAS_YRD_NSECTORS
};
enum { FAM_GLOBAL = 0, FAM_REGION = 1, FAM_SECTOR = 2 };

/* Loading of sector s on family k (sc must be bound). */
static double fam_loading(const cas_scenario *sc, int s, int k) {
  cr_assert_not_null(sc->factors, "%s: not bound", sc->name);
  return sc->factors->family_loading[s * sc->factors->nfamilies + k];
}

/* Entry [i][j] of the factor correlation matrix (sc must be bound). */
static double corr_at(const cas_scenario *sc, int i, int j) {
  cr_assert_not_null(sc->factors, "%s: not bound", sc->name);
  return sc->factors->corr[i * sc->factors->nfactors + j];
}

/* a'Ca of a loan of the delta's (region, sector). */
static double yrd_variance(const cas_scenario *sc, int region, int sector) {
  cr_assert_not_null(sc->factors, "%s: not bound", sc->name);
  return cas_factor_model_systematic_variance(sc->factors, region * CAS_YRD_NSECTORS + sector);
}

/* 1 if both factor models are the same, bit for bit: families, names,
 * loadings and correlations. */
static int same_factor_model(const cas_factor_model *a, const cas_factor_model *b) {
  if (a == NULL || b == NULL) return a == b;
  if (a->nfactors != b->nfactors || a->nsegments != b->nsegments || a->nsectors != b->nsectors ||
      a->nfamilies != b->nfamilies || !cas_names_equal(&a->names, &b->names))
    return 0;
  for (int k = 0; k < a->nfamilies; k++)
    if (strcmp(a->family[k].name, b->family[k].name) != 0 || a->family[k].by != b->family[k].by ||
        a->family[k].first != b->family[k].first || a->family[k].count != b->family[k].count)
      return 0;
  size_t nf = (size_t)a->nfactors;
  return memcmp(a->family_loading, b->family_loading,
                (size_t)a->nsectors * (size_t)a->nfamilies * sizeof *a->family_loading) == 0 &&
         memcmp(a->corr, b->corr, nf * nf * sizeof *a->corr) == 0 &&
         memcmp(a->loading, b->loading, (size_t)a->nsegments * nf * sizeof *a->loading) == 0;
}

/* 1 if both are bound to classifications with the same names (or neither is bound). */
static int same_classification(const cas_taxonomy *a, const cas_taxonomy *b) {
  if (a == NULL || b == NULL) return a == b;
  return cas_names_equal(&a->regions, &b->regions) && cas_names_equal(&a->sectors, &b->sectors) &&
         a->nsegments == b->nsegments;
}

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
  if (a->portfolio.source == CAS_PORTFOLIO_BUILTIN && b->portfolio.source == CAS_PORTFOLIO_BUILTIN)
    cr_expect_str_eq(a->portfolio.builtin, b->portfolio.builtin, "%s: built-in book", what);
  cr_expect_str_eq(a->copula, b->copula, "%s: copula", what);
  cr_expect_str_eq(a->lgd_model, b->lgd_model, "%s: lgd", what);
  cr_expect_eq(a->nlevels, b->nlevels, "%s: number of levels", what);
  for (int l = 0; l < a->nlevels && l < b->nlevels; l++)
    cr_expect(same_double(a->levels[l], b->levels[l]), "%s: levels[%d]", what, l);
  cr_expect(same_classification(a->tax, b->tax), "%s: classification", what);
  cr_expect(same_factor_model(a->factors, b->factors),
            "%s: factor model (families, loadings, correlations)", what);
  cr_expect_eq(a->factor_shift_mode, b->factor_shift_mode, "%s: factor_shift_mode", what);
  cr_expect_eq(a->horizon_years, b->horizon_years, "%s: horizon_years", what);
  cr_expect(same_double(a->factor_autocorrelation, b->factor_autocorrelation),
            "%s: factor_autocorrelation", what);
  cr_expect_eq(a->nshocks, b->nshocks, "%s: number of shocks", what);
  for (size_t i = 0; i < a->nshocks && i < b->nshocks; i++) {
    const cas_shock *x = &a->shocks[i], *y = &b->shocks[i];
    cr_expect(x->region == y->region && x->sector == y->sector && x->factor == y->factor &&
                  same_double(x->pd_multiplier, y->pd_multiplier) &&
                  same_double(x->lgd_add, y->lgd_add) &&
                  same_double(x->ead_multiplier, y->ead_multiplier) &&
                  same_double(x->ccf_add, y->ccf_add) &&
                  same_double(x->factor_shift, y->factor_shift) &&
                  same_double(x->collateral_haircut, y->collateral_haircut),
              "%s: shock %zu", what, i);
    cr_expect_eq(x->per_year, y->per_year, "%s: shock %zu: effects given by year", what, i);
    cr_expect_eq(x->by_year == NULL, y->by_year == NULL, "%s: shock %zu: by_year", what, i);
    if (x->by_year != NULL && y->by_year != NULL && a->horizon_years == b->horizon_years)
      cr_expect(memcmp(x->by_year, y->by_year, (size_t)a->horizon_years * CAS_SHOCK_NEFFECTS *
                                                   sizeof *x->by_year) == 0,
                "%s: shock %zu: values by year", what, i);
  }
  cr_expect_eq(a->nmitigants, b->nmitigants, "%s: number of mitigants", what);
  for (size_t i = 0; i < a->nmitigants && i < b->nmitigants; i++) {
    const cas_mitigant *x = &a->mitigants[i], *y = &b->mitigants[i];
    cr_expect(same_double(x->share, y->share) && same_double(x->cap_per_loan, y->cap_per_loan) &&
                  same_double(x->cap_per_year, y->cap_per_year) && same_double(x->cap, y->cap),
              "%s: mitigant %zu", what, i);
  }
  cr_expect_eq(a->network.source, b->network.source, "%s: network source", what);
  if (a->network.source == CAS_NETWORK_FILE && b->network.source == CAS_NETWORK_FILE)
    cr_expect_str_eq(a->network.file, b->network.file, "%s: network file", what);
  cr_expect_eq(a->network.seed, b->network.seed, "%s: network seed", what);
  if (a->network.source == CAS_NETWORK_BUILTIN && b->network.source == CAS_NETWORK_BUILTIN)
    cr_expect_str_eq(a->network.builtin, b->network.builtin, "%s: built-in network", what);
  cr_expect_str_eq(a->contagion.model, b->contagion.model, "%s: contagion.model", what);
  cr_expect_eq(a->per_path_auto, b->per_path_auto, "%s: output.per_path auto", what);
  cr_expect_eq(a->per_path, b->per_path, "%s: output.per_path", what);
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

/* Nesting is refused before libyaml builds the document: 200,000 nested
 * '[' (a 400 KB file) took libyaml's document loader about two minutes
 * (quadratic), now an error at the first node too deep, where the tree
 * walk reported it before. The timeout is a hang guard, 1000 times what
 * the load takes, not a speed assertion. */
Test(scenario, deep_nesting_is_refused_at_its_place, .timeout = CAS_TEST_TIMEOUT(60)) {
  size_t n = 200000;
  char *text = malloc(2 * n + 8);
  cr_assert_not_null(text);
  memcpy(text, "a: ", 3);
  memset(text + 3, '[', n);
  memset(text + 3 + n, ']', n);
  memcpy(text + 3 + 2 * n, "\n", 2);
  cas_scenario *sc = (cas_scenario *)1;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load_text(text, "deep.yaml", &sc, &err), CAS_ERR_INPUT);
  cr_expect_str_eq(err.msg, "deep.yaml:1:68: nesting deeper than 64 levels (a recursive alias?)");
  cr_expect_null(sc);
  free(text);
}

/* A chain of extends is bounded: 20,000 files overflowed the stack
 * (SIGSEGV); 32 files (a scenario and 31 bases) load, 33 are an error at
 * the extends that goes past, with nothing returned. */
Test(scenario, extends_chain_is_bounded) {
  char dir[] = "/tmp/cascade_chain_XXXXXX", path[128];
  cr_assert_not_null(mkdtemp(dir));
  for (int i = 1; i <= 33; i++) {
    snprintf(path, sizeof path, "%s/s%d.yaml", dir, i);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    if (i < 33) fprintf(f, "extends: s%d.yaml\n", i + 1);
    else fprintf(f, "name: end\npaths: 1000\n");
    cr_assert_eq(fclose(f), 0);
  }
  cas_scenario *sc = NULL;
  cas_error err = {0};
  snprintf(path, sizeof path, "%s/s2.yaml", dir); /* s2 .. s33: 32 files */
  cr_assert_eq(cas_scenario_load(path, &sc, &err), CAS_OK, "%s", err.msg);
  cr_expect_eq(sc->paths, 1000);
  cas_scenario_destroy(sc);
  sc = (cas_scenario *)1;
  snprintf(path, sizeof path, "%s/s1.yaml", dir); /* 33 files */
  cr_assert_eq(cas_scenario_load(path, &sc, &err), CAS_ERR_INPUT);
  cr_expect_null(sc);
  char want[256];
  snprintf(want, sizeof want, "%s/s32.yaml:1:10: extends: got a chain of more than 32 scenario files, "
           "expected at most 32 (this file and 31 bases)", dir);
  cr_expect_str_eq(err.msg, want);
  for (int i = 1; i <= 33; i++) {
    snprintf(path, sizeof path, "%s/s%d.yaml", dir, i);
    unlink(path);
  }
  rmdir(dir);
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
                  sh->ccf_add == 0 && sh->factor_shift == 0 && sh->collateral_haircut == 0,
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
    /* the sensitivities run over three years: baseline_3y.yaml, then the baseline */
    int three = strncmp(stress[k], "sensitivity", 11) == 0;
    size_t last = three ? 2 : 1;
    cr_expect_eq(sc->nfiles, last + 1, "%s", stress[k]);
    if (three) {
      cr_expect(ends_with(sc->file_paths[1], "/baseline_3y.yaml"), "%s", sc->file_paths[1]);
      cr_expect_eq(sc->horizon_years, 3, "%s", stress[k]);
    }
    cr_expect(ends_with(sc->file_paths[last], "/baseline.yaml"), "%s", sc->file_paths[last]);
    cr_expect_str_eq(sc->file_texts[last], base->file_texts[0], "%s: base text", stress[k]);
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
    cr_expect(same_factor_model(sc->factors, base->factors), "%s: factor model", stress[k]);
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
    cr_assert_not_null(sc->factors, "%s: a built-in book is bound on load", names[i]);
    const cas_factor_model *m = sc->factors;
    /* A segment is stressed twice when a multiplier applies to it and a
     * shifted factor is one it loads on (the global factor, its region's,
     * its sector's for the default families). */
    for (size_t a = 0; a < sc->nshocks; a++) {
      const cas_shock *mult = &sc->shocks[a];
      if (mult->pd_multiplier == 1.0) continue;
      for (size_t b = 0; b < sc->nshocks; b++) {
        const cas_shock *shift = &sc->shocks[b];
        if (shift->factor_shift == 0.0) continue;
        cr_assert(shift->factor >= 0 && shift->factor < m->nfactors, "%s: shocks[%zu].factor %d",
                  names[i], b, shift->factor);
        int twice = 0;
        for (int r = 0; r < sc->tax->regions.n; r++)
          for (int s = 0; s < sc->tax->sectors.n; s++)
            if (cas_shock_applies(mult, r, s) &&
                m->loading[(size_t)cas_taxonomy_segment(sc->tax, r, s) * m->nfactors +
                           shift->factor] != 0.0)
              twice = 1;
        cr_expect(!twice,
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
    cr_expect_str_eq(sc->portfolio.builtin, "yrd");
    cr_expect_null(sc->portfolio.file);
    cr_expect_eq(sc->network.source, CAS_NETWORK_NONE);
    cr_expect_str_eq(sc->network.builtin, "yrd");
    cr_expect_eq(sc->portfolio.loans, CAS_PORTFOLIO_DEFAULT_LOANS);
    cr_expect_eq(sc->portfolio.seed, 1);
    cr_expect_str_eq(sc->copula, "gaussian");
    cr_expect_str_eq(sc->lgd_model, "fixed");
    /* The built-in book is bound on load, to the delta's classification. */
    cr_assert_not_null(sc->tax);
    cr_assert_not_null(sc->factors);
    cr_expect_str_eq(sc->tax->source, "yrd");
    cr_expect_null(sc->declared);
    cr_expect_eq(sc->nlevels, 3);
    cr_expect(sc->levels[0] == 0.95 && sc->levels[1] == 0.99 && sc->levels[2] == 0.999);
    cr_assert_eq(sc->factors->nfactors, YRD_NFACTORS);
    cr_assert_eq(sc->factors->nfamilies, 3);
    cr_expect_eq(sc->factors->nsegments, CAS_YRD_NSEGMENTS);
    cr_expect_str_eq(sc->factors->names.name[F_GLOBAL], "global");
    cr_expect_str_eq(sc->factors->names.name[F_REGION0 + CAS_REGION_ZHEJIANG], "region.zhejiang");
    cr_expect_str_eq(sc->factors->names.name[F_SECTOR0 + CAS_SECTOR_HOUSEHOLD], "sector.household");
    cr_expect_eq(fam_loading(sc, CAS_SECTOR_TECH_STARTUP, FAM_GLOBAL), 0.205);
    cr_expect_eq(fam_loading(sc, CAS_SECTOR_TECH_STARTUP, FAM_SECTOR), 0.277);
    cr_expect_eq(fam_loading(sc, CAS_SECTOR_HOUSEHOLD, FAM_REGION), 0.228);
    cr_expect_eq(fam_loading(sc, CAS_SECTOR_REAL_ESTATE, FAM_SECTOR), 0.274);
    for (int i = 0; i < YRD_NFACTORS; i++)
      for (int j = 0; j < YRD_NFACTORS; j++)
        cr_expect_eq(corr_at(sc, i, j), i == j ? 1.0 : 0.0, "C[%d][%d]", i, j);
    cr_expect_eq(sc->nshocks, 0);
    cr_expect_eq(sc->factor_shift_mode, CAS_SHIFT_CONDITIONAL);
    cr_expect_eq(sc->horizon_years, 1, "a file without a horizon keeps its one-year meaning");
    cr_expect_eq(sc->factor_autocorrelation, 0.5);
    cr_expect_eq(sc->year, 0);
    cr_expect_eq(sc->nfiles, 1);
    cr_expect_str_eq(sc->file_paths[0], "/nonexistent/folder/defaults_probe.yaml");
    cr_expect_str_eq(sc->file_texts[0], texts[t]);
    /* Asset correlations of the defaults: the Basel IRB targets of
     * docs/CALIBRATION.md (sim/input/scenario.c), to the rounding of the loadings. */
    static const double target[CAS_YRD_NSECTORS] = {0.14, 0.19, 0.10, 0.18, 0.16, 0.15, 0.17, 0.21, 0.13};
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
      double r2 = yrd_variance(sc, CAS_REGION_ANHUI, s);
      cr_expect(fabs(r2 - target[s]) <= 0.001, "%s: a'Ca %g, documented %g", cas_yrd_sector_names[s], r2, target[s]);
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
/* The built-in books and networks a scenario may name are the registered
 * ones (models/books, models/networks; a network may also be none): each
 * is read, kept and written back, and the messages list them all. */
Test(scenario, builtin_names_come_from_the_registries) {
  for (size_t i = 0; cas_book_at(i); i++) {
    const char *name = cas_book_at(i)->info.name;
    char text[256];
    snprintf(text, sizeof text, "portfolio: {builtin: %s, loans: 100}\n", name);
    cas_scenario *sc = load_text_ok(text, "/nonexistent/book.yaml");
    cr_expect_eq(sc->portfolio.source, CAS_PORTFOLIO_BUILTIN);
    cr_expect_str_eq(sc->portfolio.builtin, name);
    free(round_trip(sc, name));
    cas_scenario_destroy(sc);
  }
  for (size_t i = 0; cas_network_at(i); i++) {
    const char *name = cas_network_at(i)->info.name;
    char text[256];
    snprintf(text, sizeof text, "network: {builtin: %s, seed: 4}\n", name);
    cas_scenario *sc = load_text_ok(text, "/nonexistent/network.yaml");
    cr_expect_eq(sc->network.source, CAS_NETWORK_BUILTIN);
    cr_expect_str_eq(sc->network.builtin, name);
    cr_expect_eq(sc->network.seed, 4);
    free(round_trip(sc, name));
    cas_scenario_destroy(sc);
  }
  cas_scenario *sc = load_text_ok("network: {builtin: none}\n", "/nonexistent/none.yaml");
  cr_expect_eq(sc->network.source, CAS_NETWORK_NONE);
  free(round_trip(sc, "network none"));
  cas_scenario_destroy(sc);

  char books[256], networks[256], want[512];
  cas_book_list(books, sizeof books);
  cas_network_list(networks, sizeof networks);
  cas_error err = {0};
  sc = NULL;
  cr_expect_eq(cas_scenario_load_text("portfolio: {builtin: atlantis}\n", "/nonexistent/b.yaml",
                                      &sc, &err), CAS_ERR_INPUT);
  snprintf(want, sizeof want, "(expected one of: %s)", books);
  cr_expect_not_null(strstr(err.msg, want), "got '%s', expected it to list %s", err.msg, books);
  err = (cas_error){0};
  cr_expect_eq(cas_scenario_load_text("network: {builtin: atlantis}\n", "/nonexistent/n.yaml",
                                      &sc, &err), CAS_ERR_INPUT);
  snprintf(want, sizeof want, "(expected one of: %s, none)", networks);
  cr_expect_not_null(strstr(err.msg, want), "got '%s', expected it to list %s", err.msg, want);
}

Test(scenario, baseline_asset_correlations_in_irb_ranges) {
  static const double lo[CAS_YRD_NSECTORS] = {0.08, 0.12, 0.03, 0.12, 0.08, 0.12, 0.12, 0.12, 0.03};
  static const double hi[CAS_YRD_NSECTORS] = {0.24, 0.24, 0.16, 0.24, 0.24, 0.24, 0.24, 0.24, 0.16};
  cas_scenario *sc = load_ok(SCENARIO_DIR "/baseline.yaml");
  cr_assert_not_null(sc->factors);
  cr_assert_eq(sc->factors->nfamilies, 3, "the baseline keeps the default families");
  for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
    double g = fam_loading(sc, s, FAM_GLOBAL), rg = fam_loading(sc, s, FAM_REGION),
           sct = fam_loading(sc, s, FAM_SECTOR);
    double squares = g * g + rg * rg + sct * sct;
    for (int r = 0; r < CAS_YRD_NREGIONS; r++) {
      double r2 = yrd_variance(sc, r, s);
      cr_expect(r2 >= lo[s] && r2 <= hi[s], "%s/%s: a'Ca %g outside [%g, %g]", cas_yrd_region_names[r],
                cas_yrd_sector_names[s], r2, lo[s], hi[s]);
      cr_expect(fabs(r2 - squares) <= 1e-12, "%s/%s: a'Ca %g, squared loadings %g", cas_yrd_region_names[r],
                cas_yrd_sector_names[s], r2, squares);
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
  cr_assert_not_null(sc->factors);
  cr_assert_eq(sc->factors->nfamilies, base->factors->nfamilies);
  cr_assert_eq(sc->factors->nfactors, base->factors->nfactors);
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, FAM_SECTOR), 0.3);
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, FAM_GLOBAL),
               fam_loading(base, CAS_SECTOR_GREEN, FAM_GLOBAL));
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, FAM_REGION),
               fam_loading(base, CAS_SECTOR_GREEN, FAM_REGION));
  for (int s = 0; s < CAS_YRD_NSECTORS; s++)
    if (s != CAS_SECTOR_GREEN)
      for (int k = 0; k < 3; k++)
        cr_expect(same_double(fam_loading(sc, s, k), fam_loading(base, s, k)), "%d %d", s, k);
  int nf = sc->factors->nfactors;
  cr_expect(memcmp(sc->factors->corr, base->factors->corr, (size_t)nf * nf * sizeof(double)) == 0,
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
  /* Without a declared classification a CSV book's scenario is bound only
   * to the book's own classification, once the book is read. */
  cr_expect_null(sc->declared);
  cr_expect_null(sc->tax);
  cr_expect_null(sc->factors);
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(sc->portfolio.file, &pf, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_scenario_bind(sc, pf->tax, &err), CAS_OK, "%s", err.msg);
  cas_portfolio_destroy(pf);
  cr_assert_not_null(sc->factors);
  cr_expect_eq(sc->tax->regions.n, 1);
  cr_expect_str_eq(sc->tax->regions.name[0], "anhui");
  cr_expect_eq(sc->tax->sectors.n, 1);
  cr_expect_str_eq(sc->tax->sectors.name[0], "green");
  cr_expect_eq(sc->factors->nfactors, 3, "global, region.anhui, sector.green");
  char *text = round_trip(sc, "portfolio file");
  cr_expect(strstr(text, expected) != NULL, "the written file path is absolute:\n%s", text);
  cr_expect(strstr(text, "\nclassification:\n") != NULL,
            "the book's classification is declared in the written text:\n%s", text);
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
  cr_assert_not_null(sc->factors);
  cr_assert_eq(sc->factors->nfactors, YRD_NFACTORS);
  double expect[YRD_NFACTORS][YRD_NFACTORS];
  for (int i = 0; i < YRD_NFACTORS; i++)
    for (int j = 0; j < YRD_NFACTORS; j++) {
      int ri = i >= F_REGION0 && i < F_SECTOR0;
      int rj = j >= F_REGION0 && j < F_SECTOR0;
      int si = i >= F_SECTOR0, sj = j >= F_SECTOR0;
      expect[i][j] = i == j ? 1.0 : (ri && rj) ? 0.4 : (si && sj) ? 0.1 : 0.0;
    }
  int sh = F_REGION0 + CAS_REGION_SHANGHAI, js = F_REGION0 + CAS_REGION_JIANGSU;
  int ah = F_REGION0 + CAS_REGION_ANHUI;
  expect[sh][js] = expect[js][sh] = 0.7;
  expect[ah][F_GLOBAL] = expect[F_GLOBAL][ah] = -0.2;
  for (int i = 0; i < YRD_NFACTORS; i++)
    for (int j = 0; j < YRD_NFACTORS; j++)
      cr_expect_eq(corr_at(sc, i, j), expect[i][j], "C[%d][%d] = %g, expected %g", i, j,
                   corr_at(sc, i, j), expect[i][j]);
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
  double shanghai = yrd_variance(sc, CAS_REGION_SHANGHAI, CAS_SECTOR_TECH_STARTUP);
  double jiangsu = yrd_variance(sc, CAS_REGION_JIANGSU, CAS_SECTOR_TECH_STARTUP);
  cr_expect_float_eq(shanghai, 0.41, 1e-14);
  cr_expect_float_eq(jiangsu, 0.45, 1e-14);
  /* green keeps its defaults: 0.276^2 + 0.195^2 + 0.276^2 */
  cr_expect_float_eq(yrd_variance(sc, CAS_REGION_ANHUI, CAS_SECTOR_GREEN),
                     0.190377, 1e-14);
  cas_scenario_destroy(sc);
}

/* ---- classification and factor families ---------------------------------- */

/* cas_scenario_load_text expecting CAS_ERR_INPUT; returns the message (static). */
static const char *load_text_fails(const char *text, const char *path) {
  static cas_error err;
  err = (cas_error){0};
  cas_scenario *sc = (cas_scenario *)1;
  cr_expect_eq(cas_scenario_load_text(text, path, &sc, &err), CAS_ERR_INPUT, "%s: %s", path,
               err.msg);
  cr_expect_null(sc, "%s: no scenario on failure", path);
  cas_scenario_destroy(sc);
  return err.msg;
}

/* Without a declared classification, a CSV book's scenario loads unbound:
 * the names of its shocks are checked when it is bound (to the book's
 * classification, or any other), with the message and position they had. */
Test(scenario, csv_scenario_names_are_checked_when_bound) {
  make_scratch();
  char book[PATH_MAX], path[PATH_MAX];
  snprintf(book, sizeof book, "%s/book.csv", scratch);
  write_text(book, "id,region,sector,ead,pd,lgd\nL1,anhui,green,1000,0.01,0.4\n");
  snprintf(path, sizeof path, "%s/names.yaml", scratch);
  const char *text = "portfolio:\n  file: book.csv\nshocks:\n  - {region: ningbo, pd_multiplier: 2}\n";
  cas_scenario *sc = load_text_ok(text, path);
  cr_expect_null(sc->tax, "a CSV book without classification is bound when the book is read");
  cr_expect_null(sc->factors);
  cr_expect_eq(sc->nshocks, 0);
  char *unbound = NULL;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_write_yaml(sc, &unbound, &err), CAS_ERR_INTERNAL,
               "an unbound scenario cannot be written");
  cr_expect_null(unbound);

  /* Against the delta's classification: the delta's regions are listed. */
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  err = (cas_error){0};
  cr_expect_eq(cas_scenario_bind(sc, yrd, &err), CAS_ERR_INPUT);
  char expected[PATH_MAX + 256];
  snprintf(expected, sizeof expected,
           "%s:4:14: shocks[0].region: unknown region 'ningbo' (expected one of: shanghai, "
           "jiangsu, zhejiang, anhui)", path);
  cr_expect_str_eq(err.msg, expected);
  cr_expect_null(sc->tax, "a failed bind leaves the scenario unbound");
  cr_expect_null(sc->factors);

  /* Against the book's own classification: only its values are names. */
  cas_portfolio *pf = NULL;
  cr_assert_eq(cas_portfolio_load_csv(book, &pf, &err), CAS_OK, "%s", err.msg);
  err = (cas_error){0};
  cr_expect_eq(cas_scenario_bind(sc, pf->tax, &err), CAS_ERR_INPUT);
  snprintf(expected, sizeof expected,
           "%s:4:14: shocks[0].region: unknown region 'ningbo' (expected one of: anhui)", path);
  cr_expect_str_eq(err.msg, expected);
  cas_portfolio_destroy(pf);
  cas_scenario_destroy(sc);

  /* Declared (classification: yrd), the same error comes on load. */
  const char *declared = "portfolio:\n  file: book.csv\nclassification: yrd\nshocks:\n"
                         "  - {sector: tech, pd_multiplier: 2}\n";
  snprintf(expected, sizeof expected,
           "%s:5:14: shocks[0].sector: unknown sector 'tech' (expected one of: tech_startup, "
           "green, inclusive_micro, manufacturing, wholesale_retail, real_estate, construction, "
           "infrastructure, household)", path);
  cr_expect_str_eq(load_text_fails(declared, path), expected);

  /* A valid shock binds on load with classification: yrd, to delta indices. */
  sc = load_text_ok("portfolio:\n  file: book.csv\nclassification: yrd\nshocks:\n"
                    "  - {region: zhejiang, sector: green, pd_multiplier: 2}\n", path);
  cr_assert_not_null(sc->factors);
  cr_assert_eq(sc->nshocks, 1);
  cr_expect_eq(sc->shocks[0].region, CAS_REGION_ZHEJIANG);
  cr_expect_eq(sc->shocks[0].sector, CAS_SECTOR_GREEN);
  cr_expect_eq(sc->factors->nfactors, YRD_NFACTORS);
  /* Bound to an equal classification again: a no-op. */
  const cas_factor_model *before = sc->factors;
  cr_expect_eq(cas_scenario_bind(sc, yrd, &err), CAS_OK, "%s", err.msg);
  cr_expect_eq(sc->factors, before);
  char *written = round_trip(sc, "classification: yrd");
  cr_expect(strstr(written, "\nclassification: yrd\n") != NULL, "%s", written);
  free(written);
  cas_scenario_destroy(sc);
  cas_taxonomy_destroy(yrd);

  static const char *const files[] = {"book.csv", NULL};
  remove_scratch(files);
}

Test(scenario, declared_classification_binds_on_load) {
  make_scratch();
  char book[PATH_MAX], path[PATH_MAX];
  snprintf(book, sizeof book, "%s/book.csv", scratch);
  write_text(book, "id,region,sector,ead,pd,lgd\nL1,a,x,1000,0.01,0.4\nL2,b,z,500,0.02,0.45\n");
  snprintf(path, sizeof path, "%s/declared.yaml", scratch);
  const char *text = "portfolio:\n  file: book.csv\n"
                     "classification: {regions: [a, b], sectors: [x, y, z]}\n"
                     "shocks:\n"
                     "  - {region: b, sector: z, pd_multiplier: 2}\n"
                     "  - {sector: y, factor_shift: -1}\n";
  cas_scenario *sc = load_text_ok(text, path);
  cr_assert_not_null(sc->declared);
  cr_expect_str_eq(sc->declared->source, "declared");
  cr_assert_not_null(sc->tax, "a declared classification is bound on load");
  cr_assert_not_null(sc->factors);
  cr_assert_eq(sc->tax->regions.n, 2);
  cr_assert_eq(sc->tax->sectors.n, 3);
  cr_expect_str_eq(sc->tax->regions.name[0], "a");
  cr_expect_str_eq(sc->tax->regions.name[1], "b");
  cr_expect_str_eq(sc->tax->sectors.name[0], "x");
  cr_expect_str_eq(sc->tax->sectors.name[2], "z");
  cr_expect_eq(sc->tax->nsegments, 6);
  /* The default families over the declared lists: global, region.*, sector.* */
  const cas_factor_model *m = sc->factors;
  cr_assert_eq(m->nfactors, 1 + 2 + 3);
  cr_expect_eq(m->nsegments, 6);
  static const char *const fnames[] = {"global", "region.a", "region.b", "sector.x", "sector.y",
                                       "sector.z"};
  for (int f = 0; f < 6; f++) cr_expect_str_eq(m->names.name[f], fnames[f]);
  /* Sectors the delta lacks get the generic loadings: a'Ca about 0.16. */
  for (int g = 0; g < 6; g++) {
    double r2 = cas_factor_model_systematic_variance(m, g);
    cr_expect(fabs(r2 - 0.16) <= 0.001, "segment %d: a'Ca %g", g, r2);
  }
  cr_assert_eq(sc->nshocks, 2);
  cr_expect_eq(sc->shocks[0].region, 1);
  cr_expect_eq(sc->shocks[0].sector, 2);
  cr_expect_eq(sc->shocks[0].factor, -1, "no factor_shift, no factor");
  cr_expect_eq(sc->shocks[1].factor, cas_names_find(&m->names, "sector.y", 8),
               "factor_shift with only sector moves the sector's factor");
  char *written = round_trip(sc, "declared classification");
  cr_expect(strstr(written, "\"x\", \"y\", \"z\"") != NULL || strstr(written, "x, y, z") != NULL,
            "the declared sectors are written:\n%s", written);
  free(written);
  cas_scenario_destroy(sc);

  /* A shock naming an undeclared region or sector: file:line:col and the declared names. */
  char expected[PATH_MAX + 256];
  snprintf(expected, sizeof expected,
           "%s:5:14: shocks[0].region: unknown region 'c' (expected one of: a, b)", path);
  cr_expect_str_eq(load_text_fails("portfolio:\n  file: book.csv\n"
                                   "classification: {regions: [a, b], sectors: [x, y, z]}\n"
                                   "shocks:\n"
                                   "  - {region: c, pd_multiplier: 2}\n", path),
                   expected);
  snprintf(expected, sizeof expected,
           "%s:6:13: shocks[0].sector: unknown sector 'anhui' (expected one of: x, y, z)", path);
  cr_expect_str_eq(load_text_fails("portfolio:\n  file: book.csv\n"
                                   "classification: {regions: [a, b], sectors: [x, y, z]}\n"
                                   "shocks:\n"
                                   "  - region: a\n"
                                   "    sector: anhui\n"
                                   "    lgd_add: 0.1\n", path),
                   expected);
  /* Beyond 13 names the list is cut after 12, with the count. */
  snprintf(expected, sizeof expected,
           "%s:4:14: shocks[0].region: unknown region 'r14' (expected one of: r0, r1, r2, r3, r4, "
           "r5, r6, r7, r8, r9, r10, r11, ... (14 in all))", path);
  cr_expect_str_eq(load_text_fails("portfolio: {file: book.csv}\n"
                                   "classification: {regions: [r0, r1, r2, r3, r4, r5, r6, r7, "
                                   "r8, r9, r10, r11, r12, r13], sectors: [x]}\n"
                                   "shocks:\n"
                                   "  - {region: r14, pd_multiplier: 2}\n", path),
                   expected);
  static const char *const files[] = {"book.csv", NULL};
  remove_scratch(files);
}

/* market + industry by sector + geo by region on the built-in book. */
static const char *const three_families =
    "model:\n"
    "  factors:\n"
    "    - {name: market, loading: 0.8}\n"
    "    - {name: industry, by: sector, loading: 0.4}\n"
    "    - {name: geo, by: region, loading: 0.4}\n";

Test(scenario, factor_families_by_sector_and_region) {
  cas_scenario *sc = load_text_ok(three_families, "/nonexistent/families.yaml");
  const cas_factor_model *m = sc->factors;
  cr_assert_not_null(m);
  cr_assert_eq(m->nfactors, 1 + CAS_YRD_NSECTORS + CAS_YRD_NREGIONS);
  cr_assert_eq(m->nfamilies, 3);
  cr_assert_eq(m->nsegments, CAS_YRD_NSEGMENTS);
  cr_expect_str_eq(m->family[0].name, "market");
  cr_expect_eq(m->family[0].by, CAS_BY_NONE);
  cr_expect_eq(m->family[1].by, CAS_BY_SECTOR);
  cr_expect_eq(m->family[2].by, CAS_BY_REGION);
  int nf = m->nfactors;
  int market = cas_names_find(&m->names, "market", 6);
  cr_assert_geq(market, 0);
  for (int r = 0; r < CAS_YRD_NREGIONS; r++)
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
      char ind[96], geo[96];
      snprintf(ind, sizeof ind, "industry.%s", cas_yrd_sector_names[s]);
      snprintf(geo, sizeof geo, "geo.%s", cas_yrd_region_names[r]);
      int fi = cas_names_find(&m->names, ind, strlen(ind));
      int fg = cas_names_find(&m->names, geo, strlen(geo));
      cr_assert(fi >= 0 && fg >= 0, "%s, %s", ind, geo);
      int seg = r * CAS_YRD_NSECTORS + s;
      const double *a = m->loading + (size_t)seg * nf;
      for (int f = 0; f < nf; f++) {
        double want = f == market ? 0.8 : (f == fi || f == fg) ? 0.4 : 0.0;
        cr_expect_eq(a[f], want, "%s/%s on %s: %g, expected %g", cas_yrd_region_names[r],
                     cas_yrd_sector_names[s], m->names.name[f], a[f], want);
      }
      /* Uncorrelated factors: a'Ca = 0.64 + 0.16 + 0.16. */
      cr_expect_float_eq(cas_factor_model_systematic_variance(m, seg), 0.96, 1e-12);
    }
  for (int i = 0; i < nf; i++)
    for (int j = 0; j < nf; j++) cr_expect_eq(m->corr[i * nf + j], i == j ? 1.0 : 0.0);
  cas_scenario_destroy(sc);

  /* Implied factors of factor_shift, and the factor key. */
  char text[1024];
  snprintf(text, sizeof text,
           "%sshocks:\n"
           "  - {sector: green, factor_shift: -1}\n"
           "  - {region: anhui, factor_shift: -1}\n"
           "  - {factor_shift: -1}\n"
           "  - {region: anhui, sector: green, factor: industry.household, factor_shift: -0.5}\n",
           three_families);
  sc = load_text_ok(text, "/nonexistent/families.yaml");
  m = sc->factors;
  cr_assert_eq(sc->nshocks, 4);
  cr_expect_str_eq(m->names.name[sc->shocks[0].factor], "industry.green");
  cr_expect_str_eq(m->names.name[sc->shocks[1].factor], "geo.anhui");
  cr_expect_str_eq(m->names.name[sc->shocks[2].factor], "market");
  cr_expect_str_eq(m->names.name[sc->shocks[3].factor], "industry.household");
  cr_expect_eq(sc->shocks[3].region, CAS_REGION_ANHUI);
  cas_scenario_destroy(sc);
}

/* Writes a correlation_matrix of the delta's default factors: the
 * identity but for the pairs given ({i, j, value}). */
static void delta_matrix(char *buf, size_t size, const int (*pairs)[2], const double *values,
                         int npairs) {
  size_t n = (size_t)snprintf(buf, size, "model:\n  correlation_matrix:\n");
  for (int i = 0; i < YRD_NFACTORS; i++) {
    n += (size_t)snprintf(buf + n, size - n, "    - [");
    for (int j = 0; j < YRD_NFACTORS; j++) {
      double v = i == j ? 1.0 : 0.0;
      for (int k = 0; k < npairs; k++)
        if ((pairs[k][0] == i && pairs[k][1] == j) || (pairs[k][0] == j && pairs[k][1] == i))
          v = values[k];
      n += (size_t)snprintf(buf + n, size - n, "%s%g", j ? ", " : "", v);
    }
    n += (size_t)snprintf(buf + n, size - n, "]\n");
  }
  cr_assert_lt(n, size);
}

Test(scenario, correlation_matrix_must_be_positive_definite) {
  const char *families = "model:\n"
                         "  factors:\n"
                         "    - {name: a, loading: 0.3}\n"
                         "    - {name: b, loading: 0.3}\n"
                         "    - {name: c, loading: 0.3}\n"
                         "  correlation_matrix:\n";
  char text[1024];
  /* Positive definite: the matrix is taken as given. */
  snprintf(text, sizeof text, "%s    - [1, 0.5, 0.2]\n    - [0.5, 1, -0.3]\n    - [0.2, -0.3, 1]\n",
           families);
  cas_scenario *sc = load_text_ok(text, "/nonexistent/matrix.yaml");
  cr_assert_eq(sc->factors->nfactors, 3);
  static const double want[9] = {1, 0.5, 0.2, 0.5, 1, -0.3, 0.2, -0.3, 1};
  for (int k = 0; k < 9; k++) cr_expect_eq(sc->factors->corr[k], want[k], "C[%d]", k);
  free(round_trip(sc, "3x3 matrix"));
  cas_scenario_destroy(sc);

  /* 1 - 3 (0.81) - 2 (0.729) < 0: c is determined by a and b. */
  snprintf(text, sizeof text, "%s    - [1, 0.9, 0.9]\n    - [0.9, 1, -0.9]\n    - [0.9, -0.9, 1]\n",
           families);
  const char *msg = load_text_fails(text, "/nonexistent/matrix.yaml");
  cr_expect(strstr(msg, "/nonexistent/matrix.yaml:6:3: the factor correlation matrix is not "
                        "positive definite: factor 'c' is (nearly) determined by the factors "
                        "before it") == msg, "%s", msg);

  /* The delta's 14 default factors, given as a full matrix. */
  static char big[8192];
  const int pairs[3][2] = {{F_GLOBAL, F_REGION0 + CAS_REGION_SHANGHAI},
                           {F_GLOBAL, F_SECTOR0 + CAS_SECTOR_GREEN},
                           {F_REGION0 + CAS_REGION_SHANGHAI, F_SECTOR0 + CAS_SECTOR_GREEN}};
  const double good[3] = {0.3, 0.2, 0.1}, bad[3] = {0.9, 0.9, -0.9};
  delta_matrix(big, sizeof big, pairs, good, 3);
  sc = load_text_ok(big, "/nonexistent/matrix.yaml");
  cr_assert_eq(sc->factors->nfactors, YRD_NFACTORS);
  cr_expect_eq(corr_at(sc, F_GLOBAL, F_REGION0 + CAS_REGION_SHANGHAI), 0.3);
  cr_expect_eq(corr_at(sc, F_SECTOR0 + CAS_SECTOR_GREEN, F_GLOBAL), 0.2);
  cr_expect_eq(corr_at(sc, F_SECTOR0 + CAS_SECTOR_GREEN, F_REGION0 + CAS_REGION_SHANGHAI), 0.1);
  cr_expect_eq(corr_at(sc, F_REGION0 + CAS_REGION_ANHUI, F_GLOBAL), 0.0);
  free(round_trip(sc, "14x14 matrix"));
  cas_scenario_destroy(sc);
  delta_matrix(big, sizeof big, pairs, bad, 3);
  msg = load_text_fails(big, "/nonexistent/matrix.yaml");
  cr_expect(strstr(msg, "/nonexistent/matrix.yaml:2:3: the factor correlation matrix is not "
                        "positive definite: factor 'sector.green' is (nearly) determined") == msg,
            "%s", msg);
}

Test(scenario, confidence_levels) {
  cas_scenario *sc = load_text_ok("levels: [0.975, 0.9997]\n", "/nonexistent/levels.yaml");
  cr_assert_eq(sc->nlevels, 2);
  cr_expect_eq(sc->levels[0], 0.975);
  cr_expect_eq(sc->levels[1], 0.9997);
  char *text = round_trip(sc, "levels");
  cr_expect(strstr(text, "\nlevels: [0.975, 0.9997]\n") != NULL, "%s", text);
  free(text);
  cas_scenario_destroy(sc);

  const char *msg = load_text_fails("levels: [0.99, 0.95]\n", "/nonexistent/levels.yaml");
  cr_expect(strstr(msg, "/nonexistent/levels.yaml:1:16: levels[1]: got 0.95 after ") == msg, "%s",
            msg);
  cr_expect(strstr(msg, "expected increasing levels") != NULL, "%s", msg);
  msg = load_text_fails("paths: 1000\nlevels:\n  - 0.9\n  - 0.99\n  - 0.99\n",
                        "/nonexistent/levels.yaml");
  cr_expect(strstr(msg, "/nonexistent/levels.yaml:5:5: levels[2]: got 0.99 after ") == msg, "%s",
            msg);
}

Test(scenario, custom_factor_families_round_trip) {
  const char *text =
      "model:\n"
      "  factors:\n"
      "    - {name: market, loading: 0.8}\n"
      "    - {name: industry, by: sector, loading: 0.4, correlation: 0.25}\n"
      "    - {name: geo, by: region, loading: 0.4, correlation: 0.3}\n"
      "  loadings:\n"
      "    green: {market: 0.7, industry: 0.5}\n"
      "    household: {geo: 0.1234567890123456}\n"
      "  correlations:\n"
      "    - {factors: [industry.green, geo.anhui], value: 0.1}\n"
      "    - {factors: [geo.shanghai, geo.jiangsu], value: 0.5}\n"
      "    - {factors: [market, industry.real_estate], value: -0.05}\n"
      "shocks:\n"
      "  - {sector: green, factor_shift: -1}\n"
      "  - {region: anhui, factor: geo.anhui, factor_shift: -0.5}\n";
  cas_scenario *sc = load_text_ok(text, "/nonexistent/families_rt.yaml");
  const cas_factor_model *m = sc->factors;
  cr_assert_not_null(m);
  int nf = m->nfactors;
  cr_assert_eq(nf, 14);
  int green = cas_names_find(&m->names, "industry.green", 14);
  int anhui = cas_names_find(&m->names, "geo.anhui", 9);
  int sh = cas_names_find(&m->names, "geo.shanghai", 12);
  int js = cas_names_find(&m->names, "geo.jiangsu", 11);
  int zj = cas_names_find(&m->names, "geo.zhejiang", 12);
  int mfg = cas_names_find(&m->names, "industry.manufacturing", 22);
  cr_expect_eq(m->corr[green * nf + anhui], 0.1);
  cr_expect_eq(m->corr[sh * nf + js], 0.5);
  cr_expect_eq(m->corr[sh * nf + zj], 0.3, "the family's correlation");
  cr_expect_eq(m->corr[green * nf + mfg], 0.25, "the family's correlation");
  cr_expect_eq(m->corr[green * nf + sh], 0.0, "no correlation across families unless given");
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, 0), 0.7);
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, 1), 0.5);
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, 2), 0.4, "the family's loading");

  char *written = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_write_yaml(sc, &written, &err), CAS_OK, "%s", err.msg);
  cas_scenario *back = load_text_ok(written, "/nonexistent/written.yaml");
  const cas_factor_model *b = back->factors;
  cr_assert_not_null(b);
  cr_assert_eq(b->nfactors, nf, "%s", written);
  cr_assert_eq(b->nfamilies, m->nfamilies);
  cr_expect(cas_names_equal(&b->names, &m->names), "factor names and order");
  for (int k = 0; k < m->nfamilies; k++) {
    cr_expect_str_eq(b->family[k].name, m->family[k].name);
    cr_expect_eq(b->family[k].by, m->family[k].by);
  }
  cr_expect(memcmp(b->corr, m->corr, (size_t)nf * nf * sizeof *m->corr) == 0,
            "correlations bit for bit:\n%s", written);
  cr_expect(memcmp(b->loading, m->loading, (size_t)m->nsegments * nf * sizeof *m->loading) == 0,
            "loadings bit for bit:\n%s", written);
  cr_expect(memcmp(b->family_loading, m->family_loading,
                   (size_t)m->nsectors * m->nfamilies * sizeof *m->family_loading) == 0,
            "family loadings bit for bit");
  cr_assert_eq(back->nshocks, 2);
  cr_expect_eq(back->shocks[0].factor, green);
  cr_expect_eq(back->shocks[1].factor, anhui);
  cas_scenario_destroy(back);
  free(written);
  free(round_trip(sc, "custom families"));
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
  cr_expect(strstr(written, "\"global\": 0.1,") != NULL, "shortest exact form:\n%s", written);
  free(written);
  cas_scenario_destroy(sc);
}

/* Found by fuzzing: a value that underflows to a subnormal double (strtod
 * says ERANGE) was rejected as out of range, so the exact subnormal
 * 0x1p-1030 loaded but its resolved text 8.69...e-311 did not (hexadecimal
 * is no longer a number: the test after this one). */
Test(scenario, subnormal_numbers_load_and_round_trip) {
  const char *text =
      "model:\n"
      "  loadings:\n"
      "    green: {global: 0.1, region: 4.9e-324, sector: 0.3}\n"
      "shocks:\n"
      "  - {factor_shift: 8.691694759794e-311, lgd_add: -1e-310}\n";
  cas_scenario *sc = load_text_ok(text, "/nonexistent/subnormal.yaml");
  cr_expect_eq(fam_loading(sc, CAS_SECTOR_GREEN, FAM_REGION), 4.9e-324);
  cr_expect_eq(sc->shocks[0].factor_shift, ldexp(1.0, -1030));
  cr_expect_eq(sc->shocks[0].lgd_add, -1e-310);
  cr_expect(sc->shocks[0].lgd_add < 0 && sc->shocks[0].lgd_add > -DBL_MIN);
  free(round_trip(sc, "subnormal probe"));
  cas_scenario_destroy(sc);
}

/* Numbers are decimal (decimal.h): strtod's hexadecimal (0x10 is 16,
 * 0x1p-3 is 0.125) is refused with a message that says why, in a float
 * key as in an integer one; a YAML 1.2 float such as .5e1 is a number. */
Test(scenario, numbers_are_decimal) {
  const char *texts[] = {"shocks: [{pd_multiplier: 0x10}]\n", "shocks: [{pd_multiplier: 0X1P3}]\n",
                         "shocks: [{pd_multiplier: -0x.8}]\n"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    cas_scenario *sc = NULL;
    cas_error err = {0};
    cr_expect_eq(cas_scenario_load_text(texts[i], "/nonexistent/hex.yaml", &sc, &err), CAS_ERR_INPUT,
                 "%s", texts[i]);
    cr_expect_null(sc);
    cr_expect(strstr(err.msg, "/nonexistent/hex.yaml:1:26: shocks[0].pd_multiplier: got") == err.msg &&
                  strstr(err.msg, "not written in decimal") != NULL,
              "%s", err.msg);
  }
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_load_text("seed: 0x10\n", "/nonexistent/hex.yaml", &sc, &err), CAS_ERR_INPUT);
  sc = load_text_ok("shocks: [{pd_multiplier: .5e1}]\n", "/nonexistent/dec.yaml");
  cr_expect_eq(sc->shocks[0].pd_multiplier, 5.0);
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

/* Naming the default families explicitly is the default model (their
 * default loadings by sector); a family's correlation given twice, in the
 * family and by its shortcut, is an error at the shortcut. */
Test(scenario, explicit_default_families_are_the_default_model) {
  cas_scenario *a = load_text_ok("name: a\n", "/tmp/a.yaml");
  cas_scenario *b = load_text_ok("name: b\nmodel:\n  factors: [{name: global}, {name: region, by: region},"
                                 " {name: sector, by: sector}]\n",
                                 "/tmp/b.yaml");
  cr_expect(same_factor_model(a->factors, b->factors), "explicit default families differ");
  cas_scenario_destroy(a);
  cas_scenario_destroy(b);
  cas_scenario *sc = NULL;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load_text("name: c\nmodel:\n  factors: [{name: global}, "
                                      "{name: region, by: region, correlation: 0.2}, "
                                      "{name: sector, by: sector}]\n  region_correlation: 0.5\n",
                                      "/tmp/c.yaml", &sc, &err),
               CAS_ERR_INPUT);
  cr_expect_null(sc);
  cr_expect_str_eq(err.msg, "/tmp/c.yaml:4:23: model.region_correlation: the family 'region' "
                            "already gives its correlation at line 3, column 56 (give one of them)");
}

/* A stochastic LGD's parameters: the standard deviation by sector (a
 * number for all, or a mapping bound to the classification's sectors) and
 * the downturn link; written back and loaded again unchanged; an unknown
 * sector is an error at its place. */
Test(scenario, stochastic_lgd_parameters) {
  cas_scenario *sc = load_text_ok("name: b\nmodel:\n  lgd: beta\n  lgd_sd: {green: 0.3}\n"
                                  "  lgd_downturn: 0.5\n", "/tmp/b.yaml");
  cr_expect_float_eq(sc->lgd_sd[CAS_SECTOR_GREEN], 0.3, 0);
  cr_expect_float_eq(sc->lgd_sd[CAS_SECTOR_HOUSEHOLD], CAS_LGD_SD_DEFAULT, 0);
  cr_expect_float_eq(sc->lgd_downturn, 0.5, 0);
  char *text = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_write_yaml(sc, &text, &err), CAS_OK, "%s", err.msg);
  cas_scenario *again = load_text_ok(text, "/tmp/b2.yaml");
  for (int s = 0; s < CAS_YRD_NSECTORS; s++)
    cr_expect(same_double(again->lgd_sd[s], sc->lgd_sd[s]), "sector %d", s);
  cr_expect(same_double(again->lgd_downturn, sc->lgd_downturn));
  free(text);
  cas_scenario_destroy(again);
  cas_scenario_destroy(sc);
  cas_scenario *bad = NULL;
  cr_expect_eq(cas_scenario_load_text("name: c\nmodel:\n  lgd: beta\n  lgd_sd: {greenn: 0.3}\n",
                                      "/tmp/c.yaml", &bad, &err),
               CAS_ERR_INPUT);
  cr_expect(strstr(err.msg, "/tmp/c.yaml:4:12: model.lgd_sd: unknown sector 'greenn'") != NULL, "%s",
            err.msg);
  cr_expect_eq(cas_scenario_load_text("name: d\nmodel:\n  lgd: beta\n  lgd_sd: 0.6\n", "/tmp/d.yaml",
                                      &bad, &err),
               CAS_ERR_INPUT);
  cr_expect(strstr(err.msg, "/tmp/d.yaml:4:11: model.lgd_sd: got '0.6'") != NULL, "%s", err.msg);
}

/* A macro scenario: its satellite links become shocks after the
 * scenario's own (a factor shift per unit, a PD odds multiplier exp(e x),
 * an LGD add-on), and a wrong link is an error at its place. */
Test(scenario, macro_scenario_derives_shocks) {
  cas_scenario *sc = load_text_ok(
      "name: m\nshocks: [{sector: green, pd_multiplier: 2}]\n"
      "macro:\n  variables: {gdp: -2, jobs: 1.5}\n  satellite:\n"
      "    - {variable: gdp, factor: global, per_unit: 0.5}\n"
      "    - {variable: jobs, sector: household, pd_elasticity: 0.2}\n"
      "    - {variable: jobs, region: anhui, lgd_per_unit: 0.01}\n",
      "/tmp/m.yaml");
  cr_assert_eq(sc->nshocks, 4);
  cr_expect_eq(sc->shocks[0].derived, 0);
  cr_expect_eq(sc->shocks[1].factor, 0);
  cr_expect_float_eq(sc->shocks[1].factor_shift, -1.0, 0);
  cr_expect_eq(sc->shocks[2].sector, CAS_SECTOR_HOUSEHOLD);
  cr_expect_float_eq(sc->shocks[2].pd_multiplier, exp(0.3), 1e-15);
  cr_expect_eq(sc->shocks[3].region, CAS_REGION_ANHUI);
  cr_expect_float_eq(sc->shocks[3].lgd_add, 0.015, 1e-15);
  char *text = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_scenario_write_yaml(sc, &text, &err), CAS_OK, "%s", err.msg);
  cas_scenario *again = load_text_ok(text, "/tmp/m2.yaml");
  cr_expect_eq(again->nshocks, 4, "derived shocks written twice or lost");
  for (size_t i = 0; i < 4; i++) {
    cr_expect(same_double(again->shocks[i].pd_multiplier, sc->shocks[i].pd_multiplier));
    cr_expect(same_double(again->shocks[i].factor_shift, sc->shocks[i].factor_shift));
  }
  free(text);
  cas_scenario_destroy(again);
  cas_scenario_destroy(sc);
  static const struct { const char *link, *want; } bad[] = {
    {"{variable: gdpp, factor: global, per_unit: 0.5}", "/tmp/b.yaml:5:18: macro.satellite[0].variable: unknown variable 'gdpp' (expected one of: gdp)"},
    {"{variable: gdp, factor: global, region: anhui, per_unit: 0.5}", "/tmp/b.yaml:5:39: macro.satellite[0]: a factor link applies to every loan"},
    {"{variable: gdp, sector: green, pd_elasticity: 0.1, lgd_per_unit: 0.1}", "/tmp/b.yaml:5:7: macro.satellite[0]: a link has exactly one effect"},
    {"{variable: gdp, factor: sector.greenn, per_unit: 0.5}", "/tmp/b.yaml:5:31: macro.satellite[0].factor: unknown factor 'sector.greenn'"},
    {"{variable: gdp, factor: global, per_unit: 6}", "/tmp/b.yaml:5:49: macro.satellite[0]: per_unit x gdp = -12 SD, a factor shift out of [-10, 10]"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char yaml[512];
    snprintf(yaml, sizeof yaml, "name: b\nmacro:\n  variables: {gdp: -2}\n  satellite:\n    - %s\n",
             bad[k].link);
    cas_scenario *b = NULL;
    cr_expect_eq(cas_scenario_load_text(yaml, "/tmp/b.yaml", &b, &err), CAS_ERR_INPUT, "case %zu", k);
    cr_expect(strncmp(err.msg, bad[k].want, strlen(bad[k].want)) == 0, "case %zu: %s", k, err.msg);
  }
}

/* ---- the multi-year horizon --------------------------------------------- */

/* The message of a text that must not load. */
static const char *load_text_error(const char *text, const char *path) {
  static char msg[CAS_ERROR_MSG_MAX];
  cas_scenario *sc = (cas_scenario *)1;
  cas_error err = {0};
  cr_expect_eq(cas_scenario_load_text(text, path, &sc, &err), CAS_ERR_INPUT, "accepted: %s", text);
  cr_expect_null(sc);
  snprintf(msg, sizeof msg, "%s", err.msg);
  return msg;
}

/* A mitigant's cap per year: optional (none by default), an amount > 0,
 * written back when given. */
Test(scenario, mitigant_cap_per_year) {
  cas_scenario *sc = load_text_ok(
      "name: c\nmodel: {horizon_years: 5}\nmitigants:\n"
      "  - {name: p, kind: guarantee_fund, share: 0.5, cap_per_year: 1e8, cap: 2e8}\n"
      "  - {name: q, kind: guarantee_fund, share: 0.5, cap: 3e8}\n",
      "/tmp/c.yaml");
  cr_assert_eq(sc->nmitigants, 2);
  cr_expect_eq(sc->mitigants[0].cap_per_year, 1e8);
  cr_expect_eq(sc->mitigants[0].cap, 2e8);
  cr_expect(isinf(sc->mitigants[1].cap_per_year), "no cap per year by default");
  char *text = round_trip(sc, "cap per year");
  cr_expect(strstr(text, "share: 0.5, cap_per_year: 100000000, cap: 200000000}") != NULL, "%s",
            text);
  cr_expect(strstr(text, "{name: \"q\", kind: guarantee_fund, share: 0.5, cap: 300000000}") != NULL,
            "%s", text);
  free(text);
  cas_scenario_destroy(sc);
  const char *msg = load_text_error(
      "mitigants:\n  - {name: p, kind: guarantee_fund, share: 0.5, cap_per_year: 0, cap: 1e8}\n",
      "/tmp/c.yaml");
  cr_expect_str_eq(msg, "/tmp/c.yaml:2:63: mitigants[0].cap_per_year: got '0', expected an "
                        "amount > 0 and at most 1e15 [CNY]");
}

/* A shock's effects by year: a list gives one value per year, a number
 * the same value every year; the fields hold the current year's values. */
Test(scenario, shocks_give_values_by_year) {
  cas_scenario *sc = load_text_ok(
      "name: y\nmodel:\n  horizon_years: 3\n  factor_autocorrelation: 0.3\n"
      "shocks:\n"
      "  - {region: zhejiang, sector: green, pd_multiplier: [2, 3, 1.5], lgd_add: 0.1}\n"
      "  - {sector: tech_startup, factor_shift: [-1, -0.5, 0], ccf_add: [0, 0, 0.1]}\n"
      "  - {sector: household, pd_multiplier: 1.2}\n",
      "/tmp/y.yaml");
  cr_expect_eq(sc->horizon_years, 3);
  cr_expect_eq(sc->factor_autocorrelation, 0.3);
  cr_assert_eq(sc->nshocks, 3);
  const cas_shock *a = &sc->shocks[0], *b = &sc->shocks[1], *c = &sc->shocks[2];
  cr_expect_eq(a->per_year, 1u << 0, "pd_multiplier is given by year");
  cr_expect_eq(b->per_year, (1u << 3) | (1u << 4), "ccf_add and factor_shift are given by year");
  cr_expect_null(c->by_year, "a shock of numbers only is the same every year");
  cr_assert_not_null(a->by_year);
  cr_assert_not_null(b->by_year);
  static const double want_a[3][CAS_SHOCK_NEFFECTS] = {
    {2, 0.1, 1, 0, 0}, {3, 0.1, 1, 0, 0}, {1.5, 0.1, 1, 0, 0}};
  static const double want_b[3][CAS_SHOCK_NEFFECTS] = {
    {1, 0, 1, 0, -1}, {1, 0, 1, 0, -0.5}, {1, 0, 1, 0.1, 0}};
  for (int t = 0; t < 3; t++)
    for (int e = 0; e < CAS_SHOCK_NEFFECTS; e++) {
      cr_expect_eq(a->by_year[t * CAS_SHOCK_NEFFECTS + e], want_a[t][e], "shock 0, year %d, %s",
                   t, cas_shock_effects[e]);
      cr_expect_eq(b->by_year[t * CAS_SHOCK_NEFFECTS + e], want_b[t][e], "shock 1, year %d, %s",
                   t, cas_shock_effects[e]);
    }
  /* Loaded in year 0; set_year moves every shock with values by year. */
  cr_expect_eq(sc->year, 0);
  cr_expect_eq(a->pd_multiplier, 2.0);
  cr_expect_eq(b->factor_shift, -1.0);
  cas_scenario_set_year(sc, 2);
  cr_expect_eq(sc->year, 2);
  cr_expect_eq(a->pd_multiplier, 1.5);
  cr_expect_eq(a->lgd_add, 0.1);
  cr_expect_eq(b->factor_shift, 0.0);
  cr_expect_eq(b->ccf_add, 0.1);
  cr_expect_eq(c->pd_multiplier, 1.2);
  cas_scenario_set_year(sc, 1);
  cr_expect_eq(a->pd_multiplier, 3.0);
  cr_expect_eq(b->factor_shift, -0.5);
  cr_expect_eq(b->ccf_add, 0.0);
  /* Written as lists and loaded back the same. */
  cas_scenario_set_year(sc, 0);
  char *text = round_trip(sc, "values by year");
  cr_expect(strstr(text, "    pd_multiplier: [2, 3, 1.5]\n    lgd_add: 0.1\n") != NULL, "%s", text);
  cr_expect(strstr(text, "    ccf_add: [0, 0, 0.1]\n") != NULL, "%s", text);
  cr_expect(strstr(text, "    factor_shift: [-1, -0.5, 0]\n") != NULL, "%s", text);
  cr_expect(strstr(text, "  horizon_years: 3\n  factor_autocorrelation: 0.3\n") != NULL, "%s", text);
  free(text);
  cas_scenario_destroy(sc);

  /* A one-year horizon takes a list of one value, written back as a list. */
  sc = load_text_ok("name: one\nshocks: [{sector: green, pd_multiplier: [2]}]\n", "/tmp/one.yaml");
  cr_expect_eq(sc->shocks[0].per_year, 1u);
  cr_expect_eq(sc->shocks[0].pd_multiplier, 2.0);
  text = round_trip(sc, "a list of one year");
  cr_expect(strstr(text, "    pd_multiplier: [2]\n") != NULL, "%s", text);
  cr_expect(strstr(text, "  horizon_years: 1\n  factor_autocorrelation: 0.5\n") != NULL, "%s", text);
  free(text);
  cas_scenario_destroy(sc);
}

/* collateral_haircut is a shock effect like the others: a number in
 * [0, 1] or one per year, 0 by default (and then not written back), the
 * only effect of a shock if need be. */
Test(scenario, collateral_haircut_by_year) {
  cas_scenario *sc = load_text_ok(
      "name: h\nmodel: {horizon_years: 3}\n"
      "shocks:\n"
      "  - {sector: real_estate, collateral_haircut: [0.2, 0.4, 0]}\n"
      "  - {region: jiangsu, collateral_haircut: 0.1, pd_multiplier: 1.5}\n"
      "  - {sector: green, lgd_add: 0.05}\n",
      "/tmp/h.yaml");
  cr_assert_eq(sc->nshocks, 3);
  const cas_shock *a = &sc->shocks[0], *b = &sc->shocks[1], *c = &sc->shocks[2];
  cr_expect_str_eq(cas_shock_effects[5], "collateral_haircut");
  cr_expect_eq(a->per_year, 1u << 5);
  cr_assert_not_null(a->by_year);
  cr_expect_null(b->by_year);
  cr_expect_eq(a->collateral_haircut, 0.2);
  cr_expect_eq(b->collateral_haircut, 0.1);
  cr_expect_eq(c->collateral_haircut, 0.0);
  cas_scenario_set_year(sc, 1);
  cr_expect_eq(a->collateral_haircut, 0.4);
  cr_expect_eq(a->pd_multiplier, 1.0);
  cas_scenario_set_year(sc, 2);
  cr_expect_eq(a->collateral_haircut, 0.0);
  cas_scenario_set_year(sc, 0);
  char *text = round_trip(sc, "collateral haircuts");
  cr_expect(strstr(text, "    collateral_haircut: [0.2, 0.4, 0]\n") != NULL, "%s", text);
  cr_expect(strstr(text, "    collateral_haircut: 0.1\n") != NULL, "%s", text);
  const char *green = strstr(text, "sector: \"green\"");
  cr_assert_not_null(green, "%s", text);
  cr_expect_null(strstr(green, "collateral_haircut"), "a shock without a haircut writes none:\n%s", text);
  free(text);
  cas_scenario_destroy(sc);
}

/* The horizon's keys and the lists by year are checked, at their place. */
Test(scenario, horizon_errors_name_the_key_and_the_year) {
  static const struct { const char *text, *want; } bad[] = {
    {"model: {horizon_years: 0}\n",
     "/tmp/h.yaml:1:24: model.horizon_years: got '0', expected an integer in [1, 30]"},
    {"model: {horizon_years: 31}\n",
     "/tmp/h.yaml:1:24: model.horizon_years: got '31', expected an integer in [1, 30]"},
    {"model: {horizon_years: 2.5}\n",
     "/tmp/h.yaml:1:24: model.horizon_years: got '2.5', expected an integer in [1, 30]"},
    {"model: {factor_autocorrelation: 1}\n",
     "/tmp/h.yaml:1:33: model.factor_autocorrelation: got '1', expected a number in [0, 1) (the "
     "correlation of a factor with its value a year before)"},
    {"model: {factor_autocorrelation: -0.1}\n",
     "/tmp/h.yaml:1:33: model.factor_autocorrelation: got '-0.1', expected a number in [0, 1)"},
    {"model: {horizon_years: 3}\nshocks:\n  - {sector: green, pd_multiplier: [2, 3]}\n",
     "/tmp/h.yaml:3:36: shocks[0].pd_multiplier: got a list of 2 values, expected one number or "
     "a list of 3, one per year (model.horizon_years is 3)"},
    {"shocks:\n  - {sector: green, lgd_add: [0.1, 0.2]}\n",
     "/tmp/h.yaml:2:30: shocks[0].lgd_add: got a list of 2 values, expected one number or a list "
     "of 1, one per year (model.horizon_years is 1)"},
    {"model: {horizon_years: 3}\nshocks:\n  - {sector: green, lgd_add: []}\n",
     "/tmp/h.yaml:3:30: shocks[0].lgd_add: got a list of 0 values, expected one number or a list "
     "of 3"},
    {"model: {horizon_years: 3}\nshocks:\n  - {sector: green, pd_multiplier: [2, 3, 2000]}\n",
     "/tmp/h.yaml:3:43: shocks[0].pd_multiplier[2]: got '2000', expected a number in [0.001, 1000]"},
    {"model: {horizon_years: 2}\nshocks:\n  - {sector: green, factor_shift: [-1, [2]]}\n",
     "/tmp/h.yaml:3:40: shocks[0].factor_shift[1]: got a sequence, expected a number in [-10, 10]"},
    /* The product of the multipliers holds in every year: year 2 breaks it. */
    {"model: {horizon_years: 3}\nshocks:\n  - {sector: green, pd_multiplier: [10, 100, 10]}\n"
     "  - {region: anhui, pd_multiplier: 20}\n",
     "/tmp/h.yaml:4:36: shocks[1].pd_multiplier: in year 2, with the shocks before it, the PD "
     "multipliers that apply to anhui/green multiply to 2000 (got '20', expected a product in "
     "[0.001, 1000])"},
    {"model: {horizon_years: 3}\nshocks:\n  - {region: anhui, pd_multiplier: 20}\n"
     "  - {sector: green, pd_multiplier: [10, 10, 100]}\n",
     "/tmp/h.yaml:4:45: shocks[1].pd_multiplier[2]: in year 3, with the shocks before it, the PD "
     "multipliers that apply to anhui/green multiply to 2000 (got '100', expected a product in "
     "[0.001, 1000])"},
    /* Just beyond the bound: digits enough to show it (it read "1000"). */
    {"model: {horizon_years: 3}\nshocks:\n  - {sector: green, pd_multiplier: 1000}\n"
     "  - {region: anhui, pd_multiplier: 1.0000001}\n",
     "/tmp/h.yaml:4:36: shocks[1].pd_multiplier: in every year, with the shocks before it, the PD "
     "multipliers that apply to anhui/green multiply to 1000.0001 (got '1.0000001', expected a "
     "product in [0.001, 1000])"},
    /* Shocks the same every year break it in every year. */
    {"model: {horizon_years: 3}\nshocks:\n  - {sector: green, pd_multiplier: 100}\n"
     "  - {region: anhui, pd_multiplier: 20}\n",
     "/tmp/h.yaml:4:36: shocks[1].pd_multiplier: in every year, with the shocks before it, the PD "
     "multipliers that apply to anhui/green multiply to 2000 (got '20', expected a product in "
     "[0.001, 1000])"},
    /* A list of one year: no year to name. */
    {"shocks:\n  - {sector: green, pd_multiplier: [100]}\n  - {region: anhui, pd_multiplier: 20}\n",
     "/tmp/h.yaml:3:36: shocks[1].pd_multiplier: with the shocks before it, the PD multipliers "
     "that apply to anhui/green multiply to 2000"},
    {"model: {horizon_years: 2}\nmacro:\n  variables: {gdp: [-1, 3]}\n"
     "  satellite: [{variable: gdp, factor: global, per_unit: -4}]\n",
     "/tmp/h.yaml:4:57: macro.satellite[0]: per_unit x gdp = -12 SD in year 2, a factor shift out "
     "of [-10, 10]"},
    {"model: {horizon_years: 2}\nmacro:\n  variables: {gdp: [-1]}\n"
     "  satellite: [{variable: gdp, factor: global, per_unit: 0.5}]\n",
     "/tmp/h.yaml:3:20: macro.variables.gdp: got a list of 1 value, expected one number or a "
     "list of 2, one per year (model.horizon_years is 2)"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    const char *msg = load_text_error(bad[k].text, "/tmp/h.yaml");
    cr_expect(strncmp(msg, bad[k].want, strlen(bad[k].want)) == 0, "case %zu:\n   got: %s\nexpect: %s",
              k, msg, bad[k].want);
  }
}

/* A macro variable given by year moves its links' derived shocks year by
 * year; the list is written back as given. */
Test(scenario, macro_variables_by_year) {
  cas_scenario *sc = load_text_ok(
      "name: m\nmodel: {horizon_years: 3}\n"
      "macro:\n  variables: {gdp: [-2, -1, 0], jobs: 1.5}\n  satellite:\n"
      "    - {variable: gdp, factor: global, per_unit: 0.5}\n"
      "    - {variable: gdp, sector: household, pd_elasticity: -0.2}\n"
      "    - {variable: jobs, region: anhui, lgd_per_unit: 0.01}\n",
      "/tmp/m.yaml");
  cr_assert_eq(sc->nmacro_vars, 2);
  cr_assert_not_null(sc->macro_vars[0].by_year);
  cr_expect_eq(sc->macro_vars[0].value, -2.0);
  cr_expect_eq(sc->macro_vars[0].by_year[2], 0.0);
  cr_expect_null(sc->macro_vars[1].by_year);
  cr_assert_eq(sc->nshocks, 3);
  const cas_shock *shift = &sc->shocks[0], *pd = &sc->shocks[1], *lgd = &sc->shocks[2];
  cr_expect(shift->derived && pd->derived && lgd->derived);
  cr_assert_not_null(shift->by_year);
  cr_assert_not_null(pd->by_year);
  cr_expect_null(lgd->by_year, "a link on a variable given once is the same every year");
  static const double gdp[3] = {-2, -1, 0};
  for (int t = 0; t < 3; t++) {
    cr_expect_eq(shift->by_year[t * CAS_SHOCK_NEFFECTS + 4], 0.5 * gdp[t], "year %d", t);
    cr_expect_eq(shift->by_year[t * CAS_SHOCK_NEFFECTS + 0], 1.0, "year %d", t);
    cr_expect_eq(pd->by_year[t * CAS_SHOCK_NEFFECTS + 0], exp(-0.2 * gdp[t]), "year %d", t);
    cr_expect_eq(pd->by_year[t * CAS_SHOCK_NEFFECTS + 4], 0.0, "year %d", t);
  }
  cr_expect_eq(shift->factor_shift, -1.0);
  cas_scenario_set_year(sc, 1);
  cr_expect_eq(shift->factor_shift, -0.5);
  cr_expect_eq(pd->pd_multiplier, exp(0.2));
  cr_expect_float_eq(lgd->lgd_add, 0.015, 1e-15);
  cas_scenario_set_year(sc, 0);
  char *text = round_trip(sc, "macro variables by year");
  cr_expect(strstr(text, "\n    \"gdp\": [-2, -1, 0]\n    \"jobs\": 1.5\n") != NULL, "%s", text);
  free(text);
  cas_scenario_destroy(sc);
}
