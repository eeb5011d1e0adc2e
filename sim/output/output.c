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
#include <fcntl.h>
#include <float.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <omp.h>

#include "outfile.h"
#include "seal.h"
#include "watch.h"


typedef struct writer {
  hid_t file;
  hid_t str_type;   /* variable-length UTF-8 string */
  int failed;
  int errnum;       /* errno when it failed (HDF5 leaves the system's: ENOSPC, EFBIG, EIO) */
  char what[160];   /* first thing that failed */
} writer;

static void fail(writer *w, const char *what) {
  if (!w->failed) {
    w->errnum = errno;
    snprintf(w->what, sizeof w->what, "%s", what);
  }
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

enum { DEFLATE_LEVEL = 4 };

/* The chunks of a compressed variable (whole rows of `rows` rows, the
 * last one padded with zeros as HDF5 pads a chunk past the dataset's
 * extent), filtered as HDF5's pipeline would, shuffle then deflate, on the
 * run's OpenMP threads, and handed to HDF5 ready-made (H5Dwrite_chunk) in
 * order, a batch at a time so that memory stays a few chunks a thread.
 * HDF5's own pipeline compresses one chunk after the other on the calling
 * thread: the file's last phase on runs with many paths (docs/CLUSTER.md).
 * The filters are the published ones: HDF5's shuffle (byte j of element i
 * to j x count + i) and its deflate filter (zlib's compress2 at the
 * dataset's level), so a reader sees the same values through the filters
 * the dataset declares. Returns 0 on failure (out of memory, zlib, HDF5). */
static int write_chunks(hid_t d, int rank, const hsize_t *shape, const hsize_t *chunk,
                        size_t size, const void *data) {
  size_t row = 1;
  for (int k = 1; k < rank; k++) row *= (size_t)shape[k];
  size_t rows = (size_t)chunk[0], count = rows * row, bytes = count * size;
  size_t nchunks = ((size_t)shape[0] + rows - 1) / rows;
  int threads = omp_get_max_threads();
  size_t batch = 4 * (size_t)(threads > 0 ? threads : 1);
  if (batch > nchunks) batch = nchunks;
  uLong bound = compressBound((uLong)bytes);
  unsigned char *out = malloc(batch * (size_t)bound);
  unsigned char *plain = malloc((size_t)(threads > 0 ? threads : 1) * bytes);
  uLongf *len = malloc(batch * sizeof *len);
  int ok = out && plain && len;
  for (size_t c0 = 0; ok && c0 < nchunks; c0 += batch) {
    size_t nb = nchunks - c0 < batch ? nchunks - c0 : batch;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed)
    for (size_t i = 0; i < nb; i++) {
      size_t r0 = (c0 + i) * rows, r1 = r0 + rows;
      if (r1 > (size_t)shape[0]) r1 = (size_t)shape[0];
      size_t have = (r1 - r0) * row;   /* elements in the dataset; the rest are 0 */
      const unsigned char *src = (const unsigned char *)data + r0 * row * size;
      unsigned char *dst = plain + (size_t)omp_get_thread_num() * bytes;
      for (size_t j = 0; j < size; j++) {
        unsigned char *to = dst + j * count;
        for (size_t e = 0; e < have; e++) to[e] = src[e * size + j];
        memset(to + have, 0, count - have);
      }
      len[i] = bound;
      failed |= compress2(out + i * (size_t)bound, &len[i], dst, (uLong)bytes, DEFLATE_LEVEL) !=
                Z_OK;
    }
    if (failed) ok = 0;
    for (size_t i = 0; ok && i < nb; i++) {
      hsize_t offset[CAS_DATASET_MAX_RANK] = {0};
      offset[0] = (hsize_t)((c0 + i) * rows);
      if (H5Dwrite_chunk(d, H5P_DEFAULT, 0, offset, (size_t)len[i], out + i * (size_t)bound) < 0)
        ok = 0;
    }
  }
  free(out);
  free(plain);
  free(len);
  return ok;
}

/* A data variable over rank dimensions (rank 0: a scalar). Per-path
 * variables (first dimension "path") are chunked and compressed, their
 * chunks in parallel (write_chunks) where the values are stored as they
 * are in memory (little-endian numbers on a little-endian machine). */
