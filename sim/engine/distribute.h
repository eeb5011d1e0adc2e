/*
 * distribute.h: a run's paths over the ranks of a communicator (comm.h).
 *
 * A path's random numbers come from (seed, purpose, path) only, so any
 * rank can simulate any path and get the bits one process would. The paths
 * are split into contiguous ranges at multiples of the driver's unit
 * (cas_results_unit), so that the sums by chunk fall on the same chunks;
 * each rank runs its range into a slice of results (cas_results_set_slice)
 * and rank 0 collects the slices into rows in path order
 * (cas_results_gather). From there on rank 0 alone does what one process
 * does: every sum runs in the same order over the same bits, and the file
 * is the same, byte for byte in every dataset (docs/CLUSTER.md).
 */
#ifndef CASCADE_DISTRIBUTE_H
#define CASCADE_DISTRIBUTE_H

#include <stdint.h>

#include "comm.h"
#include "error.h"
#include "kernel.h"
#include "plan.h"
#include "sha256.h"

/* first[0..size]: rank k runs paths [first[k], first[k+1]), split as
 * evenly as whole units allow (first[k] a multiple of unit). */
void cas_split_paths(uint64_t paths, uint64_t unit, int size, uint64_t *first);

/* Collective: rank 0's results (paths = all the run's) receive every other
 * rank's slice of rows and of the sums by chunk; the exact integer sums by
 * segment of all ranks are added up. Every rank must have run its slice of
 * the same plan with the same options (weights, segments, groupings). */
cas_status cas_results_gather(cas_results *res, const cas_comm *c, const uint64_t *first,
                              cas_error *err);

/* SHA-256 of what the kernels read from a plan (every year's loans,
 * thresholds and losses, the factor model, seed and paths): the ranks
 * compare theirs with rank 0's before simulating, so that a node whose
 * maths library rounds otherwise cannot mix its paths into the result. */
cas_status cas_plan_fingerprint(const cas_plan *plan, char hex[CAS_SHA256_HEX], cas_error *err);

#endif
