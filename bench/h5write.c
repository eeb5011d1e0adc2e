/*
 * h5write: time two ways for R MPI ranks to write one per-path result array
 * into one HDF5 file.
 *
 * Why: when cascade runs its paths over several MPI ranks, every rank ends up
 * holding the rows of its own paths of each per-path result array
 * ([paths][width] doubles: losses per path, per-path tallies of width
 * columns, ...).  Those rows have to end up in one dataset of one result
 * file.  There are two ways to get them there, and this program measures
 * what each costs, so the choice between them rests on numbers:
 *
 *   (a) gather:   rank 0 allocates the full array, copies its own rows into
 *                 it, receives the rows of ranks 1..R-1 with MPI_Recv in rank
 *                 order (each slice in messages of at most 1 GiB, since MPI
 *                 counts are int), then creates the file alone with the
 *                 default (sec2) driver and writes the whole array with one
 *                 plain H5Dwrite.  Needs only serial HDF5 semantics for the
 *                 file, but rank 0 needs memory for the whole array and all
 *                 data crosses MPI once.
 *   (b) parallel: all ranks open the file with H5Pset_fapl_mpio, create the
 *                 dataset collectively, select their own rows as a hyperslab
 *                 and write with an H5FD_MPIO_COLLECTIVE transfer property.
 *                 No rank holds more than its own rows; needs a parallel
 *                 HDF5 build and MPI-IO.
 *
 * Both write a contiguous, uncompressed dataset "/result" of doubles with
 * dims [paths][width] and the fill value never written, so the files hold
 * the same bytes.  Element (row, col) holds row*width+col (exact in a double
 * for all sizes this is meant for).
 *
 * One repetition of a way is timed on rank 0 with MPI_Wtime from just after
 * an MPI_Barrier to just after a second MPI_Barrier that every rank enters
 * once it has closed the file (so: until the file is closed on all ranks).
 * The time includes, for (a), the allocation of rank 0's full buffer and the
 * copy of its own rows.  The previous file is removed before the first
 * barrier, outside the timed region.  Nothing is fsync'ed: the times are
 * what a program sees when H5Fclose returns (data in the page cache).
 * One untimed warm-up repetition of each way comes first (MPI connection
 * setup, HDF5 and MPI-IO initialisation); the timed repetitions alternate
 * which way goes first.
 *
 * Afterwards rank 0 reads both files back and checks every element.
 *
 * Usage: mpirun -np R h5write PATHS WIDTH REPS OUTPUT_DIR
 *
 * Output: one "rep" line per timed repetition and a final "result" line of
 * key=value pairs (medians in seconds, byte counts), all on stdout of
 * rank 0.  Files OUTPUT_DIR/gather.h5 and OUTPUT_DIR/parallel.h5 are left
 * behind (for h5diff); the caller removes them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>
#include <mpi.h>

#define DSET_NAME "/result"
/* Largest message of the gather: 1 GiB of doubles (overridable with
 * -DPIECE_DOUBLES=N only to test the splitting on small arrays). */
#ifndef PIECE_DOUBLES
#define PIECE_DOUBLES ((uint64_t)1 << 27)
#endif

static int rank, nranks;

