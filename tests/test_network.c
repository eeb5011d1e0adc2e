/*
 * test_network.c: the link file loader, the built-in network and the export.
 *
 * - Bad input: every tests/data/bad_links/NAME.csv, read against the
 *   portfolio tests/data/bad_links/portfolio.csv.in, must fail with
 *   CAS_ERR_INPUT and exactly the message in NAME.expect (@FILE@ stands for
 *   the path). A new error case is a new pair of files, no code.
 * - Good input: tests/data/good_links.csv (BOM, CRLF, quotes, spaces, blank
 *   lines, columns out of order) against tests/data/good_small.csv, read
 *   back value by value; built-in ids; a header without rows.
 * - Generator: export/load round trip, determinism, thread-count
 *   independence, a CSV copy of the book read with the delta's
 *   classification gives the same network, a book of any other
 *   classification is refused, no self-links or duplicates, the structure
 *   of each mechanism (chain masters, outside partners, G60, circles,
 *   trade links), bounded degrees, and the statistics documented in
 *   docs/NETWORK.md.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "network.h"
#include "portfolio.h"

#define BAD_DIR CASCADE_TEST_DATA "/bad_links"
#define BAD_PORTFOLIO BAD_DIR "/portfolio.csv.in"

/* ---- helpers ---- */

/* Whole file, trailing line ends removed; NULL if it cannot be read. */
static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *s = malloc(cap);
  size_t got;
  while ((got = fread(s + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (n + 1 == cap) s = realloc(s, cap *= 2);
  }
  fclose(f);
  s[n] = '\0';
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
  return s;
}

/* tmpl with each @FILE@ replaced by path. */
static void fill_template(const char *tmpl, const char *path, char *out, size_t size) {
  size_t w = 0;
  while (*tmpl && w + 1 < size) {
    if (strncmp(tmpl, "@FILE@", 6) == 0) {
      int k = snprintf(out + w, size - w, "%s", path);
      w += k > 0 ? (size_t)k : 0;
      if (w >= size) w = size - 1;
      tmpl += 6;
    } else {
      out[w++] = *tmpl++;
    }
  }
  out[w] = '\0';
}

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A fresh directory for the files of one test (removed by cleanup_dir). */
static char tmp_dir[64];

static void make_tmp_dir(void) {
  strcpy(tmp_dir, "/tmp/cascade_test_network_XXXXXX");
  cr_assert_not_null(mkdtemp(tmp_dir));
}

static void cleanup_dir(void) {
  DIR *d = opendir(tmp_dir);
  if (!d) return;
  struct dirent *e;
  char p[sizeof tmp_dir + 256 + 2];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(tmp_dir);
}

static int files_in_tmp_dir(void) {
  DIR *d = opendir(tmp_dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static cas_portfolio *builtin(size_t n, uint64_t seed) {
  cas_portfolio *p = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_generate(n, seed, &p, &err), CAS_OK, "%s", err.msg);
  return p;
}

static cas_network *generate(const cas_portfolio *p, uint64_t seed) {
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_network_generate(p, seed, &net, &err), CAS_OK, "%s", err.msg);
  cr_assert_not_null(net);
  return net;
}

/* 1 if both networks hold the same links in the same order. */
static int same_network(const cas_network *a, const cas_network *b) {
  if (a->nloans != b->nloans || a->nlinks != b->nlinks || a->cross_region_links != b->cross_region_links ||
      memcmp(a->links_by_type, b->links_by_type, sizeof a->links_by_type) != 0)
    return 0;
  size_t m = a->nlinks;
  return memcmp(a->offset, b->offset, (a->nloans + 1) * sizeof *a->offset) == 0 &&
         memcmp(a->target, b->target, m * sizeof *a->target) == 0 &&
         memcmp(a->weight, b->weight, m * sizeof *a->weight) == 0 &&
         memcmp(a->amount, b->amount, m * sizeof *a->amount) == 0 &&
         memcmp(a->type, b->type, m * sizeof *a->type) == 0;
}

/* Out-link of i to j with the given type and weight, or -1. */
static int64_t find_link(const cas_network *net, size_t i, uint32_t j, int type, double weight) {
  for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++)
    if (net->target[p] == j && net->type[p] == type && net->weight[p] == weight) return (int64_t)p;
  return -1;
}

/* ---- loader: bad input ---- */

Test(network_csv, bad_input_corpus) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(BAD_PORTFOLIO, &pf, &err), CAS_OK, "%s", err.msg);
  DIR *d = opendir(BAD_DIR);
  cr_assert_not_null(d, "cannot open %s", BAD_DIR);
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!has_suffix(e->d_name, ".csv")) continue;
    char path[1024], expect_path[1024], want[CAS_ERROR_MSG_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, e->d_name);
    snprintf(expect_path, sizeof expect_path, "%.*s.expect", (int)(strlen(path) - 4), path);
    char *tmpl = read_text(expect_path);
    cr_expect_not_null(tmpl, "%s has no .expect file", e->d_name);
    if (!tmpl) continue;
    fill_template(tmpl, path, want, sizeof want);
    free(tmpl);
    cas_network *net = (cas_network *)1;
    memset(&err, 0, sizeof err);
    cas_status st = cas_network_load_csv(path, pf, &net, &err);
    cr_expect_eq(st, CAS_ERR_INPUT, "%s: status %d, expected CAS_ERR_INPUT", e->d_name, (int)st);
    cr_expect_null(net, "%s: out must be NULL on failure", e->d_name);
    cr_expect_str_eq(err.msg, want, "%s:\n  got      %s\n  expected %s", e->d_name, err.msg, want);
    files++;
  }
  closedir(d);
  /* One file per error kind: an empty loop must not pass. */
  cr_assert_geq(files, 38, "only %d bad link files found in %s", files, BAD_DIR);
  cas_portfolio_destroy(pf);
}

