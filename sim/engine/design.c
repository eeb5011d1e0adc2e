/* design.c: the design point of a loss (design.h). */
#include "design.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "normal.h"

typedef struct design_year {
  const cas_plan *plan;   /* the year's plan (borrowed): loadings, idio, shift */
  size_t nb;              /* buckets with a loss */
  int *seg;               /* [nb] */
  double *loss, *c;       /* [nb]: L_b [CNY], Gaussian threshold of the mean PD */
} design_year;

struct cas_design {
  int years, nf, nseg;
  double rho, w;          /* the factors' autocorrelation, sqrt(1 - rho^2) */
  const double *chol;     /* [nf * nf] lower (the plan's) */
  design_year *year;      /* [years] */
  double *scratch;        /* x, z, lambda [years * nf], dm [nseg], v [nf] */
};

size_t cas_design_dim(const cas_design *d) { return (size_t)d->years * (size_t)d->nf; }

void cas_design_destroy(cas_design *d) {
  if (!d) return;
  for (int t = 0; d->year && t < d->years; t++) {
    free(d->year[t].seg);
    free(d->year[t].loss);
    free(d->year[t].c);
  }
  free(d->year);
  free(d->scratch);
  free(d);
}

cas_status cas_design_create(const cas_plan *plan, cas_design **out, cas_error *err) {
  *out = NULL;
  cas_design *d = calloc(1, sizeof *d);
  if (!d) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (design point)");
  d->years = plan->years > 0 ? plan->years : 1;
  d->nf = plan->nfactors;
  d->nseg = plan->nsegments;
  d->rho = plan->factor_ar;
  d->w = sqrt(1.0 - d->rho * d->rho);
  d->chol = plan->chol;
  d->year = calloc((size_t)d->years, sizeof *d->year);
  size_t nf = (size_t)d->nf, ny = (size_t)d->years;
  d->scratch = malloc((3 * ny * nf + (size_t)d->nseg + nf + 1) * sizeof *d->scratch);
  if (!d->year || !d->scratch) {
    cas_design_destroy(d);
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (design point)");
  }
  const cas_copula_model *cop = plan->copula;
  for (int t = 0; t < d->years; t++) {
    const cas_plan *p = cas_plan_year(plan, t);
    design_year *y = &d->year[t];
    y->plan = p;
    size_t nb = p->nbuckets ? p->nbuckets : 1;
    y->seg = malloc(nb * sizeof *y->seg);
    y->loss = malloc(nb * sizeof *y->loss);
    y->c = malloc(nb * sizeof *y->c);
    if (!y->seg || !y->loss || !y->c) {
      cas_design_destroy(d);
      return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (design point)");
    }
    for (size_t b = 0; b < p->nbuckets; b++) {
      const cas_bucket *bk = &p->buckets[b];
      double l = 0.0, lp = 0.0;
      for (uint32_t k = bk->first; k < bk->first + bk->count; k++) {
        double pd = cop->shifted_pd(cop, p->loans[k].threshold, 0.0);
        l += p->loans[k].loss;
        lp += p->loans[k].loss * pd;
      }
      if (!(l > 0.0) || !(lp > 0.0)) continue;
      double pd = lp / l;
      y->seg[y->nb] = bk->segment;
      y->loss[y->nb] = l;
      y->c[y->nb] = pd < 1.0 ? cas_norm_quantile(pd) : 40.0;
      y->nb++;
    }
  }
  *out = d;
  return CAS_OK;
}

/* y = chol v (chol lower triangular) */
static void chol_mul(const double *chol, int nf, const double *v, double *y) {
  for (int f = 0; f < nf; f++) {
    double s = 0.0;
    const double *l = &chol[(size_t)f * (size_t)nf];
    for (int g = 0; g <= f; g++) s += l[g] * v[g];
    y[f] = s;
  }
}

/* y += a chol' v */
static void chol_t_add(const double *chol, int nf, const double *v, double a, double *y) {
  for (int f = 0; f < nf; f++) {
    const double *l = &chol[(size_t)f * (size_t)nf];
    for (int g = 0; g <= f; g++) y[g] += a * l[g] * v[f];
  }
}

