/*
 * comm.h: the ranks of a distributed run (MPI), or one process.
 *
 * The engine talks to MPI through these functions only, so the serial
 * build (the default, CASCADE_MPI off) needs no MPI: there every
 * communicator is one process and every function below is a no-op.
 * A NULL communicator is one process in both builds.
 *
 * Every function marked "collective" must be called by every rank of the
 * communicator, in the same order; a rank that failed on its own must still
 * reach the next cas_comm_agree, which is how all ranks learn of it (one
 * message, the failing rank's, on every rank; docs/CLUSTER.md). MPI's own
 * failures (a lost node) abort the whole job through MPI's default error
 * handler, so no rank waits for one that has gone.
 *
 * MPI is called by one thread only (the one that called MPI_Init_thread
 * with MPI_THREAD_FUNNELED), outside the OpenMP regions.
 */
#ifndef CASCADE_COMM_H
#define CASCADE_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct cas_comm {
  int rank, size;
  void *impl;          /* the MPI communicator (a duplicate), or NULL */
} cas_comm;

/* 1 if the program was built with MPI (-DCASCADE_MPI=ON). */
int cas_comm_built_with_mpi(void);

/* A communicator over all ranks of the job (a duplicate of
 * MPI_COMM_WORLD) if MPI has been initialised, else one process. */
cas_status cas_comm_world(cas_comm *c, cas_error *err);
void cas_comm_free(cas_comm *c);

static inline int cas_comm_rank(const cas_comm *c) { return c ? c->rank : 0; }
static inline int cas_comm_size(const cas_comm *c) { return c ? c->size : 1; }

/* Collective: every rank gives its status; all get the same result, the
 * status of the lowest rank that failed (CAS_OK if none), with that rank's
 * message copied into *err on every rank. */
cas_status cas_comm_agree(const cas_comm *c, cas_status st, cas_error *err);

/* Collective: rank 0's bytes into buf on every rank (any size). */
void cas_comm_bcast(const cas_comm *c, void *buf, size_t bytes);

/* Collective: rank 0 collects rows. first[0..size] are offsets in units of
 * unit_bytes, increasing: rank k's slice is units [first[k], first[k+1]).
 * On rank 0, buf is the whole array, rank 0's slice already in place; the
 * other ranks' slices land at their offsets. On rank k > 0, buf holds its
 * own slice from its start. Received in rank order. */
void cas_comm_gather(const cas_comm *c, void *buf, size_t unit_bytes, const uint64_t *first);

/* Collective: every rank's n counts added up, the sums on every rank
 * (exact: integers add in any order, so the sums are one process's). */
void cas_comm_sum_u64(const cas_comm *c, uint64_t *v, size_t n);
void cas_comm_sum_u128(const cas_comm *c, unsigned __int128 *v, size_t n);

/* Collective: waits until every rank has arrived, without spinning a core
 * (a non-blocking barrier polled every millisecond): the ranks that wait
 * for rank 0 to write the result leave the cores to its threads. */
void cas_comm_idle_barrier(const cas_comm *c);

#endif
