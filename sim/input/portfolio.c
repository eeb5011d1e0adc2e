/*
 * portfolio.c: loading, generating and exporting loan books (portfolio.h).
 *
 * CSV format (cas_portfolio_load_csv)
 *   One header row naming the columns, in any order: id, region, sector,
 *   ead, pd, lgd are required, city and park optional; names are exact
 *   (lower case), each at most once. Then one loan per line. Accepted
 *   around that: a UTF-8 byte-order mark, CRLF or LF line ends, spaces and
 *   tabs around fields, blank lines (skipped), and fields in double quotes
 *   ("a, b" with "" for a quote inside; a quoted field cannot span lines).
 *   region, sector and city are names (cas_name_check) that make the
 *   book's classification in order of first appearance, or must be among
 *   the names a scenario declares (portfolio.h); an empty city or park
 *   means none. Park values are any text, numbered 0, 1, ... in order
 *   of first appearance (park_names keeps the text).
 *
 * Error positions: every message about the file is "path:line:col: reason
 *   (got X, expected Y)". line is the 1-based physical line; col is the
 *   1-based character position (UTF-8 code points, the byte-order mark not
 *   counted) where the offending field starts after its leading spaces (at
 *   its opening quote if quoted). Errors about the whole header (a missing
 *   column) or the whole file (empty) omit col or line. The first error
 *   stops the load; within a row the fields are checked left to right,
 *   then the id against earlier ids, then the city against the region.
 *
 * Scale: the file is read line by line (getline), so memory is the
 *   portfolio itself plus the ids: one pool of NUL-terminated ids with a
 *   64-bit offset per loan. Duplicate ids are found with an open-addressing
 *   hash table (linear probing, load <= 1/2) of 64-bit slots, each packing a
 *   32-bit hash and loan index + 1, so a probe rarely touches the id text.
 *   Row arrays grow by doubling and are trimmed at the end.
 *
 * Built-in book (cas_portfolio_generate)
 *   Loans are generated in blocks of CAS_PORTFOLIO_BLOCK; block b draws from
 *   its own stream cas_rng_init(seed, CAS_RNG_PORTFOLIO, b) and every loan
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

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "normal.h"
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
 * Small helpers
 * ====================================================================== */

enum {
  CAS_PORTFOLIO_BLOCK = 4096, /* loans per random stream */
  DRAWS_PER_LOAN = 9          /* uniforms consumed per generated loan */
};

#define MAX_LOANS_BUILTIN 1000000000ULL  /* ids "YRD" + 9 digits */
#define MAX_LOANS_CSV 2147483647ULL      /* hash slots hold index + 1 in 32 bits */

/* ---- A pool of NUL-terminated strings, each with its offset. ---- */
typedef struct strpool {
  char *buf;
  size_t size, cap;
  uint64_t *off;
  size_t n, ncap;
} strpool;

static int strpool_add(strpool *p, const char *s, size_t len) {
  if (p->size + len + 1 > p->cap) {
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->size + len + 1) cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b) return -1;
    p->buf = b;
    p->cap = cap;
  }
  if (p->n == p->ncap) {
    size_t ncap = p->ncap ? 2 * p->ncap : 1024;
    uint64_t *o = realloc(p->off, ncap * sizeof *o);
    if (!o) return -1;
    p->off = o;
    p->ncap = ncap;
  }
  memcpy(p->buf + p->size, s, len);
  p->buf[p->size + len] = '\0';
  p->off[p->n++] = p->size;
  p->size += len + 1;
  return 0;
}

static void strpool_free(strpool *p) {
  free(p->buf);
  free(p->off);
  memset(p, 0, sizeof *p);
}

/* ---- Open-addressing set of the strings of a pool. ----
 * Slot: (32-bit hash << 32) | (string index + 1), 0 when empty. The slot
 * position is the hash modulo the power-of-two capacity, probing linearly;
 * capacity stays at least twice the count. */
