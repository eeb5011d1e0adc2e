/*
 * yrd.c: the built-in Yangtze River Delta book, model "yrd" of the books
 * registry (books.h); its generator is cas_portfolio_generate (portfolio.h).
 *
 * Built-in book (cas_portfolio_generate)
 *   Loans are generated in blocks of CAS_PORTFOLIO_BLOCK; block b draws from
 *   its own stream cas_rng_init_book(seed, CAS_RNG_PORTFOLIO, b) and every loan
 *   consumes exactly DRAWS_PER_LOAN uniforms, so the book depends on (loans,
 *   seed) only and blocks run in parallel with identical results for any
 *   thread count. Per loan: region (shares), city within the region, sector
 *   (base shares times the city's tilts), EAD (lognormal truncated below the
 *   sector's cap by inversion, rounded to whole CNY), PD (lognormal around
 *   the sector mean, clipped to [1e-5, 0.5]), LGD (secured or unsecured mean
 *   plus a normal spread, clipped to [0, 1]) and, for sectors that cluster,
 *   an industrial park of the city. Every number is in the tables below,
 *   each cited to a seed document (NNN_*) or a public statistic ([TAG]),
 *   both listed in docs/CALIBRATION.md, or marked ASSUMPTION;
 *   docs/CALIBRATION.md explains them.
 */
#include "portfolio.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "books/books.h"
#include "normal.h"
#include "portfolio_build.h"
#include "rng.h"

/* ======================================================================
 * Calibration of the built-in Yangtze River Delta book
 * (docs/CALIBRATION.md lists the seed documents NNN_* and the public
 * statistics [TAG] cited here)
 * ====================================================================== */

typedef struct sector_calibration {
  double share;           /* base share of loans (by count), before city tilts */
  double ead_median;      /* median EAD [CNY] */
  double ead_sigma;       /* lognormal sigma of EAD */
  double ead_cap;         /* EAD < cap [CNY] (truncation, not clipping) */
  double pd_mean;         /* mean one-year PD */
  double pd_sigma;        /* lognormal sigma of PD across borrowers (rating spread) */
  double lgd_secured;     /* mean LGD of a secured loan [fraction of EAD] */
  double lgd_unsecured;   /* mean LGD of an unsecured (credit) loan */
  double unsecured_share; /* share of unsecured loans */
  double lgd_sd;          /* standard deviation of LGD around its mean */
  double park_share;      /* share of loans to firms in an industrial park */
} sector_calibration;

/* Calibration targets (docs/CALIBRATION.md, "Sectors: the table with sources",
 * gives each number with its source; the tags below name the sources listed
 * there):
 * - exposure (EAD) shares by sector from the PBoC credit-structure
 *   statistics [PBOC-22Q2] [PBOC-23] and the real-estate concentration rules
 *   [RE-CAP]; the base shares by count below are what gives those EAD shares
 *   after the city tilts, with the EAD sizes of each sector;
 * - one-year PD means from sector NPL ratios [BOC-22] [RE-NPL] [MORT-NPL]
 *   and an EAD-weighted PD of about 1.25%, inside the band of observed NPL
 *   ratios and NPL formation (0.76-1.25% at the delta's listed banks, 1.59%
 *   for all commercial banks) [NPL];
 * - EAD caps at most 2 billion CNY, so that no loan of the default book of
 *   10^5 loans (about 250 billion CNY) exceeds the single-borrower limit of
 *   10% of net capital [CBL-39] with net capital 10% of loans (ASSUMPTION):
 *   2.0 / 253 = 0.8% of the book against a limit of 1%. */
