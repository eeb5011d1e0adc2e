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
#include "factors.h"
#include "taxonomy.h"

/* One shock. A shock applies to the loans of its region and sector (-1:
 * all; indices into the bound classification, cas_scenario.tax). Shocks that apply to the same loan compose: multipliers multiply,
 * additions add, collateral haircuts compound (what is left of the value
 * multiplies: 1 - h = (1 - h1)(1 - h2)). pd_multiplier multiplies the odds PD / (1 - PD), so a PD
 * never reaches 1 (docs/MODEL.md); the product of the multipliers that
 * apply to one segment, taken in shock order, stays in
 * [CAS_PD_MULTIPLIER_MIN, CAS_PD_MULTIPLIER_MAX] (checked on load).
 * factor_shift moves one systematic factor: the one named by the shock's
 * factor key, else the member of the family by sector if only sector is
 * given, by region if only region is given, the single factor without a
 * classification column if neither (docs/MODEL.md, Shocks). */
typedef struct cas_shock {
  int region;             /* index into tax->regions, or -1 */
  int sector;             /* index into tax->sectors, or -1 */
  int city;               /* index into tax->cities, or -1: only that city's loans */
  int factor;             /* factor moved by factor_shift, or -1 (no factor_shift given) */
  double pd_multiplier;   /* multiplies the odds of default, in [0.001, 1000], default 1 */
  double lgd_add;         /* [fraction of EAD] in [-1, 1], default 0; LGD is clamped to [0, 1] */
  double ead_multiplier;  /* > 0, default 1 (credit-line drawdown) */
  double ccf_add;         /* added to credit lines' conversion factors, in [-1, 1], default 0
                             (the factor is clamped to [0, 1]; term loans have none) */
  double factor_shift;    /* [standard deviations of the factor], default 0; negative is adverse */
  double collateral_haircut;  /* share of the collateral's value lost, in [0, 1], default 0: raises
                                 the LGD of secured loans (docs/MODEL.md, Collateral haircuts) */
  long line, col;         /* where the shock starts in its file */
  const char *file;       /* which file (points into cas_scenario.file_paths) */
  int derived;            /* 1: made by the macro satellite model, not written back as a shock */
  const void *pd_at;      /* where its PD multiplier is written (for messages) */
  const void *ead_at;     /* where its EAD multiplier is written (for messages) */
  /* With a multi-year horizon, the effects year by year, or NULL (the same
   * every year): by_year[t * CAS_SHOCK_NEFFECTS + e] is effect e (order of
   * cas_shock_effects) in year t (0-based). The fields above hold the
   * values of the scenario's current year (cas_scenario_set_year). */
  double *by_year;
  unsigned per_year;      /* bit e set: effect e was given as a list (written back as one) */
} cas_shock;

/* The effects of a shock, in the order of by_year: pd_multiplier, lgd_add,
 * ead_multiplier, ccf_add, factor_shift, collateral_haircut. */
enum { CAS_SHOCK_NEFFECTS = 6, CAS_MAX_YEARS = 30 };
extern const char *const cas_shock_effects[CAS_SHOCK_NEFFECTS];

/* A macro scenario (key macro, docs/MODEL.md, Macro scenarios): values of
 * macro variables (deviations from the baseline projection, in each
 * variable's own units) and the satellite model that turns them into
 * shocks: each link moves one factor (per_unit SD per unit), or scales the
 * odds of default of a region and sector (by exp(pd_elasticity x value)),
 * or adds to their LGD (lgd_per_unit x value). A variable given year by
 * year makes its links' shocks change by year (their by_year). */
typedef struct cas_macro_variable {
  char *name;
  double value;           /* in year 0 */
  double *by_year;        /* [horizon_years] when given as a list (written back as one), or NULL:
                             value in every year */
} cas_macro_variable;

/* A mitigant (key mitigants, docs/MODEL.md, Mitigants): a guarantee fund,
 * risk-compensation pool or loan-guarantee insurance that pays `share` of
 * the loss of each defaulted loan it covers (those of its region, sector
 * and city; -1: all), at most cap_per_loan per loan, cap_per_year in one
 * year of a path and cap in all on a path (over the horizon,
 * cas_scenario.horizon_years); when the claims of a path exceed cap the
 * pool is exhausted and pays them in proportion. A loan is covered by the
 * first mitigant that matches it. */