typedef struct strset {
  uint64_t *slot;
  size_t mask;  /* capacity - 1 */
  size_t count;
} strset;

static int strset_grow(strset *t) {
  size_t cap = t->slot ? 2 * (t->mask + 1) : 1024;
  uint64_t *s = calloc(cap, sizeof *s);
  if (!s) return -1;
  if (t->slot) {
    for (size_t i = 0; i <= t->mask; i++) {
      uint64_t v = t->slot[i];
      if (!v) continue;
      size_t j = (size_t)(v >> 32) & (cap - 1);
      while (s[j]) j = (j + 1) & (cap - 1);
      s[j] = v;
    }
    free(t->slot);
  }
  t->slot = s;
  t->mask = cap - 1;
  return 0;
}

static uint32_t strset_hash(const char *s, size_t len) { return (uint32_t)(cas_csv_hash(s, len) >> 32); }

/* Makes room for one more string; -1 when out of memory. */
static int strset_reserve(strset *t) {
  if (!t->slot || (t->count + 1) * 2 > t->mask + 1) return strset_grow(t);
  return 0;
}

/* Starts fetching the slot where a string of hash h is probed first: for
 * 10^7 ids the table is far larger than the caches, and the loader parses
 * the row's numbers while the line arrives. */
static void strset_prefetch(const strset *t, uint32_t h) { __builtin_prefetch(&t->slot[h & t->mask]); }

/* Finds s (hash h = strset_hash(s)) in the set, which must have room
 * (strset_reserve); if absent, adds it to pool and set. Returns the
 * string's index in *index and 1 if it was already there, 0 if added, -1
 * when out of memory. */
static int strset_intern(strset *t, strpool *pool, const char *s, size_t len, uint32_t h, size_t *index) {
  size_t j = h & t->mask;
  for (;;) {
    uint64_t v = t->slot[j];
    if (!v) break;
    if ((uint32_t)(v >> 32) == h) {
      size_t k = (size_t)(uint32_t)v - 1;
      const char *other = pool->buf + pool->off[k];
      if (memcmp(other, s, len) == 0 && other[len] == '\0') {
        *index = k;
        return 1;
      }
    }
    j = (j + 1) & t->mask;
  }
  if (strpool_add(pool, s, len)) return -1;
  *index = pool->n - 1;
  t->slot[j] = ((uint64_t)h << 32) | (uint64_t)(*index + 1);
  t->count++;
  return 0;
}

/* ======================================================================
 * Create, destroy, accessors
 * ====================================================================== */

static cas_portfolio *portfolio_alloc(size_t cap) {
  cas_portfolio *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (cap == 0) cap = 1;
  p->ead = malloc(cap * sizeof *p->ead);
  p->pd = malloc(cap * sizeof *p->pd);
  p->lgd = malloc(cap * sizeof *p->lgd);
  p->region = malloc(cap * sizeof *p->region);
  p->sector = malloc(cap * sizeof *p->sector);
  p->city = malloc(cap * sizeof *p->city);
  p->park = malloc(cap * sizeof *p->park);
  if (!p->ead || !p->pd || !p->lgd || !p->region || !p->sector || !p->city || !p->park) {
    cas_portfolio_destroy(p);
    return NULL;
  }
  return p;
}

/* Resizes the row arrays to cap rows (growing or trimming). */
static int portfolio_resize(cas_portfolio *p, size_t cap) {
  void *q;
  if (cap == 0) cap = 1;
#define RESIZE(field)                                   \
  q = realloc(p->field, cap * sizeof *p->field);        \
  if (!q) return -1;                                    \
  p->field = q;
  RESIZE(ead) RESIZE(pd) RESIZE(lgd) RESIZE(region) RESIZE(sector) RESIZE(city) RESIZE(park)
#undef RESIZE
  return 0;
}