double cas_design_loss(const cas_design *d, const double *u, double *grad) {
  int nf = d->nf, ny = d->years, nseg = d->nseg;
  double *x = d->scratch, *z = x + (size_t)ny * nf, *lam = z + (size_t)ny * nf;
  double *dm = lam + (size_t)ny * nf, *v = dm + nseg;
  /* the factors of each year */
  for (int t = 0; t < ny; t++) {
    double *xt = &x[(size_t)t * nf];
    chol_mul(d->chol, nf, &u[(size_t)t * nf], v);
    for (int f = 0; f < nf; f++)
      xt[f] = t == 0 ? v[f] : d->rho * x[(size_t)(t - 1) * nf + f] + d->w * v[f];
    const double *shift = d->year[t].plan->shift;
    for (int f = 0; f < nf; f++) z[(size_t)t * nf + f] = xt[f] + shift[f];
  }
  double g = 0.0;
  for (int t = 0; t < ny; t++) {
    const design_year *y = &d->year[t];
    const cas_plan *p = y->plan;
    const double *zt = &z[(size_t)t * nf];
    for (int s = 0; s < nseg; s++) dm[s] = 0.0;
    for (size_t b = 0; b < y->nb; b++) {
      int s = y->seg[b];
      double m = 0.0;
      for (uint32_t k = p->nz_start[s]; k < p->nz_start[s + 1]; k++)
        m += p->nz_loading[k] * zt[p->nz_factor[k]];
      double arg = (y->c[b] - m) / p->idio[s];
      g += y->loss[b] * cas_norm_cdf(arg);
      if (grad) dm[s] -= y->loss[b] * cas_norm_pdf(arg) / p->idio[s];
    }
    if (!grad) continue;
    double *lt = &lam[(size_t)t * nf];   /* dg/dz_t */
    for (int f = 0; f < nf; f++) lt[f] = 0.0;
    for (int s = 0; s < nseg; s++)
      for (uint32_t k = p->nz_start[s]; k < p->nz_start[s + 1]; k++)
        lt[p->nz_factor[k]] += p->nz_loading[k] * dm[s];
  }
  if (grad) {
    /* dg/dx_t = dg/dz_t + rho dg/dx_{t+1}; dg/du_t = coef_t chol' dg/dx_t */
    for (int t = ny - 2; t >= 0; t--)
      for (int f = 0; f < nf; f++) lam[(size_t)t * nf + f] += d->rho * lam[(size_t)(t + 1) * nf + f];
    for (size_t i = 0; i < (size_t)ny * nf; i++) grad[i] = 0.0;
    for (int t = 0; t < ny; t++)
      chol_t_add(d->chol, nf, &lam[(size_t)t * nf], t == 0 ? 1.0 : d->w, &grad[(size_t)t * nf]);
  }
  return g;
}

static double norm2(const double *v, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += v[i] * v[i];
  return sqrt(s);
}

/* The largest g on |u| = beta, from u as given when warm (a point of norm
 * > 0), else from the direction of the gradient at 0. */
static cas_status sphere_max(const cas_design *d, double beta, int warm, double *u, double *loss,
                             cas_error *err) {
  size_t n = cas_design_dim(d);
  double *grad = malloc(3 * (n ? n : 1) * sizeof *grad), *cand = grad + n, *next = cand + n;
  if (!grad) return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (design point)");
  if (beta <= 0.0 || n == 0) {
    for (size_t i = 0; i < n; i++) u[i] = 0.0;
    *loss = cas_design_loss(d, u, NULL);
    free(grad);
    return CAS_OK;
  }
  if (!warm || !(norm2(u, n) > 0.0)) {
    for (size_t i = 0; i < n; i++) cand[i] = 0.0;
    (void)cas_design_loss(d, cand, grad);
    double gn = norm2(grad, n);
    for (size_t i = 0; i < n; i++) u[i] = gn > 0.0 ? beta * grad[i] / gn : (i == 0 ? beta : 0.0);
  } else {
    double un = norm2(u, n);
    for (size_t i = 0; i < n; i++) u[i] *= beta / un;
  }
  double g = cas_design_loss(d, u, grad);
  double step = 1.0;
  for (int it = 0; it < 1000; it++) {
    double gn = norm2(grad, n);
    if (!(gn > 0.0)) break;
    for (size_t i = 0; i < n; i++) cand[i] = beta * grad[i] / gn;
    double move = 0.0, gnext = g;
    for (; step > 1e-9; step *= 0.5) {
      for (size_t i = 0; i < n; i++) next[i] = u[i] + step * (cand[i] - u[i]);
      double nn = norm2(next, n);
      if (!(nn > 0.0)) continue;
      for (size_t i = 0; i < n; i++) next[i] *= beta / nn;
      gnext = cas_design_loss(d, next, NULL);
      if (gnext >= g) break;
    }
    if (!(step > 1e-9) || gnext < g) break;
    for (size_t i = 0; i < n; i++) {
      move = fmax(move, fabs(next[i] - u[i]));
      u[i] = next[i];
    }
    g = cas_design_loss(d, u, grad);
    step = fmin(1.0, 2.0 * step);
    if (move < 1e-10 * beta) break;
  }
  *loss = g;
  free(grad);
  return CAS_OK;
}

