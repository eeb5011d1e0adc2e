/*
 * fuzz_result.c: fuzz target for the readers of result files (HDF5), as
 * the three commands that take a result use them:
 *
 * - `cascade compare`: cas_output_read_headline, then (the file against
 *   itself: same seed, book and paths) cas_output_read_paths with the
 *   headline's path count and cas_paired_difference at 99.9%, as
 *   compare_pair in main.c does;
 * - `cascade verify`: read_record of cmd_verify.c (the recorded scenario,
 *   files, kernel and inputs; included below, since it is static), the
 *   kernel lookup, and cas_digest_file (digest.h) as the comparison of
 *   datasets uses it;
 * - `cascade report`: cas_report_write with the file as the baseline
 *   (h5scan.h: cas_h5_open, cas_h5_read_rows, _numbers, _strings; every
 *   section of the page). A scenario beside it would read the same file
 *   with the same functions (the headline and paths as compare does) and
 *   double the time of the slowest step: a valid result takes 0.5 to 1 s
 *   here, most of it the page.
 *
 * The input is written to result.h5 in a folder of the process in memory
 * (/dev/shm/cascade-fuzz-result.PID, else under TMPDIR), and the page
 * beside it; the folder is removed at exit, or by the next run once its
 * process is gone.
 *
 * The re-run of `verify` (cas_run on the recorded scenario text) is not
 * done: the scenario reader has its own target (fuzz_scenario).
 *
 * Every input first goes through the seal check (seal.h); an input that
 * starts with a seal is then resealed, so that the readers behind the seal
 * see what the fuzzer made of the rest (a crafted file); an input that
 * starts with HDF5's signature is read as a file from before the seal.
 *
 * Checks, for any file content:
 * - no crash, hang, leak or sanitizer report;
 * - every reader returns CAS_OK or CAS_ERR_INPUT (out of memory tolerated)
 *   with a message that names the file;
 * - no HDF5 object or file is left open afterwards: the input is always the
 *   same in-memory file, and HDF5 would hand the next input the previous
 *   one's cached metadata;
 * - a headline read has 1 to CAS_MAX_LEVELS levels and 1 to CAS_MAX_YEARS
 *   years, terminated strings; per-path losses read are finite;
 * - the digest is 64 hexadecimal digits; the list of datasets is sorted by
 *   name without repeats, every entry with its own 64-digit SHA-256 and a
 *   rank from -1 to CAS_DIGEST_RANK_MAX;
 * - a report written is a complete HTML page.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <math.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#include "digest.h"
#include "output.h"
#include "report.h"
#include "seal.h"
#include "stats.h"

/* `cascade verify`'s reader of a result (static read_record) and the CLI
 * helpers it links against. */
#undef _GNU_SOURCE
#include "../../sim/cli/cli.c"
#include "../../sim/cli/cmd_verify.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* New memory zeroed instead of AddressSanitizer's 0xbe filling (first MiB
 * of each allocation). HDF5 1.10.8 frees the entries of a group's link
 * table that it never filled when the table cannot be read whole
 * (H5Lvisit -> H5G__dense_iterate -> H5G__link_release_table ->
 * H5O_msg_reset -> free): under the 0xbe filling these are wild pointers
 * and every such file stopped the run (one input in 50), with zeros they
 * are NULL and the free does nothing. A library fault, recorded in
 * docs/FUZZING.md. Neither filling makes the sanitizers report a read of
 * uninitialized memory (they do not check for that); it only changes what
 * such a read sees, in HDF5 or in our code.
 * And an allocation too large for the sanitizer (1 TiB and more: HDF5
 * takes sizes from the file) returns NULL as malloc does without it,
 * instead of stopping the run; from 2 GiB on the fuzzer still reports it
 * (-rss_limit_mb). */
const char *__asan_default_options(void) {
  return "malloc_fill_byte=0:max_malloc_fill_size=1048576:allocator_may_return_null=1";
}

static char work_dir[4096], input_path[4200], report_path[4200];

static void remove_dir(const char *dir) {
  char p[4200];
  snprintf(p, sizeof p, "%s/result.h5", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/report.html", dir);
  unlink(p);
  rmdir(dir);
}

static void remove_work_dir(void) {
  if (work_dir[0]) remove_dir(work_dir);
}

/* The folders of runs that ended without exit (a report stops the
 * process; under -fork, one process per report): removed when their
 * process is gone, as the files are in memory. */
static void remove_stale_dirs(const char *base) {
  DIR *d = opendir(base);
  if (!d) return;
  static const char prefix[] = "cascade-fuzz-result.";
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, sizeof prefix - 1)) continue;
    char *end;
    long pid = strtol(e->d_name + sizeof prefix - 1, &end, 10);
    if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
    remove_dir(dir);
  }
  closedir(d);
}