void cas_portfolio_destroy(cas_portfolio *p) {
  if (!p) return;
  free(p->ead);
  free(p->pd);
  free(p->lgd);
  free(p->region);
  free(p->sector);
  free(p->city);
  free(p->park);
  free(p->id_pool);
  free(p->id_offset);
  free(p->park_names);
  cas_taxonomy_destroy(p->tax);
  free(p);
}

const char *cas_portfolio_id(const cas_portfolio *p, size_t i, char *buf, size_t size) {
  if (p->id_pool) return p->id_pool + p->id_offset[i];
  snprintf(buf, size, "YRD%09zu", i);
  return buf;
}

const char *cas_portfolio_park_name(const cas_portfolio *p, int32_t park, char *buf, size_t size) {
  if (park < 0) return "";
  if (p->park_names && park < p->npark_names) return p->park_names[park];
  snprintf(buf, size, "park-%d", (int)park);
  return buf;
}

cas_status cas_segment_totals_init(cas_segment_totals *t, int n, cas_error *err) {
  size_t m = n > 0 ? (size_t)n : 1;
  *t = (cas_segment_totals){.n = n};
  t->loans = calloc(m, sizeof *t->loans);
  t->ead = calloc(m, sizeof *t->ead);
  t->expected_loss = calloc(m, sizeof *t->expected_loss);
  t->expected_defaults = calloc(m, sizeof *t->expected_defaults);
  if (!t->loans || !t->ead || !t->expected_loss || !t->expected_defaults)
    return cas_error_set(err, CAS_ERR_NOMEM, "out of memory (totals of %d segments)", n);
  return CAS_OK;
}

void cas_segment_totals_free(cas_segment_totals *t) {
  free(t->loans);
  free(t->ead);
  free(t->expected_loss);
  free(t->expected_defaults);
  *t = (cas_segment_totals){0};
}

cas_status cas_portfolio_totals(const cas_portfolio *p, cas_segment_totals *out, cas_error *err) {
  cas_status st = cas_segment_totals_init(out, p->tax->nsegments, err);
  if (st != CAS_OK) return st;
  for (size_t i = 0; i < p->n; i++) {
    int s = cas_taxonomy_segment(p->tax, p->region[i], p->sector[i]);
    out->loans[s]++;
    out->ead[s] += p->ead[i];
    out->expected_loss[s] += p->pd[i] * p->lgd[i] * p->ead[i];
    out->expected_defaults[s] += p->pd[i];
  }
  return CAS_OK;
}

/* ======================================================================
 * CSV loader
 * ====================================================================== */

enum { COL_ID, COL_REGION, COL_SECTOR, COL_EAD, COL_PD, COL_LGD, COL_CITY, COL_PARK, NCOLS };

static const char *const col_names[NCOLS] = {"id", "region", "sector", "ead", "pd", "lgd", "city", "park"};
static const int col_required[NCOLS] = {1, 1, 1, 1, 1, 1, 0, 0};
static const cas_csv_columns columns = {col_names, col_required, NCOLS};

typedef struct loader {
  cas_csv_reader csv;
  int col_of[NCOLS];  /* field index of each column, or -1 */
  int kind_of[NCOLS]; /* column of each field index */
  int ncols;          /* fields per row */
  cas_portfolio *p;
  size_t row_cap;
  strpool ids, parks;
  strset id_set, park_set;
  int declared;       /* the classification is declared: values must be in it */
} loader;

#define FAIL_AT(off, ...) cas_csv_fail(&L->csv, (off), __VA_ARGS__)

/* A region, sector or city value: its index in names, added (in order of
 * first appearance) unless the classification is declared. */