typedef struct cas_mitigant {
  char *name;
  int kind;               /* index into cas_mitigant_kinds */
  int region, sector, city;
  double share;           /* (0, 1] */
  double cap_per_loan;    /* [CNY] > 0, INFINITY: none */
  double cap_per_year;    /* [CNY] > 0, INFINITY: none (the most paid in one year) */
  double cap;             /* [CNY] > 0: the most paid over the horizon */
  /* ids: the loans covered, by id (with region, sector, city: those of
   * them that also match), or none (nids 0); each with where it is
   * written, for the error when the book has no such loan (plan.c). */
  char **ids;
  size_t nids;
  long *id_line, *id_col;
  long line, col;
  const char *file;
} cas_mitigant;

extern const char *const cas_mitigant_kinds[];   /* NULL-terminated */

typedef enum cas_macro_effect { CAS_MACRO_FACTOR, CAS_MACRO_PD, CAS_MACRO_LGD } cas_macro_effect;

typedef struct cas_macro_link {
  char *variable;          /* a name of macro.variables */
  cas_macro_effect effect;
  char *factor;            /* CAS_MACRO_FACTOR: the factor moved */
  char *region, *sector;   /* CAS_MACRO_PD, CAS_MACRO_LGD: NULL for all */
  double coefficient;      /* per_unit, pd_elasticity or lgd_per_unit */
} cas_macro_link;

/* Regional spill-over: at the start of every cascade round, factor
 * `factor` moves by -beta x (default rate of segment `segment` so far, all
 * earlier rounds included) [SD]. */
