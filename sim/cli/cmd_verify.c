/*
 * cmd_verify.c: `cascade verify RESULT.h5`, the reproducibility check
 * (docs/BATCH.md, "Verify").
 *
 * Re-runs the scenario a result records (`scenario_resolved`, with the
 * kernel it names) into a temporary folder, then compares every dataset of
 * the two files by name, type, shape and bytes (digest.h, one SHA-256 per
 * dataset) and prints one line per difference and a verdict. Before
 * running it checks the CSV inputs the result names (portfolio_file,
 * links_file) against the SHA-256 recorded with them: a missing or changed
 * input is refused, since a re-run from it could not tell a changed input
 * from a program that no longer reproduces. A result made by another
 * cascade commit is re-run anyway, with a warning.
 *
 * The re-run reads the resolved scenario, not the original files, so the
 * result's record of those files (scenario_file, scenario_text) is carried
 * into the re-run as it stands (cas_run_options.record_*); every other
 * dataset is recomputed.
 *
 * Exit codes: 0 every dataset identical, 6 some differ, and the usual
 * codes (2 usage, 3 bad input: no such file, not a cascade result, input
 * CSV missing or changed; 4 I/O; 5 memory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "digest.h"
#include "outfile.h"
#include "output.h"
#include "watch.h"
#include "kernel.h"
#include "run.h"
#include "sha256.h"
#include "version.h"

/* Exit code when the re-run differs from the result (docs/CLI.md). */
enum { EXIT_MISMATCH = 6 };

static const char *const usage_verify =
    "usage: cascade verify RESULT.h5 [--threads N] [-q]\n"
    "\n"
    "Re-runs the scenario recorded in RESULT.h5 (scenario_resolved) into a\n"
    "temporary file and compares every dataset (name, type, shape, bytes).\n"
    "Refuses if a portfolio or links CSV the result names is missing or has\n"
    "changed (SHA-256); warns if the result was made by another cascade commit.\n"
    "\n"
    "options:\n"
    "  --threads N         OpenMP threads (results do not depend on it)\n"
    "  -q, --quiet         no progress line, no verdict when everything matches\n"
    "  -h, --help          this text\n"
    "\n"
    "exit codes: 0 reproduced, 6 some dataset differs, 2 usage error, 3 bad input\n"
    "(not a cascade result, input CSV missing or changed), 4 I/O error.\n";

/* What the result says about how it was made. */
typedef struct recorded {
  char *resolved;            /* scenario_resolved */
  char **file_paths, **file_texts;
  size_t nfiles;
  char *kernel, *commit;
  char *portfolio_file, *portfolio_sha256, *links_file, *links_sha256;
} recorded;

static void recorded_free(recorded *r) {
  free(r->resolved);
  for (size_t i = 0; i < r->nfiles; i++) {
    if (r->file_paths) free(r->file_paths[i]);
    if (r->file_texts) free(r->file_texts[i]);
  }
  free(r->file_paths);
  free(r->file_texts);
  free(r->kernel);
  free(r->commit);
  free(r->portfolio_file);
  free(r->portfolio_sha256);
  free(r->links_file);
  free(r->links_sha256);
}

static hid_t vlen_string_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

/* A scalar variable-length string attribute of the root; NULL if absent or
 * of another kind. */
static char *attr_string(hid_t f, const char *name) {
  if (H5Aexists(f, name) <= 0) return NULL;
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  if (a < 0) return NULL;
  hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
  char *out = NULL;
  if (ft >= 0 && sp >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 &&
      H5Sget_simple_extent_npoints(sp) == 1) {
    hid_t t = vlen_string_type();
    char *s = NULL;
    if (H5Aread(a, t, &s) >= 0 && s) {
      out = strdup(s);
      H5free_memory(s);
    }
    H5Tclose(t);
  }
  if (ft >= 0) H5Tclose(ft);
  if (sp >= 0) H5Sclose(sp);
  H5Aclose(a);
  return out;
}

/* A dataset of n >= 1 variable-length strings (rank 0 or 1); -1 if it is
 * missing or of another kind. */
static int dataset_strings(hid_t f, const char *name, int want_rank, char ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (H5Lexists(f, name, H5P_DEFAULT) <= 0) return -1;
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t ft = H5Dget_type(d), sp = H5Dget_space(d);
  int rc = -1;
  hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  if (ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 && rank == want_rank &&
      np >= 1 && np < 100000) {
    char **v = calloc((size_t)np, sizeof *v), **copy = calloc((size_t)np, sizeof *copy);
    hid_t t = vlen_string_type();
    if (v && copy && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
      rc = 0;
      for (hssize_t i = 0; i < np; i++)
        if (!v[i] || !(copy[i] = strdup(v[i]))) rc = -1;
      H5Dvlen_reclaim(t, sp, H5P_DEFAULT, v);
    }
    H5Tclose(t);
    free(v);
    if (rc == 0) {
      *out = copy;
      *n = (size_t)np;
    } else if (copy) {
      for (hssize_t i = 0; i < np; i++) free(copy[i]);
      free(copy);
    }
  }
  if (ft >= 0) H5Tclose(ft);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
  return rc;
}