static cas_status class_value(loader *L, const cas_csv_field *f, cas_names *names, const char *what,
                              int *out) {
  const char *t = f->text;
  size_t len = strlen(t);
  int k = cas_names_find(names, t, len);
  char g[CAS_CSV_QUOTE_SIZE];
  if (k < 0 && L->declared && !(names == &L->p->tax->cities && L->p->tax->cities_open)) {
    char list[512];
    cas_names_list(names, 12, list, sizeof list);
    return FAIL_AT(f->start, "unknown %s %s (expected one of the %d declared: %s)", what,
                   cas_csv_quote(t, g, sizeof g), names->n, names->n ? list : "none");
  }
  if (k < 0) {
    const char *bad = cas_name_check(t, len);
    if (bad != NULL)
      return FAIL_AT(f->start, "%s %s %s (expected a name of letters, digits, '_' or '-')", what,
                     cas_csv_quote(t, g, sizeof g), bad);
    k = names == &L->p->tax->cities ? cas_taxonomy_add_city(L->p->tax, t, len, -1)
                                     : cas_names_add(names, t, len);
    if (k == -1) return cas_csv_nomem(&L->csv);
    if (k < 0)
      return FAIL_AT(f->start, "too many distinct %s values (got more than %d, expected fewer)", what,
                     CAS_NAMES_MAX);
  }
  *out = k;
  return CAS_OK;
}

static cas_status parse_row(loader *L, char *s, size_t n) {
  cas_csv_field f[NCOLS + 1];
  cas_status st = cas_csv_split_row(&L->csv, s, n, f, L->ncols);
  if (st) return st;
  int count = L->ncols;
  cas_portfolio *p = L->p;
  size_t i = p->n;
  if (i >= MAX_LOANS_CSV)
    return FAIL_AT(0, "too many loans (got more than %llu, expected fewer)", (unsigned long long)MAX_LOANS_CSV);
  if (i == L->row_cap) {
    size_t cap = 2 * L->row_cap;
    if (portfolio_resize(p, cap)) return cas_csv_nomem(&L->csv);
    L->row_cap = cap;
  }
  const cas_csv_field *id = &f[L->col_of[COL_ID]];
  size_t id_len = strlen(id->text);
  if (strset_reserve(&L->id_set)) return cas_csv_nomem(&L->csv);
  uint32_t id_hash = strset_hash(id->text, id_len);
  strset_prefetch(&L->id_set, id_hash);
  char g[CAS_CSV_QUOTE_SIZE];
  int region = -1, city = CAS_NONE;
  size_t city_start = 0;
  int32_t park = -1;
  for (int k = 0; k < count; k++) {
    int c = L->kind_of[k];
    const char *t = f[k].text;
    double v = 0.0;
    switch (c) {
    case COL_ID:
      if (*t == '\0') return FAIL_AT(f[k].start, "empty id (got '', expected a non-empty loan id)");
      break; /* duplicates: below, once the prefetched slot has arrived */
    case COL_REGION:
      if ((st = class_value(L, &f[k], &p->tax->regions, "region", &region)) != CAS_OK) return st;
      p->region[i] = (uint16_t)region;
      break;
    case COL_SECTOR: {
      int sector;
      if ((st = class_value(L, &f[k], &p->tax->sectors, "sector", &sector)) != CAS_OK) return st;
      p->sector[i] = (uint16_t)sector;
      break;
    }
    case COL_EAD:
    case COL_PD:
    case COL_LGD:
      if (!cas_csv_number(t, &v))
        return FAIL_AT(f[k].start, "%s is not a number (got %s, expected a number)", col_names[c],
                       cas_csv_quote(t, g, sizeof g));
      if (c == COL_EAD) {
        if (!(isfinite(v) && v > 0))
          return FAIL_AT(f[k].start, "ead out of range (got %s, expected a finite amount > 0 [CNY])",
                         cas_csv_quote(t, g, sizeof g));
        p->ead[i] = v;
      } else if (c == COL_PD) {
        if (!(v > 0 && v < 1))
          return FAIL_AT(f[k].start, "pd out of range (got %s, expected a probability in (0, 1))",
                         cas_csv_quote(t, g, sizeof g));
        p->pd[i] = v;
      } else {
        if (!(v >= 0 && v <= 1))
          return FAIL_AT(f[k].start, "lgd out of range (got %s, expected a fraction of EAD in [0, 1])",
                         cas_csv_quote(t, g, sizeof g));
        p->lgd[i] = v;
      }
      break;
    case COL_CITY:
      if (*t) {
        if ((st = class_value(L, &f[k], &p->tax->cities, "city", &city)) != CAS_OK) return st;
        city_start = f[k].start;
      }
      break;
    case COL_PARK:
      if (*t) {
        size_t index, len = strlen(t);
        if (strset_reserve(&L->park_set)) return cas_csv_nomem(&L->csv);
        int r = strset_intern(&L->park_set, &L->parks, t, len, strset_hash(t, len), &index);
        if (r < 0) return cas_csv_nomem(&L->csv);
        if (index >= (size_t)INT32_MAX)
          return FAIL_AT(f[k].start, "too many parks (got more than %d, expected fewer)", INT32_MAX);
        park = (int32_t)index;
      }
      break;
    }
  }
  size_t first;
  int dup = strset_intern(&L->id_set, &L->ids, id->text, id_len, id_hash, &first);
  if (dup < 0) return cas_csv_nomem(&L->csv);
  if (dup > 0)
    return FAIL_AT(id->start, "duplicate id %s (first seen on line %ld)", cas_csv_quote(id->text, g, sizeof g),
                   cas_csv_row_line(&L->csv, first));
  const cas_taxonomy *tax = p->tax;
  if (city != CAS_NONE && tax->city_region[city] >= 0 && tax->city_region[city] != region) {
    char list[512];
    size_t used = 0;
    list[0] = '\0';
    for (int c = 0; c < tax->cities.n && used < sizeof list; c++)
      if (tax->city_region[c] == region) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", tax->cities.name[c]);
        if (w < 0) break;
        used += (size_t)w;
      }
    const char *rn = tax->regions.name[region];
    return FAIL_AT(city_start, "city '%s' is not in region '%s' (expected a city of %s: %s)",
                   tax->cities.name[city], rn, rn, used ? list : "none declared");
  }
  p->city[i] = (uint16_t)city;
  p->park[i] = park;
  p->n = i + 1;
  return CAS_OK;
}

