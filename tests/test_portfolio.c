/*
 * test_portfolio.c: the CSV loader, the built-in generator and the export.
 *
 * - Bad input: every tests/data/bad_csv/NAME.csv, read with the delta's
 *   classification declared, must fail with CAS_ERR_INPUT and exactly the
 *   message in NAME.expect, where @FILE@ stands for the path passed to the
 *   loader. A new error case is a new pair of files, no code. Read with
 *   the classification from the data, the same files fail alike except
 *   those whose only fault is a value the delta does not have.
 * - Good input: tests/data/good_small.csv (BOM, CRLF, quotes, spaces,
 *   columns out of order) read back value by value, with the
 *   classification from the data and with the delta's.
 * - Classification: from the data in order of first appearance, names
 *   that are no identifiers, a declared classification built by hand.
 * - Generator: determinism, thread-count independence, ranges, shares
 *   against the calibration table, export/load round trip (exact with the
 *   delta's classification declared; by name without).
 */
#include <criterion/criterion.h>

#include "timeout.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portfolio.h"

#define BAD_DIR CASCADE_TEST_DATA "/bad_csv"

/* Whole file as a string, trailing newlines removed; NULL if unreadable. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  fclose(f);
  s[got] = '\0';
  while (got > 0 && (s[got - 1] == '\n' || s[got - 1] == '\r')) s[--got] = '\0';
  return s;
}

/* template with every @FILE@ replaced by path. */
static void expand(const char *template, const char *path, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (const char *t = template; *t && used + 1 < size;) {
    if (strncmp(t, "@FILE@", 6) == 0) {
      used += (size_t)snprintf(out + used, size - used, "%s", path);
      t += 6;
    } else {
      out[used++] = *t++;
      out[used] = '\0';
    }
  }
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The expected message of the corpus file at path, @FILE@
 * expanded; 0 if it has no .expect file. */
static int corpus_expect(const char *path, char *want, size_t size) {
  char expect_path[1024];
  snprintf(expect_path, sizeof expect_path, "%.*s.expect", (int)(strlen(path) - 4), path);
  char *template = slurp(expect_path);
  if (!template) return 0;
  expand(template, path, want, size);
  free(template);
  return 1;
}

/* The corpus is written against the delta's classification (its region,
 * sector and city cases name delta values): it is read as with a scenario
 * that declares `classification: yrd`. */
Test(portfolio_csv, bad_input_corpus) {
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cr_assert_not_null(yrd);
  DIR *d = opendir(BAD_DIR);
  cr_assert_not_null(d, "cannot open %s", BAD_DIR);
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!ends_with(e->d_name, ".csv")) continue;
    char path[1024], want[CAS_ERROR_MSG_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, e->d_name);
    int have = corpus_expect(path, want, sizeof want);
    cr_expect(have, "%s has no .expect file", e->d_name);
    if (!have) continue;

    cas_portfolio *p = (cas_portfolio *)1;
    cas_error err = {0};
    cas_status st = cas_portfolio_load_csv_as(path, yrd, &p, &err);
    cr_expect_eq(st, CAS_ERR_INPUT, "%s: status %d, expected CAS_ERR_INPUT", e->d_name, (int)st);
    cr_expect_null(p, "%s: out must be NULL on failure", e->d_name);
    cr_expect_str_eq(err.msg, want, "%s:\n  got      %s\n  expected %s", e->d_name, err.msg, want);
    files++;
  }
  closedir(d);
  cas_taxonomy_destroy(yrd);
  /* The corpus has one file per error kind; an empty loop must not pass. */
  cr_assert_geq(files, 35, "only %d bad CSV files found in %s", files, BAD_DIR);
}

/* The same corpus with the classification taken from the data: a value
 * that is only unknown to the delta is a name like any other, so those
 * files load; a value that is no name (region_long: over 64 bytes) is an
 * error at its field; every other file fails as it does declared. */
Test(portfolio_csv, bad_input_corpus_classification_from_data) {
  /* Files that load, with the classification they get ("regions | sectors | cities"). */
  static const struct {
    const char *file, *tax;
  } loads[] = {
    {"bom_crlf_region.csv", "zhejiang, zj | green | huzhou"},
    {"region_unknown.csv", "Zhejiang | green | huzhou"},
    {"sector_unknown.csv", "zhejiang | fintech | huzhou"},
    {"city_unknown.csv", "zhejiang | green | taizhou"},
    {"city_wrong_region.csv", "jiangsu | green | ningbo"},
  };
  DIR *d = opendir(BAD_DIR);
  cr_assert_not_null(d, "cannot open %s", BAD_DIR);
  int files = 0, loaded = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!ends_with(e->d_name, ".csv")) continue;
    char path[1024], want[CAS_ERROR_MSG_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, e->d_name);
    cas_portfolio *p = (cas_portfolio *)1;
    cas_error err = {0};
    cas_status st = cas_portfolio_load_csv(path, &p, &err);
    files++;
    const char *tax = NULL;
    for (size_t k = 0; k < sizeof loads / sizeof loads[0]; k++)
      if (strcmp(e->d_name, loads[k].file) == 0) tax = loads[k].tax;
    if (tax) {
      cr_expect_eq(st, CAS_OK, "%s: %s", e->d_name, err.msg);
      if (st == CAS_OK) {
        char r[256], sec[256], c[256], got[800];
        cas_names_list(&p->tax->regions, 100, r, sizeof r);
        cas_names_list(&p->tax->sectors, 100, sec, sizeof sec);
        cas_names_list(&p->tax->cities, 100, c, sizeof c);
        snprintf(got, sizeof got, "%s | %s | %s", r, sec, c);
        cr_expect_str_eq(got, tax, "%s", e->d_name);
        cr_expect_str_eq(p->tax->source, "data", "%s", e->d_name);
        loaded++;
      }
      cas_portfolio_destroy(st == CAS_OK ? p : NULL);
      continue;
    }
    cr_expect_eq(st, CAS_ERR_INPUT, "%s: status %d, expected CAS_ERR_INPUT", e->d_name, (int)st);
    cr_expect_null(p, "%s: out must be NULL on failure", e->d_name);
    if (strcmp(e->d_name, "region_long.csv") == 0) {
      snprintf(want, sizeof want,
               "%s:2:4: region 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' "
               "is longer than 64 bytes (expected a name of letters, digits, '_' or '-')",
               path);
    } else if (!corpus_expect(path, want, sizeof want)) {
      continue; /* reported by bad_input_corpus */
    }
    cr_expect_str_eq(err.msg, want, "%s:\n  got      %s\n  expected %s", e->d_name, err.msg, want);
  }
  closedir(d);
  cr_assert_geq(files, 35, "only %d bad CSV files found in %s", files, BAD_DIR);
  cr_assert_eq(loaded, 5);
}

Test(portfolio_csv, file_not_found) {
  const char *path = CASCADE_TEST_DATA "/no_such_portfolio.csv";
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(path, &p, &err), CAS_ERR_INPUT);
  cr_assert_null(p);
  char want[1024];
  snprintf(want, sizeof want, "%s: cannot open (%s)", path, strerror(ENOENT));
  cr_assert_str_eq(err.msg, want);
}

