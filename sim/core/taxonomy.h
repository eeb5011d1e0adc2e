/*
 * taxonomy.h: the classification of a book: its regions, sectors and
 * cities, and the segments (region x sector) that results are reported by.
 *
 * A classification is data (cas_taxonomy): the built-in book has the
 * Yangtze River Delta's (cas_taxonomy_yrd: 4 provinces, 9 sectors, 18
 * cities), a CSV book the values its columns hold, in order of first
 * appearance, or the names a scenario declares (docs/MODEL.md,
 * Classification). Names are identifiers (cas_name_check) used in CSV
 * files, scenario files and HDF5 labels; the order of each list is part of
 * the result: segment s = region * nsectors + sector, and the factor model
 * (factors.h) is built from these lists in their order.
 *
 * The delta's own tables below are what the built-in book and network
 * generators (and the default loadings) are written against.
 */
#ifndef CASCADE_TAXONOMY_H
#define CASCADE_TAXONOMY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* ---- The Yangtze River Delta classification (built-in book "yrd") ---- */

enum {
  CAS_REGION_SHANGHAI = 0,
  CAS_REGION_JIANGSU,
  CAS_REGION_ZHEJIANG,
  CAS_REGION_ANHUI,
  CAS_YRD_NREGIONS
};

enum {
  CAS_SECTOR_TECH_STARTUP = 0,  /* science-and-technology start-ups */
  CAS_SECTOR_GREEN,             /* green loans (energy transition, pilot zones) */
  CAS_SECTOR_INCLUSIVE_MICRO,   /* inclusive micro and small-firm loans */
  CAS_SECTOR_MANUFACTURING,
  CAS_SECTOR_WHOLESALE_RETAIL,
  CAS_SECTOR_REAL_ESTATE,
  CAS_SECTOR_CONSTRUCTION,
  CAS_SECTOR_INFRASTRUCTURE,    /* transport, utilities, port and shipping */
  CAS_SECTOR_HOUSEHOLD,         /* personal and farm-household loans */
  CAS_YRD_NSECTORS
};

enum { CAS_YRD_NSEGMENTS = CAS_YRD_NREGIONS * CAS_YRD_NSECTORS };

typedef struct cas_city {
  const char *name;  /* identifier, e.g. "hangzhou" */
  int region;        /* CAS_REGION_* */
  int g60;           /* 1 if on the G60 science-and-technology corridor */
} cas_city;

extern const char *const cas_yrd_region_names[CAS_YRD_NREGIONS];
extern const char *const cas_yrd_sector_names[CAS_YRD_NSECTORS];
extern const cas_city cas_yrd_cities[];
extern const int cas_yrd_ncities;

/* Index of name in the delta's tables, or -1 (exact match). */
int cas_yrd_city_index(const char *name);

/* ---- Names: an ordered list of distinct identifiers with fast lookup ---- */

enum {
  CAS_NAME_MAX = 64,          /* bytes of one name */
  CAS_NAMES_MAX = 65535,      /* names in one list (codes are uint16_t, 0xFFFF: none) */
  CAS_SEGMENTS_MAX = 65536,   /* regions x sectors */
  CAS_NONE = 0xFFFF
};

typedef struct cas_names {
  int n, cap;
  char **name;        /* [n], each NUL-terminated, owned */
  int32_t *slot;      /* open addressing: index + 1, 0 empty */
  uint32_t mask;
} cas_names;

/* NULL if s (len bytes) is a valid name, else what is wrong with it, e.g.
 * "contains ','". A name is 1 to CAS_NAME_MAX bytes of letters, digits,
 * '_' and '-' (ASCII) or any non-ASCII UTF-8 character (e.g. 江苏), and does
 * not start with '-'. */
const char *cas_name_check(const char *s, size_t len);

/* Index of s (len bytes) or -1. */
int cas_names_find(const cas_names *t, const char *s, size_t len);
/* Index of s, added at the end if new (no check of the name). -1 out of
 * memory, -2 if the list is full (CAS_NAMES_MAX). */
int cas_names_add(cas_names *t, const char *s, size_t len);
/* "a, b, c" or, beyond `first` names, "a, b, ... (N in all)", cut to size. */
void cas_names_list(const cas_names *t, int first, char *buf, size_t size);
void cas_names_free(cas_names *t);
/* 0 on success, -1 out of memory. */
int cas_names_copy(cas_names *dst, const cas_names *src);
int cas_names_equal(const cas_names *a, const cas_names *b);

/* ---- A classification ---- */

typedef struct cas_taxonomy {
  cas_names regions, sectors, cities;
  int32_t *city_region;   /* [cities.n]: the region a city belongs to, or -1 (not tied) */
  int city_region_cap;
  int nsegments;          /* regions.n x sectors.n */
  int cities_open;        /* declared without cities: a book's cities are added as they come */
  char source[32];        /* "yrd", "data" (first appearance) or "declared" */
} cas_taxonomy;

/* A new, empty classification (source "data"); NULL out of memory. */
cas_taxonomy *cas_taxonomy_create(void);
/* The delta's: the tables above, cities tied to their regions. */
cas_taxonomy *cas_taxonomy_yrd(void);
cas_taxonomy *cas_taxonomy_copy(const cas_taxonomy *t);
void cas_taxonomy_destroy(cas_taxonomy *t);
/* Sets nsegments after regions or sectors change; CAS_ERR_INPUT (with a
 * message naming the counts) above CAS_SEGMENTS_MAX. */
cas_status cas_taxonomy_finish(cas_taxonomy *t, cas_error *err);
/* Adds a city (if new) tied to region (-1: none); its index, or -1 out of
 * memory, -2 list full. An existing city keeps its region. */
int cas_taxonomy_add_city(cas_taxonomy *t, const char *s, size_t len, int region);
int cas_taxonomy_equal(const cas_taxonomy *a, const cas_taxonomy *b);

static inline int cas_taxonomy_segment(const cas_taxonomy *t, int region, int sector) {
  return region * t->sectors.n + sector;
}
static inline int cas_taxonomy_segment_region(const cas_taxonomy *t, int segment) {
  return segment / t->sectors.n;
}
static inline int cas_taxonomy_segment_sector(const cas_taxonomy *t, int segment) {
  return segment % t->sectors.n;
}
/* "shanghai/tech_startup" */
void cas_taxonomy_segment_name(const cas_taxonomy *t, int segment, char *buf, size_t size);

#endif
