/*
 * h5scan.c: describe and read any HDF5 file dataset by dataset (h5scan.h).
 *
 * Every HDF5 call's failure becomes a cas_error naming the file and the
 * dataset; the library's own error printing is switched off, since a file
 * that is not what we expect is bad input, not a crash to debug.
 */
#include "h5scan.h"

#include <errno.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "watch.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s ? s : "");
  char *d = malloc(n + 1);
  if (d) memcpy(d, s ? s : "", n + 1);
  return d;
}

static char *dup_n(const char *s, size_t n) {
  size_t k = 0;
  while (k < n && s[k]) k++;
  char *d = malloc(k + 1);
  if (!d) return NULL;
  memcpy(d, s, k);
  d[k] = '\0';
  return d;
}

/* Strings of an attribute or dataset whose file type is a string type;
 * returns n new strings or NULL (out of memory or a library failure). */
static char **read_string_elements(hid_t obj, int is_attr, hid_t ftype, hid_t space, size_t n) {
  char **out = calloc(n ? n : 1, sizeof *out);
  if (!out) return NULL;
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mt, H5Tget_cset(ftype));
  int ok = 0;
  if (H5Tis_variable_str(ftype) > 0) {
    H5Tset_size(mt, H5T_VARIABLE);
    char **raw = calloc(n ? n : 1, sizeof *raw);
    if (raw) {
      herr_t rc = is_attr ? H5Aread(obj, mt, raw) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
      if (rc >= 0) {
        ok = 1;
        for (size_t i = 0; i < n; i++)
          if (!(out[i] = dup_str(raw[i] ? raw[i] : ""))) ok = 0;
        H5Dvlen_reclaim(mt, space, H5P_DEFAULT, raw);
      }
      free(raw);
    }
  } else {
    size_t size = H5Tget_size(ftype);
    H5Tset_size(mt, size ? size : 1);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    char *raw = size && n <= ((size_t)-1) / size ? malloc(n * size + 1) : NULL;
    if (raw) {
      herr_t rc = is_attr ? H5Aread(obj, mt, raw) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw);
      if (rc >= 0) {
        ok = 1;
        for (size_t i = 0; i < n; i++)
          if (!(out[i] = dup_n(raw + i * size, size))) ok = 0;
      }
      free(raw);
    }
  }
  H5Tclose(mt);
  if (!ok) {
    for (size_t i = 0; i < n; i++) free(out[i]);
    free(out);
    return NULL;
  }
  return out;
}

/* An attribute's value as text; NULL only when out of memory. */
static char *attr_text(hid_t a, int *is_number, double *number) {
  *is_number = 0;
  *number = 0;
  hid_t ftype = H5Aget_type(a), space = H5Aget_space(a);
  hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  H5T_class_t cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
  char *text = NULL;
  size_t n = np > 0 ? (size_t)np : 0;
  if (n > 0 && n <= 4096 && cls == H5T_STRING) {
    char **s = read_string_elements(a, 1, ftype, space, n);
    if (!s) {
      text = dup_str("(unreadable)"); /* a read HDF5 refused, shown as the numbers' are */
    } else {
      size_t len = 1;
      for (size_t i = 0; i < n; i++) len += strlen(s[i]) + 2;
      text = malloc(len);
      if (text) {
        text[0] = '\0';
        for (size_t i = 0; i < n; i++) {
          if (i) strcat(text, ", ");
          strcat(text, s[i]);
        }
      }
      for (size_t i = 0; i < n; i++) free(s[i]);
      free(s);
    }
  } else if (n > 0 && n <= 4096 && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
    size_t show = n < 16 ? n : 16;
    text = malloc(show * 32 + 8);
    double *d = malloc(n * sizeof *d);
    long long *ll = malloc(n * sizeof *ll);
    unsigned long long *ull = malloc(n * sizeof *ull);
    int is_unsigned = cls == H5T_INTEGER && H5Tget_sign(ftype) == H5T_SGN_NONE;
    if (text && d && ll && ull) {
      herr_t rc = H5Aread(a, H5T_NATIVE_DOUBLE, d);
      if (rc >= 0 && cls == H5T_INTEGER) rc = is_unsigned ? H5Aread(a, H5T_NATIVE_ULLONG, ull) : H5Aread(a, H5T_NATIVE_LLONG, ll);
      if (rc >= 0) {
        size_t used = 0;
        text[0] = '\0';
        for (size_t i = 0; i < show; i++) {
          const char *sep = i ? ", " : "";
          int k;
          if (cls == H5T_FLOAT) k = snprintf(text + used, 32, "%s%.17g", sep, d[i]);
          else if (is_unsigned) k = snprintf(text + used, 32, "%s%llu", sep, ull[i]);
          else k = snprintf(text + used, 32, "%s%lld", sep, ll[i]);
          if (k > 0) used += (size_t)(k < 32 ? k : 31);
        }
        if (show < n) snprintf(text + used, 8, ", ...");
        *is_number = 1;
        *number = d[0];
      } else {
        snprintf(text, 32, "(unreadable)");
      }
    }
    free(d);
    free(ll);
    free(ull);
  } else {
    text = malloc(80);
    if (text) snprintf(text, 80, "(not shown: %zu values of HDF5 class %d)", n, (int)cls);
  }
  if (ftype >= 0) H5Tclose(ftype);
  if (space >= 0) H5Sclose(space);
  return text;
}