static const sector_calibration sector_cal[CAS_YRD_NSECTORS] = {
  [CAS_SECTOR_TECH_STARTUP] = {
    /* share: 2.5% of EAD: PBoC loans to technology SMEs were 2.4 trillion
     *   CNY, 1.0% of RMB loans, at end-June 2023 [PBOC-23Q2]; ASSUMPTION
     *   2.5x that in the delta (G60 corridor, 002_*), tilted x3 / x5 in the
     *   G60 cities (below).
     * EAD: 001_*: a 3 million CNY credit loan to a Hangzhou start-up is the
     *   typical case (median); Hangzhou United Bank's technology loans are
     *   25 billion CNY over about 4,000 customers, 6.25 million each: sigma
     *   1.21 gives that mean. Cap 200 million: ASSUMPTION.
     * PD 3.0%: ASSUMPTION above inclusive micro-loans: "high growth, high
     *   risk, light assets" (000_*), banks told to tolerate higher NPLs of
     *   innovative SMEs (003_*).
     * LGD: ASSUMPTION 0.55 secured (patents, equity pledges) and 0.80
     *   unsecured; unsecured share 25%: 002_* (Jiaxing target: credit loans
     *   25% of technology-firm loans by 2025).
     * Parks 1/3: 003_* (one third of China's 330,000 high-tech firms are
     *   in high-tech zones). */
    .share = 0.00327, .ead_median = 3e6, .ead_sigma = 1.21, .ead_cap = 2e8,
    .pd_mean = 0.030, .pd_sigma = 0.9,
    .lgd_secured = 0.55, .lgd_unsecured = 0.80, .unsecured_share = 0.25, .lgd_sd = 0.10,
    .park_share = 1.0 / 3.0},
  [CAS_SECTOR_GREEN] = {
    /* share: 6.5% of EAD: PBoC green loans were 27.05 trillion CNY, 11.7% of
     *   RMB loans, at end-June 2023 [PBOC-23Q2]; ASSUMPTION that about half
     *   of them are transport and energy infrastructure, booked here under
     *   infrastructure. Tilted x5 in the pilot zones (below).
     * EAD median 15 million, sigma 1.3: ASSUMPTION (project finance); cap
     *   1.5 billion (concentration limit, above).
     * PD 0.8%: 002_* requires the green NPL ratio of the pilot zones to be no
     *   higher than that of small-firm loans; ASSUMPTION 0.8%, below the 2%
     *   of inclusive micro-loans.
     * LGD 0.40 / 0.70, 10% unsecured: ASSUMPTION (project assets pledged).
     * Parks 25%: ASSUMPTION (green and low-carbon parks, 003_*). */
    .share = 0.00443, .ead_median = 1.5e7, .ead_sigma = 1.3, .ead_cap = 1.5e9,
    .pd_mean = 0.008, .pd_sigma = 0.8,
    .lgd_secured = 0.40, .lgd_unsecured = 0.70, .unsecured_share = 0.10, .lgd_sd = 0.10,
    .park_share = 0.25},
  [CAS_SECTOR_INCLUSIVE_MICRO] = {
    /* share: 12.5% of EAD: inclusive small and micro loans were 29.4
     *   trillion CNY, 12.4% of RMB loans, at end-2023 [PBOC-23]; 9.80% in
     *   the delta at end-2019 (004_*); Zhejiang targets more than 20% by
     *   2025 (002_*, tilt below). Includes operating loans to sole
     *   proprietors and small-firm owners (004_* definition), which the
     *   PBoC counts among household loans.
     * EAD: 004_* defines the segment as single-borrower credit under 10
     *   million CNY: cap 1e7 (EAD < 1e7). Median 1.2 million, sigma 1.0
     *   (ASSUMPTION) give a mean of 1.75 million, inside the averages 004_*
     *   reports: Ningbo guarantee-insured loans 0.82 million (18 billion,
     *   22,000 borrowers), Jiangsu "Xiaowei e-dai" 3.10 million (8.816
     *   billion, 2,848 firms), Anhui receivables 5.77 million (80.8 billion,
     *   14,000 loans).
     * PD 2.0%: ASSUMPTION, inside the regulator's tolerance for inclusive
     *   small-firm loans (NPL ratio up to 3 points above all loans) [TOL].
     * LGD 0.45 / 0.75: ASSUMPTION; unsecured share 11.35%: 004_* (credit
     *   loans as a share of small-firm loans in the delta, 2019).
     * Parks 10%: ASSUMPTION (small suppliers of a "1+N" chain, 003_*). */
    .share = 0.161, .ead_median = 1.2e6, .ead_sigma = 1.0, .ead_cap = 1e7,
    .pd_mean = 0.020, .pd_sigma = 0.8,
    .lgd_secured = 0.45, .lgd_unsecured = 0.75, .unsecured_share = 0.1135, .lgd_sd = 0.10,
    .park_share = 0.10},
  [CAS_SECTOR_MANUFACTURING] = {
    /* share: 16% of EAD: ASSUMPTION between the PBoC medium and long-term
     *   industrial loans, 9.2% of RMB loans at end-2023 [PBOC-23] (short-term
     *   working capital comes on top), and manufacturing's 20.5% of Bank of
     *   China's domestic corporate loans at end-2022 [BOC-22]; the delta is
     *   a manufacturing centre. Small makers are in inclusive_micro.
     * EAD: ASSUMPTION median 6 million, sigma 1.5 (medium and large firms);
     *   cap 2 billion (concentration limit).
     * PD 1.1%: manufacturing NPL ratio 1.89% at Bank of China, end-2022
     *   [BOC-22], times 0.6, the ratio of the delta's listed banks' NPL
     *   ratios (about 0.9%) to all commercial banks' (1.59%) [NPL].
     * LGD 0.45 / 0.70 with 15% unsecured: ASSUMPTION; 40% in parks
     *   (ASSUMPTION: parks cluster manufacturing chains, 003_*). */
    .share = 0.0223, .ead_median = 6e6, .ead_sigma = 1.5, .ead_cap = 2e9,
    .pd_mean = 0.011, .pd_sigma = 0.9,
    .lgd_secured = 0.45, .lgd_unsecured = 0.70, .unsecured_share = 0.15, .lgd_sd = 0.10,
    .park_share = 0.40},
  [CAS_SECTOR_WHOLESALE_RETAIL] = {
    /* share: 9.5% of EAD: ASSUMPTION (the PBoC does not publish loans to
     *   wholesale and retail in its quarterly report; "commerce and
     *   services" are 22% of Bank of China's domestic corporate loans
     *   [BOC-22], including leasing and business services).
     * EAD: ASSUMPTION median 3 million, sigma 1.3; cap 1 billion.
     * PD 1.5%: ASSUMPTION between Bank of China's 1.70% for commerce and
     *   services [BOC-22] scaled to the delta (x0.6, as manufacturing) and
     *   the sector's place among the three with the most NPLs at listed
     *   city and rural banks [PWC-19].
     * LGD 0.50 / 0.75 (inventory and receivables), 20% unsecured:
     *   ASSUMPTION; no parks. */
    .share = 0.0349, .ead_median = 3e6, .ead_sigma = 1.3, .ead_cap = 1e9,
    .pd_mean = 0.015, .pd_sigma = 0.9,
    .lgd_secured = 0.50, .lgd_unsecured = 0.75, .unsecured_share = 0.20, .lgd_sd = 0.10,
    .park_share = 0.0},
  [CAS_SECTOR_REAL_ESTATE] = {
    /* share: 5.5% of EAD: developer loans were 12.49 trillion CNY, 6.1% of
     *   RMB loans, at end-June 2022 [PBOC-22Q2]; the concentration rules cap
     *   real-estate loans at 27.5% of loans and mortgages at 20% for the
     *   delta's large city banks (22.5% / 17.5% for the others) [RE-CAP], so
     *   with mortgages at about 19% (household, below) developer loans must
     *   stay under 8.5%.
     * EAD: ASSUMPTION median 50 million, sigma 1.3 (project loans); cap 2
     *   billion (concentration limit).
     * PD 3.5%: corporate real-estate NPL ratios of 4.79% (ICBC, end-2021),
     *   above 5% (Bank of Suzhou, end-2021) and 7.23% (Bank of China,
     *   end-2022) [RE-NPL], times 0.6 (delta, as manufacturing): 2.9-4.3%.
     * LGD 0.35 secured on land and buildings, 0.60 unsecured, 5% unsecured:
     *   ASSUMPTION. */
    .share = 0.00132, .ead_median = 5e7, .ead_sigma = 1.3, .ead_cap = 2e9,
    .pd_mean = 0.035, .pd_sigma = 0.9,
    .lgd_secured = 0.35, .lgd_unsecured = 0.60, .unsecured_share = 0.05, .lgd_sd = 0.10,
    .park_share = 0.0},
  [CAS_SECTOR_CONSTRUCTION] = {
    /* All ASSUMPTION (no published share or NPL ratio found): 4.5% of EAD;
     *   median 10 million, sigma 1.3, cap 1.5 billion; PD 1.5%, between
     *   manufacturing and developers (contractors are paid by developers);
     *   LGD 0.45 / 0.70, 10% unsecured. */
    .share = 0.00509, .ead_median = 1e7, .ead_sigma = 1.3, .ead_cap = 1.5e9,
    .pd_mean = 0.015, .pd_sigma = 0.8,
    .lgd_secured = 0.45, .lgd_unsecured = 0.70, .unsecured_share = 0.10, .lgd_sd = 0.10,
    .park_share = 0.0},
  [CAS_SECTOR_INFRASTRUCTURE] = {
    /* share: 14% of EAD: medium and long-term infrastructure loans were
     *   15.0% of RMB loans at end-June 2022 (31.02 of 206.35 trillion CNY)
     *   [PBOC-22Q2] and 15.8% at end-2023 (37.57 of 237.59) [PBOC-23], part
     *   of which is green (above). Tilted x3 in Ningbo and Zhoushan (below).
     * EAD: ASSUMPTION median 60 million, sigma 1.3 (transport, utilities,
     *   ports); cap 2 billion (concentration limit).
     * PD 0.5%: Bank of China's NPL ratio for transport, warehousing and
     *   postal services, 0.63% at end-2022 [BOC-22], a little lower for the
     *   delta (ASSUMPTION).
     * LGD 0.30 / 0.50, 10% unsecured: ASSUMPTION (public sponsors). */
    .share = 0.00247, .ead_median = 6e7, .ead_sigma = 1.3, .ead_cap = 2e9,
    .pd_mean = 0.005, .pd_sigma = 0.7,
    .lgd_secured = 0.30, .lgd_unsecured = 0.50, .unsecured_share = 0.10, .lgd_sd = 0.10,
    .park_share = 0.0},
  [CAS_SECTOR_HOUSEHOLD] = {
    /* share: 29% of EAD: household loans were 73.29 trillion CNY, 35.5% of
     *   RMB loans, at end-June 2022 [PBOC-22Q2]; personal business loans,
     *   about a fifth of them [RBA-19], are here in inclusive_micro
     *   (ASSUMPTION: 29% + about half of inclusive_micro's 12.5% is 35%).
     *   Mortgages, consumer loans and farm-household loans.
     * EAD: ASSUMPTION median 0.45 million, sigma 1.3 (mean 1 million:
     *   mortgages in the delta's cities, smaller consumer and farm loans);
     *   cap 20 million.
     * PD 0.8%: mortgages about two thirds of the sector (ASSUMPTION after
     *   [PBOC-22Q2]: 38.86 of 73.29 trillion, before personal business
     *   loans are taken out) with an NPL ratio of 0.45% at the leading banks
     *   in 2023 [MORT-NPL]; the rest 1.5%, the NPL ratio of all personal
     *   loans in 2017 [PERS-NPL] (ASSUMPTION).
     * LGD 0.25 secured (housing), 0.65 unsecured: ASSUMPTION; unsecured
     *   share 16.41%: 004_* (credit loans as a share of farm-household
     *   loans in the delta, 2019), applied to the sector. No parks. */
    .share = 0.765, .ead_median = 4.5e5, .ead_sigma = 1.3, .ead_cap = 2e7,
    .pd_mean = 0.008, .pd_sigma = 0.8,
    .lgd_secured = 0.25, .lgd_unsecured = 0.65, .unsecured_share = 0.1641, .lgd_sd = 0.10,
    .park_share = 0.0},
};