/* HDF5 resolves the name of the file it opens (realpath), which an
 * in-memory file (fuzz_common.h) does not have: the input is written to a
 * file of the private folder instead. */
static const char *input_file(const uint8_t *data, size_t size) {
  int fd = open(input_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0, "cannot write %s", input_path);
  size_t done = 0;
  while (done < size) {
    ssize_t k = write(fd, data + done, size - done);
    FUZZ_CHECK(k > 0, "cannot write %s", input_path);
    done += (size_t)k;
  }
  close(fd);
  return input_path;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  cas_output_init(); /* as the command line's main does */
  struct stat st;
  const char *tmp = getenv("TMPDIR");
  const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
                         ? "/dev/shm"
                         : (tmp && *tmp ? tmp : "/tmp");
  remove_stale_dirs(base);
  snprintf(work_dir, sizeof work_dir, "%s/cascade-fuzz-result.%ld", base, (long)getpid());
  if (mkdir(work_dir, 0700) != 0) {
    perror(work_dir);
    abort();
  }
  snprintf(input_path, sizeof input_path, "%s/result.h5", work_dir);
  snprintf(report_path, sizeof report_path, "%s/report.html", work_dir);
  atexit(remove_work_dir);
  return 0;
}

static int is_hex64(const char *s) {
  size_t n = strlen(s);
  if (n != CAS_SHA256_HEX - 1) return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
  return 1;
}

static int terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

/* `cascade compare` on the file beside itself. */
static void fuzz_compare(const char *path) {
  cas_output_headline h;
  cas_error err = {0};
  cas_status st = cas_output_read_headline(path, &h, &err);
  if (st != CAS_OK) {
    fuzz_check_error(st, &err, path);
    return;
  }
  FUZZ_CHECK(h.nlevels >= 1 && h.nlevels <= CAS_MAX_LEVELS, "nlevels %d", h.nlevels);
  FUZZ_CHECK(h.years >= 1 && h.years <= CAS_MAX_YEARS, "years %d", h.years);
  FUZZ_CHECK(terminated(h.scenario, sizeof h.scenario) && terminated(h.portfolio, sizeof h.portfolio) &&
                 terminated(h.importance, sizeof h.importance),
             "unterminated string in the headline");
  cas_summary sum;
  cas_output_headline_summary(&h, &sum);
  FUZZ_CHECK(cas_output_same_random_numbers(&h, &h), "a result does not share its own random numbers");
  int l999 = cas_output_headline_level(&h, 0.999);
  if (l999 < 0 || h.paths < 2) return;
  double *loss = NULL, *weight = NULL;
  st = cas_output_read_paths(path, h.paths, &loss, &weight, &err);
  if (st != CAS_OK) {
    FUZZ_CHECK(!loss && !weight, "arrays returned with an error");
    fuzz_check_error(st, &err, path);
    return;
  }
  FUZZ_CHECK(loss != NULL, "no losses returned");
  for (uint64_t i = 0; i < h.paths; i++)
    FUZZ_CHECK(isfinite(loss[i]) && (!weight || isfinite(weight[i])), "path %llu not finite",
               (unsigned long long)i);
  static const double level = 0.999;
  cas_difference d;
  st = cas_paired_difference(h.paths, loss, weight, loss, weight, &level, 1, &d, &err);
  FUZZ_CHECK(st == CAS_OK || st == CAS_ERR_INPUT || st == CAS_ERR_NOMEM, "paired difference: status %d: %s",
             (int)st, err.msg);
  free(loss);
  free(weight);
}

/* `cascade verify`: the record of how the result was made, then the
 * digest of its datasets. */
