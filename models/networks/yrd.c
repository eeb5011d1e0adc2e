/*
 * yrd.c: the built-in network of the Yangtze River Delta book, model "yrd"
 * of the networks registry (networks.h); its generator is
 * cas_network_generate (network.h). docs/NETWORK.md is the user's
 * description.
 *
 * Built-in network (cas_network_generate)
 *   Four mechanisms, every number in the table `net_params` below, each
 *   cited to a seed document (NNN_*, see docs/CALIBRATION.md) or a
 *   published study ([TAG], see docs/NETWORK.md) or marked ASSUMPTION:
 *   (a) supply chains ("1+N", 003_*): an industrial park of s loans has
 *       ceil(s / (chain_firms_max + 1)) chain masters (at most its loans
 *       of the master sectors), its largest loans of those sectors by EAD
 *       (ties: lowest index); its other firms, shuffled, are dealt to the
 *       masters in turn. A master links to every firm of its chain and
 *       each of them back to it (weaker); it also has suppliers and buyers
 *       outside the park, a share of them in other provinces, drawn
 *       without repetition among the partner sectors, linked both ways.
 *       So a master's degree is bounded, whatever the size of the book;
 *   (b) the G60 corridor (002_*): each tech start-up in a G60 city links to
 *       a few tech start-ups in other G60 cities, some pairs both ways;
 *   (c) mutual-guarantee circles: a share of the small borrowers of each
 *       city is cut into circles of heavy-tailed size; in a circle each
 *       borrower is guaranteed by 1 to 3 others, larger firms being chosen
 *       more often (Zipf), so guarantor degrees are heavy-tailed too;
 *   (d) trade links: each firm of the trade sectors outside the parks has
 *       a Poisson number of partners among those firms, mostly in its
 *       city or province, of sectors drawn from its sector's row of a
 *       table; partner -> firm (the partner's default hits the firm).
 *       Most links are of this kind, spread over many ordinary firms.
 *   Reproducibility: every random number comes from a stream
 *   cas_rng_init_book(seed, CAS_RNG_NETWORK, phase << 48 | task) where task is a
 *   park's first loan (a), a block of LOAN_BLOCK loans (b, circle
 *   membership, d) or a city (c); each task writes into its own slice of
 *   one link array, sized before the parallel loop, so the network depends
 *   on (portfolio, seed) only, for any number of threads. The phases and
 *   the order of draws are part of the reproducibility contract. A link
 *   drawn twice (same from, to, type) is kept once, where it was first
 *   generated; trade partners are drawn without repetition.
 */
#include "network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network_build.h"
#include "networks/networks.h"
#include "rng.h"

/* ======================================================================
 * Parameters of the built-in network (docs/NETWORK.md explains each)
 * ====================================================================== */

#define SECTOR_BIT(s) (1u << (s))

typedef struct network_params {
  /* (a) supply chains around the chain masters of each industrial park */
  unsigned master_sectors;        /* sectors a chain master is chosen from (bit mask) */
  int chain_firms_max;            /* park firms per chain master, at most (a park has one master per started chain) */
  double park_weight;             /* master -> each firm of its chain [SD] */
  double park_reverse_weight;     /* chain firm -> its master [SD] */
  unsigned partner_sectors;       /* sectors of the master's partners outside the park */
  double outside_per_park_firm;   /* outside partners per firm of the master's chain */
  double outside_cross_province;  /* share of the outside partners in other provinces */
  double outside_weight;          /* master -> outside partner [SD] */
  double outside_reverse_weight;  /* outside partner -> master [SD] */
  /* (b) G60 science-and-technology corridor */
  int g60_links_min, g60_links_max; /* partners drawn per tech start-up (uniform) */
  double g60_reciprocal;            /* probability that a drawn pair also links back */
  double g60_weight;                /* [SD], both directions */
  /* (c) mutual-guarantee circles */
  double circle_share[CAS_YRD_NSECTORS]; /* share of a sector's loans in circles */
  double circle_exponent;            /* P(size = s) proportional to s^-exponent */
  int circle_min, circle_max;        /* circle sizes [firms] */
  double guarantors_p[3];            /* P(1, 2, 3 guarantors per borrower), at most size - 1 */
  double guarantor_zipf;             /* the k-th largest member guarantees with weight k^-zipf */
  double amount_min, amount_max;     /* cover of a loan by all its guarantors [fraction of EAD], uniform */
  double guarantee_weight;           /* [SD] */
  /* (d) trade links outside the parks. Row s: the sectors of the partners
   *   of a firm of sector s (shares, summing to 1; a zero row: sector s has
   *   no trade links). The trade sectors are the rows that are not zero;
   *   partners come from the same sectors. */
  double trade_partner_share[CAS_YRD_NSECTORS][CAS_YRD_NSECTORS];
  double trade_partners_mean;        /* partners per trade firm, Poisson mean */
  double trade_same_city;            /* share of the partners drawn in the firm's city */
  double trade_cross_province;       /* share drawn in the other provinces (the rest: own province) */
  double trade_weight;               /* partner -> firm [SD] */
} network_params;

/* Indices into trade_partner_share, for readability of the table. */
#define MF CAS_SECTOR_MANUFACTURING
#define WR CAS_SECTOR_WHOLESALE_RETAIL
#define IM CAS_SECTOR_INCLUSIVE_MICRO
#define CO CAS_SECTOR_CONSTRUCTION
#define RE CAS_SECTOR_REAL_ESTATE

/* Weights [SD]: what one defaulted neighbour does to a firm's latent
 * variable. They come from what studies of firm networks measure, not from
 * any output of the simulator (docs/NETWORK.md, "Weights", gives the
 * sources and the arithmetic). One rule sets them:
 * - a firm that loses half of its customers has its bankruptcy probability
 *   doubled to tripled (Arata 2019, about a million Japanese firms [ARATA]):
 *   for a PD of 1-2% that is a shift of 0.27-0.50 SD, taken as 0.4 SD;
 * - distress travels up the chain, to suppliers, and hardly down it, to
 *   customers [VERT]: losing half of one's suppliers is taken as 0.1 SD
 *   (ASSUMPTION), so half of one's partners of both kinds is 0.25 SD;
 * - chains of bankruptcy run from large firms to small partners, rarely
 *   the other way [GOTO]: a partner's weight is its part of the firm's
 *   business, so a hub with many partners barely feels one of them.
 * A link's weight is that shift times the part of the firm's business the
 * partner stands for, divided by one half. Phi(Phi^-1(0.02) + w) for a
 * firm of 2% PD: 2.02% (0.004), 2.5% (0.1), 2.7% (0.12), 3.2% (0.2), 4.0%
 * (0.3), 4.9% (0.4). */
