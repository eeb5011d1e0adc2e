/*
 * ksum.h: compensated summation, for totals over millions of loans.
 *
 * A plain running sum of n terms loses up to n units in the last place: a
 * segment of 10^7 loans, or an EAD of 1e13 beside EADs of 1, drops the
 * small terms. Neumaier's variant of Kahan summation (A. Neumaier, "Rundungs-
 * fehleranalyse einiger Verfahren zur Summation endlicher Summen", ZAMM 54,
 * 1974) carries the lost low-order part in c and gives the sum exact to
 * rounding (error at most 2 units of the result's last place for any
 * order of the terms), at four additions a term. The order of the terms
 * still fixes the bits: callers add in loan order.
 */
#ifndef CASCADE_KSUM_H
#define CASCADE_KSUM_H

#include <math.h>

typedef struct cas_ksum {
  double s, c;
} cas_ksum;

static inline void cas_ksum_add(cas_ksum *k, double x) {
  double t = k->s + x;
  if (fabs(k->s) >= fabs(x)) k->c += (k->s - t) + x;
  else k->c += (x - t) + k->s;
  k->s = t;
}

static inline double cas_ksum_value(const cas_ksum *k) { return k->s + k->c; }

#endif