static void fuzz_verify(const char *path) {
  recorded rec;
  cas_error err = {0};
  cas_status st = read_record(path, &rec, &err);
  if (st == CAS_OK) {
    FUZZ_CHECK(rec.resolved && rec.kernel, "record incomplete");
    for (size_t i = 0; i < rec.nfiles; i++)
      FUZZ_CHECK(rec.file_paths[i] && rec.file_texts[i], "recorded file %zu incomplete", i);
    (void)cas_kernel_lookup(rec.kernel);
  } else {
    fuzz_check_error(st, &err, path);
  }
  recorded_free(&rec);

  char hex[CAS_SHA256_HEX];
  cas_dataset_digest *list = NULL;
  size_t n = 0;
  memset(&err, 0, sizeof err);
  st = cas_digest_file(path, hex, &list, &n, &err);
  if (st != CAS_OK) {
    FUZZ_CHECK(!list && n == 0, "list returned with an error");
    fuzz_check_error(st, &err, path);
    return;
  }
  FUZZ_CHECK(is_hex64(hex), "digest '%s'", hex);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(list[i].name && list[i].name[0] == '/', "dataset %zu: name", i);
    FUZZ_CHECK(i == 0 || strcmp(list[i - 1].name, list[i].name) < 0, "datasets %zu, %zu not in order: %s, %s",
               i - 1, i, list[i - 1].name, list[i].name);
    FUZZ_CHECK(is_hex64(list[i].sha256), "dataset %s: sha256 '%s'", list[i].name, list[i].sha256);
    FUZZ_CHECK(list[i].rank >= -1 && list[i].rank <= CAS_DIGEST_RANK_MAX, "dataset %s: rank %d",
               list[i].name, list[i].rank);
    FUZZ_CHECK(terminated(list[i].type, sizeof list[i].type), "dataset %s: type", list[i].name);
    char shape[256];
    cas_digest_shape(&list[i], shape, sizeof shape);
  }
  cas_digest_list_free(list, n);
}

/* `cascade report RESULT -o PAGE`. */
static void fuzz_report(const char *path) {
  const char *inputs[1] = {path};
  cas_report_options opt = {inputs, 1, report_path, "cascade report result.h5 -o report.html"};
  cas_error err = {0};
  unlink(report_path);
  cas_status st = cas_report_write(&opt, &err);
  if (st != CAS_OK) {
    fuzz_check_error(st, &err, path);
    FUZZ_CHECK(access(report_path, F_OK) != 0, "a page written despite an error");
    return;
  }
  FILE *f = fopen(report_path, "rb");
  FUZZ_CHECK(f != NULL, "no page written");
  char tail[64] = {0};
  FUZZ_CHECK(fseek(f, -15, SEEK_END) == 0 && fread(tail, 1, 15, f) == 15, "page too short");
  fclose(f);
  FUZZ_CHECK(!strcmp(tail, "</body></html>\n"), "page incomplete: ends '%s'", tail);
}

/* Nothing of the file may stay open in HDF5 (see the top). */
static void check_closed(const char *after) {
  hid_t ids[8];
  ssize_t open_now = H5Fget_obj_ids((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL, 8, ids);
  for (ssize_t i = 0; i < open_now && i < 8; i++) { /* what is left, for the report below */
    char name[256] = "";
    H5Iget_name(ids[i], name, sizeof name);
    fprintf(stderr, "open after %s: id type %d, name '%s', references %d\n", after,
            (int)H5Iget_type(ids[i]), name, H5Iget_ref(ids[i]));
  }
  ssize_t objects = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_DATASET | H5F_OBJ_GROUP |
                                                             H5F_OBJ_DATATYPE | H5F_OBJ_ATTR);
  ssize_t files = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_FILE);
  FUZZ_CHECK(objects == 0 && files == 0, "HDF5 identifiers left open after %s: %zd objects, %zd files", after,
             objects, files);
}

/* The seal (seal.h) before the readers: any input gets CAS_OK or
 * CAS_ERR_INPUT naming the file. A mutated sealed file almost never
 * matches its seal, so an input that starts with a seal is resealed, as
 * someone crafting a file could: the readers behind the seal are what the
 * rest of the target is about. */
static void fuzz_seal(const char *path, const uint8_t *data, size_t size) {
  cas_seal_state state;
  cas_error err = {0};
  cas_status st = cas_seal_check(path, &state, &err);
  if (st != CAS_OK) fuzz_check_error(st, &err, path);
  else FUZZ_CHECK(state == CAS_SEAL_INTACT || (size >= 8 && !memcmp(data, "\x89HDF\r\n\x1a\n", 8)),
                  "accepted without a seal or HDF5's signature");
  static const char magic[] = "cascade-result-seal 1\n";
  if (size < CAS_SEAL_BYTES || memcmp(data, magic, sizeof magic - 1) != 0) return;
  st = cas_seal_write(path, path, &err);
  FUZZ_CHECK(st == CAS_OK, "cannot reseal: %s", err.msg);
  st = cas_seal_check(path, &state, &err);
  FUZZ_CHECK(st == CAS_OK && state == CAS_SEAL_INTACT, "a resealed file is refused: %s", err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = input_file(data, size);
  fuzz_seal(path, data, size);
  fuzz_compare(path);
  check_closed("compare");
  fuzz_verify(path);
  check_closed("verify");
  fuzz_report(path);
  check_closed("report");
  return 0;
}