static const network_params net_params = {
  /* (a) 003_*: parks gather "chain master" firms (链主) with their
   *   upstream and downstream firms; supply-chain finance extends the core
   *   firm's credit to the "N" firms of its chain ("1+N"). Masters come
   *   from the sectors that make things: manufacturing, tech start-ups and
   *   green projects (ASSUMPTION: the other park sectors - inclusive
   *   micro-loans - are the N, not the 1). */
  .master_sectors = SECTOR_BIT(CAS_SECTOR_MANUFACTURING) | SECTOR_BIT(CAS_SECTOR_TECH_STARTUP) |
                    SECTOR_BIT(CAS_SECTOR_GREEN),
  /* 003_*: "随着产业园区汇聚众多的「链主」企业和产业链上下游企业" (parks
   *   gather many chain-master firms and their upstream and downstream
   *   firms): a large park holds several chains. ASSUMPTION: a chain holds
   *   at most 60 park firms besides its master, so a park of s loans has
   *   ceil(s / 61) masters (fewer if it has fewer loans of the master
   *   sectors), its largest loans of those sectors. */
  .chain_firms_max = 60,
  /* A chain firm's master is its core buyer or supplier: ASSUMPTION half
   *   of its business, so its default is "half of the customers" [ARATA]:
   *   0.4 SD (2% PD to 4.9%). The master, a large firm, has up to 60
   *   chain firms and 120 outside partners, customers and suppliers alike:
   *   losing half of them all is 0.25 SD (rule above). ASSUMPTION: a chain
   *   firm weighs twice an outside partner in the master's business, so
   *   0.004 SD per chain firm and 0.002 per outside partner (losing the
   *   whole chain: 0.24 SD; losing everyone: 0.48 SD) [GOTO]. */
  .park_weight = 0.4,
  .park_reverse_weight = 0.004,
  /* 003_*: "「链主」这类核心企业的上下游仍以中小企业为主" (the upstream and
   *   downstream of chain masters are still mainly small and medium firms):
   *   outside partners are manufacturers, traders and inclusive small firms. */
  .partner_sectors = SECTOR_BIT(CAS_SECTOR_MANUFACTURING) | SECTOR_BIT(CAS_SECTOR_WHOLESALE_RETAIL) |
                     SECTOR_BIT(CAS_SECTOR_INCLUSIVE_MICRO),
  /* ASSUMPTION: a park holds only part of a chain; the master has twice
   *   as many suppliers and buyers outside the park as in its chain there
   *   (so a master of 60 park firms has 180 partners: a hub, not a star
   *   over thousands of firms). */
  .outside_per_park_firm = 2.0,
  /* ASSUMPTION 30%: 003_* describes chains that cross regions (R&D in one
   *   place, production in another: "园区跨区域协同", "飞地经济"), and the
   *   domain brief asks for chains across provinces; the seeds give no share. */
  .outside_cross_province = 0.30,
  /* ASSUMPTION: for an outside partner the master is a quarter of its
   *   business (one of its few main counterparties, as a trade firm has
   *   about four): half the shift of a chain firm, 0.2 SD (2% to 3.2%).
   *   Back to the master: 0.002 SD (above). */
  .outside_weight = 0.2,
  .outside_reverse_weight = 0.002,
  /* (b) 002_*: "发展 G60 走廊科创金融特色带" (develop the G60 corridor's
   *   sci-tech finance belt) ties technology firms across the corridor's
   *   cities and provinces. ASSUMPTION: 1 to 5 partners each (mean 3), half
   *   of the pairs linked both ways, so about 4.5 corridor partners per
   *   start-up, customers and suppliers alike: losing half of them is
   *   0.25 SD (rule above), 0.25 / 2.25 = 0.11 per partner, taken as 0.1
   *   (2% to 2.5%). */
  .g60_links_min = 1,
  .g60_links_max = 5,
  .g60_reciprocal = 0.5,
  .g60_weight = 0.1,
  /* (c) Who guarantees whom. 004_*: only 11.35% of small-firm loans and
   *   16.41% of farm-household loans in the delta are credit (unsecured)
   *   loans; the rest need collateral or a guarantor, and small firms
   *   without collateral guarantee each other (mutual and joint guarantee,
   *   互保/联保); in Zhejiang's guarantee-chain crises (Shaoxing 2008, then
   *   Wenzhou, Jiaxing, Huzhou, Jinhua, Hangzhou) local firms said that
   *   more than 90% of firms in Xiaoshan were in a guarantee chain
   *   [ZJ-CHAIN]. ASSUMPTION for the shares: 80% of inclusive micro-loans
   *   (which also hold the operating loans of sole proprietors and
   *   small-firm owners), 60% of wholesale and retail loans (small
   *   traders). Households: only farm-household production loans use
   *   joint-guarantee groups, 3.78% of all loans in the delta (004_*)
   *   against the household sector's 29% of the book (docs/CALIBRATION.md):
   *   13%; mortgages and consumer loans do not. No other sector: large
   *   firms borrow on collateral. */
  .circle_share = {
    [CAS_SECTOR_INCLUSIVE_MICRO] = 0.80,
    [CAS_SECTOR_WHOLESALE_RETAIL] = 0.60,
    [CAS_SECTOR_HOUSEHOLD] = 0.13,
  },
  /* ASSUMPTION: circle sizes follow a discrete power law with exponent 2.5
   *   on 2..60 firms (most circles are pairs and triples, a few span dozens
   *   of firms). Studies of Chinese guarantee networks find scale-free,
   *   heavy-tailed degrees ([GUAR-ZJ] on Zhejiang field data, [GUAR-CN] on
   *   a national loan data set); the exponent itself is not from them. */
  .circle_exponent = 2.5,
  .circle_min = 2,
  .circle_max = 60,
  /* ASSUMPTION: 1, 2 or 3 guarantors per loan (mean 1.85 before the cap at
   *   size - 1), larger members more often chosen: the k-th largest firm of
   *   a circle with weight 1/k, which gives a few hub guarantors, as in the
   *   scale-free guarantee networks of [GUAR-ZJ] [GUAR-CN]. */
  .guarantors_p = {0.40, 0.35, 0.25},
  .guarantor_zipf = 1.0,
  /* ASSUMPTION: the guarantors of a loan together cover 50% to 100% of
   *   it, in equal parts (so the guarantors together never owe more than
   *   the loan). Calling a guarantee shifts the guarantor by 0.3 SD (2% to
   *   4.0%, a doubling) on top of the amount it owes: ASSUMPTION at the low
   *   end of the 0.27-0.50 SD that losing half of one's customers costs
   *   [ARATA], because paying a peer's loan is a one-off loss rather than
   *   lost sales, and because banks cutting credit to the rest of the
   *   circle is what spreads guarantee crises [GUAR-ZJ]. */
  .amount_min = 0.5,
  .amount_max = 1.0,
  .guarantee_weight = 0.3,
  /* (d) Ordinary trade credit between firms outside the parks: a buyer
   *   that defaults leaves its supplier's receivables unpaid, a supplier
   *   that defaults stops its buyer's production. 004_*: receivables
   *   financing is a main channel of small-firm credit in the delta
   *   (Anhui: 14,000 loans, 80.8 billion CNY; Shanghai: more than nine in
   *   ten financings on its receivables platform go to small firms);
   *   001_*: "产业链上下游企业 ... 供应链融资、应收账款融资" (firms up and
   *   down the chain: supply-chain and receivables financing). Sectors
   *   (ASSUMPTION): the firms that buy and sell goods on credit -
   *   manufacturing, wholesale and retail, inclusive micro-firms (mostly
   *   small makers and traders) - and construction with real estate
   *   (developers pay contractors late; contractors buy materials from
   *   manufacturers). Not households, infrastructure (public owners),
   *   tech start-ups (G60 links) or green projects (project finance).
   *   Shares by row (firm hit) and column (partner) are ASSUMPTIONS:
   *   makers deal with makers and traders, traders with makers, small
   *   firms mostly with small firms, contractors with developers and
   *   material makers, developers with their contractors. */
  .trade_partner_share = {
    [MF] = {[MF] = 0.50, [WR] = 0.30, [IM] = 0.20},
    [WR] = {[MF] = 0.40, [WR] = 0.30, [IM] = 0.30},
    [IM] = {[MF] = 0.20, [WR] = 0.30, [IM] = 0.50},
    [CO] = {[RE] = 0.50, [MF] = 0.30, [CO] = 0.20},
    [RE] = {[CO] = 0.80, [RE] = 0.20},
  },
  /* ASSUMPTION: "a few" partners among the bank's borrowers, Poisson
   *   with mean 4.3 (truncated at TRADE_MAX); the seeds give no number. */
  .trade_partners_mean = 4.3,
  /* ASSUMPTION: trade is mostly local: half of the partners in the firm's
   *   city, 30% anywhere in its province, 20% in the other provinces of
   *   the delta (regional integration, DOMAIN.md; the seeds give no share). */
  .trade_same_city = 0.50,
  .trade_cross_province = 0.20,
  /* A trade partner is a customer or a supplier (ASSUMPTION: half each)
   *   among the firm's 4.3: losing half of them is 0.25 SD (rule above),
   *   0.25 / 2.15 = 0.116 per partner, taken as 0.12 (2% PD to 2.7%). */
  .trade_weight = 0.12,
};