/* Moves the interned park names into one allocation: the pointer array
 * followed by the strings, so that free(park_names) releases all. */
static int finish_parks(loader *L) {
  cas_portfolio *p = L->p;
  p->npark = (int32_t)L->parks.n;
  p->npark_names = (int32_t)L->parks.n;
  if (L->parks.n == 0) return 0;
  size_t head = L->parks.n * sizeof(char *);
  char **names = malloc(head + L->parks.size);
  if (!names) return -1;
  char *text = (char *)names + head;
  memcpy(text, L->parks.buf, L->parks.size);
  for (size_t k = 0; k < L->parks.n; k++) names[k] = text + L->parks.off[k];
  p->park_names = names;
  return 0;
}

static cas_status load(loader *L) {
  cas_status st = cas_csv_header(&L->csv, &columns, L->col_of, L->kind_of, &L->ncols);
  char *s;
  for (long n; !st && (n = cas_csv_next(&L->csv, &s, &st)) >= 0;) st = parse_row(L, s, (size_t)n);
  if (st) return st;
  if (L->p->n == 0)
    return cas_error_at(L->csv.err, CAS_ERR_INPUT, L->csv.path, L->csv.header_line + 1, 0,
                        "no loans (got only a header, expected at least one data row)");
  /* Hand over ids and parks, trim the row arrays. */
  cas_portfolio *p = L->p;
  if (finish_parks(L)) return cas_csv_nomem(&L->csv);
  char *pool = realloc(L->ids.buf, L->ids.size);
  uint64_t *off = realloc(L->ids.off, L->ids.n * sizeof *off);
  if (pool) L->ids.buf = pool;
  if (off) L->ids.off = off;
  p->id_pool = L->ids.buf;
  p->id_offset = L->ids.off;
  p->id_pool_size = L->ids.size;
  memset(&L->ids, 0, sizeof L->ids);
  if (portfolio_resize(p, p->n) == 0) L->row_cap = p->n;
  snprintf(p->source, sizeof p->source, "file:%s", L->csv.path);
  return cas_taxonomy_finish(p->tax, L->csv.err);
}

