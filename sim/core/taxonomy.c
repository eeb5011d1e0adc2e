/*
 * taxonomy.c: the constant tables of taxonomy.h.
 *
 * Cities are those the source documents single out (see docs/CALIBRATION.md)
 * plus the provincial capitals; the G60 corridor flag follows the corridor's
 * nine cities (Shanghai Songjiang, Jiaxing, Hangzhou, Jinhua, Suzhou, Huzhou,
 * Xuancheng, Wuhu, Hefei).
 */
#include "taxonomy.h"

#include <stdio.h>
#include <string.h>

const char *const cas_region_names[CAS_NREGIONS] = {
  "shanghai", "jiangsu", "zhejiang", "anhui"
};

const char *const cas_sector_names[CAS_NSECTORS] = {
  "tech_startup", "green", "inclusive_micro", "manufacturing",
  "wholesale_retail", "real_estate", "construction", "infrastructure",
  "household"
};

const cas_city cas_cities[] = {
  {"shanghai", CAS_REGION_SHANGHAI, 1},
  {"nanjing", CAS_REGION_JIANGSU, 0},
  {"suzhou", CAS_REGION_JIANGSU, 1},
  {"wuxi", CAS_REGION_JIANGSU, 0},
  {"changzhou", CAS_REGION_JIANGSU, 0},
  {"nantong", CAS_REGION_JIANGSU, 0},
  {"hangzhou", CAS_REGION_ZHEJIANG, 1},
  {"ningbo", CAS_REGION_ZHEJIANG, 0},
  {"jiaxing", CAS_REGION_ZHEJIANG, 1},
  {"huzhou", CAS_REGION_ZHEJIANG, 1},
  {"quzhou", CAS_REGION_ZHEJIANG, 0},
  {"shaoxing", CAS_REGION_ZHEJIANG, 0},
  {"zhoushan", CAS_REGION_ZHEJIANG, 0},
  {"jinhua", CAS_REGION_ZHEJIANG, 1},
  {"wenzhou", CAS_REGION_ZHEJIANG, 0},
  {"hefei", CAS_REGION_ANHUI, 1},
  {"wuhu", CAS_REGION_ANHUI, 1},
  {"xuancheng", CAS_REGION_ANHUI, 1},
};
const int cas_ncities = (int)(sizeof cas_cities / sizeof cas_cities[0]);

static int lookup(const char *const *names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return i;
  return -1;
}

int cas_region_index(const char *name) { return lookup(cas_region_names, CAS_NREGIONS, name); }
int cas_sector_index(const char *name) { return lookup(cas_sector_names, CAS_NSECTORS, name); }

int cas_city_index(const char *name) {
  for (int i = 0; i < cas_ncities; i++)
    if (strcmp(cas_cities[i].name, name) == 0) return i;
  return -1;
}

static void join(char *buf, size_t size, const char *(*get)(int, char *, size_t), int n) {
  size_t used = 0;
  char tmp[CAS_FACTOR_NAME_MAX];
  if (size) buf[0] = '\0';
  for (int i = 0; i < n && used < size; i++) {
    int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", get(i, tmp, sizeof tmp));
    if (k < 0) break;
    used += (size_t)k;
  }
}

static const char *region_at(int i, char *tmp, size_t n) { (void)tmp; (void)n; return cas_region_names[i]; }
static const char *sector_at(int i, char *tmp, size_t n) { (void)tmp; (void)n; return cas_sector_names[i]; }
static const char *city_at(int i, char *tmp, size_t n) { (void)tmp; (void)n; return cas_cities[i].name; }
static const char *factor_at(int i, char *tmp, size_t n) { cas_factor_name(i, tmp, n); return tmp; }

void cas_region_list(char *buf, size_t size) { join(buf, size, region_at, CAS_NREGIONS); }
void cas_sector_list(char *buf, size_t size) { join(buf, size, sector_at, CAS_NSECTORS); }
void cas_city_list(char *buf, size_t size) { join(buf, size, city_at, cas_ncities); }
void cas_factor_list(char *buf, size_t size) { join(buf, size, factor_at, CAS_NFACTORS); }

void cas_segment_name(int segment, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", cas_region_names[cas_segment_region(segment)],
           cas_sector_names[cas_segment_sector(segment)]);
}

void cas_factor_name(int factor, char *buf, size_t size) {
  if (factor == CAS_FACTOR_GLOBAL)
    snprintf(buf, size, "global");
  else if (factor < CAS_FACTOR_SECTOR0)
    snprintf(buf, size, "region.%s", cas_region_names[factor - CAS_FACTOR_REGION0]);
  else
    snprintf(buf, size, "sector.%s", cas_sector_names[factor - CAS_FACTOR_SECTOR0]);
}

int cas_factor_index(const char *name) {
  if (strcmp(name, "global") == 0) return CAS_FACTOR_GLOBAL;
  if (strncmp(name, "region.", 7) == 0) {
    int r = cas_region_index(name + 7);
    return r < 0 ? -1 : CAS_FACTOR_REGION0 + r;
  }
  if (strncmp(name, "sector.", 7) == 0) {
    int s = cas_sector_index(name + 7);
    return s < 0 ? -1 : CAS_FACTOR_SECTOR0 + s;
  }
  return -1;
}
