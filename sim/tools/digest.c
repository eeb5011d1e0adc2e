/*
 * digest.c: SHA-256 over a result file's datasets (digest.h).
 *
 * Encoding, fixed so that a digest can be recomputed by anyone (it is
 * documented in docs/BATCH.md): the file digest is SHA-256 of the text
 * "cascade-digest-1" and a NUL, then one record per dataset in byte order
 * of the full names. A record is: the name, NUL, the type text, NUL, the
 * rank and each dimension as 8-byte little-endian integers, then the data
 * in row-major order: numbers and fixed-size values as their bytes in the
 * file's declared byte order (read without conversion), a variable-length
 * string as its length in bytes (8-byte little-endian) followed by its
 * bytes. A dataset's own digest is SHA-256 of its record alone.
 *
 * Datasets are read in blocks of rows along their first axis, so the
 * memory needed stays small whatever the number of paths. Types that hold
 * references or variable-length data other than strings (none in a cascade
 * result) are hashed by type and shape only and marked "/unhashed".
 */
#include "digest.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "watch.h"

enum { BLOCK_BYTES = 8 << 20 };

typedef struct names {
  char **v;
  size_t n, cap;
  int nomem;
} names;

static herr_t collect(hid_t group, const char *name, const H5L_info_t *info, void *ctx) {
  names *nm = ctx;
  if (info->type != H5L_TYPE_HARD) return 0;
  H5O_info_t oi;
  if (H5Oget_info_by_name(group, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
    return 0;
  if (nm->n == nm->cap) {
    size_t cap = nm->cap ? 2 * nm->cap : 64;
    char **v = realloc(nm->v, cap * sizeof *v);
    if (!v) {
      nm->nomem = 1;
      return -1;
    }
    nm->v = v;
    nm->cap = cap;
  }
  size_t len = strlen(name);
  char *copy = malloc(len + 2);
  if (!copy) {
    nm->nomem = 1;
    return -1;
  }
  copy[0] = '/';
  memcpy(copy + 1, name, len + 1);
  nm->v[nm->n++] = copy;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feeds both the file's and the dataset's hash. */
typedef struct sink {
  cas_sha256 *file, one;
} sink;

static void put(sink *s, const void *p, size_t n) {
  cas_sha256_update(s->file, p, n);
  cas_sha256_update(&s->one, p, n);
}

static void put_u64(sink *s, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  put(s, b, 8);
}

/* Type text; *kind: 0 fixed-size bytes, 1 variable-length string, 2 not hashed. */
static void describe_type(hid_t t, char *buf, size_t size, int *kind) {
  H5T_class_t cls = H5Tget_class(t);
  size_t bytes = H5Tget_size(t);
  const char *order = H5Tget_order(t) == H5T_ORDER_BE ? "be" : "le";
  *kind = 0;
  if (cls == H5T_INTEGER) {
    snprintf(buf, size, "%c%zu%s", H5Tget_sign(t) == H5T_SGN_NONE ? 'u' : 'i', 8 * bytes, order);
  } else if (cls == H5T_FLOAT) {
    snprintf(buf, size, "f%zu%s", 8 * bytes, order);
  } else if (cls == H5T_STRING) {
    const char *cset = H5Tget_cset(t) == H5T_CSET_UTF8 ? "utf8" : "ascii";
    if (H5Tis_variable_str(t) > 0) {
      snprintf(buf, size, "string/vlen/%s", cset);
      *kind = 1;
    } else {
      snprintf(buf, size, "string/%zu/%s", bytes, cset);
    }
  } else {
    int unsafe = cls == H5T_VLEN || cls == H5T_REFERENCE || H5Tdetect_class(t, H5T_VLEN) > 0 ||
                 H5Tdetect_class(t, H5T_REFERENCE) > 0;
    snprintf(buf, size, "class%d/%zu%s", (int)cls, bytes, unsafe ? "/unhashed" : "");
    if (unsafe) *kind = 2;
  }
}

/* Hashes one dataset's record. */
static cas_status hash_dataset(hid_t file, const char *name, sink *s, cas_dataset_digest *out,
                               const char *path, cas_error *err) {
  cas_status st = CAS_OK;
  hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
  hid_t ftype = d >= 0 ? H5Dget_type(d) : -1;
  hid_t space = d >= 0 ? H5Dget_space(d) : -1;
  hid_t mtype = -1;
  void *buf = NULL;
  if (d < 0 || ftype < 0 || space < 0) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read dataset %s", path, name);
    goto done;
  }
  int kind;
  describe_type(ftype, out->type, sizeof out->type, &kind);
  H5S_class_t sclass = H5Sget_simple_extent_type(space);
  int rank = sclass == H5S_NULL ? -1 : H5Sget_simple_extent_ndims(space);
  hsize_t dims[H5S_MAX_RANK] = {0};
  if (rank > 0) H5Sget_simple_extent_dims(space, dims, NULL);
  if (rank < -1 || rank > CAS_DIGEST_RANK_MAX) {
    st = cas_error_set(err, CAS_ERR_INPUT, "%s: dataset %s has an unreadable shape", path, name);
    goto done;
  }
  out->rank = rank;
  for (int k = 0; k < rank; k++) out->dims[k] = dims[k];

  put(s, name, strlen(name) + 1);
  put(s, out->type, strlen(out->type) + 1);
  put_u64(s, (uint64_t)(int64_t)rank);
  for (int k = 0; k < rank; k++) put_u64(s, dims[k]);
  if (rank < 0 || kind == 2) goto done;

  if (kind == 1) {
    mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, H5T_VARIABLE);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
  } else {
    mtype = H5Tcopy(ftype);
  }
  size_t esize = H5Tget_size(mtype);
  /* Rows along the first axis (a scalar is one row of one element). */
  hsize_t rows = rank == 0 ? 1 : dims[0], row_elems = 1;
  for (int k = 1; k < rank; k++) {
    if (dims[k] && row_elems > (hsize_t)-1 / dims[k]) goto too_big;
    row_elems *= dims[k];
  }
  if (esize == 0 || (row_elems && row_elems > (hsize_t)(SIZE_MAX / 2) / esize)) goto too_big;
  size_t row_bytes = (size_t)row_elems * esize;
  if (rows == 0 || row_bytes == 0) goto done;
  hsize_t block = BLOCK_BYTES / row_bytes;
  if (block < 1) block = 1;
  if (block > rows) block = rows;
  buf = malloc((size_t)block * row_bytes);
  if (!buf) {
    st = cas_error_set(err, CAS_ERR_NOMEM, "%s: no memory to read dataset %s", path, name);
    goto done;
  }
  for (hsize_t r0 = 0; r0 < rows && st == CAS_OK; r0 += block) {
    hsize_t nr = rows - r0 < block ? rows - r0 : block;
    hid_t mspace, fsel = space;
    if (rank == 0) {
      mspace = H5Screate(H5S_SCALAR);
    } else {
      hsize_t start[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
      for (int k = 0; k < rank; k++) count[k] = dims[k];
      start[0] = r0;
      count[0] = nr;
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
      mspace = H5Screate_simple(rank, count, NULL);
    }
    cas_watch_tick();
    if (H5Dread(d, mtype, mspace, fsel, H5P_DEFAULT, buf) < 0) {
      st = cas_error_set(err, CAS_ERR_INPUT, "%s: cannot read the data of dataset %s", path, name);
    } else if (kind == 1) {
      char **str = buf;
      size_t n = (size_t)(nr * row_elems);
      for (size_t i = 0; i < n; i++) {
        if (!str[i]) {
          put_u64(s, UINT64_MAX);
        } else {
          size_t len = strlen(str[i]);
          put_u64(s, len);
          put(s, str[i], len);
        }
      }
      H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, buf);
    } else {
      put(s, buf, (size_t)nr * row_bytes);
    }
    H5Sclose(mspace);
  }
  goto done;
too_big:
  st = cas_error_set(err, CAS_ERR_INPUT, "%s: dataset %s is too large to hash", path, name);
done:
  free(buf);
  if (mtype >= 0) H5Tclose(mtype);
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  if (d >= 0) H5Dclose(d);
  return st;
}

void cas_digest_list_free(cas_dataset_digest *list, size_t n) {
  if (!list) return;
  for (size_t i = 0; i < n; i++) free(list[i].name);
  free(list);
}

void cas_digest_shape(const cas_dataset_digest *d, char *buf, size_t size) {
  if (d->rank < 0) {
    snprintf(buf, size, "null");
    return;
  }
  if (d->rank == 0) {
    snprintf(buf, size, "scalar");
    return;
  }
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < d->rank && used < size; k++) {
    int w = snprintf(buf + used, size - used, "%s%llu", k ? " x " : "", (unsigned long long)d->dims[k]);
    if (w < 0) break;
    used += (size_t)w;
  }
}

