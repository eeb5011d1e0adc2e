/*
 * test_manifest.c: the batch manifest (manifest.h) survives a write and a
 * read unchanged, including seeds up to 2^64 - 1, quotes, backslashes,
 * control characters and non-UTF-8 bytes in paths, every byte value and
 * the private-use characters that stand for bytes, and doubles to the last
 * bit; a malformed manifest is bad input with line and column; the
 * comparisons used to decide reuse see every field.
 */
#include <criterion/criterion.h>
#include <dirent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"

static char *tmpdir_path(const char *name) {
  static char dir[64];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/test_manifest_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
  }
  char *p = malloc(strlen(dir) + strlen(name) + 2);
  cr_assert_not_null(p);
  sprintf(p, "%s/%s", dir, name);
  return p;
}

Test(manifest, round_trip) {
  cas_manifest_input in[2] = {
    {"scenario", "dir with \"quotes\"/s\\x.yaml", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"portfolio", "caf\xc3\xa9/\xff\x01odd.csv", "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"},
  };
  cas_manifest_entry e[2] = {{0}};
  e[0].name = "s";
  e[0].scenario = "dir/s.yaml";
  e[0].output = "out/s.h5";
  e[0].status = "ok";
  e[0].start_utc = "2024-01-01T00:00:00Z";
  e[0].end_utc = "2024-01-01T00:00:05Z";
  e[0].cascade_commit = "abc123";
  e[0].elapsed_seconds = 5.25;
  strcpy(e[0].digest, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  e[0].overrides = (cas_manifest_overrides){2000, UINT64_MAX, 0, 1, 1, 0, "sparse"};
  e[0].inputs = in;
  e[0].ninputs = 2;
  e[1].name = "t";
  e[1].scenario = "t.yaml";
  e[1].output = "out/t.h5";
  e[1].status = "failed";
  e[1].error = "bad input: t.yaml:3:7: unknown key 'x'\n\tsecond line";
  e[1].overrides = (cas_manifest_overrides){0, 0, 0, 0, 0, 0, "dense"};
  cas_manifest m = {"0.1.0", "abc123", "cascade batch x", 2, 4, e[0].overrides,
                    "2024-01-01T00:00:00Z", "2024-01-01T00:00:06Z", e, 2};
  char *path = tmpdir_path("m.json");
  cas_error err = {0};
  cr_assert_eq(cas_manifest_write(path, &m, &err), CAS_OK, "%s", err.msg);
  cas_manifest_entry *r = NULL;
  size_t n = 0;
  cr_assert_eq(cas_manifest_read(path, &r, &n, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(r[0].name, "s");
  cr_assert_str_eq(r[0].status, "ok");
  cr_assert_str_eq(r[0].digest, e[0].digest);
  cr_assert_eq(r[0].overrides.seed, UINT64_MAX);
  cr_assert(cas_manifest_same_overrides(&r[0].overrides, &e[0].overrides));
  cr_assert(cas_manifest_same_inputs(&r[0], &e[0]));
  cr_assert_str_eq(r[0].inputs[1].path, in[1].path);
  cr_assert_float_eq(r[0].elapsed_seconds, 5.25, 1e-9);
  cr_assert_null(r[0].error);
  cr_assert_str_eq(r[1].error, e[1].error);
  cr_assert_null(r[1].start_utc);
  cr_assert_eq(r[1].digest[0], '\0');
  cr_assert(!cas_manifest_same_overrides(&r[0].overrides, &r[1].overrides));
  cr_assert(!cas_manifest_same_inputs(&r[0], &r[1]));

  /* Each field the reuse decision reads makes a difference. */
  cas_manifest_overrides o = e[0].overrides;
  o.paths = 2001;
  cr_assert(!cas_manifest_same_overrides(&o, &e[0].overrides));
  o = e[0].overrides;
  strcpy(o.kernel, "dense");
  cr_assert(!cas_manifest_same_overrides(&o, &e[0].overrides));
  r[0].inputs[0].sha256[5] = 'f';
  cr_assert(!cas_manifest_same_inputs(&r[0], &e[0]));

  cas_manifest_entry copy;
  cr_assert_eq(cas_manifest_entry_copy(&copy, &r[1], &err), CAS_OK);
  cr_assert_str_eq(copy.error, r[1].error);
  cas_manifest_entry_clear(&copy);
  cas_manifest_entries_free(r, n);
  /* No temporary file is left next to it (outfile.h: PATH.tmp.*). */
  char *dir = strdup(path);
  cr_assert_not_null(dir);
  *strrchr(dir, '/') = '\0';
  const char *base = strrchr(path, '/') + 1;
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  for (struct dirent *de; (de = readdir(d)) != NULL;)
    cr_assert(strncmp(de->d_name, base, strlen(base)) != 0 || strcmp(de->d_name, base) == 0,
              "left next to the manifest: %s", de->d_name);
  closedir(d);
  free(dir);
  free(path);
}

Test(manifest, malformed_is_bad_input_with_position) {
  char *path = tmpdir_path("bad.json");
  FILE *f = fopen(path, "w");
  /* line 3, column 18: the second comma, where a key should be */
  fputs("{\n  \"scenarios\": [\n    {\"name\": \"x\",, }\n  ]\n}\n", f);
  fclose(f);
  cas_manifest_entry *r = NULL;
  size_t n = 0;
  cas_error err = {0};
  cr_assert_eq(cas_manifest_read(path, &r, &n, &err), CAS_ERR_INPUT);
  char want[300];
  snprintf(want, sizeof want, "%s:3:18: malformed manifest", path);
  cr_assert(strstr(err.msg, want) != NULL, "got: %s", err.msg);

  f = fopen(path, "w");
  for (int i = 0; i < 1000; i++) fputc('[', f);
  fclose(f);
  cr_assert_eq(cas_manifest_read(path, &r, &n, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "nested too deeply") != NULL, "%s", err.msg);

  f = fopen(path, "w");
  fputs("{\"scenarios\": [{\"name\": \"x\"}]}", f);
  fclose(f);
  cr_assert_eq(cas_manifest_read(path, &r, &n, &err), CAS_ERR_INPUT);
  cr_assert(strstr(err.msg, "entry 1") != NULL, "%s", err.msg);
  free(path);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  static char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  return text;
}

Test(manifest, every_byte_and_every_bit_read_back) {
  /* Every byte value 1..255 (most of them not UTF-8 where they stand), then
   * valid UTF-8: a 4-byte character and the first and last of U+EF80..U+EFFF,
   * the characters that stand for stray bytes in the file; then an overlong
   * '/' and an encoded surrogate, which are not UTF-8 either. */
  char path[255 + 64];
  size_t k = 0;
  for (int b = 1; b < 256; b++) path[k++] = (char)b;
  const char tail[] = "\xf0\x9f\x98\x80\xee\xbe\x80\xee\xbf\xbf\xc0\xaf\xed\xa0\x80";
  memcpy(path + k, tail, sizeof tail);
  cas_manifest_input in = {"links", path, ""};
  cas_manifest_entry e = {0};
  e.name = path;
  e.status = "pending";
  e.elapsed_seconds = 0.1 + 0.2; /* 0.30000000000000004 */
  e.inputs = &in;
  e.ninputs = 1;
  e.overrides = (cas_manifest_overrides){(uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1, 1, 1, 1, 1, "dense"};
  cas_manifest m = {"0.1.0", path, path, 0, 0, e.overrides, NULL, NULL, &e, 1};
  char *file = tmpdir_path("bytes.json");
  cas_error err = {0};
  cr_assert_eq(cas_manifest_write(file, &m, &err), CAS_OK, "%s", err.msg);
  /* Counts are JSON integers while they fit a signed 64-bit integer, else
   * strings of their digits. */
  const char *text = slurp(file);
  cr_assert(strstr(text, "\"paths\": 9223372036854775807,") != NULL, "%s", text);
  cr_assert(strstr(text, "\"seed\": \"9223372036854775808\",") != NULL, "%s", text);
  cr_assert(strstr(text, "\"sha256\": null") != NULL, "%s", text);

  cas_manifest_entry *r = NULL;
  size_t n = 0;
  cr_assert_eq(cas_manifest_read(file, &r, &n, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(r[0].name, path);
  cr_assert_str_eq(r[0].inputs[0].path, path);
  cr_assert_eq(r[0].inputs[0].sha256[0], '\0');
  cr_assert(r[0].elapsed_seconds == 0.1 + 0.2, "%.17g", r[0].elapsed_seconds);
  cr_assert(cas_manifest_same_overrides(&r[0].overrides, &e.overrides));
  cr_assert(cas_manifest_same_inputs(&r[0], &e));
  cas_manifest_entries_free(r, n);

  /* A seed written as a string reads back; other strings are not counts. */
  FILE *f = fopen(file, "w");
  fputs("{\"scenarios\": [{\"name\": \"x\", \"status\": \"ok\", \"inputs\": [],\n"
        "  \"overrides\": {\"seed\": \"18446744073709551615\", \"paths\": 7, \"kernel\": \"sparse\"}}]}\n", f);
  fclose(f);
  cr_assert_eq(cas_manifest_read(file, &r, &n, &err), CAS_OK, "%s", err.msg);
  cr_assert_eq(r[0].overrides.seed, UINT64_MAX);
  cr_assert(r[0].overrides.seed_given && r[0].overrides.paths_given && !r[0].overrides.loans_given);
  cr_assert_eq(r[0].overrides.paths, 7);
  cas_manifest_entries_free(r, n);
  const char *bad[] = {"\"18446744073709551616\"", "\"-1\"", "\" 1\"", "\"1x\"", "-1", "1.5", "true"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    f = fopen(file, "w");
    fprintf(f, "{\"scenarios\": [{\"name\": \"x\", \"status\": \"ok\", \"inputs\": [],"
               " \"overrides\": {\"seed\": %s, \"kernel\": \"sparse\"}}]}", bad[i]);
    fclose(f);
    cr_assert_eq(cas_manifest_read(file, &r, &n, &err), CAS_ERR_INPUT, "seed %s", bad[i]);
    cr_assert(strstr(err.msg, "entry 1") != NULL, "%s", err.msg);
  }
  free(file);
}