cas_status cas_design_point_at(const cas_design *d, double beta, double *u, double *loss,
                               cas_error *err) {
  return sphere_max(d, beta, 0, u, loss, err);
}

cas_status cas_design_point_for_loss(const cas_design *d, double x, double *u, double *beta,
                                     cas_error *err) {
  size_t n = cas_design_dim(d);
  for (size_t i = 0; i < n; i++) u[i] = 0.0;
  *beta = 0.0;
  double g0 = cas_design_loss(d, u, NULL);
  if (!(x > g0)) return CAS_OK;
  double lo = 0.0, hi = CAS_DESIGN_MAX_BETA, g;
  cas_status st = sphere_max(d, hi, 0, u, &g, err);
  if (st != CAS_OK) return st;
  if (g < x)
    return cas_error_set(err, CAS_ERR_INPUT,
                         "a loss of %.6g CNY is out of reach: moving the factors %d standard "
                         "deviations gives at most %.6g CNY (expected a loss below that)",
                         x, CAS_DESIGN_MAX_BETA, g);
  for (int it = 0; it < 100 && hi - lo > 1e-10; it++) {
    double mid = 0.5 * (lo + hi);
    st = sphere_max(d, mid, 1, u, &g, err);
    if (st != CAS_OK) return st;
    if (g < x) lo = mid;
    else hi = mid;
    if (fabs(g - x) <= 1e-12 * x) {
      lo = hi = mid;
      break;
    }
  }
  *beta = hi;
  return sphere_max(d, hi, 1, u, &g, err);
}

void cas_design_factor_moves(const cas_design *d, const double *u, int t, double *out) {
  int nf = d->nf;
  double *v = malloc((size_t)(nf ? nf : 1) * sizeof *v);
  for (int f = 0; f < nf; f++) out[f] = 0.0;
  if (!v) return;
  for (int k = 0; k <= t; k++) {
    chol_mul(d->chol, nf, &u[(size_t)k * nf], v);
    for (int f = 0; f < nf; f++) out[f] = (k == 0 ? 0.0 : d->rho * out[f]) + (k == 0 ? 1.0 : d->w) * v[f];
  }
  free(v);
}

double cas_design_mean_loss(const cas_design *d, const double *moves) {
  int nf = d->nf;
  double *mu = malloc((size_t)(nf ? nf : 1) * sizeof *mu);
  if (!mu) return NAN;
  double total = 0.0;
  for (int t = 0; t < d->years; t++) {
    const cas_plan *p = d->year[t].plan;
    const cas_copula_model *cop = p->copula;
    for (int f = 0; f < nf; f++) mu[f] = p->shift[f] + moves[(size_t)t * nf + f];
    for (size_t b = 0; b < p->nbuckets; b++) {
      const cas_bucket *bk = &p->buckets[b];
      int s = bk->segment;
      double m = 0.0;
      for (uint32_t k = p->nz_start[s]; k < p->nz_start[s + 1]; k++)
        m += p->nz_loading[k] * mu[p->nz_factor[k]];
      for (uint32_t k = bk->first; k < bk->first + bk->count; k++)
        total += p->loans[k].loss * cop->shifted_pd(cop, p->loans[k].threshold, m);
    }
  }
  free(mu);
  return total;
}