typedef struct scan_ctx {
  cas_h5_file *f;
  size_t cap_vars, cap_attrs;
  int nomem;
  int implausible;               /* a dataset declares far more than it stores */
  unsigned long long declared, stored;
  char where[256];
} scan_ctx;

/* Whether a dataset of n elements of esize bytes can be stored in `stored`
 * bytes: a damaged or crafted file may declare 10^15 values (and have the
 * readers allocate for them) in a few bytes. cascade's datasets are written
 * whole, compressed with deflate at most (whose ratio cannot exceed 1032 to
 * 1, RFC 1951's longest match of 258 bytes in about 2 bits), so more than
 * 2048 times their storage, plus a 4 KiB allowance for tiny datasets, is
 * not a result's. */
static int plausible_size(unsigned long long n, size_t esize, unsigned long long stored) {
  long double declared = (long double)n * (long double)esize;
  return declared <= 2048.0L * ((long double)stored + 4096.0L);
}

static herr_t on_root_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)info;
  scan_ctx *c = data;
  cas_h5_file *f = c->f;
  if (f->nattrs == c->cap_attrs) {
    size_t cap = c->cap_attrs ? 2 * c->cap_attrs : 32;
    cas_h5_attr *p = realloc(f->attrs, cap * sizeof *p);
    if (!p) return c->nomem = 1, -1;
    f->attrs = p;
    c->cap_attrs = cap;
  }
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return 0;
  cas_h5_attr *at = &f->attrs[f->nattrs];
  memset(at, 0, sizeof *at);
  at->name = dup_str(name);
  at->text = attr_text(a, &at->is_number, &at->number);
  H5Aclose(a);
  f->nattrs++;
  if (!at->name || !at->text) return c->nomem = 1, -1;
  return 0;
}

static char *string_attr_of(hid_t obj, const char *name) {
  if (H5Aexists(obj, name) <= 0) return dup_str("");
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return dup_str("");
  int isnum;
  double num;
  char *t = attr_text(a, &isnum, &num);
  H5Aclose(a);
  return t;
}

static herr_t on_scale(hid_t dset, unsigned dim, hid_t scale, void *data) {
  (void)dset;
  (void)dim;
  char **name = data;
  /* A damaged file's dimension list can refer to an object that is not a
   * dataset (a named datatype): HDF5's iterator then fails to close it with
   * H5Dclose and leaks it. Closed here; the axis stays unnamed. */
  if (H5Iget_type(scale) != H5I_DATASET) {
    H5Oclose(scale);
    return -1;
  }
  char buf[1024];
  ssize_t k = H5Iget_name(scale, buf, sizeof buf);
  if (k > 0) *name = dup_str(buf[0] == '/' ? buf + 1 : buf);
  return 1; /* the first scale names the axis */
}

static int describe_dataset(hid_t d, const char *name, cas_h5_var *v) {
  memset(v, 0, sizeof *v);
  v->name = dup_str(name);
  hid_t space = H5Dget_space(d), ftype = H5Dget_type(d);
  int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
  H5T_class_t cls = ftype >= 0 ? H5Tget_class(ftype) : H5T_NO_CLASS;
  v->kind = cls == H5T_INTEGER || cls == H5T_FLOAT ? CAS_H5_NUMBER
            : cls == H5T_STRING                    ? CAS_H5_STRING
                                                   : CAS_H5_OTHER;
  v->integer = cls == H5T_INTEGER;
  if (rank < 0 || rank > CAS_H5_MAXRANK || np < 0) {
    v->kind = CAS_H5_OTHER;
    rank = 0;
  } else {
    hsize_t dims[CAS_H5_MAXRANK];
    H5Sget_simple_extent_dims(space, dims, NULL);
    for (int i = 0; i < rank; i++) v->dims[i] = dims[i];
  }
  v->rank = rank;
  v->n = np > 0 ? (unsigned long long)np : 0;
  v->is_scale = H5DSis_scale(d) > 0;
  if (v->is_scale) {
    char *nm = string_attr_of(d, "NAME");
    v->no_values = nm && strstr(nm, "This is a netCDF dimension but not a netCDF variable") == nm;
    free(nm);
  }
  for (int i = 0; i < rank; i++) {
    if (v->is_scale && rank == 1) v->dim[i] = dup_str(name);
    else if (H5DSget_num_scales(d, (unsigned)i) > 0) {
      int idx = 0;
      H5DSiterate_scales(d, (unsigned)i, &idx, on_scale, &v->dim[i]);
    }
    if (!v->dim[i]) v->dim[i] = dup_str("");
  }
  v->units = string_attr_of(d, "units");
  v->long_name = string_attr_of(d, "long_name");
  if (space >= 0) H5Sclose(space);
  if (ftype >= 0) H5Tclose(ftype);
  int bad = !v->name || !v->units || !v->long_name;
  for (int i = 0; i < rank; i++) bad |= !v->dim[i];
  return bad ? -1 : 0;
}

