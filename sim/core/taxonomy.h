/*
 * taxonomy.h: the fixed classification of the Yangtze River Delta book:
 * regions, sectors, cities, segments (region x sector) and the systematic
 * factors of the copula.
 *
 * Names are lower-case identifiers used in CSV files, scenario files and
 * HDF5 labels. The order of each table is part of the file format: segment
 * s = region * CAS_NSECTORS + sector, factor 0 is the global factor, factors
 * 1..CAS_NREGIONS the regions, then one factor per sector.
 */
#ifndef CASCADE_TAXONOMY_H
#define CASCADE_TAXONOMY_H

#include <stddef.h>

enum {
  CAS_REGION_SHANGHAI = 0,
  CAS_REGION_JIANGSU,
  CAS_REGION_ZHEJIANG,
  CAS_REGION_ANHUI,
  CAS_NREGIONS
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
  CAS_NSECTORS
};

enum {
  CAS_NSEGMENTS = CAS_NREGIONS * CAS_NSECTORS,
  CAS_FACTOR_GLOBAL = 0,
  CAS_FACTOR_REGION0 = 1,
  CAS_FACTOR_SECTOR0 = 1 + CAS_NREGIONS,
  CAS_NFACTORS = 1 + CAS_NREGIONS + CAS_NSECTORS,
  CAS_FACTOR_NAME_MAX = 32,
  CAS_SEGMENT_NAME_MAX = 48
};

typedef struct cas_city {
  const char *name;  /* identifier, e.g. "hangzhou" */
  int region;        /* CAS_REGION_* */
  int g60;           /* 1 if on the G60 science-and-technology corridor */
} cas_city;

extern const char *const cas_region_names[CAS_NREGIONS];
extern const char *const cas_sector_names[CAS_NSECTORS];
extern const cas_city cas_cities[];
extern const int cas_ncities;

enum { CAS_CITY_NONE = 0xFFFF };

/* Index of name in the table, or -1. Matching is exact (case-sensitive). */
int cas_region_index(const char *name);
int cas_sector_index(const char *name);
int cas_city_index(const char *name);

/* Writes the valid names of a table, comma separated, into buf. */
void cas_region_list(char *buf, size_t size);
void cas_sector_list(char *buf, size_t size);
void cas_city_list(char *buf, size_t size);

static inline int cas_segment(int region, int sector) {
  return region * CAS_NSECTORS + sector;
}
static inline int cas_segment_region(int segment) { return segment / CAS_NSECTORS; }
static inline int cas_segment_sector(int segment) { return segment % CAS_NSECTORS; }

/* "shanghai/tech_startup" */
void cas_segment_name(int segment, char *buf, size_t size);

/* "global", "region.shanghai", "sector.green" */
void cas_factor_name(int factor, char *buf, size_t size);
/* Index of a factor name as above, or -1. */
int cas_factor_index(const char *name);
void cas_factor_list(char *buf, size_t size);

#endif