#undef MF
#undef WR
#undef IM
#undef CO
#undef RE

/* Stream phases (cas_rng_init index = phase << 48 | task). Never renumber;
 * new phases go at the end. */
enum {
  PHASE_PARK = 1,        /* per park: outside partners of its masters */
  PHASE_G60 = 2,         /* per block: G60 partners */
  PHASE_MEMBER = 3,      /* per block: circle membership */
  PHASE_CIRCLE = 4,      /* per city: circles and guarantors */
  PHASE_CHAIN = 5,       /* per park: which master each park firm serves */
  PHASE_TRADE_COUNT = 6, /* per block: number of trade partners of each firm */
  PHASE_TRADE = 7        /* per block: the trade partners */
};

enum {
  LOAN_BLOCK = 4096,   /* loans per random stream (G60 links, circle membership, trade) */
  CIRCLE_CAP = 64,     /* >= circle_max: circles fit in 64-bit masks */
  TRADE_MAX = 40       /* trade partners per firm, at most (Poisson tail beyond: < 1e-15) */
};

static uint64_t stream_index(uint64_t phase, uint64_t task) { return phase << 48 | task; }

/* ======================================================================
 * Built-in generator
 * ====================================================================== */

/* Everything the generator derives from the portfolio before the parallel
 * loops (read only inside them), and the slices of the link array. */
typedef struct generator {
  const cas_portfolio *pf;
  const network_params *P;
  uint64_t seed;
  size_t n;
  /* parks: members in loan order; the chains of park k are
   * chain_off[k] .. chain_off[k + 1] - 1, masters by decreasing EAD */
  int32_t npark;
  int32_t *park_order;  /* [npark] parks by their first loan (empty parks last) */
  uint64_t *park_off;   /* [npark + 1] */
  uint32_t *park_members;
  uint64_t *chain_off;  /* [npark + 1] */
  uint32_t *chain_master;           /* [nchains] */
  uint64_t *chain_same, *chain_cross; /* [nchains] outside partners to draw */
  uint8_t *is_master;   /* [n] */
  uint64_t largest_park;
  /* partner pool: loans of the partner sectors, by region, loan order */
  uint64_t pool_off[CAS_YRD_NREGIONS + 1];
  uint32_t *pool;
  /* G60: tech start-ups of G60 cities, by city */
  uint64_t *g60_off;    /* [ncities + 1] */
  uint32_t *g60;
  /* circles: groups are the cities, then one per region for loans without a city */
  int ngroups;
  int16_t *group_of;    /* [n] while sorting members: group of a member, -1 otherwise */
  uint64_t *group_off;  /* [ngroups + 1] */
  uint32_t *group_members;
  double size_cum[CIRCLE_CAP + 1]; /* P(size <= s) */
  double attract[CIRCLE_CAP];      /* weight of the k-th largest member as guarantor */
  /* trade: firms of the trade sectors outside the parks, by (sector, city)
   * and by (sector, region), loan order; partners drawn per firm */
  unsigned trade_sectors;                       /* bit mask */
  double trade_cum[CAS_YRD_NSECTORS][CAS_YRD_NSECTORS]; /* cumulative partner-sector shares by row */
  uint64_t *tcity_off;  /* [NSECTORS * ncities + 1] */
  uint32_t *tcity;
  uint64_t *treg_off;   /* [NSECTORS * NREGIONS + 1] */
  uint32_t *treg;
  uint8_t *trade_k;     /* [n] partners to draw (0: none or not a trade firm) */
  /* tasks: parks, then G60 blocks, then groups, then trade blocks; slice t
   * of links is [task_off[t], task_off[t + 1]), of which task_used[t] filled */
  size_t nblocks, ntasks;
  uint64_t *task_off, *task_used;
  cas_linklist links;
  /* per-thread scratch: the partners a master has drawn (a hash set), and
   * the firms of a park being dealt to its masters */
  uint32_t *seen;
  size_t seen_cap;
  uint32_t *deal;
} generator;