cas_status cas_portfolio_load_csv(const char *path, cas_portfolio **out, cas_error *err) {
  return cas_portfolio_load_csv_as(path, NULL, out, err);
}

cas_status cas_portfolio_load_csv_as(const char *path, const cas_taxonomy *declared,
                                     cas_portfolio **out, cas_error *err) {
  *out = NULL;
  loader L = {.declared = declared != NULL};
  cas_status st = cas_csv_open(&L.csv, path, "portfolio", err);
  if (st) return st;
  L.row_cap = 1024;
  L.p = portfolio_alloc(L.row_cap);
  if (L.p) L.p->tax = declared ? cas_taxonomy_copy(declared) : cas_taxonomy_create();
  st = L.p && L.p->tax ? load(&L) : cas_csv_nomem(&L.csv);
  cas_csv_close(&L.csv);
  strpool_free(&L.ids);
  strpool_free(&L.parks);
  free(L.id_set.slot);
  free(L.park_set.slot);
  if (st) {
    cas_portfolio_destroy(L.p);
    return st;
  }
  *out = L.p;
  return CAS_OK;
}

/* ======================================================================
 * Built-in generator
 * ====================================================================== */

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
  cas_portfolio *p = portfolio_alloc(loans);
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
    cas_rng_init(&rng, seed, CAS_RNG_PORTFOLIO, (uint64_t)b);
    size_t first = (size_t)b * CAS_PORTFOLIO_BLOCK;
    size_t last = first + CAS_PORTFOLIO_BLOCK < loans ? first + CAS_PORTFOLIO_BLOCK : loans;
    generate_block(&T, p, &rng, first, last);
  }
  snprintf(p->source, sizeof p->source, "builtin:yrd loans=%zu seed=%llu", loans, (unsigned long long)seed);
  *out = p;
  return CAS_OK;
}

/* ======================================================================
 * CSV export
 * ====================================================================== */

/* Writes text as a CSV field, quoted when the loader would otherwise
 * change it (commas, quotes, surrounding spaces, empty). */
static void put_field(FILE *f, const char *t) {
  size_t n = strlen(t);
  int quote = n == 0 || strpbrk(t, ",\"\r\n") || t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' ||
              t[n - 1] == '\t';
  if (!quote) {
    fputs(t, f);
    return;
  }
  fputc('"', f);
  for (; *t; t++) {
    if (*t == '"') fputc('"', f);
    fputc(*t, f);
  }
  fputc('"', f);
}

cas_status cas_portfolio_export_csv(const cas_portfolio *p, const char *path, cas_error *err) {
  cas_csv_writer w;
  cas_status st = cas_csv_create(&w, path, err);
  if (st != CAS_OK) return st;
  FILE *f = w.f;
  fputs("id,region,sector,ead,pd,lgd,city,park\n", f);
  char idbuf[32], parkbuf[32];
  for (size_t i = 0; i < p->n && !ferror(f); i++) {
    put_field(f, cas_portfolio_id(p, i, idbuf, sizeof idbuf));
    fprintf(f, ",%s,%s,%.17g,%.17g,%.17g,", p->tax->regions.name[p->region[i]],
            p->tax->sectors.name[p->sector[i]], p->ead[i], p->pd[i], p->lgd[i]);
    if (p->city[i] != CAS_NONE) fputs(p->tax->cities.name[p->city[i]], f);
    fputc(',', f);
    if (p->park[i] >= 0) put_field(f, cas_portfolio_park_name(p, p->park[i], parkbuf, sizeof parkbuf));
    fputc('\n', f);
  }
  return cas_csv_commit(&w, err);
}
