/*
 * taxonomy.c: the delta's tables and the runtime classification of taxonomy.h.
 *
 * Cities are those the source documents single out (see docs/CALIBRATION.md)
 * plus the provincial capitals; the G60 corridor flag follows the corridor's
 * nine cities (Shanghai Songjiang, Jiaxing, Hangzhou, Jinhua, Suzhou, Huzhou,
 * Xuancheng, Wuhu, Hefei).
 */
#include "taxonomy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cas_yrd_region_names[CAS_YRD_NREGIONS] = {
  "shanghai", "jiangsu", "zhejiang", "anhui"
};

const char *const cas_yrd_sector_names[CAS_YRD_NSECTORS] = {
  "tech_startup", "green", "inclusive_micro", "manufacturing",
  "wholesale_retail", "real_estate", "construction", "infrastructure",
  "household"
};

const cas_city cas_yrd_cities[] = {
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
const int cas_yrd_ncities = (int)(sizeof cas_yrd_cities / sizeof cas_yrd_cities[0]);

int cas_yrd_city_index(const char *name) {
  for (int i = 0; i < cas_yrd_ncities; i++)
    if (strcmp(cas_yrd_cities[i].name, name) == 0) return i;
  return -1;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

const char *cas_name_check(const char *s, size_t len) {
  if (len == 0) return "is empty";
  if (len > CAS_NAME_MAX) return "is longer than 64 bytes";
  if (s[0] == '-') return "starts with '-'";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '_' || c == '-')
      continue;
    if (c == ' ') return "contains a space";
    if (c < 0x20 || c == 0x7F) return "contains a control character";
    if (c == '.') return "contains '.' (it separates a factor family from its member)";
    if (c == '/') return "contains '/' (it separates region and sector in segment names)";
    if (c == ',') return "contains ','";
    return "contains a character other than letters, digits, '_' and '-'";
  }
  return NULL;
}

/* FNV-1a: the lists are small (hundreds of names) and looked up once per
 * CSV field. */
static uint32_t name_hash(const char *s, size_t len) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

int cas_names_find(const cas_names *t, const char *s, size_t len) {
  if (t->slot == NULL) return -1;
  for (uint32_t k = name_hash(s, len) & t->mask;; k = (k + 1) & t->mask) {
    int32_t v = t->slot[k];
    if (v == 0) return -1;
    const char *name = t->name[v - 1];
    if (strncmp(name, s, len) == 0 && name[len] == '\0') return v - 1;
  }
}

static int rehash(cas_names *t, uint32_t nslot) {
  int32_t *slot = calloc(nslot, sizeof *slot);
  if (slot == NULL) return -1;
  for (int i = 0; i < t->n; i++) {
    uint32_t k = name_hash(t->name[i], strlen(t->name[i])) & (nslot - 1);
    while (slot[k] != 0) k = (k + 1) & (nslot - 1);
    slot[k] = i + 1;
  }
  free(t->slot);
  t->slot = slot;
  t->mask = nslot - 1;
  return 0;
}

int cas_names_add(cas_names *t, const char *s, size_t len) {
  int i = cas_names_find(t, s, len);
  if (i >= 0) return i;
  if (t->n >= CAS_NAMES_MAX) return -2;
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 16;
    char **name = realloc(t->name, (size_t)cap * sizeof *name);
    if (name == NULL) return -1;
    t->name = name;
    t->cap = cap;
  }
  if (t->slot == NULL || 2 * (uint32_t)(t->n + 1) > t->mask + 1) {
    uint32_t nslot = t->slot ? 2 * (t->mask + 1) : 32;
    while (2 * (uint32_t)(t->n + 1) > nslot) nslot *= 2;
    if (rehash(t, nslot) != 0) return -1;
  }
  char *copy = malloc(len + 1);
  if (copy == NULL) return -1;
  memcpy(copy, s, len);
  copy[len] = '\0';
  t->name[t->n] = copy;
  uint32_t k = name_hash(s, len) & t->mask;
  while (t->slot[k] != 0) k = (k + 1) & t->mask;
  t->slot[k] = t->n + 1;
  return t->n++;
}

void cas_names_list(const cas_names *t, int first, char *buf, size_t size) {
  size_t used = 0;
  if (size == 0) return;
  buf[0] = '\0';
  int shown = t->n <= first + 1 ? t->n : first;
  for (int i = 0; i < shown && used < size; i++) {
    int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", t->name[i]);
    if (k < 0) return;
    used += (size_t)k;
  }
  if (shown < t->n && used < size)
    snprintf(buf + used, size - used, ", ... (%d in all)", t->n);
}

void cas_names_free(cas_names *t) {
  for (int i = 0; i < t->n; i++) free(t->name[i]);
  free(t->name);
  free(t->slot);
  *t = (cas_names){0};
}