static void die(const char *what, const char *file, int line)
{
    fprintf(stderr, "h5write: rank %d: %s failed (%s:%d)\n", rank, what,
            file, line);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* HDF5 calls return a negative hid_t/herr_t on failure. */
#define H5OK(expr)                                                           \
    do {                                                                     \
        if ((expr) < 0)                                                      \
            die(#expr, __FILE__, __LINE__);                                  \
    } while (0)

/* For calls returning an identifier: check it and pass it on. */
static hid_t check_id(hid_t id, const char *what, int line)
{
    if (id < 0)
        die(what, __FILE__, line);
    return id;
}
#define H5ID(call) check_id((call), #call, __LINE__)
#define MPICHECK(expr)                                                       \
    do {                                                                     \
        if ((expr) != MPI_SUCCESS)                                           \
            die(#expr, __FILE__, __LINE__);                                  \
    } while (0)

/* First row of rank r: rows are split as evenly as possible, in rank order. */
static uint64_t row_begin(uint64_t paths, int r)
{
    return paths * (uint64_t)r / (uint64_t)nranks;
}

static void fill_rows(double *buf, uint64_t lo, uint64_t hi, uint64_t width)
{
    for (uint64_t row = lo; row < hi; row++)
        for (uint64_t col = 0; col < width; col++)
            buf[(row - lo) * width + col] = (double)(row * width + col);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("malloc", __FILE__, __LINE__);
    return p;
}

/* Dataset creation properties shared by both ways: contiguous, no filters,
 * no fill value written. */
static hid_t make_dcpl(void)
{
    hid_t dcpl = H5ID(H5Pcreate(H5P_DATASET_CREATE));
    H5OK(H5Pset_layout(dcpl, H5D_CONTIGUOUS));
    H5OK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
    return dcpl;
}

/* (a) Gather to rank 0, serial write.  Returns rank 0's gather time (until
 * the last piece arrived) in *gather_s; the caller times the whole. */
static void write_gather(const char *path, const double *mine, uint64_t paths,
                         uint64_t width, double *gather_s)
{
    uint64_t lo = row_begin(paths, rank), hi = row_begin(paths, rank + 1);

    if (rank != 0) {
        uint64_t n = (hi - lo) * width;
        for (uint64_t off = 0; off < n; off += PIECE_DOUBLES) {
            uint64_t k = n - off < PIECE_DOUBLES ? n - off : PIECE_DOUBLES;
            MPICHECK(MPI_Send(mine + off, (int)k, MPI_DOUBLE, 0, 0,
                              MPI_COMM_WORLD));
        }
        *gather_s = 0.0;
        return;
    }

    double t0 = MPI_Wtime();
    double *all = xmalloc((size_t)(paths * width) * sizeof(double));
    memcpy(all, mine, (size_t)((hi - lo) * width) * sizeof(double));
    for (int r = 1; r < nranks; r++) {
        uint64_t rlo = row_begin(paths, r), rhi = row_begin(paths, r + 1);
        double *dst = all + rlo * width;
        uint64_t n = (rhi - rlo) * width;
        for (uint64_t off = 0; off < n; off += PIECE_DOUBLES) {
            uint64_t k = n - off < PIECE_DOUBLES ? n - off : PIECE_DOUBLES;
            MPICHECK(MPI_Recv(dst + off, (int)k, MPI_DOUBLE, r, 0,
                              MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        }
    }
    *gather_s = MPI_Wtime() - t0;

    hsize_t dims[2] = {paths, width};
    hid_t file =
        H5ID(H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    hid_t space = H5ID(H5Screate_simple(2, dims, NULL));
    hid_t dcpl = make_dcpl();
    hid_t dset = H5ID(H5Dcreate2(file, DSET_NAME, H5T_NATIVE_DOUBLE, space,
                                 H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5OK(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                  all));
    H5OK(H5Dclose(dset));
    H5OK(H5Pclose(dcpl));
    H5OK(H5Sclose(space));
    H5OK(H5Fclose(file));
    free(all);
}

/* (b) Parallel HDF5, collective write of each rank's hyperslab.  Returns in
 * *io_mode what HDF5 says it actually did (it may fall back to independent
 * I/O without an error). */
static void write_parallel(const char *path, const double *mine,
                           uint64_t paths, uint64_t width,
                           H5D_mpio_actual_io_mode_t *io_mode)
{
    uint64_t lo = row_begin(paths, rank), hi = row_begin(paths, rank + 1);

    hid_t fapl = H5ID(H5Pcreate(H5P_FILE_ACCESS));
    H5OK(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    hid_t file = H5ID(H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl));
    H5OK(H5Pclose(fapl));

    hsize_t dims[2] = {paths, width};
    hid_t fspace = H5ID(H5Screate_simple(2, dims, NULL));
    hid_t dcpl = make_dcpl();
    hid_t dset = H5ID(H5Dcreate2(file, DSET_NAME, H5T_NATIVE_DOUBLE, fspace,
                                 H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5OK(H5Pclose(dcpl));

    hsize_t count[2] = {hi - lo, width};
    hsize_t start[2] = {lo, 0};
    hid_t mspace = H5ID(H5Screate_simple(2, count, NULL));
    if (hi > lo) {
        H5OK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count,
                                 NULL));
    } else {
        /* A rank without rows still takes part in the collective call. */
        H5OK(H5Sselect_none(fspace));
        H5OK(H5Sselect_none(mspace));
    }

    hid_t dxpl = H5ID(H5Pcreate(H5P_DATASET_XFER));
    H5OK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
    H5OK(H5Dwrite(dset, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, mine));
    H5OK(H5Pget_mpio_actual_io_mode(dxpl, io_mode));

    H5OK(H5Pclose(dxpl));
    H5OK(H5Sclose(mspace));
    H5OK(H5Sclose(fspace));
    H5OK(H5Dclose(dset));
    H5OK(H5Fclose(file));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Rank 0 only: read the dataset back with the serial driver and check every
 * element.  Returns the number of wrong elements (or -1 on a bad shape). */
static long long verify(const char *path, uint64_t paths, uint64_t width)
{
    hid_t file = H5ID(H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT));
    hid_t dset = H5ID(H5Dopen2(file, DSET_NAME, H5P_DEFAULT));
    hid_t space = H5ID(H5Dget_space(dset));
    hsize_t dims[2] = {0, 0};
    long long bad = 0;
    if (H5Sget_simple_extent_ndims(space) != 2 ||
        H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
        dims[0] != paths || dims[1] != width) {
        bad = -1;
    } else {
        double *buf = xmalloc((size_t)(paths * width) * sizeof(double));
        H5OK(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                     buf));
        for (uint64_t i = 0; i < paths * width; i++)
            if (buf[i] != (double)i)
                bad++;
        free(buf);
    }
    H5OK(H5Sclose(space));
    H5OK(H5Dclose(dset));
    H5OK(H5Fclose(file));
    return bad;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static const char *io_mode_name(H5D_mpio_actual_io_mode_t m)
{
    switch (m) {
    case H5D_MPIO_NO_COLLECTIVE:
        return "independent";
    case H5D_MPIO_CHUNK_INDEPENDENT:
        return "chunk-independent";
    case H5D_MPIO_CHUNK_COLLECTIVE:
        return "chunk-collective";
    case H5D_MPIO_CHUNK_MIXED:
        return "chunk-mixed";
    case H5D_MPIO_CONTIGUOUS_COLLECTIVE:
        return "contiguous-collective";
    }
    return "unknown";
}

static uint64_t parse_u64(const char *s, const char *name)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0) {
        if (rank == 0)
            fprintf(stderr, "h5write: %s must be a positive integer: %s\n",
                    name, s);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    if (argc != 5) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np R %s PATHS WIDTH REPS "
                            "OUTPUT_DIR\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    uint64_t paths = parse_u64(argv[1], "PATHS");
    uint64_t width = parse_u64(argv[2], "WIDTH");
    uint64_t reps64 = parse_u64(argv[3], "REPS");
    if (reps64 > 10000 || paths > UINT64_MAX / width / sizeof(double)) {
        if (rank == 0)
            fprintf(stderr, "h5write: sizes out of range\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int reps = (int)reps64;

    char gpath[4096], ppath[4096];
    if (snprintf(gpath, sizeof gpath, "%s/gather.h5", argv[4]) >=
            (int)sizeof gpath ||
        snprintf(ppath, sizeof ppath, "%s/parallel.h5", argv[4]) >=
            (int)sizeof ppath) {
        if (rank == 0)
            fprintf(stderr, "h5write: OUTPUT_DIR too long\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    uint64_t lo = row_begin(paths, rank), hi = row_begin(paths, rank + 1);
    double *mine = xmalloc((size_t)((hi - lo) * width) * sizeof(double));
    fill_rows(mine, lo, hi, width);

    double *tg = xmalloc((size_t)reps * sizeof(double));
    double *tp = xmalloc((size_t)reps * sizeof(double));
    double *tgc = xmalloc((size_t)reps * sizeof(double));
    H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;

    /* Repetition -1 is the untimed warm-up. */
    for (int rep = -1; rep < reps; rep++) {
        for (int k = 0; k < 2; k++) {
            int gather_now = (k == 0) == (rep % 2 == 0 || rep < 0);
            const char *path = gather_now ? gpath : ppath;
            if (rank == 0 && unlink(path) != 0 && errno != ENOENT)
                die("unlink", __FILE__, __LINE__);

            double gather_s = 0.0;
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            if (gather_now)
                write_gather(path, mine, paths, width, &gather_s);
            else
                write_parallel(path, mine, paths, width, &mode);
            MPI_Barrier(MPI_COMM_WORLD);
            double t = MPI_Wtime() - t0;

            if (rep >= 0) {
                if (gather_now) {
                    tg[rep] = t;
                    tgc[rep] = gather_s;
                } else {
                    tp[rep] = t;
                }
            }
        }
        if (rep >= 0 && rank == 0)
            printf("rep %d gather_s=%.6f gather_comm_s=%.6f parallel_s=%.6f\n",
                   rep, tg[rep], tgc[rep], tp[rep]);
    }

    /* Every rank learns rank 0's verdict, so all exit with the same code. */
    long long bad[2] = {0, 0};
    if (rank == 0) {
        bad[0] = verify(gpath, paths, width);
        bad[1] = verify(ppath, paths, width);
    }
    MPI_Bcast(bad, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);

    if (rank == 0) {
        uint64_t bytes = paths * width * sizeof(double);
        uint64_t sent = (paths - row_begin(paths, 1)) * width * sizeof(double);
        double mg = median(tg, reps), mp = median(tp, reps);
        double mgc = median(tgc, reps);
        printf("result paths=%" PRIu64 " width=%" PRIu64 " ranks=%d reps=%d"
               " data_bytes=%" PRIu64 " gather_mpi_bytes=%" PRIu64
               " gather_file_bytes=%lld parallel_file_bytes=%lld"
               " gather_median_s=%.6f gather_comm_median_s=%.6f"
               " parallel_median_s=%.6f parallel_io_mode=%s"
               " verify_gather_bad=%lld verify_parallel_bad=%lld\n",
               paths, width, nranks, reps, bytes, sent, file_size(gpath),
               file_size(ppath), mg, mgc, mp, io_mode_name(mode), bad[0],
               bad[1]);
        fflush(stdout);
    }

    free(tg);
    free(tp);
    free(tgc);
    free(mine);
    MPI_Finalize();
    return bad[0] == 0 && bad[1] == 0 ? 0 : 1;
}
