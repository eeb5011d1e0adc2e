/*
 * design.h: the most likely factor outcome behind a large loss (the design
 * point), for importance sampling and reverse stress tests.
 *
 * A path's systematic randomness is the vector u of independent standard
 * normals its factor stream draws, years x nfactors of them: z_1 = chol u_1
 * + shift_1 and, in later years, x_t = rho x_{t-1} + sqrt(1 - rho^2) chol
 * u_t, z_t = x_t + shift_t (plan.h). Given u, the expected loss of the book
 * is, to a good approximation,
 *
 *   g(u) = sum_t sum_buckets L_b Phi((c_b - a_s . z_t) / b_s),
 *
 * over each year's plan's buckets (loss L_b of the bucket's loans, c_b the
 * Gaussian threshold of their loss-weighted mean PD, a_s and b_s the
 * segment's loadings and idiosyncratic weight). It leaves out what the
 * factors do not drive on average: contagion, double defaults of
 * guarantees, the pools, the mixing variable of a t copula (whose PDs it
 * maps to Gaussian thresholds), and the loans that left the book in an
 * earlier year. That makes g a guide, never part of an estimate: importance
 * sampling stays unbiased whatever shift it uses (the weights correct for
 * it), and a reverse stress scenario is checked by running it.
 *
 * The design point for a loss x is the u of least norm with g(u) = x: the
 * most likely factor outcome that produces x (density prop. to
 * exp(-|u|^2 / 2)). It is also the shift of the factor means that
 * Glasserman and Li ("Importance sampling for portfolio credit risk",
 * Management Science 51(11), 2005, sec. 4) and Glasserman, Kang and
 * Shahabuddin ("Fast simulation of multifactor portfolio credit risk",
 * Operations Research 56(5), 2008) obtain in the large-portfolio limit,
 * where the conditional loss is its mean: max_z {-|z|^2/2 : E[L | z] >= x}.
 * Found as the largest g on the sphere |u| = beta (the Lagrange condition
 * grad g = lambda u, by the fixed-point iteration u <- beta grad g /
 * |grad g| of Hasofer and Lind, J. Eng. Mech. 100, 1974, and Rackwitz and
 * Fiessler, Computers & Structures 9, 1978, with step halving), and for a
 * loss x the beta at which that largest g equals x (bisection: it grows
 * with beta). For a level a instead of a loss, beta = Phi^-1(a): on a
 * linear g, exactly the point whose loss is VaR_a (first-order reliability).
 */
#ifndef CASCADE_DESIGN_H
#define CASCADE_DESIGN_H

#include <stddef.h>

#include "error.h"
#include "plan.h"

typedef struct cas_design cas_design;

/* The bucket model of g for plan (and its later years' plans). */
cas_status cas_design_create(const cas_plan *plan, cas_design **out, cas_error *err);
void cas_design_destroy(cas_design *d);

/* Dimension of u: years x nfactors. */
size_t cas_design_dim(const cas_design *d);

/* g(u), and its gradient in grad[dim] when grad is not NULL [CNY]. */
double cas_design_loss(const cas_design *d, const double *u, double *grad);

/* The largest g on the sphere |u| = beta (>= 0): u[dim], *loss. */
cas_status cas_design_point_at(const cas_design *d, double beta, double *u, double *loss,
                               cas_error *err);

/* The u of least norm with g(u) = x [CNY]: u[dim], *beta its norm. x at or
 * below g(0) gives u = 0; a loss no move of the factors within
 * CAS_DESIGN_MAX_BETA standard deviations reaches is an input error. */
enum { CAS_DESIGN_MAX_BETA = 12 };
cas_status cas_design_point_for_loss(const cas_design *d, double x, double *u, double *beta,
                                     cas_error *err);

/* The factor moves of u in year t, chol applied (z_t - shift_t) [SD]:
 * out[nfactors]. */
void cas_design_factor_moves(const cas_design *d, const double *u, int t, double *out);

/* The expected loss of a run whose factor means are moved by
 * moves[years][nfactors] [SD] beyond the plan's, loan by loan through the
 * copula's shifted PD (the plan's analytic expected loss, summed over the
 * years without the run-off of earlier defaults): exact for one year
 * without contagion or guarantees [CNY]. */
double cas_design_mean_loss(const cas_design *d, const double *moves);

#endif