static cas_status read_record_unwatched(const char *path, recorded *r, cas_error *err) {
  memset(r, 0, sizeof *r);
  hid_t f = cas_output_open_result(path, err);
  if (f < 0) return err->status;
  char **one = NULL;
  size_t n = 0, ntexts = 0;
  cas_status st = CAS_OK;
  if (dataset_strings(f, "scenario_resolved", 0, &one, &n) != 0) {
    st = cas_error_set(err, CAS_ERR_INPUT,
                       "%s: not a cascade result (no scenario_resolved text to re-run)", path);
  } else {
    r->resolved = one[0];
    free(one);
    if (dataset_strings(f, "scenario_file", 1, &r->file_paths, &r->nfiles) != 0 ||
        dataset_strings(f, "scenario_text", 1, &r->file_texts, &ntexts) != 0 || ntexts != r->nfiles)
      st = cas_error_set(err, CAS_ERR_INPUT,
                         "%s: not a cascade result (scenario_file and scenario_text missing or of "
                         "different lengths)", path);
    if (ntexts != r->nfiles && r->file_texts) {
      for (size_t i = 0; i < ntexts; i++) free(r->file_texts[i]);
      free(r->file_texts);
      r->file_texts = NULL;
    }
  }
  if (st == CAS_OK) {
    r->kernel = attr_string(f, "kernel");
    r->commit = attr_string(f, "cascade_commit");
    r->portfolio_file = attr_string(f, "portfolio_file");
    r->portfolio_sha256 = attr_string(f, "portfolio_sha256");
    r->links_file = attr_string(f, "links_file");
    r->links_sha256 = attr_string(f, "links_sha256");
    if (!r->kernel) st = cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade result (no kernel attribute, expected one naming the kernel that made it)", path);
  }
  cas_output_close_result(f);
  return st;
}

static cas_status read_record(const char *path, recorded *r, cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = read_record_unwatched(path, r, err);
  cas_watch_end();
  return st;
}

/* A CSV the result was made from: present, and with the recorded hash. */
static cas_status check_input(const char *result, const char *what, const char *file,
                              const char *sha, cas_error *err) {
  if (!file) return CAS_OK;
  if (access(file, F_OK) != 0)
    return cas_error_set(err, CAS_ERR_INPUT,
                         "%s was made from the %s file %s, which is missing (%s): restore it to verify",
                         result, what, file, strerror(errno));
  if (!sha || strlen(sha) != CAS_SHA256_HEX - 1)
    return cas_error_set(err, CAS_ERR_INPUT, "%s names the %s file %s but no valid SHA-256 of it",
                         result, what, file);
  char now[CAS_SHA256_HEX];
  cas_status st = cas_sha256_file(file, now, NULL, err);
  if (st != CAS_OK) return st;
  if (strcmp(now, sha))
    return cas_error_set(err, CAS_ERR_INPUT,
                         "the %s file %s has changed since %s was made (SHA-256 now %s, recorded %s): "
                         "a re-run from it would not be the same run",
                         what, file, result, now, sha);
  return CAS_OK;
}

/* Prints the differences; returns how many datasets differ. */
static size_t compare(const char *result, const cas_dataset_digest *a, size_t na,
                      const cas_dataset_digest *b, size_t nb) {
  size_t i = 0, j = 0, bad = 0;
  char sa[256], sb[256];
  while (i < na || j < nb) {
    int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].name, b[j].name);
    if (c < 0) {
      printf("%s: %s: missing in the re-run\n", result, a[i++].name);
      bad++;
    } else if (c > 0) {
      printf("%s: %s: only in the re-run (not in the result)\n", result, b[j++].name);
      bad++;
    } else {
      cas_digest_shape(&a[i], sa, sizeof sa);
      cas_digest_shape(&b[j], sb, sizeof sb);
      if (strcmp(a[i].type, b[j].type)) {
        printf("%s: %s: type differs (result %s, re-run %s)\n", result, a[i].name, a[i].type, b[j].type);
        bad++;
      } else if (strcmp(sa, sb)) {
        printf("%s: %s: shape differs (result %s, re-run %s)\n", result, a[i].name, sa, sb);
        bad++;
      } else if (strcmp(a[i].sha256, b[j].sha256)) {
        printf("%s: %s: values differ (%s %s)\n", result, a[i].name, sa, a[i].type);
        bad++;
      }
      i++;
      j++;
    }
  }
  return bad;
}