typedef struct cas_spillover {
  int segment;            /* source segment: region * nsectors + sector */
  int factor;             /* factor moved (index into the factor model) */
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
  CAS_NETWORK_BUILTIN = 1,   /* a built-in network (network.builtin, models/networks) */
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
/* The EAD multipliers that apply to a loan multiply to a number in
 * [CAS_EAD_MULTIPLIER_MIN, CAS_EAD_MULTIPLIER_MAX] (checked on load), so
 * that a stressed EAD stays a finite amount (portfolio.h, CAS_AMOUNT_MAX). */
#define CAS_EAD_MULTIPLIER_MIN 0.001
#define CAS_EAD_MULTIPLIER_MAX 1000.0

/* 1 if the shock applies to the loans of (region, sector) (a missing one
 * matching all); a shock with a city applies only to the loans of that
 * city among them (cas_shock_applies_city). */
static inline int cas_shock_applies(const cas_shock *sh, int region, int sector) {
  return (sh->region < 0 || sh->region == region) && (sh->sector < 0 || sh->sector == sector);
}
/* The same for loans of city (-1: none or a city no shock names). */
static inline int cas_shock_applies_city(const cas_shock *sh, int region, int sector, int city) {
  return cas_shock_applies(sh, region, sector) && (sh->city < 0 || sh->city == city);
}

/* How a factor shift moves the factors correlated with the shifted ones
 * (docs/MODEL.md, Shocks). */
typedef enum cas_shift_mode {
  CAS_SHIFT_CONDITIONAL = 0,  /* default: the mean of every factor moves to its
                                 conditional mean given the shifted factors' shifts */
  CAS_SHIFT_ISOLATED = 1      /* only the shifted factors move */
} cas_shift_mode;

/* Scenario names of the modes, indexed by cas_shift_mode, NULL-terminated. */
extern const char *const cas_shift_mode_names[];

enum { CAS_MODEL_NAME_MAX = 32, CAS_SCENARIO_MAX_LEVELS = 16 };
#define CAS_LGD_SD_DEFAULT 0.2

typedef struct cas_scenario_tree cas_scenario_tree;

enum { CAS_IS_OFF = 0, CAS_IS_LEVEL = 1, CAS_IS_LOSS = 2 };

typedef struct cas_scenario {
  char *name;          /* identifier [A-Za-z0-9_.-]+; default: file name without .yaml */
  char *description;   /* free text, default "" */
  uint64_t seed;       /* simulation seed, default 1 */
  uint64_t paths;      /* Monte Carlo paths, default 10000, >= 100 */
  /* Confidence levels of VaR, ES and the contributions: increasing, each in
   * (0, 1); default 0.95, 0.99, 0.999. A level with few paths beyond it is
   * allowed: its estimate is noisy and its standard error says so. */
  double levels[CAS_SCENARIO_MAX_LEVELS];
  int nlevels;

  struct {
    cas_portfolio_source source;  /* default builtin */
    char builtin[CAS_MODEL_NAME_MAX]; /* models/books registry, default "yrd" (CAS_BOOK_DEFAULT);
                                         the book generated when source is builtin */
    char *file;         /* CSV path (source == FILE): absolute, canonical (realpath), resolved
                           against the folder of the file that names it; NULL for builtin */
    uint64_t loans;     /* built-in size, default CAS_PORTFOLIO_DEFAULT_LOANS */
    uint64_t seed;      /* built-in generator seed, default 1 */
  } portfolio;

  /* The classification the scenario declares (key classification), or
   * NULL: the book's own (built-in: the delta's; CSV: its values in order
   * of first appearance). A CSV book is then read against it. */
  cas_taxonomy *declared;

  char copula[CAS_MODEL_NAME_MAX];     /* models/copula registry, default "gaussian" */
  double copula_df;    /* degrees of freedom of a copula that has them (t): model.degrees_of_freedom,
                          default the model's (5 for t); 0 for a copula without */
  char lgd_model[CAS_MODEL_NAME_MAX];  /* models/lgd registry, default "fixed" */
  /* A stochastic LGD model's parameters (models/lgd/beta.c): the standard
   * deviation of the loss fraction by sector (model.lgd_sd: one number, or
   * a mapping of sectors; default CAS_LGD_SD_DEFAULT), bound with the
   * classification: lgd_sd[sector]; and the downturn link's strength
   * (model.lgd_downturn, >= 0, default 0). */
  double *lgd_sd;
  double lgd_downturn;
  /* The analytic cross-checks (docs/MODEL.md, Analytic cross-checks): the
   * Basel IRB asset class of each sector (model.irb_class: one class for
   * all, or a mapping of sectors; default corporate), bound with the
   * classification: irb_class[sector] (cas_irb_class), and the effective
   * maturity of the corporate formula (model.irb_maturity, years in
   * [1, 5], default 2.5, the foundation approach's). */
  int *irb_class;
  double irb_maturity;

  /* The horizon (docs/MODEL.md, Multi-year horizon): model.horizon_years in
   * [1, CAS_MAX_YEARS], default 1; with more than one, the factors follow
   * an AR(1) from year to year with model.factor_autocorrelation in
   * [0, 1) (default 0.5), and shocks may give one value per year. year is
   * the year (0-based) whose values the shocks hold (cas_scenario_set_year). */
  int horizon_years;
  double factor_autocorrelation;
  int year;

  /* Bound to a classification (cas_scenario_bind; done on load when the
   * classification is known without reading the book: the built-in book or
   * a declared one). Until then tax and factors are NULL and shocks and
   * spill-overs are not resolved (nshocks, nspillover 0). */
  cas_taxonomy *tax;            /* the classification the names resolved against */
  cas_factor_model *factors;    /* the factor model (factors.h) over tax */

  cas_shock *shocks;
  size_t nshocks;      /* the scenario's shocks, then those its macro scenario derives */
  cas_mitigant *mitigants;   /* region, sector, city bound with the classification */
  size_t nmitigants;
  cas_macro_variable *macro_vars;
  size_t nmacro_vars;
  cas_macro_link *macro_links;
  size_t nmacro_links;
  cas_shift_mode factor_shift_mode;  /* default CAS_SHIFT_CONDITIONAL */

  /* The links between borrowers (docs/NETWORK.md): supply chains and
   * guarantees. Part of the book, like the portfolio: guarantees are booked
   * (double default, docs/CONTAGION.md) whenever the scenario has a
   * network, with contagion on or off. */
  struct {
    cas_network_source source;   /* default CAS_NETWORK_NONE */
    char builtin[CAS_MODEL_NAME_MAX]; /* models/networks registry, default "yrd"
                                         (CAS_NETWORK_DEFAULT); the network generated when
                                         source is builtin ("none" is no network: source) */
    char *file;                  /* links CSV, resolved like portfolio.file */
    uint64_t seed;               /* built-in network seed, default 1 */
    /* where the source is written (its builtin or file value), for errors
     * found when the network is made (at_file NULL: not written) */
    long at_line, at_col;
    const char *at_file;
  } network;

  /* Default propagation along the network (docs/CONTAGION.md). */
  struct {
    char model[CAS_MODEL_NAME_MAX]; /* models/contagion registry: "none" (default) or "network";
                                       `enabled: true` is short for "network" */
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

  /* What the result stores per path besides the totals (key output.per_path,
   * docs/OUTPUT.md, Memory): CAS_PER_PATH_* flags, or auto (per_path_auto):
   * by segment when the book has at most CAS_PER_PATH_AUTO_SEGMENTS
   * segments, else by region and by sector. Summaries by segment are kept
   * whatever is stored per path. */
  int per_path_auto;     /* default 1 */
  unsigned per_path;
  /* output.realised_lgd: the stressed EAD of every default is summed (the
   * realised LGD's denominator; docs/OUTPUT.md), which costs the sparse
   * kernel a memory access per default: auto (default) does it with a
   * stochastic LGD model only. */
  int realised_lgd;      /* CAS_REALISED_LGD_* */

  /* importance_sampling: off (default), {level: a} or {loss: x}: the
   * factor stream's normals are shifted to the design point of VaR_a or
   * of the loss x (design.h) and every path weighted by its likelihood
   * ratio (docs/MODEL.md, Importance sampling). */
  struct {
    int mode;            /* CAS_IS_OFF, CAS_IS_LEVEL, CAS_IS_LOSS */
    double level;        /* in (0, 1) */
    double loss;         /* [CNY] > 0 */
    double plain_share;  /* the defensive mixture's share of unshifted paths, in [0, 1), default 0 */
    /* where the level or loss is written, for errors found when the run
     * looks for the design point (at_file NULL: given on the command line) */
    long at_line, at_col;
    const char *at_file;
  } importance;

  /* The files read: file_paths[0]/file_texts[0] is the scenario itself,
   * [k] its k-th base through extends. Texts are byte-exact copies. */
  size_t nfiles;
  char **file_paths;
  char **file_texts;

  cas_scenario_tree *tree;   /* the parsed files, kept for binding */
} cas_scenario;

enum {
  CAS_PER_PATH_SEGMENT = 1,
  CAS_PER_PATH_REGION = 2,
  CAS_PER_PATH_SECTOR = 4,
  CAS_PER_PATH_AUTO_SEGMENTS = 64
};

/* The CAS_PER_PATH_* flags for a book of nsegments segments. */
unsigned cas_scenario_per_path(const cas_scenario *sc, int nsegments);

enum { CAS_REALISED_LGD_OFF = 0, CAS_REALISED_LGD_ON = 1, CAS_REALISED_LGD_AUTO = 2 };

/* Reads, resolves and validates a scenario file. Checks model names against
 * the registries and, once bound, that the correlation matrix is positive
 * definite and that every segment's systematic variance a' C a is below 1. */
cas_status cas_scenario_load(const char *path, cas_scenario **out, cas_error *err);

/* As cas_scenario_load for a text held in memory. path is the file name the
 * text stands for (it is not read): it prefixes messages, gives the default
 * name and the folder that extends and portfolio.file are relative to, and
 * is recorded as file_paths[0] (file_texts[0] is a copy of text). */
cas_status cas_scenario_load_text(const char *text, const char *path, cas_scenario **out,
                                  cas_error *err);

/* Binds the scenario to the classification of its book: resolves the
 * names of shocks, spill-overs, loadings and correlations and builds the
 * factor model, with "file:line:col" errors (the valid names listed). A
 * no-op if already bound to an equal classification. */
cas_status cas_scenario_bind(cas_scenario *sc, const cas_taxonomy *tax, cas_error *err);

/* Writes the resolved (bound) scenario as a self-contained YAML document
 * (no extends, every key explicit, the classification of a CSV book
 * declared) into a malloc'ed string. Loading that text gives the same
 * scenario. */
cas_status cas_scenario_write_yaml(const cas_scenario *sc, char **text, cas_error *err);


void cas_scenario_destroy(cas_scenario *sc);

/* Makes the shocks (the scenario's and the macro scenario's derived ones)
 * hold their values for year (0-based, < horizon_years): the plan of each
 * year is built from them (plan.c). A no-op for shocks without by_year. */
void cas_scenario_set_year(cas_scenario *sc, int year);

/* Appends a shock that shifts factor f by shift[t] standard deviations in
 * each year t of the horizon (one value without a multi-year horizon), as
 * if the scenario had listed it last (the reverse stress test writes its
 * scenario this way). Holds the values of the scenario's current year. */
cas_status cas_scenario_add_factor_shift(cas_scenario *sc, int factor, const double *shift,
                                         cas_error *err);

#endif
