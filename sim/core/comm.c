/* comm.c: MPI behind the engine's few collective operations (comm.h). */
#define _POSIX_C_SOURCE 200809L
#include "comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef CASCADE_MPI
#include <mpi.h>

/* Messages larger than this go in pieces: MPI counts are ints. */
enum { PIECE = 1 << 30, TAG_GATHER = 7301 };

static MPI_Comm handle(const cas_comm *c) { return *(MPI_Comm *)c->impl; }
static int distributed(const cas_comm *c) { return c && c->size > 1 && c->impl; }

int cas_comm_built_with_mpi(void) { return 1; }

cas_status cas_comm_world(cas_comm *c, cas_error *err) {
  *c = (cas_comm){.rank = 0, .size = 1, .impl = NULL};
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  if (!up || down) return CAS_OK;
  MPI_Comm *h = malloc(sizeof *h);
  if (!h) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (MPI communicator)");
  MPI_Comm_dup(MPI_COMM_WORLD, h);
  MPI_Comm_rank(*h, &c->rank);
  MPI_Comm_size(*h, &c->size);
  c->impl = h;
  return CAS_OK;
}

void cas_comm_free(cas_comm *c) {
  if (!c || !c->impl) return;
  MPI_Comm_free((MPI_Comm *)c->impl);
  free(c->impl);
  *c = (cas_comm){.rank = 0, .size = 1, .impl = NULL};
}

cas_status cas_comm_agree(const cas_comm *c, cas_status st, cas_error *err) {
  if (!distributed(c)) return st;
  int mine = st == CAS_OK ? c->size : c->rank, first = c->size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, handle(c));
  if (first == c->size) return CAS_OK;
  cas_error e = {0};
  if (c->rank == first) {
    if (err) e = *err;
    e.status = st;
  }
  MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, first, handle(c));
  e.msg[sizeof e.msg - 1] = '\0';
  /* rank 0 did not fail: the trouble is that rank's own (its node's
   * memory, disk or maths library), which the message must say */
  if (first > 0) {
    char own[sizeof e.msg];
    snprintf(own, sizeof own, "rank %d of %d: %.990s", first, c->size, e.msg);
    memcpy(e.msg, own, sizeof e.msg);
  }
  if (err) *err = e;
  return e.status != CAS_OK ? e.status : CAS_ERR_INTERNAL;
}

void cas_comm_bcast(const cas_comm *c, void *buf, size_t bytes) {
  if (!distributed(c)) return;
  for (size_t off = 0; off < bytes; off += PIECE) {
    size_t n = bytes - off < PIECE ? bytes - off : PIECE;
    MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, 0, handle(c));
  }
}

void cas_comm_gather(const cas_comm *c, void *buf, size_t unit_bytes, const uint64_t *first) {
  if (!distributed(c)) return;
  if (c->rank == 0) {
    for (int k = 1; k < c->size; k++) {
      size_t bytes = (size_t)(first[k + 1] - first[k]) * unit_bytes;
      char *at = (char *)buf + (size_t)first[k] * unit_bytes;
      for (size_t off = 0; off < bytes; off += PIECE) {
        size_t n = bytes - off < PIECE ? bytes - off : PIECE;
        MPI_Recv(at + off, (int)n, MPI_BYTE, k, TAG_GATHER, handle(c), MPI_STATUS_IGNORE);
      }
    }
  } else {
    size_t bytes = (size_t)(first[c->rank + 1] - first[c->rank]) * unit_bytes;
    for (size_t off = 0; off < bytes; off += PIECE) {
      size_t n = bytes - off < PIECE ? bytes - off : PIECE;
      MPI_Send((char *)buf + off, (int)n, MPI_BYTE, 0, TAG_GATHER, handle(c));
    }
  }
}

void cas_comm_sum_u64(const cas_comm *c, uint64_t *v, size_t n) {
  if (!distributed(c)) return;
  for (size_t off = 0; off < n; off += PIECE / 8) {
    size_t m = n - off < PIECE / 8 ? n - off : PIECE / 8;
    MPI_Allreduce(MPI_IN_PLACE, v + off, (int)m, MPI_UINT64_T, MPI_SUM, handle(c));
  }
}

void cas_comm_sum_u128(const cas_comm *c, unsigned __int128 *v, size_t n) {
  if (!distributed(c)) return;
  /* four 32-bit limbs per value, each summed in 64 bits (no overflow below
   * 2^32 ranks), then carried back together modulo 2^128; in pieces of
   * BATCH values on the stack, the same pieces on every rank */
  enum { BATCH = 256 };
  uint64_t limb[4 * BATCH];
  for (size_t i0 = 0; i0 < n; i0 += BATCH) {
    size_t m = n - i0 < BATCH ? n - i0 : BATCH;
    for (size_t i = 0; i < m; i++)
      for (int k = 0; k < 4; k++)
        limb[4 * i + (size_t)k] = (uint64_t)(v[i0 + i] >> (32 * k)) & 0xffffffffu;
    cas_comm_sum_u64(c, limb, 4 * m);
    for (size_t i = 0; i < m; i++) {
      unsigned __int128 x = 0;
      for (int k = 0; k < 4; k++) x += (unsigned __int128)limb[4 * i + (size_t)k] << (32 * k);
      v[i0 + i] = x;
    }
  }
}

void cas_comm_idle_barrier(const cas_comm *c) {
  if (!distributed(c)) return;
  MPI_Request req;
  MPI_Ibarrier(handle(c), &req);
  struct timespec ms = {0, 1000000L};
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) break;
    nanosleep(&ms, NULL);
  }
}

#else /* one process */

int cas_comm_built_with_mpi(void) { return 0; }

cas_status cas_comm_world(cas_comm *c, cas_error *err) {
  (void)err;
  *c = (cas_comm){.rank = 0, .size = 1, .impl = NULL};
  return CAS_OK;
}

void cas_comm_free(cas_comm *c) { (void)c; }

cas_status cas_comm_agree(const cas_comm *c, cas_status st, cas_error *err) {
  (void)c;
  (void)err;
  return st;
}

void cas_comm_bcast(const cas_comm *c, void *buf, size_t bytes) {
  (void)c;
  (void)buf;
  (void)bytes;
}

void cas_comm_gather(const cas_comm *c, void *buf, size_t unit_bytes, const uint64_t *first) {
  (void)c;
  (void)buf;
  (void)unit_bytes;
  (void)first;
}

void cas_comm_sum_u64(const cas_comm *c, uint64_t *v, size_t n) {
  (void)c;
  (void)v;
  (void)n;
}

void cas_comm_sum_u128(const cas_comm *c, unsigned __int128 *v, size_t n) {
  (void)c;
  (void)v;
  (void)n;
}

void cas_comm_idle_barrier(const cas_comm *c) { (void)c; }

#endif