/* Share of loans by region. ASSUMPTION: roughly in proportion to the
 * provinces' loan books (Jiangsu and Zhejiang largest, Anhui smallest);
 * the seeds give no split by province. */
static const double region_share[CAS_YRD_NREGIONS] = {
  [CAS_REGION_SHANGHAI] = 0.20,
  [CAS_REGION_JIANGSU] = 0.33,
  [CAS_REGION_ZHEJIANG] = 0.34,
  [CAS_REGION_ANHUI] = 0.13,
};

/* Cities: share of their region's loans and number of industrial parks.
 * ASSUMPTION throughout: shares roughly by economic size, parks roughly in
 * proportion to the city's loans (003_* describes parks, not their count
 * per city). Names must match taxonomy.c; every city there must appear. */
typedef struct city_calibration {
  const char *name;
  double weight;  /* share of the region's loans */
  int parks;      /* industrial parks in the city */
} city_calibration;

static const city_calibration city_cal[] = {
  {"shanghai", 1.00, 24},
  {"nanjing", 0.26, 10}, {"suzhou", 0.32, 16}, {"wuxi", 0.18, 8},
  {"changzhou", 0.11, 6}, {"nantong", 0.13, 6},
  {"hangzhou", 0.30, 16}, {"ningbo", 0.20, 10}, {"wenzhou", 0.12, 6},
  {"shaoxing", 0.09, 6}, {"jiaxing", 0.08, 6}, {"jinhua", 0.08, 5},
  {"huzhou", 0.06, 5}, {"zhoushan", 0.04, 3}, {"quzhou", 0.03, 3},
  {"hefei", 0.60, 10}, {"wuhu", 0.25, 5}, {"xuancheng", 0.15, 3},
};
enum { NCITY_CAL = (int)(sizeof city_cal / sizeof city_cal[0]) };