static void generator_free(generator *G) {
  free(G->park_order);
  free(G->park_off);
  free(G->park_members);
  free(G->chain_off);
  free(G->chain_master);
  free(G->chain_same);
  free(G->chain_cross);
  free(G->is_master);
  free(G->pool);
  free(G->g60_off);
  free(G->g60);
  free(G->group_of);
  free(G->group_off);
  free(G->group_members);
  free(G->tcity_off);
  free(G->tcity);
  free(G->treg_off);
  free(G->treg);
  free(G->trade_k);
  free(G->task_off);
  free(G->task_used);
  free(G->seen);
  free(G->deal);
  cas_linklist_free(&G->links);
}

static int in_mask(unsigned mask, int sector) { return (mask >> sector) & 1u; }

/* Loans sorted by key (0..nkeys-1, or skipped when key < 0), loan order
 * within a key: *off [nkeys + 1], *items. */
static int bucket(size_t n, int nkeys, int (*key)(const generator *, size_t), const generator *G, uint64_t **off,
                  uint32_t **items) {
  *off = calloc((size_t)nkeys + 1, sizeof **off);
  if (!*off) return -1;
  for (size_t i = 0; i < n; i++) {
    int k = key(G, i);
    if (k >= 0) (*off)[k + 1]++;
  }
  for (int k = 0; k < nkeys; k++) (*off)[k + 1] += (*off)[k];
  *items = malloc((size_t)((*off)[nkeys] ? (*off)[nkeys] : 1) * sizeof **items);
  uint64_t *fill = malloc((size_t)(nkeys + 1) * sizeof *fill);
  if (!*items || !fill) {
    free(fill);
    return -1;
  }
  memcpy(fill, *off, (size_t)(nkeys + 1) * sizeof *fill);
  for (size_t i = 0; i < n; i++) {
    int k = key(G, i);
    if (k >= 0) (*items)[fill[k]++] = (uint32_t)i;
  }
  free(fill);
  return 0;
}

static int key_park(const generator *G, size_t i) { return G->pf->park[i]; }

static int key_pool(const generator *G, size_t i) {
  return in_mask(G->P->partner_sectors, G->pf->sector[i]) ? G->pf->region[i] : -1;
}

static int key_g60(const generator *G, size_t i) {
  uint16_t c = G->pf->city[i];
  return G->pf->sector[i] == CAS_SECTOR_TECH_STARTUP && c != CAS_NONE && cas_yrd_cities[c].g60 ? c : -1;
}

static int is_trade_firm(const generator *G, size_t i) {
  return in_mask(G->trade_sectors, G->pf->sector[i]) && G->pf->park[i] < 0;
}

static int key_trade_city(const generator *G, size_t i) {
  uint16_t c = G->pf->city[i];
  return is_trade_firm(G, i) && c != CAS_NONE ? G->pf->sector[i] * cas_yrd_ncities + c : -1;
}

static int key_trade_region(const generator *G, size_t i) {
  return is_trade_firm(G, i) ? G->pf->sector[i] * CAS_YRD_NREGIONS + G->pf->region[i] : -1;
}

static size_t block_end(const generator *G, size_t b) {
  size_t e = (b + 1) * LOAN_BLOCK;
  return e < G->n ? e : G->n;
}

/* ---- (a) parks ---- */

/* Task t: the park t-th by first loan, streams indexed by that loan, so
 * that renumbering the parks (a CSV portfolio numbers them by first
 * appearance) changes nothing. The park's other firms, shuffled, are
 * dealt to its masters in turn (chain sizes differ by at most one); then,
 * chain by chain: master -> its firms, master -> outside partners, and the
 * links back. */
static void park_task(generator *G, size_t t, uint32_t *seen, size_t seen_cap, uint32_t *deal) {
  const cas_portfolio *pf = G->pf;
  const network_params *P = G->P;
  cas_linklist *L = &G->links;
  int32_t k = G->park_order[t];
  uint64_t w = G->task_off[t];
  uint64_t c0 = G->chain_off[k], m = G->chain_off[k + 1] - c0;
  if (m == 0) return;
  const uint32_t *mem = G->park_members + G->park_off[k];
  uint64_t size = G->park_off[k + 1] - G->park_off[k], f = 0;
  for (uint64_t j = 0; j < size; j++)
    if (!G->is_master[mem[j]]) deal[f++] = mem[j];
  cas_rng rng;
  cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_CHAIN, mem[0]));
  for (uint64_t j = f; j > 1; j--) { /* Fisher-Yates */
    uint64_t q = cas_rng_below(&rng, j);
    uint32_t x = deal[j - 1];
    deal[j - 1] = deal[q];
    deal[q] = x;
  }
  cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_PARK, mem[0]));
  for (uint64_t ch = 0; ch < m; ch++) {
    uint32_t mst = G->chain_master[c0 + ch];
    uint64_t first_park = w;
    for (uint64_t q = ch; q < f; q += m) cas_linklist_put(L, w++, mst, deal[q], CAS_LINK_SUPPLY_CHAIN, P->park_weight, 0.0);
    uint64_t last_park = w;
    /* Outside partners, without repetition: rejection against a small hash
     * set (the counts are capped at half of what is available, so a draw
     * succeeds with probability >= 1/2 on average). */
    uint64_t need = G->chain_same[c0 + ch] + G->chain_cross[c0 + ch];
    if (need) {
      size_t cap = 16;
      while (cap < 2 * need) cap *= 2;
      if (cap > seen_cap) cap = seen_cap; /* cannot happen: seen_cap covers the largest chain */
      memset(seen, 0, cap * sizeof *seen);
      unsigned shift = 64;
      for (size_t c = cap; c > 1; c >>= 1) shift--;
      int r = pf->region[mst];
      uint64_t lo = G->pool_off[r], cnt = G->pool_off[r + 1] - lo, total = G->pool_off[CAS_YRD_NREGIONS];
      for (int side = 0; side < 2; side++) {
        uint64_t want = side == 0 ? G->chain_same[c0 + ch] : G->chain_cross[c0 + ch];
        for (uint64_t got_n = 0; got_n < want;) {
          uint64_t j;
          if (side == 0) {
            j = lo + cas_rng_below(&rng, cnt);
          } else {
            j = cas_rng_below(&rng, total - cnt);
            if (j >= lo) j += cnt;
          }
          uint32_t c = G->pool[j];
          if (pf->park[c] == k) continue;
          size_t h = (size_t)(((uint64_t)c * 0x9E3779B97F4A7C15ULL) >> shift);
          while (seen[h] && seen[h] != c + 1) h = (h + 1) & (cap - 1);
          if (seen[h]) continue;
          seen[h] = c + 1;
          cas_linklist_put(L, w++, mst, c, CAS_LINK_SUPPLY_CHAIN, P->outside_weight, 0.0);
          got_n++;
        }
      }
    }
    uint64_t last = w;
    for (uint64_t p = first_park; p < last_park; p++)
      cas_linklist_put(L, w++, L->to[p], mst, CAS_LINK_SUPPLY_CHAIN, P->park_reverse_weight, 0.0);
    for (uint64_t p = last_park; p < last; p++)
      cas_linklist_put(L, w++, L->to[p], mst, CAS_LINK_SUPPLY_CHAIN, P->outside_reverse_weight, 0.0);
  }
  G->task_used[t] = w - G->task_off[t];
}

