/*
 * scenario.h: a stress scenario, read from YAML (libyaml).
 *
 * A scenario names the portfolio, the factor model and the shocks of one
 * stress run. Every key is documented, with unit, default and whether it is
 * optional, in scenarios/reference.yaml. Errors are "file:line:col: message";
 * unknown keys are rejected with the list of valid ones. `extends: FILE`
 * (relative to the scenario's folder) inherits from a base scenario:
 * mappings merge key by key (recursively), scalars and sequences given in the
 * child replace the base's. Chains of extends are followed; cycles are an
 * error.
 *
 * After loading, the scenario is fully resolved: every field holds a value
 * (the file's or the default), so cas_scenario_write_yaml reproduces a
 * self-contained scenario that runs to the same results.
 */
#ifndef CASCADE_SCENARIO_H
#define CASCADE_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "taxonomy.h"

/* One shock. A shock applies to the loans of its region and sector (-1:
 * all). Shocks that apply to the same loan compose: multipliers multiply,
 * additions add. pd_multiplier multiplies the odds PD / (1 - PD), so a PD
 * never reaches 1 (docs/MODEL.md); the product of the multipliers that
 * apply to one segment, taken in shock order, stays in
 * [CAS_PD_MULTIPLIER_MIN, CAS_PD_MULTIPLIER_MAX] (checked on load).
 * factor_shift moves one systematic factor: the sector's factor if only
 * sector is given, the region's if only region is given, the global factor
 * if neither (both given with factor_shift is an error). */
typedef struct cas_shock {
  int region;             /* CAS_REGION_* or -1 */
  int sector;             /* CAS_SECTOR_* or -1 */
  double pd_multiplier;   /* multiplies the odds of default, in [0.001, 1000], default 1 */
  double lgd_add;         /* [fraction of EAD] in [-1, 1], default 0; LGD is clamped to [0, 1] */
  double ead_multiplier;  /* > 0, default 1 (credit-line drawdown) */
  double factor_shift;    /* [standard deviations of the factor], default 0; negative is adverse */
  long line, col;         /* where the shock starts in its file */
  const char *file;       /* which file (points into cas_scenario.file_paths) */
} cas_shock;

/* Regional spill-over: at the start of every cascade round, factor
 * `factor` moves by -beta x (default rate of segment `segment` so far, all
 * earlier rounds included) [SD]. */
typedef struct cas_spillover {
  int segment;            /* source segment: region * CAS_NSECTORS + sector */
  int factor;             /* factor moved (taxonomy.h order) */
  double beta;            /* [SD per unit default rate], >= 0; the move is adverse */
  long line, col;
  const char *file;
} cas_spillover;

typedef enum cas_portfolio_source {
  CAS_PORTFOLIO_BUILTIN = 0,
  CAS_PORTFOLIO_FILE = 1
} cas_portfolio_source;

typedef enum cas_network_source {
  CAS_NETWORK_NONE = 0,      /* no links: no guarantees, nothing to spread along */
  CAS_NETWORK_BUILTIN = 1,   /* the built-in network of the book (yrd) */
  CAS_NETWORK_FILE = 2       /* a links CSV */
} cas_network_source;

/* How contagion meets the input PDs (docs/CONTAGION.md). */
typedef enum cas_calibration_mode {
  CAS_CALIBRATION_PD_PRESERVING = 0, /* thresholds lowered so that each loan's default
                                        probability, cascade included, is its PD */
  CAS_CALIBRATION_ON_TOP = 1,        /* the cascade adds defaults to the input PDs */
  CAS_NCALIBRATION_MODES
} cas_calibration_mode;

extern const char *const cas_calibration_mode_names[CAS_NCALIBRATION_MODES];

/* Range of one pd_multiplier and of the product of those that apply to
 * one segment: the odds of default move by at most a factor of 1000 either
 * way (a 1e-5 PD becomes 1%, a 1% PD 91%). */
#define CAS_PD_MULTIPLIER_MIN 0.001
#define CAS_PD_MULTIPLIER_MAX 1000.0

/* 1 if the shock applies to the loans of segment s (its region and sector
 * match, a missing one matching all). */
int cas_shock_applies(const cas_shock *sh, int segment);

/* How a factor shift moves the factors correlated with the shifted ones
 * (docs/MODEL.md, Shocks). */
typedef enum cas_shift_mode {
  CAS_SHIFT_CONDITIONAL = 0,  /* default: the mean of every factor moves to its
                                 conditional mean given the shifted factors' shifts */
  CAS_SHIFT_ISOLATED = 1      /* only the shifted factors move */
} cas_shift_mode;