Test(network_csv, file_not_found) {
  cas_portfolio *pf = builtin(10, 1);
  const char *path = CASCADE_TEST_DATA "/no_such_links.csv";
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_network_load_csv(path, pf, &net, &err), CAS_ERR_INPUT);
  cr_assert_null(net);
  char want[1024];
  snprintf(want, sizeof want, "%s: cannot open (%s)", path, strerror(ENOENT));
  cr_assert_str_eq(err.msg, want);
  cas_portfolio_destroy(pf);
}

Test(network_csv, directory) {
  cas_portfolio *pf = builtin(10, 1);
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_network_load_csv(BAD_DIR, pf, &net, &err), CAS_ERR_INPUT);
  cr_assert_str_eq(err.msg, BAD_DIR ": cannot read (got a directory, expected a CSV file)");
  cas_portfolio_destroy(pf);
}

/* ---- loader: good input ---- */

Test(network_csv, good_links) {
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(CASCADE_TEST_DATA "/good_small.csv", &pf, &err), CAS_OK, "%s", err.msg);
  cas_network *net = NULL;
  cr_assert_eq(cas_network_load_csv(CASCADE_TEST_DATA "/good_links.csv", pf, &net, &err), CAS_OK, "%s", err.msg);
  cr_assert_str_eq(net->source, "file:" CASCADE_TEST_DATA "/good_links.csv");
  /* Loans: 0 "HZ-001, tranche A" (zhejiang), 1 HU-002 (zhejiang), 2 贷款-003
   * (anhui), 3 say "hi" (shanghai), 4 SZ-005 (jiangsu). By source, in file
   * order within a source. */
  static const uint64_t offset[] = {0, 1, 3, 4, 5, 6};
  static const uint32_t target[] = {4, 4, 0, 3, 2, 0};
  static const uint8_t type[] = {CAS_LINK_SUPPLY_CHAIN, CAS_LINK_SUPPLY_CHAIN, CAS_LINK_GUARANTEE,
                                 CAS_LINK_GUARANTEE, CAS_LINK_GUARANTEE, CAS_LINK_SUPPLY_CHAIN};
  static const double weight[] = {0.8, 5.0, 0.0, 0.25, 0.5, 0.15};
  static const double amount[] = {0.0, 0.0, 0.5, 123456.78, 1e5, 0.0};
  cr_assert_eq(net->nloans, 5);
  cr_assert_eq(net->nlinks, 6);
  for (int i = 0; i <= 5; i++) cr_expect_eq(net->offset[i], offset[i], "offset[%d] = %llu", i,
                                            (unsigned long long)net->offset[i]);
  for (int p = 0; p < 6; p++) {
    cr_expect_eq(net->target[p], target[p], "link %d: target %u", p, net->target[p]);
    cr_expect_eq(net->type[p], type[p], "link %d: type %d", p, net->type[p]);
    cr_expect_eq(net->weight[p], weight[p], "link %d: weight %.17g", p, net->weight[p]);
    cr_expect_eq(net->amount[p], amount[p], "link %d: amount %.17g", p, net->amount[p]);
    cr_expect(!signbit(net->amount[p]), "link %d: amount -0 must be stored as 0", p);
  }
  cr_expect_eq(net->links_by_type[CAS_LINK_SUPPLY_CHAIN], 3);
  cr_expect_eq(net->links_by_type[CAS_LINK_GUARANTEE], 3);
  cr_expect_eq(net->cross_region_links, 5); /* all but HU-002 -> HZ-001 */
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_csv, header_only_is_an_empty_network, .init = make_tmp_dir, .fini = cleanup_dir) {
  cas_portfolio *pf = builtin(100, 1);
  char path[256];
  snprintf(path, sizeof path, "%s/links.csv", tmp_dir);
  write_text(path, "from,to,type,weight\n\n");
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_network_load_csv(path, pf, &net, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(net->nloans, 100);
  cr_assert_eq(net->nlinks, 0);
  for (int i = 0; i <= 100; i++) cr_assert_eq(net->offset[i], 0);
  cr_assert_eq(net->links_by_type[0] + net->links_by_type[1] + net->cross_region_links, 0);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_csv, builtin_ids, .init = make_tmp_dir, .fini = cleanup_dir) {
  cas_portfolio *pf = builtin(1000, 1);
  char path[256], want[1024];
  snprintf(path, sizeof path, "%s/links.csv", tmp_dir);
  write_text(path, "from,to,type,weight,amount\n"
                   "YRD000000999,YRD000000000,supply_chain,1,\n"
                   "YRD000000000,YRD000000999,guarantee,0.5,250000\n");
  cas_network *net = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_network_load_csv(path, pf, &net, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(net->nlinks, 2);
  cr_expect_eq(net->offset[1], 1);
  cr_expect_eq(net->target[0], 999);
  cr_expect_eq(net->amount[0], 250000.0);
  cr_expect_eq(net->offset[999], 1);
  cr_expect_eq(net->offset[1000], 2);
  cr_expect_eq(net->target[1], 0);
  cas_network_destroy(net);
  /* Ids past the book, of the wrong length or with a non-digit. */
  static const char *const bad[] = {"YRD000001000", "YRD00000001", "YRD0000000001", "YRD00000000a", "yrd000000001"};
  for (int k = 0; k < 5; k++) {
    char text[256];
    snprintf(text, sizeof text, "from,to,type,weight\n%s,YRD000000001,supply_chain,1\n", bad[k]);
    write_text(path, text);
    net = (cas_network *)1;
    cr_expect_eq(cas_network_load_csv(path, pf, &net, &err), CAS_ERR_INPUT, "%s", bad[k]);
    cr_expect_null(net);
    snprintf(want, sizeof want, "%s:2:1: unknown loan id in from (got '%s', expected an id of the portfolio)", path,
             bad[k]);
    cr_expect_str_eq(err.msg, want);
  }
  cas_portfolio_destroy(pf);
}

/* ---- export ---- */

Test(network_export, round_trip_20000_loans, .init = make_tmp_dir, .fini = cleanup_dir) {
  cas_portfolio *pf = builtin(20000, 3);
  cas_network *net = generate(pf, 5);
  cr_assert_str_eq(net->source, "builtin:yrd seed=5");
  char path[256];
  snprintf(path, sizeof path, "%s/links.csv", tmp_dir);
  cas_error err = {0};
  cr_assert_eq(cas_network_export_csv(net, pf, path, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(files_in_tmp_dir(), 1, "the temporary file must be gone");
  cas_network *back = NULL;
  cr_assert_eq(cas_network_load_csv(path, pf, &back, &err), CAS_OK, "%s", err.msg);
  cr_assert(same_network(net, back), "export -> load changed the network");
  char want[300];
  snprintf(want, sizeof want, "file:%s", path);
  cr_assert_str_eq(back->source, want);
  cas_network_destroy(back);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_export, round_trip_csv_ids, .init = make_tmp_dir, .fini = cleanup_dir) {
  /* Ids that need quoting and UTF-8: the good_small book. */
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(CASCADE_TEST_DATA "/good_small.csv", &pf, &err), CAS_OK, "%s", err.msg);
  cas_network *net = NULL;
  cr_assert_eq(cas_network_load_csv(CASCADE_TEST_DATA "/good_links.csv", pf, &net, &err), CAS_OK, "%s", err.msg);
  char path[256];
  snprintf(path, sizeof path, "%s/links.csv", tmp_dir);
  cr_assert_eq(cas_network_export_csv(net, pf, path, &err), CAS_OK, "%s", err.msg);
  cas_network *back = NULL;
  cr_assert_eq(cas_network_load_csv(path, pf, &back, &err), CAS_OK, "%s", err.msg);
  cr_assert(same_network(net, back));
  char *text = read_text(path);
  cr_expect(strstr(text, "\"HZ-001, tranche A\",SZ-005,supply_chain,0.8,\n") != NULL, "%s", text);
  cr_expect(strstr(text, "\"say \"\"hi\"\"\",贷款-003,guarantee,0.5,100000\n") != NULL, "%s", text);
  free(text);
  cas_network_destroy(back);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_export, unwritable_path) {
  cas_portfolio *pf = builtin(1000, 1);
  cas_network *net = generate(pf, 1);
  const char *path = "/nonexistent-cascade-dir/links.csv";
  cas_error err = {0};
  cr_assert_eq(cas_network_export_csv(net, pf, path, &err), CAS_ERR_IO);
  char want[256];
  snprintf(want, sizeof want, "%s: cannot create (folder /nonexistent-cascade-dir: %s)", path,
           strerror(ENOENT));
  cr_assert_str_eq(err.msg, want);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* ---- generator ---- */

Test(network_builtin, deterministic) {
  cas_portfolio *pf = builtin(30000, 2);
  cas_network *a = generate(pf, 11), *b = generate(pf, 11), *c = generate(pf, 12);
  cr_assert(same_network(a, b), "same portfolio and seed, different networks");
  cr_assert(!same_network(a, c), "seed 12 gave the network of seed 11");
  cr_assert_str_eq(c->source, "builtin:yrd seed=12");
  cas_network_destroy(a);
  cas_network_destroy(b);
  cas_network_destroy(c);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, thread_count_independent) {
  cas_portfolio *pf = builtin(60000, 4);
  omp_set_num_threads(1);
  cas_network *one = generate(pf, 9);
  omp_set_num_threads(2);
  cas_network *two = generate(pf, 9);
  omp_set_num_threads(3);
  cas_network *three = generate(pf, 9);
  cr_assert(same_network(one, two), "1 and 2 threads differ");
  cr_assert(same_network(one, three), "1 and 3 threads differ");
  cas_network_destroy(one);
  cas_network_destroy(two);
  cas_network_destroy(three);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, csv_copy_of_the_book_gives_the_same_network, .init = make_tmp_dir, .fini = cleanup_dir) {
  /* A CSV portfolio numbers its parks by first appearance: the network must
   * not depend on park numbers. */
  cas_portfolio *pf = builtin(20000, 6);
  char path[256];
  snprintf(path, sizeof path, "%s/book.csv", tmp_dir);
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_export_csv(pf, path, &err), CAS_OK, "%s", err.msg);
  /* Read with the delta's classification (classification: yrd), which
   * the built-in network is drawn for. */
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cas_portfolio *copy = NULL;
  cr_assert_eq(cas_portfolio_load_csv_as(path, yrd, &copy, &err), CAS_OK, "%s", err.msg);
  cas_taxonomy_destroy(yrd);
  cas_network *a = generate(pf, 3), *b = generate(copy, 3);
  cr_assert(same_network(a, b));
  cas_network_destroy(a);
  cas_network_destroy(b);
  cas_portfolio_destroy(copy);
  cas_portfolio_destroy(pf);
}

static int cmp_key(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static int cmp_u32_desc(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x < y) - (x > y);
}

Test(network_builtin, no_self_links_or_duplicates) {
  cas_portfolio *pf = builtin(100000, 1);
  cas_network *net = generate(pf, 1);
  uint64_t *keys = malloc(net->nlinks * sizeof *keys);
  size_t self = 0, dups = 0;
  for (size_t i = 0; i < net->nloans; i++) {
    size_t d = 0;
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) {
      self += net->target[p] == i;
      keys[d++] = (uint64_t)net->target[p] << 1 | net->type[p];
    }
    qsort(keys, d, sizeof *keys, cmp_key);
    for (size_t k = 1; k < d; k++) dups += keys[k] == keys[k - 1];
  }
  cr_expect_eq(self, 0, "%zu self-links", self);
  cr_expect_eq(dups, 0, "%zu duplicate links", dups);
  free(keys);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, statistics_in_documented_ranges) {
  /* docs/NETWORK.md, "Achieved statistics": ranges for the default book of
   * 10^5 loans (portfolio seeds 1-4 and network seeds 1-2 give 1.546-1.580
   * links per loan, supply-chain share 73.3-73.6%, guarantee share
   * 26.4-26.7%, cross-region share 16.5-16.7%). */
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 1);
  cas_network *net = generate(pf, 1);
  double n = (double)net->nloans, m = (double)net->nlinks;
  cr_assert_eq(net->links_by_type[0] + net->links_by_type[1], net->nlinks);
  uint64_t cross = 0;
  for (size_t i = 0; i < net->nloans; i++)
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) cross += pf->region[i] != pf->region[net->target[p]];
  cr_assert_eq(cross, net->cross_region_links);
  double per_loan = m / n, supply = (double)net->links_by_type[CAS_LINK_SUPPLY_CHAIN] / m;
  double guarantee = (double)net->links_by_type[CAS_LINK_GUARANTEE] / m, cross_share = (double)cross / m;
  cr_expect(per_loan >= 1.50 && per_loan <= 1.62, "links per loan %.4f", per_loan);
  cr_expect(supply >= 0.725 && supply <= 0.745, "supply-chain share %.4f", supply);
  cr_expect(guarantee >= 0.255 && guarantee <= 0.275, "guarantee share %.4f", guarantee);
  cr_expect(cross_share >= 0.157 && cross_share <= 0.175, "cross-region share %.4f", cross_share);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, degrees_bounded_and_spread) {
  /* No hub over thousands of firms: a master has at most 60 chain firms,
   * twice as many outside partners, and a few G60 links (documented: at
   * most about 190 links either way up to 10^7 loans). And the links are
   * spread: the 1% of loans with the most out-links hold few of them. */
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 1);
  cas_network *net = generate(pf, 1);
  size_t n = net->nloans;
  uint32_t *in = calloc(n, sizeof *in), *out = malloc(n * sizeof *out);
  uint32_t max_out = 0, max_in = 0;
  size_t linked = 0;
  for (size_t i = 0; i < n; i++) {
    out[i] = (uint32_t)(net->offset[i + 1] - net->offset[i]);
    if (out[i] > max_out) max_out = out[i];
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) in[net->target[p]]++;
  }
  for (size_t i = 0; i < n; i++) {
    if (in[i] > max_in) max_in = in[i];
    linked += out[i] > 0 || in[i] > 0;
  }
  cr_expect_leq(max_out, 200, "largest out-degree %u", max_out);
  cr_expect_leq(max_in, 200, "largest in-degree %u", max_in);
  cr_expect_geq(max_out, 100, "no hub left (largest out-degree %u)", max_out);
  qsort(out, n, sizeof *out, cmp_u32_desc);
  uint64_t top = 0;
  for (size_t i = 0; i < n / 100; i++) top += out[i];
  double top_share = (double)top / (double)net->nlinks;
  cr_expect_leq(top_share, 0.18, "the top 1%% of loans hold %.3f of the out-links", top_share);
  cr_expect_geq(out[n / 100], 10, "99th percentile of the out-degree %u", out[n / 100]);
  /* Most household loans (mortgages, consumer loans: three quarters of
   * the book's loans) have no link at all (documented: 34.6-35.2%). */
  cr_expect_geq((double)linked / (double)n, 0.33, "only %.3f of the loans have a link", (double)linked / (double)n);
  free(in);
  free(out);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