/* ---- (b) G60 corridor ---- */

static void g60_task(generator *G, size_t b) {
  const network_params *P = G->P;
  cas_linklist *L = &G->links;
  size_t t = (size_t)G->npark + b;
  uint64_t w = G->task_off[t];
  uint64_t total = G->g60_off[cas_yrd_ncities];
  cas_rng rng;
  cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_G60, b));
  int span = P->g60_links_max - P->g60_links_min + 1;
  for (size_t i = b * LOAN_BLOCK; i < block_end(G, b); i++) {
    int c = key_g60(G, i);
    if (c < 0) continue;
    uint64_t lo = G->g60_off[c], cnt = G->g60_off[c + 1] - lo;
    if (total == cnt) continue; /* no tech start-up in another G60 city */
    int k = P->g60_links_min + (int)cas_rng_below(&rng, (uint64_t)span);
    for (int e = 0; e < k; e++) {
      uint64_t j = cas_rng_below(&rng, total - cnt);
      if (j >= lo) j += cnt;
      uint32_t p = G->g60[j];
      cas_linklist_put(L, w++, (uint32_t)i, p, CAS_LINK_SUPPLY_CHAIN, P->g60_weight, 0.0);
      if (cas_rng_uniform(&rng) < P->g60_reciprocal)
        cas_linklist_put(L, w++, p, (uint32_t)i, CAS_LINK_SUPPLY_CHAIN, P->g60_weight, 0.0);
    }
  }
  G->task_used[t] = w - G->task_off[t];
}

/* ---- (c) mutual-guarantee circles ---- */

static int draw_circle_size(const generator *G, cas_rng *rng) {
  double u = cas_rng_uniform(rng);
  int s = G->P->circle_min;
  while (s < G->P->circle_max && u >= G->size_cum[s]) s++;
  return s;
}

/* One circle: members c[0..s); guarantees of each member in turn. */
static uint64_t circle_links(generator *G, const uint32_t *c, int s, cas_rng *rng, uint64_t w) {
  const cas_portfolio *pf = G->pf;
  const network_params *P = G->P;
  cas_linklist *L = &G->links;
  /* Rank the members by EAD, largest first (ties: lower loan index). */
  int ord[CIRCLE_CAP], rank[CIRCLE_CAP];
  for (int j = 0; j < s; j++) {
    int v = j, q = j;
    while (q > 0) {
      uint32_t a = c[ord[q - 1]], x = c[v];
      if (pf->ead[a] > pf->ead[x] || (pf->ead[a] == pf->ead[x] && a < x)) break;
      ord[q] = ord[q - 1];
      q--;
    }
    ord[q] = v;
  }
  double all = 0.0;
  for (int r = 0; r < s; r++) {
    rank[ord[r]] = r;
    all += G->attract[r];
  }
  for (int j = 0; j < s; j++) {
    double u = cas_rng_uniform(rng);
    int g = u < P->guarantors_p[0] ? 1 : u < P->guarantors_p[0] + P->guarantors_p[1] ? 2 : 3;
    if (g > s - 1) g = s - 1;
    uint64_t taken = (uint64_t)1 << rank[j];
    double left = all - G->attract[rank[j]];
    double share = P->amount_min + (P->amount_max - P->amount_min) * cas_rng_uniform(rng);
    double amount = pf->ead[c[j]] * share / g; /* the guarantors share the cover */
    for (int e = 0; e < g; e++) {
      double x = cas_rng_uniform(rng) * left;
      int pick = -1;
      for (int r = 0; r < s; r++) {
        if (taken >> r & 1u) continue;
        pick = r;
        x -= G->attract[r];
        if (x < 0.0) break;
      }
      taken |= (uint64_t)1 << pick;
      left -= G->attract[pick];
      cas_linklist_put(L, w++, c[j], c[ord[pick]], CAS_LINK_GUARANTEE, P->guarantee_weight, amount);
    }
  }
  return w;
}

static void circle_task(generator *G, int grp) {
  size_t t = (size_t)G->npark + G->nblocks + (size_t)grp;
  uint64_t w = G->task_off[t];
  uint32_t *m = G->group_members + G->group_off[grp];
  uint64_t cnt = G->group_off[grp + 1] - G->group_off[grp];
  if (cnt >= 2) {
    cas_rng rng;
    cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_CIRCLE, (uint64_t)grp));
    for (uint64_t j = cnt - 1; j > 0; j--) { /* Fisher-Yates */
      uint64_t q = cas_rng_below(&rng, j + 1);
      uint32_t x = m[j];
      m[j] = m[q];
      m[q] = x;
    }
    uint64_t pos = 0;
    while (cnt - pos >= 2) {
      uint64_t s = (uint64_t)draw_circle_size(G, &rng);
      if (s > cnt - pos) s = cnt - pos;
      w = circle_links(G, m + pos, (int)s, &rng, w);
      pos += s;
    }
    /* A single firm left over stays outside the circles. */
  }
  G->task_used[t] = w - G->task_off[t];
}

/* ---- (d) trade links ---- */

enum { TRADE_CITY, TRADE_PROVINCE, TRADE_OTHER };

/* Poisson(mean) by inversion of one uniform, at most max. */
static int draw_poisson(cas_rng *rng, double mean, int max) {
  double u = cas_rng_uniform(rng), p = exp(-mean), cum = p;
  int k = 0;
  while (u >= cum && k < max) {
    k++;
    p *= mean / k;
    cum += p;
  }
  return k;
}

/* A trade firm of sector ps for firm i, drawn uniformly at the level lev
 * (its city, its province, the other provinces), or at the next wider
 * level when that one holds no firm but i: city, then province, then the
 * other provinces; other provinces, then province. -1 if none has one;
 * may return i itself (the caller draws again). */
