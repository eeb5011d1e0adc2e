/*
 * calibrate.h: the PD-preserving calibration of contagion.
 *
 * Input PDs estimated from default history already contain the defaults
 * that spread along supply chains and guarantees. A run that adds the
 * cascade on top of them counts those defaults twice. In PD-preserving
 * mode (the default, docs/CONTAGION.md) each loan's default threshold is
 * lowered so that its unconditional default probability, cascade
 * included, equals its input PD, on the book without the scenario's shocks
 * (the book's PDs describe normal times; a shock then acts on the
 * calibrated thresholds, and the cascade amplifies it).
 *
 * How. Loans are grouped by segment and by how exposed they are to the
 * cascade (the total weight of the links into them, in classes of powers of
 * two; small classes are merged, so every group holds at least
 * CAS_CALIBRATION_MIN_GROUP loans or a whole segment). Every loan of group j
 * has its threshold lowered by the same delta_j [SD]. Then the expected
 * defaults of the group are
 *     sum_k Phi(c_k - delta_j)  +  C_j(delta),
 * the first term exact (round 0: the copula's marginal), the second the
 * cascade's defaults per path in the group, estimated on pilot paths. The
 * calibration solves sum_k Phi(c_k - delta_j) = sum_k PD_k - C_j(delta) for
 * every group (Newton, the left side being monotone), re-estimates C with
 * the new thresholds and repeats: a fixed-point iteration, which contracts
 * because the cascade's defaults move less than the round-0 ones when the
 * thresholds move. The pilot paths are the same in every iteration
 * (common random numbers: the iteration converges to the fixed point of
 * one sample) and independent of the run's paths (stream index 2^63 + p),
 * so the run does not see the sample it was calibrated on. The first
 * iterations use fewer paths (an eighth, a quarter, a half of them), which
 * costs about 2 pilots in all for the rough part. A lowered threshold is
 * a shift of the latent variable, so within a group a low PD is lowered
 * more in proportion than a high one, as the cascade raises it more.
 *
 * What is recorded: by segment, the input PD (target), the pilot's default
 * rate at the final thresholds (cascade included) with its Monte Carlo
 * standard error, the part of it from the cascade, and the mean threshold
 * offset; the number of pilot paths and iterations; the largest residual
 * |rate - target| / target over the groups.
 *
 * A group whose cascade adds nothing (no links into it and no spill-over)
 * keeps its thresholds exactly: with all weights 0 and no spill-over the
 * calibrated run is the run without contagion, bit for bit.
 */
#ifndef CASCADE_CALIBRATE_H
#define CASCADE_CALIBRATE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "comm.h"
#include "error.h"
#include "network.h"
#include "portfolio.h"
#include "scenario.h"
#include "taxonomy.h"

enum { CAS_CALIBRATION_MIN_GROUP = 256, CAS_CALIBRATION_CLASSES = 8 };

/* Largest offset [SD]: a group whose cascade alone would exceed its PDs
 * stops here (and its residual says so). */
#define CAS_CALIBRATION_MAX_OFFSET 8.0

/* A run whose calibration stops (converged 0) with a mean residual at or
 * above this is refused (run.c): its default rates would be a tenth or
 * more away from the PDs the mode promises to keep. A calibration stopped
 * short by calibration.iterations is far below it (on the built-in book
 * at 20,000 loans: 3.2% after one pilot run, 0.26% after two, converged
 * after three); one that cannot converge, because the cascade alone takes
 * the groups past their PDs, is far above (48% to 100% with the supply
 * chain's weights ten times the built-in ones). */
#define CAS_CALIBRATION_REFUSE_RESIDUAL 0.1

typedef struct cas_calibration {
  size_t ngroups;
  uint32_t *group;             /* [loans] group of each portfolio loan */
  double *offset;              /* [ngroups] threshold offset of the group [SD], >= 0 */
  uint64_t paths;              /* pilot paths (the last, full-size iterations) */
  uint32_t iterations;         /* pilot runs made */
  double max_residual;         /* max over groups of |rate - target| / target at the end */
  double mean_residual;        /* sum over groups of |rate - target| / sum of targets */
  int converged;               /* 0: stopped at calibration.iterations before the tolerance */
  size_t capped;               /* groups whose cascade alone reaches their PDs: offset at the
                                  largest, CAS_CALIBRATION_MAX_OFFSET */
  int nsegments;               /* the arrays below: one entry per segment */
  double *target_pd;           /* mean input PD of the segment */
  double *rate;                /* pilot default rate, cascade included */
  double *rate_se;             /* its Monte Carlo standard error */
  double *cascade_rate;        /* the part of rate from the cascade */
  double *mean_offset;         /* mean threshold offset of its loans [SD] */
} cas_calibration;

typedef struct cas_calibration_options {
  const char *kernel;          /* NULL: the default kernel */
  int threads;                 /* 0: OpenMP default */
  const double *guaranteed;    /* cas_network_guaranteed, as for the run's plan */
  /* Distributed (NULL: one process): every rank calls with the same
   * inputs; each runs its range of every pilot's paths and the counts are
   * added up (integers: exact), so every rank gets one process's offsets.
   * Collective. */
  const cas_comm *comm;
} cas_calibration_options;

/* The pilot paths of a scenario: calibration.paths, or when that is auto
 * a quarter of the run's paths, at least CAS_CALIBRATION_MIN_AUTO_PATHS
 * (the pilot estimates only the cascade's part of the default rates, whose
 * noise is a fraction of the run's: a quarter of the paths keeps the
 * calibration's error well below the run's own). */
enum { CAS_CALIBRATION_MIN_AUTO_PATHS = 1000 };
uint64_t cas_calibration_paths(const cas_scenario *sc);

/* Calibrates the scenario's contagion on its book (shocks left out); the
 * scenario must have contagion on and be bound to the book's
 * classification. */
cas_status cas_calibration_run(const cas_scenario *sc, const cas_portfolio *pf,
                               const cas_network *net, const cas_calibration_options *opt,
                               cas_calibration **out, cas_error *err);
void cas_calibration_destroy(cas_calibration *cal);

/* The calibration's record in a result file (dataset.h; docs/CONTAGION.md). */
void cas_calibration_describe(cas_dataset_list *l, const cas_calibration *cal);

#endif