/* Sector tilts: the sector's base share is multiplied by factor in that
 * city (or, city NULL, in every city of the region; or, region -1, in every
 * G60 city), then the city's sector shares are renormalised. Rows apply in
 * order and multiply. */
typedef struct sector_tilt {
  const char *city;  /* NULL: by region or G60 flag */
  int region;        /* CAS_REGION_* when city is NULL; -1 with g60 */
  int g60;           /* 1: every city on the G60 corridor (taxonomy.c flag) */
  int sector;
  double factor;
} sector_tilt;

static const sector_tilt sector_tilts[] = {
  /* 002_*, 000_*: the G60 science-and-technology corridor links technology
   * firms across the provinces: technology loans x3 in every G60 city
   * (ASSUMPTION for the size of the factor)... */
  {NULL, -1, 1, CAS_SECTOR_TECH_STARTUP, 3.0},
  /* ...and a further x5/3 (x5 in all) in its hubs: Hangzhou and Jiaxing
   * (002_*: G60 sci-tech finance belt; Jiaxing targets more than 200 billion
   * CNY of technology-firm loans by 2025), Shanghai, Suzhou, Hefei
   * (ASSUMPTION: the corridor's largest technology centres). */
  {"hangzhou", 0, 0, CAS_SECTOR_TECH_STARTUP, 5.0 / 3.0},
  {"jiaxing", 0, 0, CAS_SECTOR_TECH_STARTUP, 5.0 / 3.0},
  {"shanghai", 0, 0, CAS_SECTOR_TECH_STARTUP, 5.0 / 3.0},
  {"suzhou", 0, 0, CAS_SECTOR_TECH_STARTUP, 5.0 / 3.0},
  {"hefei", 0, 0, CAS_SECTOR_TECH_STARTUP, 5.0 / 3.0},
  /* 002_*: Huzhou and Quzhou are national green-finance pilot zones; Huzhou
   * targets green loans above 23% of all loans by 2025. x5 gives green
   * loans about 24% of the expected exposure of both cities. */
  {"huzhou", 0, 0, CAS_SECTOR_GREEN, 5.0},
  {"quzhou", 0, 0, CAS_SECTOR_GREEN, 5.0},
  /* 002_*: Ningbo-Zhoushan port, shipping and oil-and-gas trade finance:
   * infrastructure x3 (about 28% of their exposure), wholesale trade x1.3
   * (factors ASSUMPTION). */
  {"ningbo", 0, 0, CAS_SECTOR_INFRASTRUCTURE, 3.0},
  {"zhoushan", 0, 0, CAS_SECTOR_INFRASTRUCTURE, 3.0},
  {"ningbo", 0, 0, CAS_SECTOR_WHOLESALE_RETAIL, 1.3},
  {"zhoushan", 0, 0, CAS_SECTOR_WHOLESALE_RETAIL, 1.3},
  /* 002_*: the Hangzhou-Shaoxing-Ningbo (G92) industrial finance belt and
   * Shaoxing's industrial-chain finance: manufacturing x1.5 in Shaoxing,
   * x1.2 in Ningbo (factors ASSUMPTION). */
  {"shaoxing", 0, 0, CAS_SECTOR_MANUFACTURING, 1.5},
  {"ningbo", 0, 0, CAS_SECTOR_MANUFACTURING, 1.2},
  /* 002_*: Zhejiang targets inclusive small-firm loans above 20% of all
   * loans by 2025 (the delta stood at 9.80% in 2019, 004_*): inclusive
   * micro x1.5 in Zhejiang, about 14.6% of its exposure (factor
   * ASSUMPTION). */
  {NULL, CAS_REGION_ZHEJIANG, 0, CAS_SECTOR_INCLUSIVE_MICRO, 1.5},
};

