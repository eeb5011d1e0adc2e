/*
 * dataset.h: what a result file holds, described as data.
 *
 * The engine and every model describe the datasets they add (name,
 * dimensions by name, units, long name, where the values are) into one
 * cas_dataset_list; the I/O layer (sim/output/output.c) writes whatever the
 * list holds, every axis a named dimension, every value with its units. So
 * a new model's output is a change in one place: its own describe
 * function. The list only points at values; they must outlive the write.
 */
#ifndef CASCADE_DATASET_H
#define CASCADE_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef enum cas_dtype {
  CAS_DT_F64,     /* double */
  CAS_DT_I64,     /* int64_t */
  CAS_DT_I32,     /* int32_t */
  CAS_DT_U8,      /* uint8_t */
  CAS_DT_U64,     /* uint64_t (attributes) */
  CAS_DT_U32,     /* uint32_t (attributes) */
  CAS_DT_STR      /* const char * (UTF-8), one per element */
} cas_dtype;

enum { CAS_DATASET_MAX_RANK = 3 };

/* A dimension: labels (CAS_DT_STR) or numeric coordinate values. */
typedef struct cas_dimension {
  const char *name;
  cas_dtype type;
  uint64_t n;
  const void *values;     /* n values of type */
  const char *units;      /* NULL: none */
  const char *long_name;
} cas_dimension;

typedef struct cas_dataset {
  const char *name;
  cas_dtype type;
  int rank;                               /* 0: a scalar */
  const char *dims[CAS_DATASET_MAX_RANK]; /* names of declared dimensions */
  const void *data;                       /* row-major, of the dimensions' lengths */
  const char *units;                      /* NULL: none (labels, text) */
  const char *long_name;
  int per_path;                           /* first dimension "path": chunked, compressed */
} cas_dataset;

/* A root attribute: a text or one number. */
typedef struct cas_attribute {
  const char *name;
  cas_dtype type;         /* CAS_DT_STR, CAS_DT_F64, CAS_DT_U64, CAS_DT_I32 */
  const void *value;
} cas_attribute;

typedef struct cas_dataset_list {
  cas_dimension *dim;
  size_t ndims, dim_cap;
  cas_dataset *set;
  size_t nsets, set_cap;
  cas_attribute *attr;
  size_t nattrs, attr_cap;
  /* copies of numbers and texts the list owns (attributes' values, names) */
  void **owned;
  size_t nowned, owned_cap;
  int failed;             /* out of memory while adding */
} cas_dataset_list;

/* Adds; on failure the list is marked failed (checked once before writing). */
void cas_datasets_dimension(cas_dataset_list *l, cas_dimension d);
void cas_datasets_add(cas_dataset_list *l, cas_dataset d);
void cas_datasets_attribute(cas_dataset_list *l, const char *name, cas_dtype type,
                            const void *value);
/* A text or a number the list keeps (for values computed while
 * describing): a copy of size bytes, or of the string. NULL on failure. */
void *cas_datasets_keep(cas_dataset_list *l, const void *value, size_t size);
const char *cas_datasets_keep_text(cas_dataset_list *l, const char *text);
/* Takes ownership of p (malloc'ed; freed with the list); returns p, or
 * NULL (and frees nothing: p NULL marks the list failed). */
void *cas_datasets_own(cas_dataset_list *l, void *p);

/* The dimension named, or NULL. */
const cas_dimension *cas_datasets_find_dimension(const cas_dataset_list *l, const char *name);

void cas_datasets_free(cas_dataset_list *l);

#endif