static int64_t trade_draw(const generator *G, cas_rng *rng, size_t i, int ps, int lev) {
  static const int order[3][3] = {
    {TRADE_CITY, TRADE_PROVINCE, TRADE_OTHER}, {TRADE_PROVINCE, TRADE_OTHER, -1}, {TRADE_OTHER, TRADE_PROVINCE, -1}};
  const cas_portfolio *pf = G->pf;
  int r = pf->region[i];
  uint16_t c = pf->city[i];
  uint64_t self = ps == pf->sector[i]; /* i is in its own city and province pools */
  for (int a = 0; a < 3 && order[lev][a] >= 0; a++) {
    uint64_t lo, cnt;
    switch (order[lev][a]) {
    case TRADE_CITY:
      if (c == CAS_NONE) break;
      lo = G->tcity_off[(size_t)ps * (size_t)cas_yrd_ncities + c];
      cnt = G->tcity_off[(size_t)ps * (size_t)cas_yrd_ncities + c + 1] - lo;
      if (cnt > self) return G->tcity[lo + cas_rng_below(rng, cnt)];
      break;
    case TRADE_PROVINCE:
      lo = G->treg_off[ps * CAS_YRD_NREGIONS + r];
      cnt = G->treg_off[ps * CAS_YRD_NREGIONS + r + 1] - lo;
      if (cnt > self) return G->treg[lo + cas_rng_below(rng, cnt)];
      break;
    default: {
      uint64_t base = G->treg_off[ps * CAS_YRD_NREGIONS], all = G->treg_off[(ps + 1) * CAS_YRD_NREGIONS] - base;
      lo = G->treg_off[ps * CAS_YRD_NREGIONS + r];
      cnt = G->treg_off[ps * CAS_YRD_NREGIONS + r + 1] - lo;
      if (all == cnt) break;
      uint64_t j = base + cas_rng_below(rng, all - cnt);
      if (j >= lo) j += cnt;
      return G->treg[j];
    }
    }
  }
  return -1;
}

/* Block b: each trade firm's partners (trade_k[i] of them, distinct, not
 * itself; draws that fail are repeated, at most 4 k + 16 draws in all),
 * linked partner -> firm. */
static void trade_task(generator *G, size_t b) {
  const cas_portfolio *pf = G->pf;
  const network_params *P = G->P;
  cas_linklist *L = &G->links;
  size_t t = (size_t)G->npark + G->nblocks + (size_t)G->ngroups + b;
  uint64_t w = G->task_off[t];
  cas_rng rng;
  cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_TRADE, b));
  double city_or_cross = P->trade_cross_province + P->trade_same_city;
  for (size_t i = b * LOAN_BLOCK; i < block_end(G, b); i++) {
    int k = G->trade_k[i];
    if (!k) continue;
    const double *cum = G->trade_cum[pf->sector[i]];
    uint64_t first = w;
    for (int got = 0, tries = 0; got < k && tries < 4 * k + 16; tries++) {
      double u = cas_rng_uniform(&rng);
      int lev = u < P->trade_cross_province ? TRADE_OTHER : u < city_or_cross ? TRADE_CITY : TRADE_PROVINCE;
      double v = cas_rng_uniform(&rng);
      int ps = 0;
      while (ps < CAS_YRD_NSECTORS - 1 && !(v < cum[ps])) ps++;
      int64_t p = trade_draw(G, &rng, i, ps, lev);
      if (p < 0 || (size_t)p == i) continue;
      uint64_t q = first;
      while (q < w && L->from[q] != (uint32_t)p) q++;
      if (q < w) continue;
      cas_linklist_put(L, w++, (uint32_t)p, (uint32_t)i, CAS_LINK_SUPPLY_CHAIN, P->trade_weight, 0.0);
      got++;
    }
  }
  G->task_used[t] = w - G->task_off[t];
}

/* ---- setup and generation ---- */

typedef struct master_key {
  double ead;
  uint32_t i;
} master_key;