static int is_master_sector(int s) {
  return s == CAS_SECTOR_MANUFACTURING || s == CAS_SECTOR_TECH_STARTUP || s == CAS_SECTOR_GREEN;
}

static int is_partner_sector(int s) {
  return s == CAS_SECTOR_MANUFACTURING || s == CAS_SECTOR_WHOLESALE_RETAIL || s == CAS_SECTOR_INCLUSIVE_MICRO;
}

/* Weights of the built-in network (models/networks/yrd.c, docs/NETWORK.md). */
#define W_PARK 0.4
#define W_PARK_BACK 0.004
#define W_OUTSIDE 0.2
#define W_OUTSIDE_BACK 0.002
#define W_G60 0.1
#define W_GUARANTEE 0.3
#define W_TRADE 0.12

/* Larger EAD first, ties lower index (the order of chain masters). */
static const cas_portfolio *sort_pf;
static int cmp_by_ead(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (sort_pf->ead[x] != sort_pf->ead[y]) return sort_pf->ead[x] > sort_pf->ead[y] ? -1 : 1;
  return (x > y) - (x < y);
}

Test(network_builtin, chain_masters) {
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 2);
  cas_network *net = generate(pf, 2);
  size_t n = pf->n;
  int checked = 0, several = 0;
  uint64_t outside = 0, outside_cross = 0, chain_firms_total = 0;
  uint32_t *mem = malloc(n * sizeof *mem), *elig = malloc(n * sizeof *elig);
  sort_pf = pf;
  for (int32_t k = 0; k < pf->npark; k++) {
    size_t size = 0, eligible = 0;
    for (size_t i = 0; i < n; i++) {
      if (pf->park[i] != k) continue;
      mem[size++] = (uint32_t)i;
      if (is_master_sector(pf->sector[i])) elig[eligible++] = (uint32_t)i;
    }
    /* Loans of the park with master-strength links to park mates. */
    size_t with_park_links = 0;
    for (size_t j = 0; j < size; j++) {
      size_t i = mem[j];
      for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++)
        if (net->weight[p] == W_PARK && pf->park[net->target[p]] == k) {
          with_park_links++;
          break;
        }
    }
    if (size < 2 || eligible == 0) {
      cr_expect_eq(with_park_links, 0, "park %d without a chain has chain links", k);
      continue;
    }
    checked++;
    /* One master per started chain of 60 firms, at most the eligible
     * loans; the masters are the largest of those by EAD. */
    size_t m = (size + 60) / 61;
    if (m > eligible) m = eligible;
    several += m > 1;
    cr_expect_eq(with_park_links, m, "park %d of %zu loans: %zu masters, expected %zu", k, size, with_park_links, m);
    qsort(elig, eligible, sizeof *elig, cmp_by_ead);
    size_t smallest = SIZE_MAX, largest = 0;
    for (size_t c = 0; c < m; c++) {
      size_t mst = elig[c], firms = 0;
      for (uint64_t p = net->offset[mst]; p < net->offset[mst + 1]; p++) {
        uint32_t t = net->target[p];
        if (net->weight[p] == W_PARK) {
          firms++;
          cr_expect_eq(pf->park[t], k, "master %zu links to %u outside its park with the park weight", mst, t);
          cr_expect_geq(find_link(net, t, (uint32_t)mst, CAS_LINK_SUPPLY_CHAIN, W_PARK_BACK), 0,
                        "park %d: no link from %u back to its master", k, t);
        } else if (net->weight[p] == W_OUTSIDE) {
          /* Outside partners: not of the park, of the partner sectors, linked back. */
          cr_expect_neq(pf->park[t], k);
          cr_expect(is_partner_sector(pf->sector[t]), "partner %u of sector %d", t, pf->sector[t]);
          cr_expect_geq(find_link(net, t, (uint32_t)mst, CAS_LINK_SUPPLY_CHAIN, W_OUTSIDE_BACK), 0);
          outside++;
          outside_cross += pf->region[t] != pf->region[mst];
        }
      }
      if (firms < smallest) smallest = firms;
      if (firms > largest) largest = firms;
      chain_firms_total += firms;
    }
    /* Every other loan of the park serves exactly one master; chains
     * differ by at most one firm, and hold at most 60 unless the park
     * lacks masters. */
    size_t served = 0;
    for (size_t j = 0; j < size; j++) {
      size_t i = mem[j], from_masters = 0;
      for (size_t c = 0; c < m; c++)
        from_masters += find_link(net, elig[c], (uint32_t)i, CAS_LINK_SUPPLY_CHAIN, W_PARK) >= 0;
      served += from_masters;
      cr_expect_leq(from_masters, 1, "loan %zu serves %zu masters", i, from_masters);
    }
    cr_expect_eq(served, size - m, "park %d: %zu of %zu firms in a chain", k, served, size - m);
    cr_expect_leq(largest - smallest, 1, "park %d: chains of %zu to %zu firms", k, smallest, largest);
    if (m == (size + 60) / 61) cr_expect_leq(largest, 60, "park %d: a chain of %zu firms", k, largest);
  }
  cr_expect_geq(checked, 140, "only %d parks with a chain", checked);
  cr_expect_geq(several, 5, "only %d parks with several chains", several);
  /* Two outside partners per chain firm (rounded per master, capped at
   * half of what is available: never binding here), 30% of them in other
   * provinces. */
  cr_expect_eq(outside, 2 * chain_firms_total, "%llu outside partners for %llu chain firms",
               (unsigned long long)outside, (unsigned long long)chain_firms_total);
  double share = (double)outside_cross / (double)outside;
  cr_expect(share > 0.29 && share < 0.31, "cross-province share of outside partners %.4f", share);
  free(mem);
  free(elig);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* Trade links: the share of a firm's partners by sector (rows: firm hit,
 * columns: partner), as in models/networks/yrd.c. */
