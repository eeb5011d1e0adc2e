/*
 * factors.h: the factor model of the copula as data.
 *
 * Systematic factors come in families (docs/MODEL.md, Factor model): a
 * family without a classification column is one factor (e.g. "global",
 * "market"); a family by region or by sector is one factor per region or
 * sector of the book, named FAMILY.NAME ("region.shanghai",
 * "industry.c13"). A loan loads on one factor of each family: the family's
 * single factor, or the member of its region or sector, with a loading
 * that may depend on the loan's sector. The correlation matrix of the
 * factors is symmetric with unit diagonal and positive definite.
 *
 * So the model a loan sees depends on its segment only: loading[s * nf + f]
 * is what a loan of segment s loads on factor f (zero for the members of a
 * family that are not its own). Today's model is the families global,
 * region and sector; a one-factor (Vasicek) model is one family; market +
 * industries + regions is three.
 */
#ifndef CASCADE_FACTORS_H
#define CASCADE_FACTORS_H

#include "taxonomy.h"

typedef enum cas_factor_by {
  CAS_BY_NONE = 0,    /* one factor */
  CAS_BY_REGION = 1,  /* one factor per region */
  CAS_BY_SECTOR = 2   /* one factor per sector */
} cas_factor_by;

extern const char *const cas_factor_by_names[3]; /* "none", "region", "sector" */

enum { CAS_FACTORS_MAX = 1024 };

typedef struct cas_factor_family {
  char name[CAS_NAME_MAX + 1];
  cas_factor_by by;
  int first, count;   /* its factors: first .. first + count - 1 */
} cas_factor_family;

typedef struct cas_factor_model {
  int nfactors, nsegments, nsectors;
  cas_names names;             /* [nfactors] */
  cas_factor_family *family;   /* [nfamilies] */
  int nfamilies;
  double *family_loading;      /* [nsectors * nfamilies]: a loan of sector s loads
                                  family_loading[s * nfamilies + k] on its factor of family k */
  double *corr;                /* [nfactors * nfactors] */
  double *loading;             /* [nsegments * nfactors] */
} cas_factor_model;

/* The factor of family k that a loan of (region, sector) loads on. */
static inline int cas_factor_of(const cas_factor_model *m, int k, int region, int sector) {
  const cas_factor_family *f = &m->family[k];
  return f->first + (f->by == CAS_BY_REGION ? region : f->by == CAS_BY_SECTOR ? sector : 0);
}

/* Systematic variance a' C a of a loan of segment s. */
double cas_factor_model_systematic_variance(const cas_factor_model *m, int segment);

void cas_factor_model_destroy(cas_factor_model *m);

#endif
