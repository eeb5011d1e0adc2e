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
 *   independence, no self-links or duplicates, the structure of each
 *   mechanism (chain masters, outside partners, G60, circles) and the
 *   statistics documented in docs/NETWORK.md.
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
  snprintf(want, sizeof want, "%s: cannot write (%s)", path, strerror(ENOENT));
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
  cas_portfolio *copy = NULL;
  cr_assert_eq(cas_portfolio_load_csv(path, &copy, &err), CAS_OK, "%s", err.msg);
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
   * 10^5 loans, any seed. */
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
  cr_expect(per_loan >= 2.85 && per_loan <= 3.05, "links per loan %.4f", per_loan);
  cr_expect(supply >= 0.77 && supply <= 0.80, "supply-chain share %.4f", supply);
  cr_expect(guarantee >= 0.20 && guarantee <= 0.23, "guarantee share %.4f", guarantee);
  cr_expect(cross_share >= 0.245 && cross_share <= 0.26, "cross-region share %.4f", cross_share);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

static int is_master_sector(int s) {
  return s == CAS_SECTOR_MANUFACTURING || s == CAS_SECTOR_TECH_STARTUP || s == CAS_SECTOR_GREEN;
}

static int is_partner_sector(int s) {
  return s == CAS_SECTOR_MANUFACTURING || s == CAS_SECTOR_WHOLESALE_RETAIL || s == CAS_SECTOR_INCLUSIVE_MICRO;
}

Test(network_builtin, chain_masters) {
  cas_portfolio *pf = builtin(CAS_PORTFOLIO_DEFAULT_LOANS, 2);
  cas_network *net = generate(pf, 2);
  size_t n = pf->n;
  int checked = 0;
  uint64_t outside = 0, outside_cross = 0;
  for (int32_t k = 0; k < pf->npark; k++) {
    size_t size = 0, eligible = 0;
    int64_t master = -1;
    for (size_t i = 0; i < n; i++) {
      if (pf->park[i] != k) continue;
      size++;
      if (!is_master_sector(pf->sector[i])) continue;
      eligible++;
      if (master < 0 || pf->ead[i] > pf->ead[master]) master = (int64_t)i;
    }
    /* Firms of the park with master-strength links to park mates. */
    size_t with_park_links = 0;
    for (size_t i = 0; i < n; i++) {
      if (pf->park[i] != k) continue;
      for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++)
        if (net->weight[p] == 0.8 && pf->park[net->target[p]] == k) {
          with_park_links++;
          break;
        }
    }
    if (size < 2 || eligible == 0) {
      cr_expect_eq(with_park_links, 0, "park %d without a chain has chain links", k);
      continue;
    }
    checked++;
    cr_expect_eq(with_park_links, 1, "park %d: %zu masters", k, with_park_links);
    size_t mst = (size_t)master;
    for (size_t i = 0; i < n; i++) {
      if (pf->park[i] != k || i == mst) continue;
      cr_expect_geq(find_link(net, mst, (uint32_t)i, CAS_LINK_SUPPLY_CHAIN, 0.8), 0, "park %d: no master link to %zu",
                    k, i);
      cr_expect_geq(find_link(net, i, (uint32_t)mst, CAS_LINK_SUPPLY_CHAIN, 0.15), 0,
                    "park %d: no link from %zu back to its master", k, i);
    }
    /* Outside partners: not of the park, of the partner sectors, linked back. */
    for (uint64_t p = net->offset[mst]; p < net->offset[mst + 1]; p++) {
      if (net->weight[p] != 0.4) continue;
      uint32_t c = net->target[p];
      cr_expect_neq(pf->park[c], k);
      cr_expect(is_partner_sector(pf->sector[c]), "partner %u of sector %d", c, pf->sector[c]);
      cr_expect_geq(find_link(net, c, (uint32_t)mst, CAS_LINK_SUPPLY_CHAIN, 0.1), 0);
      outside++;
      outside_cross += pf->region[c] != pf->region[mst];
    }
  }
  cr_expect_geq(checked, 140, "only %d parks with a chain", checked);
  /* 30% of each master's outside partners in other provinces (rounded per
   * master, repeated links removed). */
  double share = (double)outside_cross / (double)outside;
  cr_expect(share > 0.29 && share < 0.31, "cross-province share of outside partners %.4f", share);
  cr_expect(outside > 10 * 0.06 * (double)n, "only %llu outside partners", (unsigned long long)outside);
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
        bad_supply += net->amount[p] != 0.0 || !(w == 0.8 || w == 0.15 || w == 0.4 || w == 0.1 || w == 0.3);
        if (w == 0.3) { /* G60: tech start-ups of two different G60 cities */
          g60++;
          cr_expect(pf->sector[i] == CAS_SECTOR_TECH_STARTUP && pf->sector[j] == CAS_SECTOR_TECH_STARTUP);
          cr_expect(cas_cities[pf->city[i]].g60 && cas_cities[pf->city[j]].g60 && pf->city[i] != pf->city[j]);
        }
      } else {
        /* Guarantee: the guarantors of a loan share 50-100% of its EAD
         * equally; within one city; small borrowers. */
        double a = net->amount[p], ead = pf->ead[i];
        int s = pf->sector[i], g = 0;
        for (uint64_t q = net->offset[i]; q < net->offset[i + 1]; q++) g += net->type[q] == CAS_LINK_GUARANTEE;
        bad_guarantee += !(a > 0.0 && a * g >= 0.5 * ead * (1 - 1e-15) && a * g <= ead * (1 + 1e-15)) ||
                         w != 0.5 || pf->city[i] != pf->city[j] ||
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
    {CAS_SECTOR_INCLUSIVE_MICRO, 0.80}, {CAS_SECTOR_WHOLESALE_RETAIL, 0.60}, {CAS_SECTOR_HOUSEHOLD, 0.20}};
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
    double slack = (double)cas_ncities / N;
    cr_expect(fabs(got - q) <= 4 * se + slack, "sector %s: %.4f in circles, expected %.4f +- %.4f",
              cas_sector_names[circle[k].sector], got, q, 4 * se + slack);
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
  /* A CSV book with some loans outside cities and parks. */
  cas_portfolio *pf = NULL;
  cas_error err = {0};
  cr_assert_eq(cas_portfolio_load_csv(CASCADE_TEST_DATA "/good_small.csv", &pf, &err), CAS_OK, "%s", err.msg);
  net = generate(pf, 1);
  cr_expect_eq(net->nloans, 5);
  for (size_t i = 0; i < net->nloans; i++)
    for (uint64_t p = net->offset[i]; p < net->offset[i + 1]; p++) cr_expect_neq(net->target[p], i);
  cas_network_destroy(net);
  cas_portfolio_destroy(pf);
}

Test(network, destroy_null) { cas_network_destroy(NULL); }