static const struct {
  int sector;
  double share[CAS_YRD_NSECTORS];
} trade_rows[] = {
  {CAS_SECTOR_MANUFACTURING,
   {[CAS_SECTOR_MANUFACTURING] = 0.5, [CAS_SECTOR_WHOLESALE_RETAIL] = 0.3, [CAS_SECTOR_INCLUSIVE_MICRO] = 0.2}},
  {CAS_SECTOR_WHOLESALE_RETAIL,
   {[CAS_SECTOR_MANUFACTURING] = 0.4, [CAS_SECTOR_WHOLESALE_RETAIL] = 0.3, [CAS_SECTOR_INCLUSIVE_MICRO] = 0.3}},
  {CAS_SECTOR_INCLUSIVE_MICRO,
   {[CAS_SECTOR_MANUFACTURING] = 0.2, [CAS_SECTOR_WHOLESALE_RETAIL] = 0.3, [CAS_SECTOR_INCLUSIVE_MICRO] = 0.5}},
  {CAS_SECTOR_CONSTRUCTION,
   {[CAS_SECTOR_REAL_ESTATE] = 0.5, [CAS_SECTOR_MANUFACTURING] = 0.3, [CAS_SECTOR_CONSTRUCTION] = 0.2}},
  {CAS_SECTOR_REAL_ESTATE, {[CAS_SECTOR_CONSTRUCTION] = 0.8, [CAS_SECTOR_REAL_ESTATE] = 0.2}},
};
enum { NTRADE_ROWS = sizeof trade_rows / sizeof trade_rows[0] };