int cas_cmd_verify(int argc, char **argv) {
  const char *result = NULL;
  int quiet = 0, threads = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_verify, stdout);
      return 0;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      quiet = 1;
    } else if (!strcmp(a, "--threads")) {
      uint64_t t;
      if (cas_cli_parse_count(v, 1, &t) || t > CAS_THREADS_MAX)
        return cas_cli_usage_error("verify", "--threads: got '%s', expected an integer from 1 to %d", v ? v : "", CAS_THREADS_MAX);
      threads = (int)t;
      i++;
    } else if (a[0] == '-' && a[1] != '\0') {
      return cas_cli_usage_error("verify", "unknown option '%s'", a);
    } else if (!result) {
      result = a;
    } else {
      return cas_cli_usage_error("verify", "unexpected argument '%s' (one result file at a time)", a);
    }
  }
  if (!result) return cas_cli_usage_error("verify", "%s", "missing RESULT.h5 file");

  recorded rec;
  cas_error err = {0};
  /* a result as compare and report take it (output.h): a file whose
   * figures are not finite or whose losses are damaged is not one */
  cas_output_headline head;
  cas_status st = cas_output_read_headline(result, &head, &err);
  if (st != CAS_OK) return cas_cli_report_error(&err);
  st = read_record(result, &rec, &err);
  if (st == CAS_OK && !cas_kernel_lookup(rec.kernel))
    st = cas_error_set(&err, CAS_ERR_INPUT, "%s was made with the kernel '%s', which this cascade does not have",
                       result, rec.kernel);
  if (st == CAS_OK && rec.portfolio_file)
    st = check_input(result, "portfolio", rec.portfolio_file, rec.portfolio_sha256, &err);
  if (st == CAS_OK && rec.links_file)
    st = check_input(result, "links", rec.links_file, rec.links_sha256, &err);
  if (st != CAS_OK) {
    recorded_free(&rec);
    return cas_cli_report_error(&err);
  }
  if (!rec.commit || strcmp(rec.commit, CASCADE_GIT_COMMIT))
    fprintf(stderr, "cascade verify: warning: %s was made by cascade commit %s, this is %s: "
                    "a difference may come from a change of the program\n",
            result, rec.commit ? rec.commit : "(unrecorded)", CASCADE_GIT_COMMIT);

  /* The re-run goes to a private temporary folder, removed afterwards:
   * cascade-verify.HOST.PID.XXXXXX, so that the folders of re-runs killed
   * with SIGKILL can be told from the others and removed now. */
  const char *tmpdir = getenv("TMPDIR");
  char dir[4096], out[4200], name[4200], host[40];
  tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
  cas_outfile_host_tag(host);
  cas_outfile_remove_stale_folders(tmpdir, "cascade-verify");
  snprintf(dir, sizeof dir, "%s/cascade-verify.%s.%ld.XXXXXX", tmpdir, host, (long)getpid());
  /* a signal removes the folder (registered before it is made) and the
   * re-run (outfile.h) */
  int dir_slot;
  if (cas_outfile_create_unique(dir, 1, &dir_slot) < 0) {
    cas_error_set(&err, CAS_ERR_IO, "cannot create a temporary folder %s: %s", dir, strerror(errno));
    recorded_free(&rec);
    return cas_cli_report_error(&err);
  }
  snprintf(out, sizeof out, "%s/rerun.h5", dir);
  int out_slot = cas_outfile_remove_on_signal(out, 0);
  snprintf(name, sizeof name, "%s[scenario_resolved]", result);
  char cmdline[4096];
  cas_cli_join_argv(argc + 1, argv - 1, cmdline, sizeof cmdline);
  cas_run_options opt = {
    .scenario_path = name,
    .scenario_text = rec.resolved,
    .output_path = out,
    .threads = threads,
    .kernel = rec.kernel,
    .command_line = cmdline,
    .record_nfiles = rec.nfiles,
    .record_paths = rec.file_paths,
    .record_texts = rec.file_texts,
  };
  cas_cli_progress ps = {"verify", cas_cli_wall(), 0};
  if (!quiet && isatty(STDERR_FILENO)) {
    opt.progress = cas_cli_show_progress;
    opt.progress_ctx = &ps;
  }
  cas_run_report rep;
  st = cas_run(&opt, &rep, &err);
  if (ps.shown) fputs("\r\033[K", stderr);

  cas_dataset_digest *la = NULL, *lb = NULL;
  size_t na = 0, nb = 0;
  char ha[CAS_SHA256_HEX], hb[CAS_SHA256_HEX];
  if (st == CAS_OK) st = cas_digest_file(result, ha, &la, &na, &err);
  if (st == CAS_OK) st = cas_digest_file(out, hb, &lb, &nb, &err);
  unlink(out);
  rmdir(dir);
  cas_outfile_forget(out_slot);
  cas_outfile_forget(dir_slot);
  recorded_free(&rec);
  if (st != CAS_OK) {
    cas_digest_list_free(la, na);
    cas_digest_list_free(lb, nb);
    return cas_cli_report_error(&err);
  }
  size_t bad = compare(result, la, na, lb, nb);
  if (bad) {
    printf("%s: NOT reproduced: %zu of %zu datasets differ\n", result, bad, na > nb ? na : nb);
  } else if (!quiet) {
    printf("%s: reproduced: all %zu datasets identical (digest %s)\n", result, na, ha);
  }
  cas_digest_list_free(la, na);
  cas_digest_list_free(lb, nb);
  return bad ? EXIT_MISMATCH : 0;
}