int cas_names_copy(cas_names *dst, const cas_names *src) {
  *dst = (cas_names){0};
  for (int i = 0; i < src->n; i++)
    if (cas_names_add(dst, src->name[i], strlen(src->name[i])) < 0) {
      cas_names_free(dst);
      return -1;
    }
  return 0;
}

int cas_names_equal(const cas_names *a, const cas_names *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++)
    if (strcmp(a->name[i], b->name[i]) != 0) return 0;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Classifications                                                           */
/* ------------------------------------------------------------------------ */

cas_taxonomy *cas_taxonomy_create(void) {
  cas_taxonomy *t = calloc(1, sizeof *t);
  if (t != NULL) snprintf(t->source, sizeof t->source, "data");
  return t;
}

void cas_taxonomy_destroy(cas_taxonomy *t) {
  if (t == NULL) return;
  cas_names_free(&t->regions);
  cas_names_free(&t->sectors);
  cas_names_free(&t->cities);
  free(t->city_region);
  free(t);
}

cas_status cas_taxonomy_finish(cas_taxonomy *t, cas_error *err) {
  long n = (long)t->regions.n * t->sectors.n;
  if (n > CAS_SEGMENTS_MAX)
    return cas_error_set(err, CAS_ERR_INPUT,
                         "too many segments (got %d regions x %d sectors = %ld, expected at most %d)",
                         t->regions.n, t->sectors.n, n, CAS_SEGMENTS_MAX);
  t->nsegments = (int)n;
  return CAS_OK;
}

int cas_taxonomy_add_city(cas_taxonomy *t, const char *s, size_t len, int region) {
  int before = t->cities.n;
  int c = cas_names_add(&t->cities, s, len);
  if (c < 0 || t->cities.n == before) return c;
  if (t->cities.n > t->city_region_cap) {
    int cap = t->cities.cap;
    int32_t *cr = realloc(t->city_region, (size_t)cap * sizeof *cr);
    if (cr == NULL) {
      free(t->cities.name[--t->cities.n]);
      rehash(&t->cities, t->cities.mask + 1);
      return -1;
    }
    t->city_region = cr;
    t->city_region_cap = cap;
  }
  t->city_region[c] = region;
  return c;
}

cas_taxonomy *cas_taxonomy_yrd(void) {
  cas_taxonomy *t = cas_taxonomy_create();
  if (t == NULL) return NULL;
  snprintf(t->source, sizeof t->source, "yrd");
  int ok = 1;
  for (int r = 0; r < CAS_YRD_NREGIONS; r++)
    ok &= cas_names_add(&t->regions, cas_yrd_region_names[r], strlen(cas_yrd_region_names[r])) >= 0;
  for (int s = 0; s < CAS_YRD_NSECTORS; s++)
    ok &= cas_names_add(&t->sectors, cas_yrd_sector_names[s], strlen(cas_yrd_sector_names[s])) >= 0;
  for (int c = 0; c < cas_yrd_ncities; c++)
    ok &= cas_taxonomy_add_city(t, cas_yrd_cities[c].name, strlen(cas_yrd_cities[c].name),
                                cas_yrd_cities[c].region) >= 0;
  if (!ok) {
    cas_taxonomy_destroy(t);
    return NULL;
  }
  t->nsegments = CAS_YRD_NSEGMENTS;
  return t;
}

cas_taxonomy *cas_taxonomy_copy(const cas_taxonomy *src) {
  cas_taxonomy *t = cas_taxonomy_create();
  if (t == NULL) return NULL;
  memcpy(t->source, src->source, sizeof t->source);
  t->nsegments = src->nsegments;
  t->cities_open = src->cities_open;
  int ok = cas_names_copy(&t->regions, &src->regions) == 0 &&
           cas_names_copy(&t->sectors, &src->sectors) == 0;
  for (int c = 0; ok && c < src->cities.n; c++)
    ok = cas_taxonomy_add_city(t, src->cities.name[c], strlen(src->cities.name[c]),
                               src->city_region[c]) >= 0;
  if (!ok) {
    cas_taxonomy_destroy(t);
    return NULL;
  }
  return t;
}

int cas_taxonomy_equal(const cas_taxonomy *a, const cas_taxonomy *b) {
  if (!cas_names_equal(&a->regions, &b->regions) || !cas_names_equal(&a->sectors, &b->sectors) ||
      !cas_names_equal(&a->cities, &b->cities))
    return 0;
  for (int c = 0; c < a->cities.n; c++)
    if (a->city_region[c] != b->city_region[c]) return 0;
  return 1;
}

void cas_taxonomy_segment_name(const cas_taxonomy *t, int segment, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", t->regions.name[cas_taxonomy_segment_region(t, segment)],
           t->sectors.name[cas_taxonomy_segment_sector(t, segment)]);
}
