/*
 * timeout.h: the per-test time limits of the criterion tests.
 *
 * A test declares `.timeout = CAS_TEST_TIMEOUT(seconds)`. Criterion 2.4
 * keeps a 48-byte record for each timed test that its watchdog thread
 * may still hold, unreachable, when the runner exits; LeakSanitizer then
 * reports a leak in libcriterion now and then, and scripts/sanitize.sh
 * fails on it. Under AddressSanitizer the per-test limit is therefore off
 * (0 is criterion's "no limit"); the time limit ctest sets on each test
 * binary (tests/CMakeLists.txt) still stops a hang there.
 */
#ifndef CASCADE_TEST_TIMEOUT_H
#define CASCADE_TEST_TIMEOUT_H

#if defined(__SANITIZE_ADDRESS__)
#define CAS_TEST_TIMEOUT(seconds) 0
#else
#define CAS_TEST_TIMEOUT(seconds) (seconds)
#endif

#endif
