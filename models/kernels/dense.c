/*
 * dense.c (models/kernels): the reference kernel, one idiosyncratic draw per loan per
 * path.
 *
 * Path p: z = factors(p); for each loan in plan order (bucket by bucket),
 * eps = the next normal of stream (seed, IDIOSYNCRATIC, p), default when
 *     scale * (a_s . z + b_s eps) < c.
 * Cost O(loans) per path, whatever the number of defaults: the yardstick the
 * sparse kernel is tested against.
 */
#include "kernel.h"

#include "rng.h"

static void simulate_path(const cas_plan *plan, const cas_contagion *contagion, cas_results *res,
                          cas_cascade_ws *ws, cas_path_rows *rows) {
  uint64_t p = rows->path;
  double scale = cas_kernel_path_begin(plan, res, rows);
  const double *sys = rows->sys;
  /* a stochastic LGD draws each default's loss fraction from its own stream */
  uint64_t lgd_key =
      plan->lgd_mean ? cas_rng_keyed_prefix(plan->seed, cas_rng_purpose_year(CAS_RNG_LGD, rows->year),
                                          plan->first_stream + p) : 0;
  double *seg_loss = rows->seg_loss;
  int32_t *seg_defaults = rows->seg_defaults;
  cas_rng idio;
  cas_rng_init(&idio, plan->seed, cas_rng_purpose_year(CAS_RNG_IDIOSYNCRATIC, rows->year),
               plan->first_stream + p);
  if (ws) cas_kernel_cascade_begin(ws, rows);
  int64_t defaults = 0;
  const double *ead_of = plan->ead_of;   /* output.realised_lgd, else NULL */
  double *claims = rows->pool_claims;
  int leaves = rows->dead != NULL;       /* multi-year: defaulted loans leave the book */
  double ead_sum = 0.0;
  for (size_t b = 0; b < plan->nbuckets; b++) {
    const cas_bucket *bk = &plan->buckets[b];
    int s = bk->segment;
    double a = sys[s], w = plan->idio[s], loss = 0.0;
    int32_t hits = 0;
    const cas_plan_loan *ln = &plan->loans[bk->first];
    if (!ws) {
      for (uint32_t k = 0; k < bk->count; k++) {
        if (scale * (a + w * cas_rng_normal(&idio)) < ln[k].threshold) {
          if (leaves && cas_path_left_book(rows, bk->first + k)) continue;
          hits++;
          if (ead_of) ead_sum += ead_of[bk->first + k];
          double l = plan->lgd_mean ? cas_plan_random_loss(plan, lgd_key, bk->first + k, s, a)
                                    : ln[k].loss;
          loss += l;
          if (claims) cas_plan_pool_claim(plan, claims, bk->first + k, l);
          cas_loan_sink_book(&rows->sink, bk->first + k, l);
        }
      }
    } else {
      /* With a network, defaults are recorded for the guarantees and the
       * cascade; with a cascade, every loan's eps is kept too. */
      double *rec = ws->eps ? &ws->eps[bk->first] : NULL;
      for (uint32_t k = 0; k < bk->count; k++) {
        double eps = cas_rng_normal(&idio);
        if (rec) rec[k] = eps;
        if (scale * (a + w * eps) < ln[k].threshold) {
          if (leaves && cas_path_left_book(rows, bk->first + k)) continue;
          hits++;
          if (ead_of) ead_sum += ead_of[bk->first + k];
          double l = plan->lgd_mean ? cas_plan_random_loss(plan, lgd_key, bk->first + k, s, a)
                                    : ln[k].loss;
          loss += l;
          if (claims) cas_plan_pool_claim(plan, claims, bk->first + k, l);
          cas_loan_sink_book(&rows->sink, bk->first + k, l);
          cas_cascade_default0(ws, bk->first + k);
        }
      }
    }
    seg_loss[s] += loss;
    seg_defaults[s] += hits;
    defaults += hits;
  }
  rows->year_ead += ead_sum;
  cas_kernel_path_end(plan, contagion, res, ws, rows, scale, NULL, defaults);
}

const cas_kernel cas_kernel_dense = {
  .info = {"dense", "reference kernel: one idiosyncratic draw per loan per path"},
  .eps_all_known = 1,
  .path = simulate_path,
};
