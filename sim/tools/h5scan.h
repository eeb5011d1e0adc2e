/*
 * h5scan.h: what an HDF5 file declares, dataset by dataset, without knowing
 * in advance which datasets it holds.
 *
 * `cas_h5_open` walks every dataset of the file (groups included) and
 * records its shape, the name of the dimension scale attached to each axis,
 * its `units` and `long_name` attributes and whether it holds numbers or
 * strings; it also reads every root attribute as text. Data are read later,
 * on demand and by blocks of rows, so that a file with millions of paths
 * does not have to fit in memory. The report (report.c) decides from this
 * description alone how to show each dataset, so datasets added to the
 * result format later appear in it without any change here.
 */
#ifndef CASCADE_H5SCAN_H
#define CASCADE_H5SCAN_H

#include <stddef.h>

#include "error.h"

enum { CAS_H5_MAXRANK = 8 };

typedef enum cas_h5_kind { CAS_H5_NUMBER, CAS_H5_STRING, CAS_H5_OTHER } cas_h5_kind;

typedef struct cas_h5_var {
  char *name;        /* path inside the file without the leading '/' */
  char *units;       /* "" when the attribute is absent */
  char *long_name;   /* "" when absent */
  int rank;          /* 0 for a scalar; at most CAS_H5_MAXRANK (higher: kind OTHER) */
  unsigned long long dims[CAS_H5_MAXRANK];
  char *dim[CAS_H5_MAXRANK]; /* name of the scale attached to each axis, "" if none */
  unsigned long long n;      /* number of elements (1 for a scalar) */
  cas_h5_kind kind;
  int integer;       /* numbers stored as an integer type */
  int is_scale;      /* the dataset is itself a dimension scale */
  int no_values;     /* a scale that only names a dimension (the netCDF
                        "dimension but not a variable" convention) */
} cas_h5_var;

typedef struct cas_h5_attr {
  char *name;
  char *text;        /* value as text (numbers printed to round-trip) */
  int is_number;
  double number;     /* first element when is_number */
} cas_h5_attr;

typedef struct cas_h5_file {
  char *path;
  long long id;      /* the open hid_t */
  cas_h5_var *vars;
  size_t nvars;
  cas_h5_attr *attrs;
  size_t nattrs;
} cas_h5_file;

/* Opens path and describes it. A missing or unreadable file and a file
 * that is not HDF5 are CAS_ERR_INPUT naming the file. */
cas_status cas_h5_open(const char *path, cas_h5_file **out, cas_error *err);
void cas_h5_close(cas_h5_file *f);

/* The dataset called name, or NULL. */
const cas_h5_var *cas_h5_find(const cas_h5_file *f, const char *name);
/* The root attribute called name as text, or NULL. */
const cas_h5_attr *cas_h5_attr_find(const cas_h5_file *f, const char *name);

/* Elements per row: the product of all dimensions but the first (1 for
 * rank 0 and 1). */
unsigned long long cas_h5_row_size(const cas_h5_var *v);

/* Reads rows [row0, row0 + nrows) along the first axis of a numeric
 * dataset as doubles into out (nrows x row size, row-major); a scalar is
 * one row. */
cas_status cas_h5_read_rows(const cas_h5_file *f, const cas_h5_var *v, unsigned long long row0,
                            unsigned long long nrows, double *out, cas_error *err);

/* Every element of a numeric dataset, in a new array (caller frees). */
cas_status cas_h5_read_numbers(const cas_h5_file *f, const cas_h5_var *v, double **out,
                               cas_error *err);

/* Every element of a string dataset (variable or fixed length) as n new
 * strings (free with cas_h5_free_strings). */
cas_status cas_h5_read_strings(const cas_h5_file *f, const cas_h5_var *v, char ***out,
                               cas_error *err);
void cas_h5_free_strings(char **s, unsigned long long n);

#endif