/* Larger EAD first; ties: lower loan index. */
static int cmp_master(const void *a, const void *b) {
  const master_key *x = a, *y = b;
  if (x->ead != y->ead) return x->ead > y->ead ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int key_group(const generator *G, size_t i) { return G->group_of[i]; }

/* Parks: their order, masters and outside-partner counts; the largest
 * chain's need of outside partners in *max_need. */
static cas_status setup_parks(generator *G, uint64_t *max_need) {
  const cas_portfolio *pf = G->pf;
  const network_params *P = G->P;
  size_t n = G->n;
  G->npark = pf->npark > 0 ? pf->npark : 0;
  if (bucket(n, G->npark, key_park, G, &G->park_off, &G->park_members)) return CAS_ERR_NOMEM;
  size_t np = G->npark ? (size_t)G->npark : 1;
  G->park_order = malloc(np * sizeof *G->park_order);
  G->chain_off = malloc((np + 1) * sizeof *G->chain_off);
  G->is_master = calloc(n, 1);
  if (!G->park_order || !G->chain_off || !G->is_master) return CAS_ERR_NOMEM;
  {
    size_t np_seen = 0;
    for (size_t i = 0; i < n; i++) { /* a park's first loan is its first member */
      int32_t k = pf->park[i];
      if (k >= 0 && G->park_members[G->park_off[k]] == i) G->park_order[np_seen++] = k;
    }
    for (int32_t k = 0; k < G->npark; k++)
      if (G->park_off[k + 1] == G->park_off[k]) G->park_order[np_seen++] = k;
  }
  uint64_t *pool_off = NULL;
  if (bucket(n, CAS_YRD_NREGIONS, key_pool, G, &pool_off, &G->pool)) {
    free(pool_off);
    return CAS_ERR_NOMEM;
  }
  memcpy(G->pool_off, pool_off, sizeof G->pool_off);
  free(pool_off);
  /* Masters per park: one per started chain of chain_firms_max firms, at
   * most the park's loans of the master sectors. */
  uint64_t nchains = 0;
  G->largest_park = 0;
  for (int32_t k = 0; k < G->npark; k++) {
    const uint32_t *mem = G->park_members + G->park_off[k];
    uint64_t size = G->park_off[k + 1] - G->park_off[k], eligible = 0;
    for (uint64_t j = 0; j < size; j++) eligible += in_mask(P->master_sectors, pf->sector[mem[j]]);
    uint64_t m = (size + (uint64_t)P->chain_firms_max) / ((uint64_t)P->chain_firms_max + 1);
    if (m > eligible) m = eligible;
    if (size < 2) m = 0;
    G->chain_off[k] = nchains;
    nchains += m;
    if (size > G->largest_park) G->largest_park = size;
  }
  G->chain_off[G->npark] = nchains;
  size_t nc = nchains ? (size_t)nchains : 1;
  G->chain_master = malloc(nc * sizeof *G->chain_master);
  G->chain_same = malloc(nc * sizeof *G->chain_same);
  G->chain_cross = malloc(nc * sizeof *G->chain_cross);
  master_key *cand = malloc((G->largest_park ? G->largest_park : 1) * sizeof *cand);
  if (!G->chain_master || !G->chain_same || !G->chain_cross || !cand) {
    free(cand);
    return CAS_ERR_NOMEM;
  }
  uint64_t pool_total = G->pool_off[CAS_YRD_NREGIONS];
  *max_need = 0;
  for (int32_t k = 0; k < G->npark; k++) {
    uint64_t c0 = G->chain_off[k], m = G->chain_off[k + 1] - c0;
    if (m == 0) continue;
    const uint32_t *mem = G->park_members + G->park_off[k];
    uint64_t size = G->park_off[k + 1] - G->park_off[k], e = 0;
    uint64_t own[CAS_YRD_NREGIONS] = {0}, own_total = 0;
    for (uint64_t j = 0; j < size; j++) {
      uint32_t i = mem[j];
      if (in_mask(P->master_sectors, pf->sector[i])) cand[e++] = (master_key){pf->ead[i], i};
      if (in_mask(P->partner_sectors, pf->sector[i])) {
        own[pf->region[i]]++;
        own_total++;
      }
    }
    qsort(cand, (size_t)e, sizeof *cand, cmp_master);
    uint64_t firms = size - m;
    for (uint64_t ch = 0; ch < m; ch++) {
      uint32_t mst = cand[ch].i;
      G->chain_master[c0 + ch] = mst;
      G->is_master[mst] = 1;
      /* park_task deals the q-th shuffled firm to chain q mod m */
      uint64_t chain_firms = firms / m + (ch < firms % m);
      int r = pf->region[mst];
      double want = P->outside_per_park_firm * (double)chain_firms;
      uint64_t all = (uint64_t)llround(want);
      uint64_t cross = (uint64_t)llround(want * P->outside_cross_province);
      if (cross > all) cross = all;
      uint64_t same = all - cross;
      uint64_t avail_same = (G->pool_off[r + 1] - G->pool_off[r]) - own[r];
      uint64_t avail_cross = (pool_total - (G->pool_off[r + 1] - G->pool_off[r])) - (own_total - own[r]);
      if (same > avail_same / 2) same = avail_same / 2;
      if (cross > avail_cross / 2) cross = avail_cross / 2;
      G->chain_same[c0 + ch] = same;
      G->chain_cross[c0 + ch] = cross;
      if (same + cross > *max_need) *max_need = same + cross;
    }
  }
  free(cand);
  return CAS_OK;
}

/* Trade firms: partner-sector tables, pools, and the number of partners
 * of each firm (one Poisson draw per trade firm from its block's stream). */
static cas_status setup_trade(generator *G) {
  const network_params *P = G->P;
  size_t n = G->n;
  G->trade_sectors = 0;
  for (int s = 0; s < CAS_YRD_NSECTORS; s++) {
    double row = 0.0, acc = 0.0;
    int last = -1;
    for (int q = 0; q < CAS_YRD_NSECTORS; q++) {
      row += P->trade_partner_share[s][q];
      if (P->trade_partner_share[s][q] > 0.0) last = q;
    }
    if (row > 0.0) G->trade_sectors |= SECTOR_BIT(s);
    for (int q = 0; q < CAS_YRD_NSECTORS; q++) {
      acc += row > 0.0 ? P->trade_partner_share[s][q] / row : 0.0;
      G->trade_cum[s][q] = last >= 0 && q >= last ? 1.0 : acc;
    }
  }
  if (bucket(n, CAS_YRD_NSECTORS * cas_yrd_ncities, key_trade_city, G, &G->tcity_off, &G->tcity) ||
      bucket(n, CAS_YRD_NSECTORS * CAS_YRD_NREGIONS, key_trade_region, G, &G->treg_off, &G->treg))
    return CAS_ERR_NOMEM;
  G->trade_k = malloc(n);
  if (!G->trade_k) return CAS_ERR_NOMEM;
  long nb = (long)G->nblocks;
#pragma omp parallel for schedule(static)
  for (long b = 0; b < nb; b++) {
    cas_rng rng;
    cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_TRADE_COUNT, (uint64_t)b));
    for (size_t i = (size_t)b * LOAN_BLOCK; i < block_end(G, (size_t)b); i++)
      G->trade_k[i] = is_trade_firm(G, i) ? (uint8_t)draw_poisson(&rng, P->trade_partners_mean, TRADE_MAX) : 0;
  }
  return CAS_OK;
}

/* Tables, slices and scratch, before the parallel loops. */
static cas_status generator_setup(generator *G) {
  const cas_portfolio *pf = G->pf;
  const network_params *P = G->P;
  size_t n = G->n;
  uint64_t max_need = 0;
  cas_status st = setup_parks(G, &max_need);
  if (st) return st;
  if (bucket(n, cas_yrd_ncities, key_g60, G, &G->g60_off, &G->g60)) return CAS_ERR_NOMEM;

  /* Circle membership: one uniform per loan from its block's stream. */
  G->nblocks = (n + LOAN_BLOCK - 1) / LOAN_BLOCK;
  G->ngroups = cas_yrd_ncities + CAS_YRD_NREGIONS;
  int16_t *flag = G->group_of = malloc(n * sizeof *G->group_of);
  if (!flag) return CAS_ERR_NOMEM;
  long nb = (long)G->nblocks;
#pragma omp parallel for schedule(static)
  for (long b = 0; b < nb; b++) {
    cas_rng rng;
    cas_rng_init_book(&rng, G->seed, CAS_RNG_NETWORK, stream_index(PHASE_MEMBER, (uint64_t)b));
    for (size_t i = (size_t)b * LOAN_BLOCK; i < block_end(G, (size_t)b); i++) {
      double u = cas_rng_uniform(&rng);
      int16_t grp = -1;
      if (u < P->circle_share[pf->sector[i]])
        grp = (int16_t)(pf->city[i] != CAS_NONE ? pf->city[i] : cas_yrd_ncities + pf->region[i]);
      flag[i] = grp;
    }
  }
  int bad = bucket(n, G->ngroups, key_group, G, &G->group_off, &G->group_members);
  free(G->group_of);
  G->group_of = NULL;
  if (bad) return CAS_ERR_NOMEM;

  /* Circle sizes and guarantor weights. */
  double z = 0.0;
  for (int s = P->circle_min; s <= P->circle_max; s++) z += pow((double)s, -P->circle_exponent);
  double acc = 0.0;
  for (int s = 0; s <= CIRCLE_CAP; s++) {
    if (s >= P->circle_min && s <= P->circle_max) acc += pow((double)s, -P->circle_exponent) / z;
    G->size_cum[s] = s >= P->circle_max ? 1.0 : acc;
  }
  for (int r = 0; r < CIRCLE_CAP; r++) G->attract[r] = pow((double)(r + 1), -P->guarantor_zipf);

  st = setup_trade(G);
  if (st) return st;

  /* Slices: exact for parks, upper bounds for the others. */
  G->ntasks = (size_t)G->npark + 2 * G->nblocks + (size_t)G->ngroups;
  G->task_off = malloc((G->ntasks + 1) * sizeof *G->task_off);
  G->task_used = calloc(G->ntasks, sizeof *G->task_used);
  if (!G->task_off || !G->task_used) return CAS_ERR_NOMEM;
  uint64_t sum = 0;
  size_t t = 0;
  for (int32_t q = 0; q < G->npark; q++) {
    int32_t k = G->park_order[q];
    G->task_off[t++] = sum;
    uint64_t c0 = G->chain_off[k], m = G->chain_off[k + 1] - c0;
    if (m == 0) continue;
    sum += 2 * (G->park_off[k + 1] - G->park_off[k] - m);
    for (uint64_t ch = c0; ch < c0 + m; ch++) sum += 2 * (G->chain_same[ch] + G->chain_cross[ch]);
  }
  for (size_t b = 0; b < G->nblocks; b++) {
    G->task_off[t++] = sum;
    for (size_t i = b * LOAN_BLOCK; i < block_end(G, b); i++)
      if (key_g60(G, i) >= 0) sum += 2 * (uint64_t)P->g60_links_max;
  }
  for (int g = 0; g < G->ngroups; g++) {
    G->task_off[t++] = sum;
    sum += 3 * (G->group_off[g + 1] - G->group_off[g]);
  }
  for (size_t b = 0; b < G->nblocks; b++) {
    G->task_off[t++] = sum;
    for (size_t i = b * LOAN_BLOCK; i < block_end(G, b); i++) sum += G->trade_k[i];
  }
  G->task_off[t] = sum;
  if (cas_linklist_reserve(&G->links, (size_t)sum)) return CAS_ERR_NOMEM;

  /* Per-thread scratch: sets of drawn partners, as large as the largest
   * chain needs; the firms of the largest park. */
  G->seen_cap = 16;
  while (G->seen_cap < 2 * max_need) G->seen_cap *= 2;
  G->seen = malloc((size_t)cas_max_threads() * G->seen_cap * sizeof *G->seen);
  G->deal = malloc((size_t)cas_max_threads() * (G->largest_park ? G->largest_park : 1) * sizeof *G->deal);
  if (!G->seen || !G->deal) return CAS_ERR_NOMEM;
  return CAS_OK;
}

