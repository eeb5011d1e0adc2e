/*
 * stall_hdf5.c: a stand-in for an HDF5 library that loops forever on one
 * file, for tests/cli/read_watchdog.sh. Loaded with LD_PRELOAD, it puts its
 * own H5Fopen before HDF5's: a call for a file whose path ends with the
 * value of CAS_TEST_STALL_ON spins for ever (burning CPU as HDF5 1.10 does
 * on the crafted files that make it loop, docs/FUZZING.md); every other
 * call goes to HDF5's H5Fopen. With CAS_TEST_STALL_ONCE set to a path, only
 * the call that creates that file stalls (the later ones open the file).
 * Built by the test with the system's cc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int64_t hid_t;   /* HDF5 1.10's hid_t */

hid_t H5Fopen(const char *name, unsigned flags, hid_t fapl);

hid_t H5Fopen(const char *name, unsigned flags, hid_t fapl) {
  const char *stall = getenv("CAS_TEST_STALL_ON");
  size_t n = name ? strlen(name) : 0, k = stall ? strlen(stall) : 0;
  const char *once = getenv("CAS_TEST_STALL_ONCE");
  int fd = -1;
  if (k && n >= k && !strcmp(name + n - k, stall) &&
      (!once || (fd = open(once, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0)) {
    if (fd >= 0) close(fd);
    volatile uint64_t spin = 0;
    for (;;) spin++;
  }
  hid_t (*real)(const char *, unsigned, hid_t) =
      (hid_t (*)(const char *, unsigned, hid_t))dlsym(RTLD_NEXT, "H5Fopen");
  return real ? real(name, flags, fapl) : -1;
}