static cas_status cas_digest_file_unwatched(const char *path, char hex[CAS_SHA256_HEX], cas_dataset_digest **list,
                           size_t *n, cas_error *err) {
  if (list) *list = NULL;
  if (n) *n = 0;
  hid_t f = cas_output_open_result(path, err);
  if (f < 0) return err->status;
  names nm = {0};
  cas_status st = CAS_OK;
  if (H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, collect, &nm) < 0)
    st = nm.nomem ? cas_error_set(err, CAS_ERR_NOMEM, "%s: no memory to list datasets", path)
                  : cas_error_set(err, CAS_ERR_INPUT, "%s: cannot list the datasets", path);
  cas_dataset_digest *dl = NULL;
  if (st == CAS_OK && nm.n) {
    qsort(nm.v, nm.n, sizeof *nm.v, by_name);
    dl = calloc(nm.n, sizeof *dl);
    if (!dl) st = cas_error_set(err, CAS_ERR_NOMEM, "%s: no memory for the digest", path);
  }
  cas_sha256 file_hash;
  cas_sha256_init(&file_hash);
  static const char magic[] = "cascade-digest-1";
  cas_sha256_update(&file_hash, magic, sizeof magic); /* with its NUL */
  for (size_t i = 0; i < nm.n && st == CAS_OK; i++) {
    sink s = {.file = &file_hash};
    cas_sha256_init(&s.one);
    st = hash_dataset(f, nm.v[i], &s, &dl[i], path, err);
    uint8_t one[CAS_SHA256_BYTES];
    if (cas_sha256_final(&s.one, one) != CAS_OK && st == CAS_OK)
      st = cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory (SHA-256)", path);
    cas_sha256_to_hex(one, dl[i].sha256);
    dl[i].name = nm.v[i];
    nm.v[i] = NULL;
  }
  uint8_t d[CAS_SHA256_BYTES];
  if (cas_sha256_final(&file_hash, d) != CAS_OK && st == CAS_OK)
    st = cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory (SHA-256)", path);
  cas_sha256_to_hex(d, hex);
  cas_output_close_result(f);
  for (size_t i = 0; i < nm.n; i++) free(nm.v[i]);
  size_t count = nm.n;
  free(nm.v);
  if (st != CAS_OK || !list) {
    cas_digest_list_free(dl, count);
    if (st != CAS_OK) hex[0] = '\0';
    return st;
  }
  *list = dl;
  *n = count;
  return CAS_OK;
}

cas_status cas_digest_file(const char *path, char hex[CAS_SHA256_HEX], cas_dataset_digest **list,
                           size_t *n, cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = cas_digest_file_unwatched(path, hex, list, n, err);
  cas_watch_end();
  return st;
}