cas_status cas_network_generate(const cas_portfolio *pf, uint64_t seed, cas_network **out, cas_error *err) {
  *out = NULL;
  if (pf->n < 1 || pf->n > UINT32_MAX)
    return cas_error_set(err, CAS_ERR_INPUT, "built-in network: portfolio size out of range (got %zu loans, expected 1 to %lu)",
                         pf->n, (unsigned long)UINT32_MAX);
  cas_taxonomy *yrd = cas_taxonomy_yrd();
  if (yrd == NULL) return cas_error_set(err, CAS_ERR_NOMEM, "built-in network: out of memory");
  int delta = cas_taxonomy_equal(pf->tax, yrd);
  /* Say what differs: other names, or the delta's names in another order. */
  const char *what = "regions";
  const cas_names *mine = &pf->tax->regions, *want = &yrd->regions;
  if (cas_names_equal(mine, want)) {
    what = "sectors";
    mine = &pf->tax->sectors;
    want = &yrd->sectors;
  }
  if (cas_names_equal(mine, want)) {
    what = "cities";
    mine = &pf->tax->cities;
    want = &yrd->cities;
  }
  int same_names = mine->n == want->n;
  for (int k = 0; same_names && k < mine->n; k++)
    same_names = cas_names_find(want, mine->name[k], strlen(mine->name[k])) >= 0;
  char got[256];
  cas_names_list(mine, 6, got, sizeof got);
  cas_taxonomy_destroy(yrd);
  if (!delta)
    return cas_error_set(err, CAS_ERR_INPUT,
                         "built-in network: it is drawn for the delta's classification (the "
                         "built-in book's regions, sectors and cities, in that order); the book's "
                         "%s are %s (got %s): give the book's links as network: {file: "
                         "LINKS.csv}, or declare classification: yrd if the book uses the delta's "
                         "names",
                         what, same_names ? "the delta's in another order" : "others", got);
  generator G = {.pf = pf, .P = &net_params, .seed = seed, .n = pf->n};
  cas_status st = generator_setup(&G);
  if (st) {
    generator_free(&G);
    return cas_error_set(err, CAS_ERR_NOMEM, "built-in network: out of memory for %zu loans", pf->n);
  }
  long npark = (long)G.npark, nb = (long)G.nblocks, ng = (long)G.ngroups;
#pragma omp parallel
  {
    uint32_t *seen = G.seen + (size_t)cas_thread_num() * G.seen_cap;
    uint32_t *deal = G.deal + (size_t)cas_thread_num() * (G.largest_park ? G.largest_park : 1);
#pragma omp for schedule(dynamic, 1) nowait
    for (long k = 0; k < npark; k++) park_task(&G, (size_t)k, seen, G.seen_cap, deal);
#pragma omp for schedule(dynamic, 8) nowait
    for (long b = 0; b < nb; b++) g60_task(&G, (size_t)b);
#pragma omp for schedule(dynamic, 1) nowait
    for (long g = 0; g < ng; g++) circle_task(&G, (int)g);
#pragma omp for schedule(dynamic, 4)
    for (long b = 0; b < nb; b++) trade_task(&G, (size_t)b);
  }
  /* Close the gaps between the slices, in task order. */
  cas_linklist *L = &G.links;
  uint64_t w = 0;
  for (size_t t = 0; t < G.ntasks; t++) {
    uint64_t s = G.task_off[t], u = G.task_used[t];
    if (s != w && u) {
      memmove(L->from + w, L->from + s, u * sizeof *L->from);
      memmove(L->to + w, L->to + s, u * sizeof *L->to);
      memmove(L->weight + w, L->weight + s, u * sizeof *L->weight);
      memmove(L->amount + w, L->amount + s, u * sizeof *L->amount);
      memmove(L->type + w, L->type + s, u * sizeof *L->type);
    }
    w += u;
  }
  L->n = (size_t)w;
  cas_network *net = cas_network_from_list(L, pf->n, NULL);
  generator_free(&G);
  if (!net) return cas_error_set(err, CAS_ERR_NOMEM, "built-in network: out of memory for %zu links", (size_t)w);
  st = cas_network_scan_repeats(net, NULL, 1, NULL, NULL, NULL);
  if (st) {
    cas_network_destroy(net);
    return st == CAS_ERR_NOMEM ? cas_error_set(err, st, "built-in network: out of memory for %zu links", (size_t)w)
                               : cas_error_set(err, st, "built-in network: a loan has too many links");
  }
  cas_network_trim(net);
  cas_network_count(net, pf);
  snprintf(net->source, sizeof net->source, "builtin:yrd seed=%llu", (unsigned long long)seed);
  *out = net;
  return CAS_OK;
}

const cas_network_model cas_network_yrd = {
  .info = {"yrd",
           "the delta's links: supply chains around park chain masters, the G60 corridor, "
           "mutual-guarantee circles and trade credit (docs/NETWORK.md)"},
  .generate = cas_network_generate,
};