static void variable(writer *w, const char *name, hid_t mem_type, hid_t file_type, int rank,
                     const hid_t *dims, const hsize_t *shape, const void *data,
                     const char *units, const char *long_name, int compress) {
  if (w->failed) return;
  hid_t space = rank ? H5Screate_simple(rank, shape, NULL) : H5Screate(H5S_SCALAR);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hsize_t chunk[CAS_DATASET_MAX_RANK];
  int direct = 0;   /* chunks filtered here (write_chunks), not by HDF5 */
  if (compress && shape[0] > 0) {
    hsize_t row = 1;   /* whole rows, about 64 Ki values a chunk */
    for (int k = 0; k < rank; k++) {
      chunk[k] = shape[k] ? shape[k] : 1;
      if (k > 0) row *= chunk[k];
    }
    hsize_t rows = 65536 / row;
    if (rows < 1) rows = 1;
    if (chunk[0] > rows) chunk[0] = rows;
    H5Pset_chunk(dcpl, rank, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, DEFLATE_LEVEL);
    direct = H5Tequal(mem_type, file_type) > 0 && H5Tget_class(file_type) != H5T_STRING &&
             row > 0;
    for (int k = 1; k < rank; k++) direct = direct && shape[k] > 0;
  }
  hid_t d = H5Dcreate2(w->file, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(space);
  int written = d >= 0 && (direct ? write_chunks(d, rank, shape, chunk, H5Tget_size(file_type), data)
                                  : H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  if (!written) {
    fail(w, name);
    if (d >= 0) H5Dclose(d);
    return;
  }
  for (int k = 0; k < rank; k++)
    if (H5DSattach_scale(d, dims[k], (unsigned)k) < 0) fail(w, name);
  describe(w, d, units, long_name);
  if (H5Dclose(d) < 0) fail(w, name);   /* the chunks' last flush */
}

static hid_t mem_type(const writer *w, cas_dtype t) {
  switch (t) {
  case CAS_DT_F64: return H5T_NATIVE_DOUBLE;
  case CAS_DT_I64: return H5T_NATIVE_INT64;
  case CAS_DT_I32: return H5T_NATIVE_INT32;
  case CAS_DT_U8: return H5T_NATIVE_UINT8;
  case CAS_DT_U64: return H5T_NATIVE_UINT64;
  case CAS_DT_U32: return H5T_NATIVE_UINT32;
  case CAS_DT_STR: return w->str_type;
  }
  return -1;
}

/* Little-endian IEEE and two's complement in the file, whatever the machine. */
static hid_t file_type(const writer *w, cas_dtype t) {
  switch (t) {
  case CAS_DT_F64: return H5T_IEEE_F64LE;
  case CAS_DT_I64: return H5T_STD_I64LE;
  case CAS_DT_I32: return H5T_STD_I32LE;
  case CAS_DT_U8: return H5T_STD_U8LE;
  case CAS_DT_U64: return H5T_STD_U64LE;
  case CAS_DT_U32: return H5T_STD_U32LE;
  case CAS_DT_STR: return w->str_type;
  }
  return -1;
}

/* Writes what the list describes: the root attributes, the dimensions,
 * then every dataset with its dimension scales attached by name. */
static void write_list(writer *w, const cas_dataset_list *l) {
  hid_t root = w->file;
  for (size_t k = 0; k < l->nattrs && !w->failed; k++) {
    const cas_attribute *a = &l->attr[k];
    if (a->type == CAS_DT_STR) attr_string(w, root, a->name, a->value);
    else attr_scalar(w, root, a->name, mem_type(w, a->type), a->value);
  }
  hid_t *dims = calloc(l->ndims ? l->ndims : 1, sizeof *dims);
  if (!dims) {
    fail(w, "memory for the dimensions");
    return;
  }
  for (size_t k = 0; k < l->ndims; k++) {
    const cas_dimension *d = &l->dim[k];
    hsize_t n = d->n;
    dims[k] = d->type == CAS_DT_STR
                  ? dim_labels(w, d->name, d->values, n, d->long_name)
                  : dim_values(w, d->name, mem_type(w, d->type), file_type(w, d->type), d->values, n,
                               d->units, d->long_name);
  }
  for (size_t k = 0; k < l->nsets && !w->failed; k++) {
    const cas_dataset *v = &l->set[k];
    hid_t ids[CAS_DATASET_MAX_RANK];
    hsize_t shape[CAS_DATASET_MAX_RANK];
    for (int r = 0; r < v->rank; r++) {
      const cas_dimension *d = cas_datasets_find_dimension(l, v->dims[r]);
      if (!d) {
        fail(w, v->name);   /* a dataset over an undeclared dimension */
        break;
      }
      ids[r] = dims[d - l->dim];
      shape[r] = d->n;
    }
    if (w->failed) break;
    variable(w, v->name, mem_type(w, v->type), file_type(w, v->type), v->rank, ids, shape, v->data,
             v->units, v->long_name, v->per_path);
  }
  for (size_t k = 0; k < l->ndims; k++)
    if (dims[k] >= 0) H5Dclose(dims[k]);
  free(dims);
}

void cas_output_init(void) {
  /* Nothing at exit: a file whose close failed (a full disk) stays in
   * HDF5's tables, and closing it again at exit crashes HDF5 1.10; every
   * file cascade writes is closed (or abandoned) before it returns. */
  H5dont_atexit();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

cas_status cas_output_probe(const char *path, cas_error *err) {
  return cas_outfile_check(path, err);
}

cas_status cas_output_write(const char *path, const cas_run_record *rec, const cas_plan *plan,
                            const cas_results *res, const cas_summary *sum,
                            const double *seg_mean, cas_error *err) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  /* HDF5 opens the file by its name: the temporary is made first, new and
   * exclusive (outfile.h), then truncated by HDF5 */
  cas_outfile out;
  cas_status st = cas_outfile_open(&out, path, err);
  if (st != CAS_OK) return st;
  cas_outfile_release_fd(&out);

  writer w = {0};
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_attr_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_userblock(fcpl, CAS_SEAL_BYTES); /* for the seal, written once HDF5 is done (seal.h) */
  errno = 0;
  w.file = H5Fcreate(out.tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  H5Pclose(fcpl);
  if (w.file < 0) {
    int e = errno;
    cas_outfile_abort(&out);
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot create (%s)",
                        e ? strerror(e) : "HDF5 error");
  }
  w.str_type = H5Tcopy(H5T_C_S1);
  H5Tset_size(w.str_type, H5T_VARIABLE);
  H5Tset_cset(w.str_type, H5T_CSET_UTF8);

  cas_dataset_list list = {0};
  st = cas_output_describe(&list, rec, plan, res, sum, seg_mean, err);
  if (st != CAS_OK) {
    H5Tclose(w.str_type);
    H5Fclose(w.file);
    cas_outfile_abort(&out);
    cas_datasets_free(&list);
    return st;
  }
  write_list(&w, &list);
  cas_datasets_free(&list);

  H5Tclose(w.str_type);
  if (H5Fclose(w.file) < 0) fail(&w, "closing the file");
  if (w.failed) {
    cas_outfile_abort(&out);
    char cause[CAS_OUTFILE_PATH_MAX + 160];
    return cas_error_at(err, CAS_ERR_IO, path, 0, 0, "cannot write (%s; at '%s')",
                        w.errnum ? cas_outfile_cause(w.errnum, path, cause, sizeof cause)
                                 : "HDF5 error", w.what);
  }
  st = cas_seal_write(out.tmp, path, err);
  if (st != CAS_OK) {
    cas_outfile_abort(&out);
    return st;
  }
  return cas_outfile_commit(&out, err);
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

static double *read_column(hid_t f, const char *name, uint64_t n, int *missing, int *bad);

/* What every reader of results (compare, report, verify) asks of a file
 * beyond its datasets' presence: finite figures, and per-path losses that
 * give the file's EL. The EL is summed again as the summary sums it (in
 * path order, each loss times its weight, stats.c): any damaged loss
 * changes it. */
static cas_status check_headline(hid_t f, const char *path, const cas_output_headline *h,
                                 cas_error *err) {
  const char *what = NULL;
  double got = 0.0;
  if (h->paths < 1) what = "paths", got = (double)h->paths;
  if (!what && !isfinite(h->el)) what = "el", got = h->el;
  if (!what && !isfinite(h->el_se)) what = "el_se", got = h->el_se;
  if (!what && !isfinite(h->exposure)) what = "stressed_ead", got = h->exposure;
  for (int l = 0; !what && l < h->nlevels; l++) {
    if (!(h->levels[l] > 0.0 && h->levels[l] < 1.0)) what = "level", got = h->levels[l];
    else if (!isfinite(h->var[l])) what = "var", got = h->var[l];
    else if (!isfinite(h->es[l])) what = "es", got = h->es[l];
    else if (!isfinite(h->var_se[l])) what = "var_se", got = h->var_se[l];
    else if (!isfinite(h->es_se[l])) what = "es_se", got = h->es_se[l];
  }
  if (what)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: not a valid cascade result (%s is %g, expected a "
                         "finite number)", path, what, got);
  int missing = 0, bad = 0, no_weight = 0;
  double *loss = read_column(f, "loss", h->paths, &missing, &bad), *w = NULL;
  if (!bad && !missing) w = read_column(f, "weight", h->paths, &no_weight, &bad);
  cas_status st = CAS_OK;
  if (bad || missing) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: not a valid cascade result (%s, expected dataset "
                       "loss with %llu finite values, one per path)", path,
                       missing ? "no per-path losses" : "per-path losses unreadable or not finite",
                       h->paths);
  } else {
    double sum = 0.0, size = 0.0;
    for (uint64_t p = 0; p < h->paths; p++) {
      double x = (w ? w[p] : 1.0) * loss[p];
      sum += x;
      size += fabs(x);
    }
    double el = sum / (double)h->paths;
    if (fabs(el - h->el) > 1e-12 * (size / (double)h->paths) + DBL_MIN)
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: not a valid cascade result (the per-path losses "
                         "give an EL of %.17g, the file says %.17g: a damaged file?)", path, el, h->el);
  }
  free(loss);
  free(w);
  return st;
}

static char *opens_note;
static size_t opens_note_size;

void cas_output_note_opens(char *buf, size_t size) {
  opens_note = size ? buf : NULL;
  opens_note_size = size;
}

hid_t cas_output_open_result(const char *path, cas_error *err) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (opens_note) snprintf(opens_note, opens_note_size, "%s", path);
  cas_watch_begin();
  cas_seal_state seal;
  hid_t f = -1;
  if (cas_seal_check(path, &seal, err) == CAS_OK) {
    cas_watch_tick();
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
      cas_error_set(err, CAS_ERR_INPUT, "%s: not a readable HDF5 file (HDF5 cannot open it; "
                    "expected a result written by cascade run)", path);
  }
  cas_watch_end();
  return f;
}

void cas_output_close_result(hid_t f) {
  cas_watch_begin();
  H5Fclose(f);
  cas_watch_end();
}

static cas_status cas_output_read_headline_unwatched(const char *path, cas_output_headline *out, cas_error *err) {
  memset(out, 0, sizeof *out);
  hid_t f = cas_output_open_result(path, err);
  if (f < 0) return err->status;
  int bad = 0;
  const char *what = NULL; /* the first dataset or attribute that failed */
#define CHECK(name, call) do { if (!bad && (call) != 0) { bad = 1; what = name; } } while (0)
  CHECK("scenario_name", read_attr_string(f, "scenario_name", out->scenario, sizeof out->scenario));
  CHECK("seed", read_attr_u64(f, "seed", &out->seed));
  CHECK("paths", read_attr_u64(f, "paths", &out->paths));
  CHECK("loans", read_attr_u64(f, "loans", &out->loans));
  unsigned long long years = 1;   /* files before the multi-year horizon: one year */
  if (H5Aexists(f, "horizon_years") > 0) CHECK("horizon_years", read_attr_u64(f, "horizon_years", &years));
  out->years = years >= 1 && years <= CAS_MAX_YEARS ? (int)years : 1;
  CHECK("el", read_doubles(f, "el", &out->el, 1));
  CHECK("el_se", read_doubles(f, "el_se", &out->el_se, 1));
  hssize_t nl = dataset_size(f, "level");
  if (!bad && (nl < 1 || nl > CAS_MAX_LEVELS)) {
    bad = 1;
    what = "level";
  } else if (!bad) {
    out->nlevels = (int)nl;
    CHECK("level", read_doubles(f, "level", out->levels, nl));
    CHECK("var", read_doubles(f, "var", out->var, nl));
    CHECK("var_se", read_doubles(f, "var_se", out->var_se, nl));
    CHECK("es", read_doubles(f, "es", out->es, nl));
    CHECK("es_se", read_doubles(f, "es_se", out->es_se, nl));
  }
  if (!bad && dataset_size(f, "var_lo") == nl) {
    out->has_ci = 1;
    CHECK("el_lo", read_doubles(f, "el_lo", &out->el_lo, 1));
    CHECK("el_hi", read_doubles(f, "el_hi", &out->el_hi, 1));
    CHECK("var_lo", read_doubles(f, "var_lo", out->var_lo, nl));
    CHECK("var_hi", read_doubles(f, "var_hi", out->var_hi, nl));
    CHECK("es_lo", read_doubles(f, "es_lo", out->es_lo, nl));
    CHECK("es_hi", read_doubles(f, "es_hi", out->es_hi, nl));
  }
  if (H5Aexists(f, "portfolio_source") > 0)
    CHECK("portfolio_source", read_attr_string(f, "portfolio_source", out->portfolio, sizeof out->portfolio));
  snprintf(out->importance, sizeof out->importance, "off");
  if (H5Aexists(f, "importance_sampling") > 0)
    CHECK("importance_sampling", read_attr_string(f, "importance_sampling", out->importance, sizeof out->importance));
  hssize_t nseg = dataset_size(f, "stressed_ead");
  double *ead = nseg > 0 && nseg <= CAS_SEGMENTS_MAX ? malloc((size_t)nseg * sizeof *ead) : NULL;
  if (!bad && ead == NULL) {
    bad = 1;
    what = "stressed_ead";
  } else {
    CHECK("stressed_ead", read_doubles(f, "stressed_ead", ead, nseg));
  }
  for (hssize_t s = 0; s < nseg && !bad; s++) out->exposure += ead[s];
  free(ead);
  if (bad) {
    cas_output_close_result(f);
    return cas_error_set(err, CAS_ERR_INPUT, "%s: not a cascade result file (got no readable '%s' "
                         "of the expected shape, expected the headline datasets and attributes of a "
                         "file written by cascade run)", path, what ? what : "?");
  }
#undef CHECK
  cas_status st = check_headline(f, path, out, err);
  cas_output_close_result(f);
  return st;
}

cas_status cas_output_read_headline(const char *path, cas_output_headline *out, cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = cas_output_read_headline_unwatched(path, out, err);
  cas_watch_end();
  return st;
}

void cas_output_headline_summary(const cas_output_headline *h, cas_summary *out) {
  memset(out, 0, sizeof *out);
  out->paths = h->paths;
  out->nlevels = h->nlevels;
  out->el = h->el;
  out->el_se = h->el_se;
  out->el_lo = h->has_ci ? h->el_lo : h->el - CAS_Z95 * h->el_se;
  out->el_hi = h->has_ci ? h->el_hi : h->el + CAS_Z95 * h->el_se;
  for (int l = 0; l < h->nlevels; l++) {
    out->levels[l] = h->levels[l];
    out->var[l] = h->var[l];
    out->var_se[l] = h->var_se[l];
    out->es[l] = h->es[l];
    out->es_se[l] = h->es_se[l];
    /* files without intervals: normal ones from the standard errors */
    out->var_lo[l] = h->has_ci ? h->var_lo[l] : h->var[l] - CAS_Z95 * h->var_se[l];
    out->var_hi[l] = h->has_ci ? h->var_hi[l] : h->var[l] + CAS_Z95 * h->var_se[l];
    out->es_lo[l] = h->has_ci ? h->es_lo[l] : h->es[l] - CAS_Z95 * h->es_se[l];
    out->es_hi[l] = h->has_ci ? h->es_hi[l] : h->es[l] + CAS_Z95 * h->es_se[l];
  }
}

/* A numeric dataset of exactly n finite values, in a new array; NULL and
 * *missing 1 if the file has no such dataset. */
static double *read_column(hid_t f, const char *name, uint64_t n, int *missing, int *bad) {
  *missing = H5Lexists(f, name, H5P_DEFAULT) <= 0;
  if (*missing) return NULL;
  double *x = malloc((n ? n : 1) * sizeof *x);
  if (!x || dataset_size(f, name) != (hssize_t)n || read_doubles(f, name, x, (hssize_t)n) < 0) {
    free(x);
    *bad = 1;
    return NULL;
  }
  for (uint64_t i = 0; i < n; i++)
    if (!isfinite(x[i])) {
      free(x);
      *bad = 1;
      return NULL;
    }
  return x;
}

static cas_status cas_output_read_paths_unwatched(const char *path, uint64_t paths, double **loss, double **weight,
                                 cas_error *err) {
  *loss = *weight = NULL;
  hid_t f = cas_output_open_result(path, err);
  if (f < 0) return err->status;
  int bad = 0, missing = 0, no_weight = 0;
  *loss = read_column(f, "loss", paths, &missing, &bad);
  if (!bad && !missing) *weight = read_column(f, "weight", paths, &no_weight, &bad);
  cas_output_close_result(f);
  if (bad || missing) {
    free(*loss);
    free(*weight);
    *loss = *weight = NULL;
    return cas_error_set(err, CAS_ERR_INPUT,
                         "%s: %s (expected dataset loss with %llu finite values, one per path)",
                         path, missing ? "no per-path losses" : "per-path losses unreadable or "
                         "not finite", (unsigned long long)paths);
  }
  return CAS_OK;
}

cas_status cas_output_read_paths(const char *path, uint64_t paths, double **loss, double **weight,
                                 cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = cas_output_read_paths_unwatched(path, paths, loss, weight, err);
  cas_watch_end();
  return st;
}

int cas_output_same_random_numbers(const cas_output_headline *a, const cas_output_headline *b) {
  return a->seed == b->seed && a->loans == b->loans && a->paths == b->paths &&
         !strcmp(a->portfolio, b->portfolio) && !strcmp(a->importance, b->importance);
}