static herr_t on_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  scan_ctx *c = data;
  if (info->type != H5L_TYPE_HARD) return 0;
  cas_watch_tick();
  hid_t o = H5Oopen(group, name, H5P_DEFAULT);
  if (o < 0) return 0;
  if (H5Iget_type(o) == H5I_DATASET) {
    cas_h5_file *f = c->f;
    if (f->nvars == c->cap_vars) {
      size_t cap = c->cap_vars ? 2 * c->cap_vars : 64;
      cas_h5_var *p = realloc(f->vars, cap * sizeof *p);
      if (!p) {
        H5Oclose(o);
        return c->nomem = 1, -1;
      }
      f->vars = p;
      c->cap_vars = cap;
    }
    int rc = describe_dataset(o, name, &f->vars[f->nvars]);
    f->nvars++;
    if (rc) {
      H5Oclose(o);
      return c->nomem = 1, -1;
    }
    hid_t ft = H5Dget_type(o);
    size_t esize = ft >= 0 ? H5Tget_size(ft) : 0;
    if (ft >= 0) H5Tclose(ft);
    unsigned long long stored = H5Dget_storage_size(o);
    const cas_h5_var *v = &f->vars[f->nvars - 1];
    if (!plausible_size(v->n, esize, stored)) {
      c->implausible = 1;
      c->declared = v->n;
      c->stored = stored;
      snprintf(c->where, sizeof c->where, "%s", name);
      H5Oclose(o);
      return -1;
    }
  }
  H5Oclose(o);
  return 0;
}

static cas_status cas_h5_open_unwatched(const char *path, cas_h5_file **out, cas_error *err) {
  *out = NULL;
  cas_h5_file *f = calloc(1, sizeof *f);
  if (!f || !(f->path = dup_str(path))) {
    free(f);
    return cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory", path);
  }
  hid_t id = cas_output_open_result(path, err);
  f->id = id;
  if (id < 0) {
    cas_h5_close(f);
    return err->status;
  }
  scan_ctx c = {.f = f};
  hsize_t idx = 0;
  herr_t rc = H5Aiterate2(id, H5_INDEX_NAME, H5_ITER_INC, &idx, on_root_attr, &c);
  if (rc >= 0 && !c.nomem) rc = H5Lvisit(id, H5_INDEX_NAME, H5_ITER_INC, on_link, &c);
  if (c.nomem || rc < 0) {
    cas_h5_close(f);
    if (c.nomem) return cas_error_set(err, CAS_ERR_NOMEM, "%s: out of memory", path);
    if (c.implausible)
      return cas_error_set(err, CAS_ERR_INPUT, "%s: dataset %s declares %llu values in %llu bytes of "
                           "storage (expected at most 2048 times its storage: a damaged or crafted "
                           "file)", path, c.where, c.declared, c.stored);
    return cas_error_set(err, CAS_ERR_INPUT, "%s: cannot list the file's contents (damaged HDF5 file?)", path);
  }
  *out = f;
  return CAS_OK;
}

cas_status cas_h5_open(const char *path, cas_h5_file **out, cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = cas_h5_open_unwatched(path, out, err);
  cas_watch_end();
  return st;
}

void cas_h5_close(cas_h5_file *f) {
  if (!f) return;
  for (size_t i = 0; i < f->nvars; i++) {
    cas_h5_var *v = &f->vars[i];
    free(v->name);
    free(v->units);
    free(v->long_name);
    for (int k = 0; k < v->rank; k++) free(v->dim[k]);
  }
  for (size_t i = 0; i < f->nattrs; i++) {
    free(f->attrs[i].name);
    free(f->attrs[i].text);
  }
  free(f->vars);
  free(f->attrs);
  if (f->id > 0) cas_output_close_result((hid_t)f->id);
  free(f->path);
  free(f);
}