/* PD and EAD bounds of the generator. */
#define PD_MIN 1e-5   /* ASSUMPTION: best rating grade */
#define PD_MAX 0.5    /* ASSUMPTION: worst performing grade */

/* Where a park's share of a city's park loans falls: park k of K gets
 * sqrt((k+1)/K) - sqrt(k/K) (park = floor(K u^2)): a few large parks and
 * many small ones, as 003_* describes (BioBAY 500+ firms, Zhongguancun One
 * 130+, Lingang 1,200+). The shape is an ASSUMPTION. */

/* ======================================================================
 * Built-in generator
 * ====================================================================== */

enum {
  CAS_PORTFOLIO_BLOCK = 4096, /* loans per random stream */
  DRAWS_PER_LOAN = 9          /* uniforms consumed per generated loan */
};

#define MAX_LOANS_BUILTIN 1000000000ULL  /* ids "YRD" + 9 digits */

/* Tables derived from the calibration before the parallel loop (read only
 * inside it). */
typedef struct builtin_tables {
  double region_cum[CAS_YRD_NREGIONS];
  int ncity[CAS_YRD_NREGIONS];
  int city_of[CAS_YRD_NREGIONS][32];          /* taxonomy city index */
  double city_cum[CAS_YRD_NREGIONS][32];
  double city_share[32];                  /* share of all loans, by taxonomy index */
  double sector_cum[32][CAS_YRD_NSECTORS];    /* by taxonomy city index */
  double sector_p[32][CAS_YRD_NSECTORS];
  int park_base[32], parks[32];
  int npark;
  double ead_mu[CAS_YRD_NSECTORS], ead_pcap[CAS_YRD_NSECTORS];
} builtin_tables;