static int trade_row(int sector) {
  for (int r = 0; r < NTRADE_ROWS; r++)
    if (trade_rows[r].sector == sector) return r;
  return -1;
}

Test(network_builtin, trade_links) {
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 5);
  cas_network *net = generate(pf, 5);
  size_t n = pf->n;
  uint64_t links = 0, cross = 0, same_city = 0, bad = 0, firms = 0;
  uint64_t by[NTRADE_ROWS][CAS_YRD_NSECTORS] = {{0}}, row_links[NTRADE_ROWS] = {0};
  uint32_t *in = calloc(n, sizeof *in);
  for (size_t i = 0; i < n; i++) {
    int r = trade_row(pf->sector[i]);
    firms += r >= 0 && pf->park[i] < 0;
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) {
      if (net->type[p] != CAS_LINK_SUPPLY_CHAIN || net->weight[p] != W_TRADE) continue;
      uint32_t j = net->target[p]; /* i is the partner, j the firm it hits */
      int rj = trade_row(pf->sector[j]);
      links++;
      in[j]++;
      /* Both ends outside the parks, of a trade sector, the partner of a
       * sector in the firm's row. */
      if (rj < 0 || r < 0 || pf->park[i] >= 0 || pf->park[j] >= 0 || trade_rows[rj].share[pf->sector[i]] == 0.0) {
        bad++;
        continue;
      }
      by[rj][pf->sector[i]]++;
      row_links[rj]++;
      cross += pf->region[i] != pf->region[j];
      same_city += pf->city[i] == pf->city[j];
    }
  }
  cr_expect_eq(bad, 0, "%llu trade links out of their sectors or in parks", (unsigned long long)bad);
  /* 20% in other provinces, within 4 binomial standard errors. */
  double q = 0.20, N = (double)links, got = (double)cross / N, se = sqrt(q * (1 - q) / N);
  cr_expect(fabs(got - q) <= 4 * se, "cross-province share of trade links %.4f, expected %.2f +- %.4f", got, q, 4 * se);
  /* Half drawn in the firm's city, and part of the 30% drawn in its
   * province lands there too. */
  double city = (double)same_city / N;
  cr_expect(city >= 0.5 - 4 * sqrt(0.25 / N) && city <= 0.8, "same-city share of trade links %.4f", city);
  /* Partners by sector, each row within 4 standard errors. */
  for (int r = 0; r < NTRADE_ROWS; r++)
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
      double want = trade_rows[r].share[s], m = (double)row_links[r];
      if (want == 0.0) continue;
      double share = (double)by[r][s] / m, sd = sqrt(want * (1 - want) / m);
      cr_expect(fabs(share - want) <= 4 * sd, "%s firms: %.4f of partners %s, expected %.2f +- %.4f",
                cas_yrd_sector_names[trade_rows[r].sector], share, cas_yrd_sector_names[s], want, 4 * sd);
    }
  /* Poisson mean 4.3 partners per trade firm (4 standard errors), each
   * at most 40. */
  double mean = N / (double)firms, se_mean = sqrt(4.3 / (double)firms);
  cr_expect(fabs(mean - 4.3) <= 4 * se_mean, "%.4f trade partners per firm, expected 4.3 +- %.4f", mean, 4 * se_mean);
  uint32_t max_in = 0;
  for (size_t i = 0; i < n; i++)
    if (in[i] > max_in) max_in = in[i];
  cr_expect_leq(max_in, 40);
  free(in);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, link_attributes) {
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 3);
  cas_network *net = generate(pf, 3);
  size_t bad_supply = 0, bad_guarantee = 0, g60 = 0;
  for (size_t i = 0; i < net->nloans; i++)
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) {
      uint32_t j = net->target[p];
      double w = net->weight[p];
      cr_assert(w >= 0.0 && w <= CAS_LINK_WEIGHT_MAX);
      if (net->type[p] == CAS_LINK_SUPPLY_CHAIN) {
        bad_supply += net->amount[p] != 0.0 || !(w == W_PARK || w == W_PARK_BACK || w == W_OUTSIDE ||
                                                 w == W_OUTSIDE_BACK || w == W_G60 || w == W_TRADE);
        if (w == W_G60) { /* G60: tech start-ups of two different G60 cities */
          g60++;
          cr_expect(pf->sector[i] == CAS_SECTOR_TECH_STARTUP && pf->sector[j] == CAS_SECTOR_TECH_STARTUP);
          cr_expect(cas_yrd_cities[pf->city[i]].g60 && cas_yrd_cities[pf->city[j]].g60 && pf->city[i] != pf->city[j]);
        }
      } else {
        /* Guarantee: the guarantors of a loan share 50-100% of its EAD
         * equally; within one city; small borrowers. */
        double a = net->amount[p], ead = pf->ead[i];
        int s = pf->sector[i], g = 0;
        for (uint64_t q = net->offset[i]; q < net->offset[i + 1]; q++) g += net->type[q] == CAS_LINK_GUARANTEE;
        bad_guarantee += !(a > 0.0 && a * g >= 0.5 * ead * (1 - 1e-15) && a * g <= ead * (1 + 1e-15)) ||
                         w != W_GUARANTEE || pf->city[i] != pf->city[j] ||
                         !(s == CAS_SECTOR_INCLUSIVE_MICRO || s == CAS_SECTOR_WHOLESALE_RETAIL ||
                           s == CAS_SECTOR_HOUSEHOLD);
      }
    }
  cr_expect_eq(bad_supply, 0, "%zu supply-chain links with an unexpected weight or amount", bad_supply);
  cr_expect_eq(bad_guarantee, 0, "%zu guarantees out of their rules", bad_guarantee);
  cr_expect_gt(g60, 0);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, guarantee_circles) {
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 4);
  cas_network *net = generate(pf, 4);
  size_t n = pf->n;
  /* Guarantors per borrower in 1..3; borrowers among the circle sectors
   * at the documented shares: each eligible loan joins with probability
   * share (independently), less at most one leftover firm per city. */
  static const struct { int sector; double share; } circle[] = {
    {CAS_SECTOR_INCLUSIVE_MICRO, 0.80}, {CAS_SECTOR_WHOLESALE_RETAIL, 0.60}, {CAS_SECTOR_HOUSEHOLD, 0.13}};
  size_t loans[3] = {0}, borrowers[3] = {0};
  uint32_t *in = calloc(n, sizeof *in);
  for (size_t i = 0; i < n; i++) {
    int g = 0;
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++)
      if (net->type[p] == CAS_LINK_GUARANTEE) {
        g++;
        in[net->target[p]]++;
      }
    cr_expect(g <= 3, "loan %zu has %d guarantors", i, g);
    for (int k = 0; k < 3; k++)
      if (pf->sector[i] == circle[k].sector) {
        loans[k]++;
        borrowers[k] += g > 0;
      }
  }
  for (int k = 0; k < 3; k++) {
    double q = circle[k].share, N = (double)loans[k];
    double se = sqrt(q * (1 - q) / N), got = (double)borrowers[k] / N;
    double slack = (double)cas_yrd_ncities / N;
    cr_expect(fabs(got - q) <= 4 * se + slack, "sector %s: %.4f in circles, expected %.4f +- %.4f",
              cas_yrd_sector_names[circle[k].sector], got, q, 4 * se + slack);
  }
  /* Heavy-tailed guarantor degree: hubs guarantee many loans. */
  uint32_t max_in = 0;
  size_t ten_or_more = 0;
  for (size_t i = 0; i < n; i++) {
    if (in[i] > max_in) max_in = in[i];
    ten_or_more += in[i] >= 10;
  }
  cr_expect_geq(max_in, 15, "largest guarantor degree %u", max_in);
  cr_expect_geq(ten_or_more, 20, "%zu guarantors of 10 or more loans", ten_or_more);
  /* Circles: connected pieces of the guarantee graph have at most 60 firms,
   * all in one city (union-find over guarantee links). */
  uint32_t *parent = malloc(n * sizeof *parent);
  for (size_t i = 0; i < n; i++) parent[i] = (uint32_t)i;
  for (size_t i = 0; i < n; i++)
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) {
      if (net->type[p] != CAS_LINK_GUARANTEE) continue;
      uint32_t a = (uint32_t)i, b = net->target[p];
      while (parent[a] != a) a = parent[a] = parent[parent[a]];
      while (parent[b] != b) b = parent[b] = parent[parent[b]];
      if (a != b) parent[a < b ? b : a] = a < b ? a : b;
    }
  uint32_t *size = calloc(n, sizeof *size);
  size_t wrong_city = 0, pairs = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t a = (uint32_t)i;
    while (parent[a] != a) a = parent[a];
    size[a]++;
    wrong_city += pf->city[a] != pf->city[i];
  }
  uint32_t largest = 0;
  for (size_t i = 0; i < n; i++) {
    if (size[i] > largest) largest = size[i];
    pairs += size[i] == 2;
  }
  cr_expect_leq(largest, 60, "a circle of %u firms", largest);
  cr_expect_geq(largest, 20, "no large circle (largest %u)", largest);
  cr_expect_eq(wrong_city, 0);
  cr_expect_gt(pairs, 1000, "%zu circles of two", pairs);
  free(size);
  free(parent);
  free(in);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network_builtin, small_and_csv_portfolios) {
  /* One loan: no links. */
  cas_portfolio *one = builtin(1, 1);
  cas_network *net = generate(one, 1);
  cr_expect_eq(net->nlinks, 0);
  cr_expect_eq(net->offset[1], 0);
  cas_network_destroy(net);
  cas_portfolio_destroy(one);
  /* A CSV book with some loans outside cities and parks, read with the
   * delta's classification. */
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv_as(CASCADE_TEST_DATA "/good_small.csv", yrd, &pf, &err), CAS_OK, "%s",
               err.msg);
  cas_taxonomy_destroy(yrd);
  net = generate(pf, 1);
  cr_expect_eq(net->nloans, 5);
  for (size_t i = 0; i < net->nloans; i++)
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) cr_expect_neq(net->target[p], i);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