const cas_h5_var *cas_h5_find(const cas_h5_file *f, const char *name) {
  for (size_t i = 0; i < f->nvars; i++)
    if (!strcmp(f->vars[i].name, name)) return &f->vars[i];
  return NULL;
}

const cas_h5_attr *cas_h5_attr_find(const cas_h5_file *f, const char *name) {
  for (size_t i = 0; i < f->nattrs; i++)
    if (!strcmp(f->attrs[i].name, name)) return &f->attrs[i];
  return NULL;
}

unsigned long long cas_h5_row_size(const cas_h5_var *v) {
  unsigned long long k = 1;
  for (int i = 1; i < v->rank; i++) k *= v->dims[i];
  return k;
}

static cas_status cas_h5_read_rows_unwatched(const cas_h5_file *f, const cas_h5_var *v, unsigned long long row0,
                            unsigned long long nrows, double *out, cas_error *err) {
  if (v->kind != CAS_H5_NUMBER)
    return cas_error_set(err, CAS_ERR_INTERNAL, "%s: %s: not numeric", f->path, v->name);
  cas_watch_tick();
  hid_t d = H5Dopen2((hid_t)f->id, v->name, H5P_DEFAULT);
  if (d < 0) return cas_error_set(err, CAS_ERR_INPUT, "%s: %s: cannot open dataset", f->path, v->name);
  herr_t rc;
  if (v->rank == 0) {
    rc = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
  } else {
    hsize_t start[CAS_H5_MAXRANK] = {0}, count[CAS_H5_MAXRANK];
    for (int i = 0; i < v->rank; i++) count[i] = v->dims[i];
    start[0] = row0;
    count[0] = nrows;
    hid_t fs = H5Dget_space(d);
    hid_t ms = H5Screate_simple(v->rank, count, NULL);
    rc = fs >= 0 && ms >= 0 ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) : -1;
    if (rc >= 0) rc = H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
  }
  H5Dclose(d);
  if (rc < 0)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: %s: cannot read the dataset's values (damaged file?)",
                         f->path, v->name);
  return CAS_OK;
}

cas_status cas_h5_read_rows(const cas_h5_file *f, const cas_h5_var *v, unsigned long long row0,
                            unsigned long long nrows, double *out, cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = cas_h5_read_rows_unwatched(f, v, row0, nrows, out, err);
  cas_watch_end();
  return st;
}

cas_status cas_h5_read_numbers(const cas_h5_file *f, const cas_h5_var *v, double **out, cas_error *err) {
  *out = NULL;
  if (v->n > ((size_t)-1) / sizeof(double))
    return cas_error_set(err, CAS_ERR_NOMEM, "%s: %s: too large to read", f->path, v->name);
  double *d = malloc((v->n ? (size_t)v->n : 1) * sizeof *d);
  if (!d) return cas_error_set(err, CAS_ERR_NOMEM, "%s: %s: out of memory", f->path, v->name);
  cas_status st = v->n ? cas_h5_read_rows(f, v, 0, v->rank ? v->dims[0] : 1, d, err) : CAS_OK;
  if (st != CAS_OK) {
    free(d);
    return st;
  }
  *out = d;
  return CAS_OK;
}

static cas_status cas_h5_read_strings_unwatched(const cas_h5_file *f, const cas_h5_var *v, char ***out, cas_error *err) {
  *out = NULL;
  if (v->kind != CAS_H5_STRING)
    return cas_error_set(err, CAS_ERR_INTERNAL, "%s: %s: not a string dataset", f->path, v->name);
  hid_t d = H5Dopen2((hid_t)f->id, v->name, H5P_DEFAULT);
  if (d < 0) return cas_error_set(err, CAS_ERR_INPUT, "%s: %s: cannot open dataset", f->path, v->name);
  hid_t ftype = H5Dget_type(d), space = H5Dget_space(d);
  char **s = ftype >= 0 && space >= 0 ? read_string_elements(d, 0, ftype, space, (size_t)v->n) : NULL;
  if (ftype >= 0) H5Tclose(ftype);
  if (space >= 0) H5Sclose(space);
  H5Dclose(d);
  if (!s)
    return cas_error_set(err, CAS_ERR_INPUT, "%s: %s: cannot read the dataset's strings", f->path, v->name);
  *out = s;
  return CAS_OK;
}

cas_status cas_h5_read_strings(const cas_h5_file *f, const cas_h5_var *v, char ***out, cas_error *err) {
  cas_watch_begin();   /* reading (watch.h) */
  cas_status st = cas_h5_read_strings_unwatched(f, v, out, err);
  cas_watch_end();
  return st;
}

void cas_h5_free_strings(char **s, unsigned long long n) {
  if (!s) return;
  for (unsigned long long i = 0; i < n; i++) free(s[i]);
  free(s);
}