static void cumulate(double *p, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; i++) sum += p[i];
  double acc = 0.0;
  for (int i = 0; i < n; i++) {
    acc += p[i] / sum;
    p[i] = acc;
  }
  p[n - 1] = 1.0;
}

static int pick(const double *cum, int n, double u) {
  int k = 0;
  while (k < n - 1 && u >= cum[k]) k++;
  return k;
}

static cas_status build_tables(builtin_tables *T, cas_error *err) {
  memset(T, 0, sizeof *T);
  if (cas_yrd_ncities > 32)
    return cas_error_set(err, CAS_ERR_INTERNAL, "portfolio: more than 32 cities in taxonomy.c");
  /* Cities: every taxonomy city needs a calibration row and vice versa. */
  int cal_of[32];
  for (int c = 0; c < cas_yrd_ncities; c++) cal_of[c] = -1;
  for (int k = 0; k < NCITY_CAL; k++) {
    int c = cas_yrd_city_index(city_cal[k].name);
    if (c < 0)
      return cas_error_set(err, CAS_ERR_INTERNAL, "portfolio: calibrated city '%s' is not in taxonomy.c",
                           city_cal[k].name);
    cal_of[c] = k;
  }
  for (int c = 0; c < cas_yrd_ncities; c++)
    if (cal_of[c] < 0)
      return cas_error_set(err, CAS_ERR_INTERNAL, "portfolio: city '%s' has no calibration",
                           cas_yrd_cities[c].name);
  for (int r = 0; r < CAS_YRD_NREGIONS; r++) T->region_cum[r] = region_share[r];
  double region_weight[CAS_YRD_NREGIONS] = {0};
  for (int c = 0; c < cas_yrd_ncities; c++) region_weight[cas_yrd_cities[c].region] += city_cal[cal_of[c]].weight;
  for (int c = 0; c < cas_yrd_ncities; c++) {
    int r = cas_yrd_cities[c].region;
    int k = T->ncity[r]++;
    T->city_of[r][k] = c;
    T->city_cum[r][k] = city_cal[cal_of[c]].weight;
    T->city_share[c] = region_share[r] * city_cal[cal_of[c]].weight / region_weight[r];
    T->parks[c] = city_cal[cal_of[c]].parks;
    T->park_base[c] = T->npark;
    T->npark += T->parks[c];
  }
  for (int r = 0; r < CAS_YRD_NREGIONS; r++) {
    if (T->ncity[r] == 0)
      return cas_error_set(err, CAS_ERR_INTERNAL, "portfolio: region '%s' has no city", cas_yrd_region_names[r]);
    cumulate(T->city_cum[r], T->ncity[r]);
  }
  cumulate(T->region_cum, CAS_YRD_NREGIONS);
  /* Sector shares by city: base share times tilts, normalised. */
  for (int c = 0; c < cas_yrd_ncities; c++) {
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) T->sector_p[c][s] = sector_cal[s].share;
    for (size_t t = 0; t < sizeof sector_tilts / sizeof sector_tilts[0]; t++) {
      const sector_tilt *x = &sector_tilts[t];
      int hit = x->city ? strcmp(x->city, cas_yrd_cities[c].name) == 0
                        : x->g60 ? cas_yrd_cities[c].g60 : x->region == cas_yrd_cities[c].region;
      if (x->city && cas_yrd_city_index(x->city) < 0)
        return cas_error_set(err, CAS_ERR_INTERNAL, "portfolio: tilted city '%s' is not in taxonomy.c", x->city);
      if (hit) T->sector_p[c][x->sector] *= x->factor;
    }
    double sum = 0.0;
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) sum += T->sector_p[c][s];
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
      T->sector_p[c][s] /= sum;
      T->sector_cum[c][s] = T->sector_p[c][s];
    }
    cumulate(T->sector_cum[c], CAS_YRD_NSECTORS);
  }
  /* EAD: log-median and the probability mass below the cap. */
  for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
    T->ead_mu[s] = log(sector_cal[s].ead_median);
    T->ead_pcap[s] = cas_norm_cdf((log(sector_cal[s].ead_cap) - T->ead_mu[s]) / sector_cal[s].ead_sigma);
  }
  return CAS_OK;
}

