/* books.c: the registry of built-in books (see books.h): a constant table
 * of the family's descriptors, walked by registry.c. */
#include "books/books.h"

static const cas_book_model *const registry[] = {
  &cas_book_yrd,
};
enum { NMODELS = sizeof registry / sizeof registry[0] };

static const cas_model_info *info_at(size_t i) { return &registry[i]->info; }

const cas_book_model *cas_book_at(size_t i) { return i < NMODELS ? registry[i] : NULL; }

const cas_book_model *cas_book_lookup(const char *name) {
  return cas_book_at(cas_registry_index(NMODELS, info_at, name));
}

void cas_book_list(char *buf, size_t size) { cas_registry_list(NMODELS, info_at, buf, size); }