Test(portfolio_csv, directory) {
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(BAD_DIR, &p, &err), CAS_ERR_INPUT);
  cr_assert_str_eq(err.msg, BAD_DIR ": cannot read (got a directory, expected a CSV file)");
}

/* tests/data/good_small.csv read with the classification declared (or
 * from the data if declared is NULL): the values, and each loan's region,
 * sector and city by name. Returns the portfolio for the codes. */
static cas_portfolio *load_good_small(const cas_taxonomy *declared) {
  const char *path = CASCADE_TEST_DATA "/good_small.csv";
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv_as(path, declared, &p, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(p->n, 5);
  cr_assert_str_eq(p->source, "file:" CASCADE_TEST_DATA "/good_small.csv");
  cr_assert_not_null(p->tax);

  static const char *const ids[] = {"HZ-001, tranche A", "HU-002", "贷款-003", "say \"hi\"", "SZ-005"};
  static const double ead[] = {3000000, 15000000.5, 999999.99, 1e5, 2.5e7};
  static const double pd[] = {0.04, 0.012, 1e-3, 0.5, 0.0200000000000000004};
  static const double lgd[] = {0.6, 0.35, 0, 1, 0.45};
  static const char *const region[] = {"zhejiang", "zhejiang", "anhui", "shanghai", "jiangsu"};
  static const char *const sector[] = {"tech_startup", "green", "inclusive_micro", "household", "manufacturing"};
  static const char *const city[] = {"hangzhou", "huzhou", NULL, "shanghai", "suzhou"};
  static const int park[] = {0, -1, 0, -1, 1};
  char buf[32];
  for (size_t i = 0; i < 5; i++) {
    cr_expect_str_eq(cas_portfolio_id(p, i, buf, sizeof buf), ids[i], "loan %zu", i);
    cr_expect_eq(p->ead[i], ead[i], "loan %zu: ead %.17g", i, p->ead[i]);
    cr_expect_eq(p->pd[i], pd[i], "loan %zu: pd %.17g", i, p->pd[i]);
    cr_expect_eq(p->lgd[i], lgd[i], "loan %zu: lgd %.17g", i, p->lgd[i]);
    cr_assert_lt(p->region[i], p->tax->regions.n, "loan %zu", i);
    cr_assert_lt(p->sector[i], p->tax->sectors.n, "loan %zu", i);
    cr_expect_str_eq(p->tax->regions.name[p->region[i]], region[i], "loan %zu", i);
    cr_expect_str_eq(p->tax->sectors.name[p->sector[i]], sector[i], "loan %zu", i);
    if (city[i]) {
      cr_assert_lt(p->city[i], p->tax->cities.n, "loan %zu", i);
      cr_expect_str_eq(p->tax->cities.name[p->city[i]], city[i], "loan %zu", i);
    } else {
      cr_expect_eq(p->city[i], CAS_NONE, "loan %zu", i);
    }
    cr_expect_eq(p->park[i], park[i], "loan %zu", i);
  }
  cr_assert_eq(p->npark, 2);
  cr_assert_eq(p->npark_names, 2);
  cr_expect_str_eq(cas_portfolio_park_name(p, 0, buf, sizeof buf), "Future Sci-Tech City");
  cr_expect_str_eq(cas_portfolio_park_name(p, 1, buf, sizeof buf), "BioBAY");
  cr_expect_str_eq(cas_portfolio_park_name(p, -1, buf, sizeof buf), "");
  return p;
}

Test(portfolio_csv, good_small) {
  /* Classification from the data: names numbered in order of first appearance. */
  cas_portfolio *p = load_good_small(NULL);
  cr_expect_str_eq(p->tax->source, "data");
  static const uint16_t region[] = {0, 0, 1, 2, 3};
  static const uint16_t sector[] = {0, 1, 2, 3, 4};
  static const uint16_t city[] = {0, 1, CAS_NONE, 2, 3};
  for (size_t i = 0; i < 5; i++) {
    cr_expect_eq(p->region[i], region[i], "loan %zu", i);
    cr_expect_eq(p->sector[i], sector[i], "loan %zu", i);
    cr_expect_eq(p->city[i], city[i], "loan %zu", i);
  }
  cr_expect_eq(p->tax->regions.n, 4);
  cr_expect_eq(p->tax->sectors.n, 5);
  cr_expect_eq(p->tax->cities.n, 4);
  cr_expect_eq(p->tax->nsegments, 20);
  cas_portfolio_destroy(p);
}

Test(portfolio_csv, good_small_declared_yrd) {
  /* The delta's classification declared: the delta's codes, and the
   * classification is a copy of the declared one. */
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cas_portfolio *p = load_good_small(yrd);
  static const int region[] = {CAS_REGION_ZHEJIANG, CAS_REGION_ZHEJIANG, CAS_REGION_ANHUI,
                               CAS_REGION_SHANGHAI, CAS_REGION_JIANGSU};
  static const int sector[] = {CAS_SECTOR_TECH_STARTUP, CAS_SECTOR_GREEN, CAS_SECTOR_INCLUSIVE_MICRO,
                               CAS_SECTOR_HOUSEHOLD, CAS_SECTOR_MANUFACTURING};
  static const char *const city[] = {"hangzhou", "huzhou", NULL, "shanghai", "suzhou"};
  for (size_t i = 0; i < 5; i++) {
    cr_expect_eq(p->region[i], region[i], "loan %zu", i);
    cr_expect_eq(p->sector[i], sector[i], "loan %zu", i);
    if (city[i])
      cr_expect_eq(p->city[i], cas_yrd_city_index(city[i]), "loan %zu", i);
    else
      cr_expect_eq(p->city[i], CAS_NONE, "loan %zu", i);
  }
  cr_expect(p->tax != yrd, "the portfolio must own a copy");
  cr_expect(cas_taxonomy_equal(p->tax, yrd));
  cr_expect_eq(p->tax->nsegments, CAS_YRD_NSEGMENTS);
  cas_taxonomy_destroy(yrd);
  cas_portfolio_destroy(p);
}

/* ---- classification from the data, or declared ---- */

/* A scratch CSV file (text) in a fresh directory. */
typedef struct scratch_csv {
  char dir[64], path[128];
} scratch_csv;

static void scratch_write(scratch_csv *s, const char *text) {
  snprintf(s->dir, sizeof s->dir, "/tmp/cascade-test-portfolio-XXXXXX");
  cr_assert_not_null(mkdtemp(s->dir));
  snprintf(s->path, sizeof s->path, "%s/book.csv", s->dir);
  FILE *f = fopen(s->path, "wb");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

static void scratch_remove(scratch_csv *s) {
  unlink(s->path);
  rmdir(s->dir);
}

Test(portfolio_classification, first_appearance_order) {
  scratch_csv s;
  scratch_write(&s, "id,region,sector,ead,pd,lgd,city\n"
                    "L1,b,y,100,0.01,0.5,\n"
                    "L2,a,x,100,0.01,0.5,c2\n"
                    "L3,b,x,100,0.01,0.5,c1\n"
                    "L4,c,z,100,0.01,0.5,c2\n");
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(s.path, &p, &err), CAS_OK, "%s", err.msg);
  scratch_remove(&s);
  const cas_taxonomy *t = p->tax;
  cr_assert_str_eq(t->source, "data");
  cr_assert_eq(t->regions.n, 3);
  cr_expect_str_eq(t->regions.name[0], "b");
  cr_expect_str_eq(t->regions.name[1], "a");
  cr_expect_str_eq(t->regions.name[2], "c");
  cr_assert_eq(t->sectors.n, 3);
  cr_expect_str_eq(t->sectors.name[0], "y");
  cr_expect_str_eq(t->sectors.name[1], "x");
  cr_expect_str_eq(t->sectors.name[2], "z");
  cr_assert_eq(t->cities.n, 2);
  cr_expect_str_eq(t->cities.name[0], "c2");
  cr_expect_str_eq(t->cities.name[1], "c1");
  cr_expect_eq(t->nsegments, 9);
  cr_expect_eq(cas_names_find(&t->regions, "a", 1), 1);
  cr_expect_eq(cas_names_find(&t->regions, "d", 1), -1);
  static const uint16_t region[] = {0, 1, 0, 2}, sector[] = {0, 1, 1, 2}, city[] = {CAS_NONE, 0, 1, 0};
  for (size_t i = 0; i < 4; i++) {
    cr_expect_eq(p->region[i], region[i], "loan %zu: region %d", i, p->region[i]);
    cr_expect_eq(p->sector[i], sector[i], "loan %zu: sector %d", i, p->sector[i]);
    cr_expect_eq(p->city[i], city[i], "loan %zu: city %d", i, p->city[i]);
  }
  /* Segment names follow the same order. */
  char name[64];
  cas_taxonomy_segment_name(t, cas_taxonomy_segment(t, 2, 1), name, sizeof name);
  cr_expect_str_eq(name, "c/x");
  /* Totals are sized by the book's classification. */
  cas_segment_totals tot;
  cr_assert_eq(cas_portfolio_totals(p, &tot, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(tot.n, 9);
  cr_expect_eq(tot.loans[cas_taxonomy_segment(t, 0, 0)], 1);
  cr_expect_eq(tot.loans[cas_taxonomy_segment(t, 1, 1)], 1);
  cr_expect_eq(tot.loans[cas_taxonomy_segment(t, 0, 1)], 1);
  cr_expect_eq(tot.loans[cas_taxonomy_segment(t, 2, 2)], 1);
  cas_segment_totals_free(&tot);
  cas_portfolio_destroy(p);
}

Test(portfolio_classification, names_are_identifiers) {
  /* Any identifier is a region, sector or city (UTF-8 too); anything else
   * is an error at the field: path:line:col, the value and what is wrong. */
  static const struct {
    const char *row;   /* after "L1," */
    int col;
    const char *want;  /* after "path:2:col: " */
  } cases[] = {
    {"new york,green,1,0.01,0.5,", 4,
     "region 'new york' contains a space (expected a name of letters, digits, '_' or '-')"},
    {"north/east,green,1,0.01,0.5,", 4,
     "region 'north/east' contains '/' (it separates region and sector in segment names) "
     "(expected a name of letters, digits, '_' or '-')"},
    {"north,steel.mills,1,0.01,0.5,", 10,
     "sector 'steel.mills' contains '.' (it separates a factor family from its member) "
     "(expected a name of letters, digits, '_' or '-')"},
    {"north,\"a,b\",1,0.01,0.5,", 10,
     "sector 'a,b' contains ',' (expected a name of letters, digits, '_' or '-')"},
    {"north,green,1,0.01,0.5,-x", 27,
     "city '-x' starts with '-' (expected a name of letters, digits, '_' or '-')"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[256], want[512];
    snprintf(text, sizeof text, "id,region,sector,ead,pd,lgd,city\nL1,%s\n", cases[k].row);
    scratch_csv s;
    scratch_write(&s, text);
    cas_portfolio *p = (cas_portfolio *)1;
    cas_error err = {0};
    cr_expect_eq(cas_portfolio_load_csv(s.path, &p, &err), CAS_ERR_INPUT, "case %zu", k);
    cr_expect_null(p, "case %zu", k);
    snprintf(want, sizeof want, "%s:2:%d: %s", s.path, cases[k].col, cases[k].want);
    cr_expect_str_eq(err.msg, want, "case %zu", k);
    scratch_remove(&s);
  }
  /* Valid names: UTF-8, digits, '_' and '-' inside. */
  scratch_csv s;
  scratch_write(&s, "id,region,sector,ead,pd,lgd,city\nL1,江苏,c13-steel,1,0.01,0.5,2nd_city\n");
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(s.path, &p, &err), CAS_OK, "%s", err.msg);
  cr_expect_str_eq(p->tax->regions.name[0], "江苏");
  cr_expect_str_eq(p->tax->sectors.name[0], "c13-steel");
  cr_expect_str_eq(p->tax->cities.name[0], "2nd_city");
  cas_portfolio_destroy(p);
  scratch_remove(&s);
}

/* A declared classification built by hand: regions north, south; sectors
 * farming, mining; cities declared or open. */
static cas_taxonomy *two_by_two(int with_cities) {
  cas_taxonomy *t = cas_taxonomy_create();
  cr_assert_not_null(t);
  cr_assert_eq(cas_names_add(&t->regions, "north", 5), 0);
  cr_assert_eq(cas_names_add(&t->regions, "south", 5), 1);
  cr_assert_eq(cas_names_add(&t->sectors, "farming", 7), 0);
  cr_assert_eq(cas_names_add(&t->sectors, "mining", 6), 1);
  if (with_cities) {
    cr_assert_eq(cas_taxonomy_add_city(t, "port", 4, 1), 0);
    cr_assert_eq(cas_taxonomy_add_city(t, "hill", 4, -1), 1);
  } else {
    t->cities_open = 1;
  }
  snprintf(t->source, sizeof t->source, "declared");
  cas_error err = {0};
  cr_assert_eq(cas_taxonomy_finish(t, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(t->nsegments, 4);
  return t;
}

Test(portfolio_classification, declared_values_must_be_declared) {
  cas_taxonomy *t = two_by_two(1);
  static const struct {
    const char *row;
    int col;
    const char *want;
  } cases[] = {
    {"east,farming,1,0.01,0.5,", 4, "unknown region 'east' (expected one of the 2 declared: north, south)"},
    {"south,fishing,1,0.01,0.5,", 10,
     "unknown sector 'fishing' (expected one of the 2 declared: farming, mining)"},
    {"south,mining,1,0.01,0.5,lake", 28, "unknown city 'lake' (expected one of the 2 declared: port, hill)"},
    {"north,mining,1,0.01,0.5,port", 28,
     "city 'port' is not in region 'north' (expected a city of north: none declared)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[256], want[512];
    snprintf(text, sizeof text, "id,region,sector,ead,pd,lgd,city\nL1,%s\n", cases[k].row);
    scratch_csv s;
    scratch_write(&s, text);
    cas_portfolio *p = (cas_portfolio *)1;
    cas_error err = {0};
    cr_expect_eq(cas_portfolio_load_csv_as(s.path, t, &p, &err), CAS_ERR_INPUT, "case %zu", k);
    cr_expect_null(p, "case %zu", k);
    snprintf(want, sizeof want, "%s:2:%d: %s", s.path, cases[k].col, cases[k].want);
    cr_expect_str_eq(err.msg, want, "case %zu", k);
    scratch_remove(&s);
  }
  /* Values in the declared order whatever the file's order; an untied
   * city goes with any region; the classification is the declared one,
   * including names the book does not use. */
  scratch_csv s;
  scratch_write(&s, "id,region,sector,ead,pd,lgd,city\n"
                    "L1,south,mining,1,0.01,0.5,port\n"
                    "L2,north,mining,1,0.01,0.5,hill\n"
                    "L3,south,mining,1,0.01,0.5,hill\n");
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv_as(s.path, t, &p, &err), CAS_OK, "%s", err.msg);
  scratch_remove(&s);
  static const uint16_t region[] = {1, 0, 1}, city[] = {0, 1, 1};
  for (size_t i = 0; i < 3; i++) {
    cr_expect_eq(p->region[i], region[i], "loan %zu", i);
    cr_expect_eq(p->sector[i], 1, "loan %zu", i);
    cr_expect_eq(p->city[i], city[i], "loan %zu", i);
  }
  cr_expect(cas_taxonomy_equal(p->tax, t));
  cr_expect_eq(p->tax->nsegments, 4);
  cas_portfolio_destroy(p);
  cas_taxonomy_destroy(t);

  /* Declared without cities: the book's cities are added as they come. */
  t = two_by_two(0);
  scratch_write(&s, "id,region,sector,ead,pd,lgd,city\n"
                    "L1,south,farming,1,0.01,0.5,lake\n"
                    "L2,north,farming,1,0.01,0.5,port\n");
  cr_assert_eq(cas_portfolio_load_csv_as(s.path, t, &p, &err), CAS_OK, "%s", err.msg);
  scratch_remove(&s);
  cr_assert_eq(p->tax->cities.n, 2);
  cr_expect_str_eq(p->tax->cities.name[0], "lake");
  cr_expect_eq(p->city[1], 1);
  cas_portfolio_destroy(p);
  cas_taxonomy_destroy(t);
}

Test(portfolio, destroy_null_is_noop) { cas_portfolio_destroy(NULL); }

Test(portfolio, generate_rejects_bad_size) {
  cas_portfolio *p = (cas_portfolio *)1;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(0, 1, &p, &err), CAS_ERR_INPUT);
  cr_assert_null(p);
  cr_assert_str_eq(err.msg, "built-in portfolio: number of loans out of range (got 0, expected 1 to 1000000000)");
}

static cas_portfolio *gen(size_t n, uint64_t seed) {
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cas_status st = cas_portfolio_generate(n, seed, &p, &err);
  cr_assert_eq(st, CAS_OK, "%s", err.msg);
  return p;
}

/* 1 if every array of a and b is byte-identical. */
static int same_book(const cas_portfolio *a, const cas_portfolio *b) {
  size_t n = a->n;
  return a->n == b->n && a->npark == b->npark && memcmp(a->ead, b->ead, n * sizeof *a->ead) == 0 &&
         memcmp(a->pd, b->pd, n * sizeof *a->pd) == 0 && memcmp(a->lgd, b->lgd, n * sizeof *a->lgd) == 0 &&
         memcmp(a->region, b->region, n * sizeof *a->region) == 0 &&
         memcmp(a->sector, b->sector, n * sizeof *a->sector) == 0 &&
         memcmp(a->city, b->city, n * sizeof *a->city) == 0 && memcmp(a->park, b->park, n * sizeof *a->park) == 0;
}

Test(portfolio_builtin, deterministic) {
  cas_portfolio *a = gen(50000, 7), *b = gen(50000, 7), *c = gen(50000, 8);
  cr_assert(same_book(a, b), "same seed, different books");
  cr_assert_neq(memcmp(a->ead, c->ead, a->n * sizeof *a->ead), 0, "different seeds, same EADs");
  cr_assert_str_eq(a->source, "builtin:yrd loans=50000 seed=7");
  /* The built-in book is classified by the delta's tables. */
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cr_assert(cas_taxonomy_equal(a->tax, yrd));
  cr_assert_str_eq(a->tax->source, "yrd");
  cr_assert_eq(a->tax->nsegments, CAS_YRD_NSEGMENTS);
  cas_taxonomy_destroy(yrd);
  /* A shorter book is a prefix of a longer one with the same seed. */
  cas_portfolio *d = gen(10000, 7);
  cr_assert_eq(memcmp(a->pd, d->pd, d->n * sizeof *d->pd), 0);
  cas_portfolio_destroy(a);
  cas_portfolio_destroy(b);
  cas_portfolio_destroy(c);
  cas_portfolio_destroy(d);
}

Test(portfolio_builtin, thread_count_independent) {
  const size_t n = 10 * 4096 + 123; /* several blocks and a partial one */
  omp_set_num_threads(1);
  cas_portfolio *a = gen(n, 42);
  omp_set_num_threads(2);
  cas_portfolio *b = gen(n, 42);
  omp_set_num_threads(3);
  cas_portfolio *c = gen(n, 42);
  cr_assert(same_book(a, b), "1 and 2 threads differ");
  cr_assert(same_book(a, c), "1 and 3 threads differ");
  cas_portfolio_destroy(a);
  cas_portfolio_destroy(b);
  cas_portfolio_destroy(c);
}

/* Known answers for seed 1: pins the calibration table and the stream
 * layout. Any change to either must update these on purpose. */
Test(portfolio_builtin, known_answer) {
  cas_portfolio *p = gen(5000, 1);
  char buf[32];
  cr_assert_str_eq(cas_portfolio_id(p, 0, buf, sizeof buf), "YRD000000000");
  cr_assert_str_eq(cas_portfolio_id(p, 4999, buf, sizeof buf), "YRD000004999");
  cr_assert_str_eq(cas_portfolio_park_name(p, 3, buf, sizeof buf), "park-3");
  cr_assert_eq(p->npark, 148);
  /* Loans at the start, at a block boundary (4095 | 4096) and at the end;
   * PD and LGD to 1e-12 relative, so that a last-bit change of libm or of
   * the normal quantile does not matter but any change of the model does. */
  static const struct {
    size_t i;
    int region, sector;
    const char *city;
    double ead, pd, lgd;
    int park;
  } want[] = {
    {0, CAS_REGION_ZHEJIANG, CAS_SECTOR_HOUSEHOLD, "hangzhou", 756319, 0.018529074459543785, 0.30654250528494909, -1},
    {1, CAS_REGION_ANHUI, CAS_SECTOR_HOUSEHOLD, "hefei", 312703, 0.0072803131955390208, 0.80422496802469601, -1},
    {2, CAS_REGION_JIANGSU, CAS_SECTOR_HOUSEHOLD, "nantong", 2372733, 0.0013625590670916956, 0.15967119801440582, -1},
    {3, CAS_REGION_JIANGSU, CAS_SECTOR_MANUFACTURING, "changzhou", 7366029, 0.011585164367133308, 0.74345226236406681, -1},
    {131, -1, CAS_SECTOR_MANUFACTURING, NULL, -1, -1, -1, 15},
    {4095, CAS_REGION_ZHEJIANG, CAS_SECTOR_HOUSEHOLD, "ningbo", 595465, 0.0032742185871185684, 0.052465167904390569, -1},
    {4096, CAS_REGION_ZHEJIANG, CAS_SECTOR_HOUSEHOLD, "jinhua", 147323, 0.00097016896316029684, 0.10274057269405204, -1},
    {4108, CAS_REGION_ZHEJIANG, CAS_SECTOR_INCLUSIVE_MICRO, "jiaxing", 2012001, 0.022871000563516614, 0.38394136612154667, -1},
    {4999, CAS_REGION_SHANGHAI, CAS_SECTOR_HOUSEHOLD, "shanghai", 1168460, 0.0066983759443248227, 0.1959196419130198, -1},
  };
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    size_t i = want[k].i;
    cr_expect_eq(p->sector[i], want[k].sector, "loan %zu", i);
    cr_expect_eq(p->park[i], want[k].park, "loan %zu", i);
    if (want[k].region < 0) continue;
    cr_expect_eq(p->region[i], want[k].region, "loan %zu", i);
    cr_expect_eq(p->city[i], cas_yrd_city_index(want[k].city), "loan %zu", i);
    cr_expect_eq(p->ead[i], want[k].ead, "loan %zu: ead %.17g", i, p->ead[i]);
    cr_expect_float_eq(p->pd[i], want[k].pd, 1e-12 * want[k].pd, "loan %zu: pd %.17g", i, p->pd[i]);
    cr_expect_float_eq(p->lgd[i], want[k].lgd, 1e-12 * want[k].lgd, "loan %zu: lgd %.17g", i, p->lgd[i]);
  }
  cas_portfolio_destroy(p);
}

Test(portfolio_builtin, ranges) {
  const size_t n = 200000;
  cas_portfolio *p = gen(n, 3);
  for (size_t i = 0; i < n; i++) {
    cr_assert(p->pd[i] > 0 && p->pd[i] < 1, "loan %zu: pd %g", i, p->pd[i]);
    cr_assert(p->pd[i] >= 1e-5 && p->pd[i] <= 0.5, "loan %zu: pd %g", i, p->pd[i]);
    cr_assert(p->lgd[i] >= 0 && p->lgd[i] <= 1, "loan %zu: lgd %g", i, p->lgd[i]);
    cr_assert(isfinite(p->ead[i]) && p->ead[i] > 0, "loan %zu: ead %g", i, p->ead[i]);
    cr_assert(p->region[i] < CAS_YRD_NREGIONS && p->sector[i] < CAS_YRD_NSECTORS);
    cr_assert(p->city[i] < cas_yrd_ncities, "loan %zu: every built-in loan has a city", i);
    cr_assert_eq(cas_yrd_cities[p->city[i]].region, p->region[i], "loan %zu: city outside its region", i);
    cr_assert(p->park[i] >= -1 && p->park[i] < p->npark, "loan %zu: park %d", i, p->park[i]);
    /* 004_*: inclusive micro-loans are single-borrower credit under 10 million CNY. */
    if (p->sector[i] == CAS_SECTOR_INCLUSIVE_MICRO)
      cr_assert(p->ead[i] < 1e7, "loan %zu: inclusive micro EAD %.17g", i, p->ead[i]);
    /* Only firms that cluster in industrial parks get a park. */
    int clusters = p->sector[i] == CAS_SECTOR_TECH_STARTUP || p->sector[i] == CAS_SECTOR_GREEN ||
                   p->sector[i] == CAS_SECTOR_INCLUSIVE_MICRO || p->sector[i] == CAS_SECTOR_MANUFACTURING;
    if (!clusters) cr_assert_eq(p->park[i], -1, "loan %zu: sector %d in a park", i, p->sector[i]);
  }
  cas_portfolio_destroy(p);
}

/* Observed shares by region, sector and city against the calibration
 * (cas_portfolio_builtin_shares). Each count is multinomial, so a share's
 * standard error is sqrt(p (1 - p) / n); the tolerance is 4 standard
 * errors: with a fixed seed the test is deterministic, and 4 SE is tight
 * enough that a share off by a few tenths of a percentage point fails. */
Test(portfolio_builtin, shares_match_calibration) {
  const size_t n = 400000;
  cas_portfolio *p = gen(n, 11);
  double want_region[CAS_YRD_NREGIONS], want_sector[CAS_YRD_NSECTORS], want_city[64];
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_builtin_shares(want_region, want_sector, want_city, &err), CAS_OK, "%s", err.msg);
  double sum_r = 0, sum_s = 0, sum_c = 0;
  for (int r = 0; r < CAS_YRD_NREGIONS; r++) sum_r += want_region[r];
  for (int s = 0; s < CAS_YRD_NSECTORS; s++) sum_s += want_sector[s];
  for (int c = 0; c < cas_yrd_ncities; c++) sum_c += want_city[c];
  cr_assert_float_eq(sum_r, 1.0, 1e-12);
  cr_assert_float_eq(sum_s, 1.0, 1e-12);
  cr_assert_float_eq(sum_c, 1.0, 1e-12);

  double nr[CAS_YRD_NREGIONS] = {0}, ns[CAS_YRD_NSECTORS] = {0}, nc[64] = {0};
  for (size_t i = 0; i < n; i++) {
    nr[p->region[i]]++;
    ns[p->sector[i]]++;
    nc[p->city[i]]++;
  }
  for (int r = 0; r < CAS_YRD_NREGIONS; r++) {
    double q = want_region[r], se = sqrt(q * (1 - q) / (double)n);
    cr_expect(fabs(nr[r] / (double)n - q) <= 4 * se, "region %s: %.5f, expected %.5f +- %.5f",
              cas_yrd_region_names[r], nr[r] / (double)n, q, 4 * se);
  }
  for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
    double q = want_sector[s], se = sqrt(q * (1 - q) / (double)n);
    cr_expect(fabs(ns[s] / (double)n - q) <= 4 * se, "sector %s: %.5f, expected %.5f +- %.5f",
              cas_yrd_sector_names[s], ns[s] / (double)n, q, 4 * se);
  }
  for (int c = 0; c < cas_yrd_ncities; c++) {
    double q = want_city[c], se = sqrt(q * (1 - q) / (double)n);
    cr_expect(fabs(nc[c] / (double)n - q) <= 4 * se, "city %s: %.5f, expected %.5f +- %.5f",
              cas_yrd_cities[c].name, nc[c] / (double)n, q, 4 * se);
  }
  /* The base table's documented values (docs/CALIBRATION.md), so that the
   * document and the code cannot drift apart unnoticed. */
  cr_expect_float_eq(want_region[CAS_REGION_SHANGHAI], 0.20, 1e-12);
  cr_expect_float_eq(want_region[CAS_REGION_JIANGSU], 0.33, 1e-12);
  cr_expect_float_eq(want_region[CAS_REGION_ZHEJIANG], 0.34, 1e-12);
  cr_expect_float_eq(want_region[CAS_REGION_ANHUI], 0.13, 1e-12);
  static const double doc_sector[CAS_YRD_NSECTORS] = {0.01028, 0.00477, 0.18053, 0.02213, 0.03448,
                                                  0.00127, 0.00492, 0.00275, 0.73886};
  for (int s = 0; s < CAS_YRD_NSECTORS; s++)
    cr_expect_float_eq(want_sector[s], doc_sector[s], 5e-5, "sector %s: %.5f", cas_yrd_sector_names[s], want_sector[s]);
  cas_portfolio_destroy(p);
}

Test(portfolio_builtin, totals) {
  cas_portfolio *p = gen(30000, 5);
  cas_segment_totals t;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_totals(p, &t, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(t.n, CAS_YRD_NSEGMENTS);
  cr_assert_eq(t.n, p->tax->nsegments);
  uint64_t loans = 0;
  double ead = 0, el = 0, ead_direct = 0, el_direct = 0;
  for (int s = 0; s < t.n; s++) {
    loans += t.loans[s];
    ead += t.ead[s];
    el += t.expected_loss[s];
  }
  for (size_t i = 0; i < p->n; i++) {
    ead_direct += p->ead[i];
    el_direct += p->pd[i] * p->lgd[i] * p->ead[i];
  }
  cr_assert_eq(loans, p->n);
  cr_assert_float_eq(ead, ead_direct, 1e-9 * ead_direct);
  cr_assert_float_eq(el, el_direct, 1e-9 * el_direct);
  /* Loan by loan into segment region x nsectors + sector. */
  for (size_t i = 0; i < p->n; i++) t.loans[cas_taxonomy_segment(p->tax, p->region[i], p->sector[i])]--;
  for (int s = 0; s < t.n; s++) cr_expect_eq(t.loans[s], 0, "segment %d", s);
  cas_segment_totals_free(&t);
  cas_portfolio_destroy(p);
}

/* docs/CALIBRATION.md, "Checks against public statistics": the default
 * book of 10^5 loans must respect the single-borrower limit (10% of net
 * capital, net capital taken as 10% of loans: no loan above 1% of the
 * book), and a large book must keep the household share, the developer
 * share and the EAD-weighted PD inside the bands the document cites. */
Test(portfolio_builtin, single_borrower_limit) {
  for (uint64_t seed = 1; seed <= 4; seed++) {
    cas_portfolio *p = gen(CAS_PORTFOLIO_DEFAULT_LOANS, seed);
    double total = 0, largest = 0;
    for (size_t i = 0; i < p->n; i++) {
      total += p->ead[i];
      if (p->ead[i] > largest) largest = p->ead[i];
    }
    /* Every cap is at most 2 billion CNY and the book about 250 billion. */
    cr_expect_leq(largest, 2e9, "seed %llu: largest loan %.0f CNY", (unsigned long long)seed, largest);
    cr_expect_leq(largest / total, 0.01, "seed %llu: largest loan %.4f of the book", (unsigned long long)seed,
                  largest / total);
    cas_portfolio_destroy(p);
  }
}

Test(portfolio_builtin, checks_against_public_statistics) {
  cas_portfolio *p = gen(1000000, 1);
  double ead[CAS_YRD_NSECTORS] = {0}, total = 0, pd_ead = 0;
  for (size_t i = 0; i < p->n; i++) {
    ead[p->sector[i]] += p->ead[i];
    total += p->ead[i];
    pd_ead += p->pd[i] * p->ead[i];
  }
  /* Household loans: 35.5% of RMB loans with personal business loans, which
   * the book holds in inclusive_micro; 29% without them. */
  double household = ead[CAS_SECTOR_HOUSEHOLD] / total;
  cr_expect(household >= 0.27 && household <= 0.31, "household share of EAD %.4f", household);
  /* Developer loans: 6.1% of RMB loans nationally; under 7.5% by the
   * concentration rules with mortgages near their cap. */
  double developers = ead[CAS_SECTOR_REAL_ESTATE] / total;
  cr_expect(developers >= 0.045 && developers <= 0.065, "real-estate share of EAD %.4f", developers);
  /* EAD-weighted PD inside the band of observed NPL ratios and formation
   * (about 1% at the delta's listed banks, 1.59% for all commercial banks). */
  double pd = pd_ead / total;
  cr_expect(pd >= 0.010 && pd <= 0.0159, "EAD-weighted PD %.5f", pd);
  cas_portfolio_destroy(p);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* Exports a built-in book of n loans, loads it back, and checks every
 * value and the second export's bytes. */
static void round_trip(size_t loans, uint64_t seed) {
  char dir[] = "/tmp/cascade-test-portfolio-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);

  cas_portfolio *a = gen(loans, seed);
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_export_csv(a, path, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(count_entries(dir), 1, "temporary file left behind");
  /* Read against the delta's classification (classification: yrd): the
   * same codes as the built-in book. */
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cas_portfolio *b = NULL;
  cr_assert_eq(cas_portfolio_load_csv_as(path, yrd, &b, &err), CAS_OK, "%s", err.msg);
  cr_assert(cas_taxonomy_equal(b->tax, a->tax), "the book's classification differs from the built-in one");
  cas_taxonomy_destroy(yrd);
  cr_assert_eq(b->n, a->n);
  size_t n = a->n;
  cr_assert_eq(memcmp(a->ead, b->ead, n * sizeof *a->ead), 0);
  cr_assert_eq(memcmp(a->pd, b->pd, n * sizeof *a->pd), 0);
  cr_assert_eq(memcmp(a->lgd, b->lgd, n * sizeof *a->lgd), 0);
  cr_assert_eq(memcmp(a->region, b->region, n * sizeof *a->region), 0);
  cr_assert_eq(memcmp(a->sector, b->sector, n * sizeof *a->sector), 0);
  cr_assert_eq(memcmp(a->city, b->city, n * sizeof *a->city), 0);
  /* Park numbers are renumbered in order of appearance; names survive. */
  char ia[32], ib[32], pa[32], pb[32];
  for (size_t i = 0; i < n; i++) {
    cr_assert_str_eq(cas_portfolio_id(a, i, ia, sizeof ia), cas_portfolio_id(b, i, ib, sizeof ib));
    cr_assert_eq(a->park[i] < 0, b->park[i] < 0, "loan %zu", i);
    cr_assert_str_eq(cas_portfolio_park_name(a, a->park[i], pa, sizeof pa),
                     cas_portfolio_park_name(b, b->park[i], pb, sizeof pb), "loan %zu", i);
  }

  /* Exporting the loaded book gives the same file, byte for byte. */
  char path2[256];
  snprintf(path2, sizeof path2, "%s/again.csv", dir);
  cr_assert_eq(cas_portfolio_export_csv(b, path2, &err), CAS_OK, "%s", err.msg);
  char *f1 = slurp(path), *f2 = slurp(path2);
  cr_assert(f1 && f2 && strcmp(f1, f2) == 0, "second export differs");
  free(f1);
  free(f2);

  cas_portfolio_destroy(a);
  cas_portfolio_destroy(b);
  unlink(path);
  unlink(path2);
  rmdir(dir);
}

Test(portfolio_export, round_trip_is_exact) { round_trip(20000, 9); }

/* The loader maps its arrays ahead of the rows, 2^18 rows at a time and
 * again every quarter of that (map_ahead, portfolio.c), while they grow
 * by doubling: 300,000 rows cross a whole chunk, its quarters and nine
 * doublings, and must load exactly as a small book does. */
Test(portfolio_export, round_trip_past_the_mapped_chunks, .timeout = CAS_TEST_TIMEOUT(120)) { round_trip(300000, 5); }

Test(portfolio_export, round_trip_with_classification_from_data) {
  /* Without a declaration the exported book gets its own classification
   * (the delta's names in order of first appearance): the codes may
   * differ, the names of every loan's region, sector and city may not,
   * and exporting again gives the same file. */
  char dir[] = "/tmp/cascade-test-portfolio-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256], path2[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  snprintf(path2, sizeof path2, "%s/again.csv", dir);
  cas_portfolio *a = gen(5000, 9), *b = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_export_csv(a, path, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(path, &b, &err), CAS_OK, "%s", err.msg);
  cr_assert_str_eq(b->tax->source, "data");
  cr_assert_eq(b->tax->regions.n, CAS_YRD_NREGIONS);
  cr_assert_eq(b->tax->sectors.n, CAS_YRD_NSECTORS);
  cr_assert_str_eq(b->tax->regions.name[0], a->tax->regions.name[a->region[0]]);
  for (size_t i = 0; i < a->n; i++) {
    cr_assert_str_eq(b->tax->regions.name[b->region[i]], a->tax->regions.name[a->region[i]], "loan %zu", i);
    cr_assert_str_eq(b->tax->sectors.name[b->sector[i]], a->tax->sectors.name[a->sector[i]], "loan %zu", i);
    cr_assert_str_eq(b->tax->cities.name[b->city[i]], a->tax->cities.name[a->city[i]], "loan %zu", i);
  }
  cr_assert_eq(cas_portfolio_export_csv(b, path2, &err), CAS_OK, "%s", err.msg);
  char *f1 = slurp(path), *f2 = slurp(path2);
  cr_assert(f1 && f2 && strcmp(f1, f2) == 0, "second export differs");
  free(f1);
  free(f2);
  cas_portfolio_destroy(a);
  cas_portfolio_destroy(b);
  unlink(path);
  unlink(path2);
  rmdir(dir);
}

Test(portfolio_export, quotes_ids_and_parks) {
  char dir[] = "/tmp/cascade-test-portfolio-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/small.csv", dir);
  cas_portfolio *a = NULL, *b = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(CASCADE_TEST_DATA "/good_small.csv", &a, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_export_csv(a, path, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(path, &b, &err), CAS_OK, "%s", err.msg);
  char x[32], y[32];
  for (size_t i = 0; i < a->n; i++) {
    cr_expect_str_eq(cas_portfolio_id(a, i, x, sizeof x), cas_portfolio_id(b, i, y, sizeof y));
    cr_expect_eq(a->ead[i], b->ead[i]);
    cr_expect_eq(a->pd[i], b->pd[i]);
    cr_expect_eq(a->lgd[i], b->lgd[i]);
    cr_expect_eq(a->city[i], b->city[i]);
    cr_expect_eq(a->park[i], b->park[i]);
  }
  cas_portfolio_destroy(a);
  cas_portfolio_destroy(b);
  unlink(path);
  rmdir(dir);
}

Test(portfolio_export, failure_leaves_nothing) {
  char dir[] = "/tmp/cascade-test-portfolio-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  cas_portfolio *p = gen(100, 1);
  cas_error err = {0};

  /* Target is a directory: the temporary file is written, rename fails. */
  char target[256];
  snprintf(target, sizeof target, "%s/book.csv", dir);
  cr_assert_eq(mkdir(target, 0700), 0);
  cr_assert_eq(cas_portfolio_export_csv(p, target, &err), CAS_ERR_IO);
  cr_assert(strncmp(err.msg, target, strlen(target)) == 0, "%s", err.msg);
  cr_assert_eq(count_entries(dir), 1, "temporary file left behind");

  /* Directory missing: nothing can be created. */
  char missing[256];
  snprintf(missing, sizeof missing, "%s/no/such/dir.csv", dir);
  cr_assert_eq(cas_portfolio_export_csv(p, missing, &err), CAS_ERR_IO);
  char want[512];
  snprintf(want, sizeof want, "%s: cannot create (folder %s/no/such: %s)", missing, dir,
           strerror(ENOENT));
  cr_assert_str_eq(err.msg, want);

  cas_portfolio_destroy(p);
  rmdir(target);
  rmdir(dir);
}

/* Credit lines: a row with a limit is a line whose drawn amount is ead; its
 * EAD is drawn + ccf x (limit - drawn), ccf 0.75 when empty; rows without a
 * limit are term loans; the export writes the lines back exactly. */
Test(portfolio_csv, credit_lines) {
  char dir[] = "/tmp/cascade-test-lines-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256], again[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  snprintf(again, sizeof again, "%s/again.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("id,region,sector,ead,pd,lgd,limit,ccf\n"
        "term,a,x,100,0.01,0.4,,\n"
        "line,a,x,100,0.01,0.4,300,0.5\n"
        "basel,b,x,40,0.02,0.4,140,\n"
        "full,b,y,50,0.02,0.4,50,0.9\n", f);
  fclose(f);
  cas_portfolio *p = NULL, *q = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(path, &p, &err), CAS_OK, "%s", err.msg);
  cr_assert_not_null(p->limit);
  const double want[4] = {100.0, 100.0 + 0.5 * 200.0, 40.0 + CAS_CCF_DEFAULT * 100.0, 50.0};
  for (size_t i = 0; i < 4; i++)
    cr_expect_float_eq(cas_portfolio_ead(p, i), want[i], 1e-12, "loan %zu", i);
  cas_segment_totals t;
  cr_assert_eq(cas_portfolio_totals(p, &t, &err), CAS_OK);
  cr_expect_float_eq(t.ead[0], 300.0, 1e-12, "a/x holds the term loan and the line");
  cas_segment_totals_free(&t);
  cr_assert_eq(cas_portfolio_export_csv(p, again, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(cas_portfolio_load_csv(again, &q, &err), CAS_OK, "%s", err.msg);
  for (size_t i = 0; i < 4; i++) {
    cr_expect_eq(q->ead[i], p->ead[i]);
    cr_expect_eq(q->limit[i], p->limit[i]);
    cr_expect_eq(q->ccf[i], p->ccf[i]);
  }
  cas_portfolio_destroy(p);
  cas_portfolio_destroy(q);
  unlink(path);
  unlink(again);
  rmdir(dir);
}

/* Maturity, amortisation and collateral: empty cells mean no maturity
 * (INFINITY), bullet and unsecured (0); every year's outstanding share
 * follows the convention of cas_portfolio_amortised; the export writes the
 * columns back exactly, empty where the loader would read the default. */
Test(portfolio_csv, maturity_amortisation_collateral) {
  char dir[] = "/tmp/cascade-test-maturity-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256], again[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  snprintf(again, sizeof again, "%s/again.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("id,region,sector,ead,pd,lgd,maturity,amortisation,collateral\n"
        "open,a,x,100,0.01,0.4,,,\n"
        "bullet,a,x,100,0.01,0.4,0.5,bullet,0\n"
        "linear,a,x,100,0.01,0.4,4,linear,80\n"
        "odd,b,x,40,0.02,0.4,2.25, linear ,0.1\n"
        "long,b,y,50,0.02,0.4,0.1234567890123456789,,1e9\n", f);
  fclose(f);
  cas_portfolio *p = NULL, *q = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(path, &p, &err), CAS_OK, "%s", err.msg);
  cr_assert_not_null(p->maturity);
  cr_assert_not_null(p->amortisation);
  cr_assert_not_null(p->collateral);
  cr_assert_null(p->limit, "no credit-line columns");
  const double maturity[5] = {INFINITY, 0.5, 4.0, 2.25, 0.1234567890123456789};
  const int linear[5] = {0, 0, 1, 1, 0};
  const double collateral[5] = {0.0, 0.0, 80.0, 0.1, 1e9};
  for (size_t i = 0; i < 5; i++) {
    cr_expect_eq(p->maturity[i], maturity[i], "loan %zu", i);
    cr_expect_eq(p->amortisation[i], linear[i] ? CAS_AMORTISATION_LINEAR : CAS_AMORTISATION_BULLET,
                 "loan %zu", i);
    cr_expect_eq(p->collateral[i], collateral[i], "loan %zu", i);
  }
  /* Outstanding share by year (0-based): 1 in year 0 for every loan. */
  const double share[5][4] = {
    {1, 1, 1, 1},            /* no maturity */
    {1, 0, 0, 0},            /* 0.5 years: in the book in year 1 only */
    {1, 0.75, 0.5, 0.25},    /* linear over 4 years */
    {1, 1.25 / 2.25, 0.25 / 2.25, 0},   /* linear over 2.25 years: 3 years in the book */
    {1, 0, 0, 0}};
  for (size_t i = 0; i < 5; i++)
    for (int t = 0; t < 4; t++)
      cr_expect_eq(cas_portfolio_amortised(p, i, t), share[i][t], "loan %zu year %d: %.17g", i, t,
                   cas_portfolio_amortised(p, i, t));
  cr_assert_eq(cas_portfolio_export_csv(p, again, &err), CAS_OK, "%s", err.msg);
  char *text = slurp(again);
  cr_assert_not_null(text);
  cr_expect(strstr(text, "id,region,sector,ead,pd,lgd,city,park,maturity,amortisation,collateral\n") == text,
            "%s", text);
  cr_expect(strstr(text, "\nopen,a,x,100,0.01,0.40000000000000002,,,,,\n") != NULL, "%s", text);
  cr_expect(strstr(text, ",4,linear,80\n") != NULL, "%s", text);
  free(text);
  cr_assert_eq(cas_portfolio_load_csv(again, &q, &err), CAS_OK, "%s", err.msg);
  cr_assert_not_null(q->maturity);
  cr_assert_not_null(q->collateral);
  for (size_t i = 0; i < 5; i++) {
    cr_expect_eq(q->ead[i], p->ead[i]);
    cr_expect_eq(q->maturity[i], p->maturity[i], "loan %zu", i);
    cr_expect_eq(q->amortisation[i], p->amortisation[i], "loan %zu", i);
    cr_expect_eq(q->collateral[i], p->collateral[i], "loan %zu", i);
  }
  cas_portfolio_destroy(p);
  cas_portfolio_destroy(q);
  unlink(path);
  unlink(again);
  rmdir(dir);
}

/* Columns absent: no arrays, and the export writes none of them; every
 * loan is outstanding in full in every year. */
Test(portfolio_csv, no_maturity_columns) {
  char dir[] = "/tmp/cascade-test-nomaturity-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("id,region,sector,ead,pd,lgd\nA,a,x,100,0.01,0.4\n", f);
  fclose(f);
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(path, &p, &err), CAS_OK, "%s", err.msg);
  cr_expect_null(p->maturity);
  cr_expect_null(p->amortisation);
  cr_expect_null(p->collateral);
  for (int t = 0; t < 5; t++) cr_expect_eq(cas_portfolio_amortised(p, 0, t), 1.0);
  cas_portfolio_destroy(p);
  unlink(path);
  rmdir(dir);
}

/* The cells of the new columns fail at their own line and column (the
 * corpus tests/data/bad_csv holds one file per kind with the whole
 * message; these pin the positions of cells elsewhere on the row). */
Test(portfolio_csv, maturity_and_collateral_errors) {
  static const struct {
    const char *row, *want;
  } cases[] = {
    {"A,a,x,1,0.1,0.1,0,,", ":2:17: maturity out of range (got '0'"},
    {"A,a,x,1,0.1,0.1,-1,,", ":2:17: maturity out of range (got '-1'"},
    {"A,a,x,1,0.1,0.1,soon,,", ":2:17: maturity is not a number (got 'soon'"},
    {"A,a,x,1,0.1,0.1,,linear,", ":2:18: linear amortisation without a maturity"},
    {"A,a,x,1,0.1,0.1,3,monthly,", ":2:19: unknown amortisation 'monthly'"},
    {"A,a,x,1,0.1,0.1,3,linear,-0.5", ":2:26: collateral out of range (got '-0.5'"},
    {"A,a,x,1,0.1,0.1,3,linear,lots", ":2:26: collateral is not a number (got 'lots'"},
  };
  char dir[] = "/tmp/cascade-test-maturity-errors-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/book.csv", dir);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "id,region,sector,ead,pd,lgd,maturity,amortisation,collateral\n%s\n", cases[c].row);
    fclose(f);
    cas_portfolio *p = (cas_portfolio *)1;
    cas_error err = {0};
    cr_expect_eq(cas_portfolio_load_csv(path, &p, &err), CAS_ERR_INPUT, "%s", cases[c].row);
    cr_expect_null(p);
    char want[512];
    snprintf(want, sizeof want, "%s%s", path, cases[c].want);
    cr_expect(strncmp(err.msg, want, strlen(want)) == 0, "%s:\n  got      %s\n  expected %s...",
              cases[c].row, err.msg, want);
  }
  unlink(path);
  rmdir(dir);
}