cas_status cas_portfolio_builtin_shares(double region[CAS_YRD_NREGIONS], double sector[CAS_YRD_NSECTORS],
                                        double *city, cas_error *err) {
  builtin_tables T;
  cas_status st = build_tables(&T, err);
  if (st) return st;
  if (region)
    for (int r = 0; r < CAS_YRD_NREGIONS; r++) region[r] = region_share[r];
  if (sector)
    for (int s = 0; s < CAS_YRD_NSECTORS; s++) sector[s] = 0.0;
  for (int c = 0; c < cas_yrd_ncities; c++) {
    if (city) city[c] = T.city_share[c];
    if (sector)
      for (int s = 0; s < CAS_YRD_NSECTORS; s++) sector[s] += T.city_share[c] * T.sector_p[c][s];
  }
  return CAS_OK;
}

static inline double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Loans [first, last) of one block, from the block's stream. */
static void generate_block(const builtin_tables *T, cas_portfolio *p, cas_rng *rng, size_t first, size_t last) {
  for (size_t i = first; i < last; i++) {
    double u[DRAWS_PER_LOAN];
    for (int k = 0; k < DRAWS_PER_LOAN; k++) u[k] = cas_rng_uniform_open(rng);
    int r = pick(T->region_cum, CAS_YRD_NREGIONS, u[0]);
    int c = T->city_of[r][pick(T->city_cum[r], T->ncity[r], u[1])];
    int s = pick(T->sector_cum[c], CAS_YRD_NSECTORS, u[2]);
    const sector_calibration *cal = &sector_cal[s];

    /* EAD: lognormal truncated to (0, cap) by inversion, whole CNY. */
    double z = cas_norm_quantile(u[3] * T->ead_pcap[s]);
    double ead = nearbyint(exp(T->ead_mu[s] + cal->ead_sigma * z));
    if (ead >= cal->ead_cap) ead = cal->ead_cap - 1.0;
    if (ead < 1.0) ead = 1.0;

    /* PD: lognormal with mean pd_mean, clipped. */
    z = cas_norm_quantile(u[4]);
    double pd = cal->pd_mean * exp(cal->pd_sigma * z - 0.5 * cal->pd_sigma * cal->pd_sigma);

    /* LGD: secured or unsecured mean plus a normal spread, clipped. */
    double mean = u[5] < cal->unsecured_share ? cal->lgd_unsecured : cal->lgd_secured;
    double lgd = mean + cal->lgd_sd * cas_norm_quantile(u[6]);

    /* Park: a share of the sector's loans, large parks more likely. */
    int32_t park = -1;
    if (u[7] < cal->park_share && T->parks[c] > 0) {
      int k = (int)((double)T->parks[c] * u[8] * u[8]);
      if (k >= T->parks[c]) k = T->parks[c] - 1;
      park = T->park_base[c] + k;
    }

    p->ead[i] = ead;
    p->pd[i] = clamp(pd, PD_MIN, PD_MAX);
    p->lgd[i] = clamp(lgd, 0.0, 1.0);
    p->region[i] = (uint16_t)r;
    p->sector[i] = (uint16_t)s;
    p->city[i] = (uint16_t)c;
    p->park[i] = park;
  }
}