/* The built-in network is drawn with the delta's tables (its cities, G60,
 * sectors): a book classified otherwise is refused with a message that
 * says what to do instead. */
/* what: e.g. "regions are others (got north, south)" */
static void expect_refused(const cas_portfolio *pf, const char *what) {
  cas_network *net = (cas_network *)1;
  cas_error err = {0};
  cr_assert_eq(cas_network_generate(pf, 1, &net, &err), CAS_ERR_INPUT, "%s", err.msg);
  cr_expect_null(net);
  cr_expect(strncmp(err.msg, "built-in network: ", 18) == 0, "%s", err.msg);
  cr_expect(strstr(err.msg, "delta's classification") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, what) != NULL, "%s\n(expected '%s')", err.msg, what);
  /* What to do: give the links as a file, or declare the delta's classification. */
  cr_expect(strstr(err.msg, "network: {file: LINKS.csv}") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "classification: yrd") != NULL, "%s", err.msg);
}

Test(network_builtin, refuses_a_book_of_another_classification, .init = make_tmp_dir, .fini = cleanup_dir) {
  char path[256];
  snprintf(path, sizeof path, "%s/book.csv", tmp_dir);
  write_text(path, "id,region,sector,ead,pd,lgd,city\n"
                   "A1,north,farming,1000,0.01,0.4,port\n"
                   "A2,south,farming,2000,0.02,0.4,hill\n"
                   "A3,south,mining,3000,0.03,0.4,hill\n");
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(path, &pf, &err), CAS_OK, "%s", err.msg);
  expect_refused(pf, "the book's regions are others (got north, south)");
  /* Links from a file are fine with any classification. */
  char links[256];
  snprintf(links, sizeof links, "%s/links.csv", tmp_dir);
  write_text(links, "from,to,type,weight\nA1,A2,supply_chain,0.5\n");
  cas_network *net = NULL;
  cr_assert_eq(cas_network_load_csv(links, pf, &net, &err), CAS_OK, "%s", err.msg);
  cr_expect_eq(net->nlinks, 1);
  cr_expect_eq(net->cross_region_links, 1);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);

  /* Delta names read without the declaration: the book's own order of
   * first appearance, not the delta's, so refused too. */
  pf = NULL;
  cr_assert_eq(cas_portfolio_load_csv(CASCADE_TEST_DATA "/good_small.csv", &pf, &err), CAS_OK, "%s", err.msg);
  expect_refused(pf, "the book's regions are the delta's in another order (got ");
  cas_portfolio_destroy(pf);
}

Test(network, destroy_null) { cas_network_destroy(NULL); }