/* Scenario names of the modes, indexed by cas_shift_mode, NULL-terminated. */
extern const char *const cas_shift_mode_names[];

enum { CAS_LOADING_GLOBAL = 0, CAS_LOADING_REGION = 1, CAS_LOADING_SECTOR = 2, CAS_NLOADINGS = 3 };
enum { CAS_MODEL_NAME_MAX = 32 };

typedef struct cas_scenario {
  char *name;          /* identifier [A-Za-z0-9_.-]+; default: file name without .yaml */
  char *description;   /* free text, default "" */
  uint64_t seed;       /* simulation seed, default 1 */
  uint64_t paths;      /* Monte Carlo paths, default 10000, >= 100 */

  struct {
    cas_portfolio_source source;  /* default builtin */
    char *file;         /* CSV path (source == FILE): absolute, canonical (realpath), resolved
                           against the folder of the file that names it; NULL for builtin */
    uint64_t loans;     /* built-in size, default CAS_PORTFOLIO_DEFAULT_LOANS */
    uint64_t seed;      /* built-in generator seed, default 1 */
  } portfolio;

  char copula[CAS_MODEL_NAME_MAX];     /* models/copula registry, default "gaussian" */
  char lgd_model[CAS_MODEL_NAME_MAX];  /* models/lgd registry, default "fixed" */

  /* Factor loadings a by sector: [sector][CAS_LOADING_*]. A loan of region
   * r and sector s loads loading[s][GLOBAL] on the global factor,
   * loading[s][REGION] on region r's factor, loading[s][SECTOR] on sector
   * s's factor. Defaults in scenario.c (documented in reference.yaml). */
  double loading[CAS_NSECTORS][CAS_NLOADINGS];

  /* Correlation matrix of the systematic factors (taxonomy.h order),
   * symmetric, unit diagonal, positive definite. Default identity. */
  double factor_corr[CAS_NFACTORS][CAS_NFACTORS];

  cas_shock *shocks;
  size_t nshocks;
  cas_shift_mode factor_shift_mode;  /* default CAS_SHIFT_CONDITIONAL */

  /* The links between borrowers (docs/NETWORK.md): supply chains and
   * guarantees. Part of the book, like the portfolio: guarantees are booked
   * (double default, docs/CONTAGION.md) whenever the scenario has a
   * network, with contagion on or off. */
  struct {
    cas_network_source source;   /* default CAS_NETWORK_NONE */
    char *file;                  /* links CSV, resolved like portfolio.file */
    uint64_t seed;               /* built-in network seed, default 1 */
  } network;

  /* Default propagation along the network (docs/CONTAGION.md). */
  struct {
    int enabled;                 /* default 0 */
    double supply_chain_scale;   /* multiplies supply-chain weights, >= 0, default 1 */
    double guarantee_scale;      /* multiplies guarantee weights (not amounts), >= 0, default 1 */
    uint32_t max_rounds;         /* cap on cascade rounds, default 50 */
    cas_spillover *spillover;
    size_t nspillover;
    cas_calibration_mode calibration;  /* default CAS_CALIBRATION_PD_PRESERVING */
    uint64_t calibration_paths;  /* pilot paths of the PD-preserving calibration; 0 (auto, the
                                    default): cas_calibration_paths() */
    uint32_t calibration_iterations; /* most pilot runs, default 8 */
  } contagion;

  /* The files read: file_paths[0]/file_texts[0] is the scenario itself,
   * [k] its k-th base through extends. Texts are byte-exact copies. */
  size_t nfiles;
  char **file_paths;
  char **file_texts;
} cas_scenario;

/* Reads, resolves and validates a scenario file. Checks model names against
 * the registries, that the correlation matrix is positive definite and that
 * every sector's systematic variance a' C a is below 1. */
cas_status cas_scenario_load(const char *path, cas_scenario **out, cas_error *err);

/* As cas_scenario_load for a text held in memory. path is the file name the
 * text stands for (it is not read): it prefixes messages, gives the default
 * name and the folder that extends and portfolio.file are relative to, and
 * is recorded as file_paths[0] (file_texts[0] is a copy of text). */
cas_status cas_scenario_load_text(const char *text, const char *path, cas_scenario **out,
                                  cas_error *err);

/* Writes the resolved scenario as a self-contained YAML document (no
 * extends, every key explicit) into a malloc'ed string. Loading that text
 * gives the same scenario. */
cas_status cas_scenario_write_yaml(const cas_scenario *sc, char **text, cas_error *err);

/* Systematic variance a' C a of a loan of region r, sector s. */
double cas_scenario_systematic_variance(const cas_scenario *sc, int region, int sector);

void cas_scenario_destroy(cas_scenario *sc);

#endif