cas_status cas_portfolio_generate(size_t loans, uint64_t seed, cas_portfolio **out, cas_error *err) {
  *out = NULL;
  if (loans < 1 || (unsigned long long)loans > MAX_LOANS_BUILTIN)
    return cas_error_set(err, CAS_ERR_INPUT,
                         "built-in portfolio: number of loans out of range (got %zu, expected 1 to %llu)",
                         loans, MAX_LOANS_BUILTIN);
  builtin_tables T;
  cas_status st = build_tables(&T, err);
  if (st) return st;
  cas_portfolio *p = cas_portfolio_alloc(loans);
  if (p && !(p->tax = cas_taxonomy_yrd())) {
    cas_portfolio_destroy(p);
    p = NULL;
  }
  if (!p)
    return cas_error_set(err, CAS_ERR_NOMEM, "built-in portfolio: out of memory for %zu loans (%zu bytes each)",
                         loans, (size_t)34);
  p->n = loans;
  p->npark = T.npark;
  long nblocks = (long)((loans + CAS_PORTFOLIO_BLOCK - 1) / CAS_PORTFOLIO_BLOCK);
#pragma omp parallel for schedule(static)
  for (long b = 0; b < nblocks; b++) {
    cas_rng rng;
    cas_rng_init_book(&rng, seed, CAS_RNG_PORTFOLIO, (uint64_t)b);
    size_t first = (size_t)b * CAS_PORTFOLIO_BLOCK;
    size_t last = first + CAS_PORTFOLIO_BLOCK < loans ? first + CAS_PORTFOLIO_BLOCK : loans;
    generate_block(&T, p, &rng, first, last);
  }
  snprintf(p->source, sizeof p->source, "builtin:yrd loans=%zu seed=%llu", loans, (unsigned long long)seed);
  *out = p;
  return CAS_OK;
}

const cas_book_model cas_book_yrd = {
  .info = {"yrd",
           "the Yangtze River Delta book: loans of the four provinces' cities, nine sectors and "
           "industrial parks, calibrated to public statistics (docs/CALIBRATION.md)"},
  .generate = cas_portfolio_generate,
  .classification = cas_taxonomy_yrd,
};
