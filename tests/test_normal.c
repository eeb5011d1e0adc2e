/*
 * test_normal.c: accuracy and contract of sim/core/normal.c.
 *
 * Reference values were computed with mpmath at 50 significant digits (40
 * for the bivariate table) by tests/tools/normal_reference.py (run it with
 * /usr/bin/python3 sim/core/normal.c as its argument, about four minutes, and
 * paste its output over the tables below). Each entry is the correctly
 * rounded answer for the exact doubles its argument literals denote, so
 * the tables measure this code, not the rounding of the inputs. The
 * bivariate values come from a formula the C code does not use, and the
 * script checks each against a second one. The script also re-checks the
 * AS 241 coefficients in sim/core/normal.c against Wichura's published check
 * sums, and the Gauss-Legendre rules against their definition.
 *
 * Bounds (relative error unless stated), and why:
 * - quantile, quantile_upper: 2e-15 everywhere in [1e-300, 1 - 1e-16].
 *   AS 241 is designed to about 1e-16; measured worst case over 5,500
 *   random p in that range was 7.3e-16 (3.3 ulp). 2e-15 (9 ulp) leaves room
 *   for a different libm's log and sqrt, and still fails any wrong
 *   coefficient or branch (those give errors of 1e-9 and worse).
 * - cdf, sf, pdf: 2e-15 while the result is a normal double. Measured worst
 *   case 4.1e-16 over 4,000 random x in [-37.5, 9]. Without the correction
 *   for the rounding of -x/sqrt2, 0.5*erfc(-x/sqrt2) is off by up to 5e-14
 *   at x = -37.5; this bound is what catches that.
 * - subnormal results (Phi(x) for x < -37.52): a double has no relative
 *   precision there, so 2 units of DBL_TRUE_MIN absolute.
 * - round trip Phi(Phi^-1(p)) = p: the error of x = Phi^-1(p) is magnified
 *   by d ln Phi / d ln|x| ~ x^2 in the tail (Mills ratio), so the bound is
 *   8 eps (1 + x^2); measured worst 3.5 eps (1 + x^2).
 * - bivariate cdf P(h, k, rho): relative 4 eps (1 + |ln P|) where
 *   P > 1e-300, and 3e-16 absolute everywhere. A tail probability P is
 *   exp(-g) with g about |ln P|, and exp() turns the rounding of g into a
 *   relative error of g eps: that is the floor any double-precision method
 *   has. Measured worst on the table: 1.9 eps (1 + |ln P|) (2.7e-13 at
 *   P = 1.7e-283); for rho in [0, 0.5], 4.0e-15 relative with h, k >= -8
 *   and 1.7e-14 at h = k = -20 (P = 1.6e-137); 1.1e-16 absolute. Over
 *   10^5 random points (h, k in [-9, 3], all rho) against a long double
 *   integration: 7.5 eps (1 + |ln P|) at worst, 0.96 for rho in [0, 0.5].
 *   Genz's method with its fixed rules fails 23 of the table's entries
 *   (1.3e-3 relative at h = k = -20, rho = 0.3; 4.7e-9 at h = k = -8,
 *   rho = 0.1; the wrong sign at rho = -0.5), so the bound is no formality.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>

#include "normal.h"

struct ref {
  double arg, val;
};
struct bvn_ref {
  double h, k, rho, val;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define REL_BOUND 2e-15

/* mpmath 50 digits: see tests/tools/normal_reference.py */
static const struct ref quantile_ref[] = {
    {1e-300, -37.0470962993612},
    {1e-200, -30.20559417957964},
    {1e-100, -21.273453560965326},
    {1e-50, -14.933337534788489},
    {1e-20, -9.262340089798407},
    {1e-16, -8.222082216130435},
    {1e-12, -7.034483825301132},
    {1.3887943864964021e-11, -6.657904643501103},
    {1e-10, -6.361340902404057},
    {1e-9, -5.9978070150076865},
    {1e-7, -5.1993375821928165},
    {1e-5, -4.264890793922825},
    {1e-4, -3.7190164854556804},
    {0.001, -3.0902323061678136},
    {0.01, -2.326347874040841},
    {0.02, -2.053748910631823},
    {0.05, -1.6448536269514726},
    {0.075, -1.439531470938456},
    {0.0750001, -1.4395307645017297},
    {0.1, -1.2815515655446004},
    {0.2, -0.8416212335729142},
    {0.25, -0.6744897501960817},
    {0.3, -0.5244005127080408},
    {0.4, -0.2533471031357997},
    {0.45, -0.12566134685507402},
    {0.49, -0.025068908258711057},
    {0.5, 0.0},
    {0.51, 0.025068908258711057},
    {0.6, 0.2533471031357997},
    {0.7, 0.5244005127080407},
    {0.75, 0.6744897501960817},
    {0.8, 0.8416212335729144},
    {0.9, 1.2815515655446006},
    {0.925, 1.4395314709384561},
    {0.95, 1.6448536269514722},
    {0.975, 1.9599639845400538},
    {0.99, 2.3263478740408408},
    {0.999, 3.090232306167813},
    {0.99999, 4.264890793923841},
    {0.9999999, 5.199337582290661},
    {0.9999999999, 6.361340889697422},
    {0.999999999999, 7.0344869100478356},
    {0.9999999999999999, 8.209536151601387},
};
static const struct ref cdf_ref[] = {
    {-38, 2.88542835e-316},
    {-37.5, 4.605353009581955e-308},
    {-30, 4.906713927148187e-198},
    {-20, 2.7536241186062337e-89},
    {-10, 7.619853024160525e-24},
    {-8, 6.220960574271784e-16},
    {-5, 2.866515718791939e-07},
    {-3, 0.0013498980316300946},
    {-2.326, 0.010009275340867665},
    {-2, 0.02275013194817921},
    {-1.5, 0.06680720126885807},
    {-1, 0.15865525393145705},
    {-0.5, 0.3085375387259869},
    {-1e-5, 0.49999601057719606},
    {0, 0.5},
    {1e-5, 0.500003989422804},
    {0.5, 0.6914624612740131},
    {1, 0.8413447460685429},
    {2, 0.9772498680518208},
    {3, 0.9986501019683699},
    {5, 0.9999997133484281},
    {8, 0.9999999999999993},
    {10, 1.0},
};
static const struct ref sf_ref[] = {
    {-8, 0.9999999999999993},
    {-1, 0.8413447460685429},
    {0, 0.5},
    {1, 0.15865525393145705},
    {2.326, 0.010009275340867665},
    {3, 0.0013498980316300946},
    {5, 2.866515718791939e-07},
    {8, 6.220960574271784e-16},
    {10, 7.619853024160525e-24},
    {20, 2.7536241186062337e-89},
    {30, 4.906713927148187e-198},
    {38, 2.88542835e-316},
};
static const struct ref pdf_ref[] = {
    {-38, 1.097221052e-314},
    {-20, 5.520948362159764e-88},
    {-8, 5.052271083536892e-15},
    {-1, 0.24197072451914334},
    {0, 0.3989422804014327},
    {0.5, 0.35206532676429947},
    {1, 0.24197072451914334},
    {3, 0.0044318484119380075},
    {8, 5.052271083536892e-15},
    {20, 5.520948362159764e-88},
    {38, 1.097221052e-314},
};

/* Bivariate: P(X <= h, Y <= k) at correlation rho, mpmath 40 digits by
 * integrating phi(x) Phi((k - rho x) / sqrt(1 - rho^2)) over x < h, checked
 * against Plackett's identity; see tests/tools/normal_reference.py (its
 * last table). Entries below 1e-308 print as 0 or a subnormal. */
static const struct bvn_ref bvn_ref[] = {
    {-8, -8, -0.99, 0},
    {-5, -5, -0.99, 0},
    {-4.264890793922825, -4.264890793922825, -0.99, 0},
    {-8, -5, -0.99, 0},
    {-6, -2, -0.99, 0},
    {-4.264890793922825, -2.3263478740408408, -0.99, 0},
    {-3, -3, -0.99, 0},
    {-2.3263478740408408, -1.2815515655446004, -0.99, 1.4085794060656608e-146},
    {-1, -1, -0.99, 4.1355269721476309e-48},
    {-1.5, 0.5, -0.99, 3.5843952203183003e-15},
    {0, 0, -0.99, 0.022526706822206061},
    {0.5, -2, -0.99, 3.3187838209235759e-29},
    {-8, 3, -0.99, 1.6586755058754325e-283},
    {3, -6, -0.99, 3.646227014624074e-107},
    {1.2815515655446004, 1.2815515655446004, -0.99, 0.79999999999999993},
    {2.5, 1, -0.99, 0.83513508074276677},
    {3, 3, -0.99, 0.99730020393673979},
    {-8, -8, -0.5, 1.8229947991158436e-59},
    {-5, -5, -0.5, 3.4325734800351083e-25},
    {-4.264890793922825, -4.264890793922825, -0.5, 3.841281201510255e-19},
    {-8, -5, -0.5, 4.7990540994272686e-41},
    {-6, -2, -0.5, 2.4660145750988507e-18},
    {-4.264890793922825, -2.3263478740408408, -0.5, 7.8218585952691735e-13},
    {-3, -3, -0.5, 7.1475021812707895e-11},
    {-2.3263478740408408, -1.2815515655446004, -0.5, 1.4386714683472451e-05},
    {-1, -1, -0.5, 0.0037823020728542638},
    {-1.5, 0.5, -0.5, 0.019970674260463891},
    {0, 0, -0.5, 0.16666666666666666},
    {0.5, -2, -0.5, 0.0049678090335891247},
    {-8, 3, -0.5, 6.8971272402569177e-17},
    {3, -6, -0.5, 4.575563116124951e-10},
    {1.2815515655446004, 1.2815515655446004, -0.5, 0.80073860139041464},
    {2.5, 1, -0.5, 0.835153507724403},
    {3, 3, -0.5, 0.99730020400821484},
    {-8, -8, 0, 3.8700350466643927e-31},
    {-5, -5, 0, 8.216912366081268e-14},
    {-4.264890793922825, -4.264890793922825, 0, 9.9999999999999965e-11},
    {-8, -5, 0, 1.7832481272134998e-22},
    {-6, -2, 0, 2.2444999103051023e-11},
    {-4.264890793922825, -2.3263478740408408, 0, 1.0000000000000007e-07},
    {-3, -3, 0, 1.8222246957988037e-06},
    {-2.3263478740408408, -1.2815515655446004, 0, 0.0010000000000000011},
    {-1, -1, 0, 0.025171489600055118},
    {-1.5, 0.5, 0, 0.046194671820192969},
    {0, 0, 0, 0.25},
    {0.5, -2, 0, 0.015730862231196553},
    {-8, 3, 0, 6.212562911837726e-16},
    {3, -6, 0, 9.8525585231763113e-10},
    {1.2815515655446004, 1.2815515655446004, 0, 0.80999999999999994},
    {2.5, 1, 0, 0.83612027677185718},
    {3, 3, 0, 0.9973020261614356},
    {-8, -8, 0.1, 1.5757165426603456e-28},
    {-5, -5, 0.1, 9.596393199303265e-13},
    {-4.264890793922825, -4.264890793922825, 0.1, 6.2682393719215163e-10},
    {-8, -5, 0.1, 7.9909673755893043e-21},
    {-6, -2, 0.1, 8.101808179498649e-11},
    {-4.264890793922825, -2.3263478740408408, 0.1, 2.954464426248314e-07},
    {-3, -3, 0.1, 4.9077193711959701e-06},
    {-2.3263478740408408, -1.2815515655446004, 0.1, 0.0015394842707573254},
    {-1, -1, 0.1, 0.031320220490775139},
    {-1.5, 0.5, 0.1, 0.05057609274520812},
    {0, 0, 0.1, 0.26594214021462997},
    {0.5, -2, 0.1, 0.017529735540874225},
    {-8, 3, 0.1, 6.2205637198815249e-16},
    {3, -6, 0.1, 9.8644979264067436e-10},
    {1.2815515655446004, 1.2815515655446004, 0.1, 0.81333544084356957},
    {2.5, 1, 0.1, 0.83659713577801176},
    {3, 3, 0.1, 0.99730511165611102},
    {-8, -8, 0.3, 1.7506649740250272e-24},
    {-5, -5, 0.3, 4.495196014773421e-11},
    {-4.264890793922825, -4.264890793922825, 0.3, 1.1245129573885131e-08},
    {-8, -5, 0.3, 2.2536001939308814e-18},
    {-6, -2, 0.3, 4.307179145018083e-10},
    {-4.264890793922825, -2.3263478740408408, 0.3, 1.5196668975314174e-06},
    {-3, -3, 0.3, 2.3851515745155807e-05},
    {-2.3263478740408408, -1.2815515655446004, 0.3, 0.0030746233565068933},
    {-1, -1, 0.3, 0.045457848515603964},
    {-1.5, 0.5, 0.3, 0.058112326782946408},
    {0, 0, 0.3, 0.29849334201033917},
    {0.5, -2, 0.3, 0.020402495839229661},
    {-8, 3, 0.3, 6.2209605359743412e-16},
    {3, -6, 0.3, 9.8658745525298341e-10},
    {1.2815515655446004, 1.2815515655446004, 0.3, 0.82161648035578749},
    {2.5, 1, 0.3, 0.83784501452165039},
    {3, 3, 0.3, 0.99732405545248493},
    {-8, -8, 0.5, 1.7886605485901852e-21},
    {-5, -5, 0.5, 8.2470864326516682e-10},
    {-4.264890793922825, -4.264890793922825, 0.5, 1.016386726216941e-07},
    {-8, -5, 0.5, 8.6855279231764992e-17},
    {-6, -2, 0.5, 8.8079461933056389e-10},
    {-4.264890793922825, -2.3263478740408408, 0.5, 4.600833362923413e-06},
    {-3, -3, 0.5, 8.1889661832192106e-05},
    {-2.3263478740408408, -1.2815515655446004, 0.5, 0.0052257459923757904},
    {-1, -1, 0.5, 0.062514094709663834},
    {-1.5, 0.5, 0.5, 0.063571508641458691},
    {0, 0, 0.5, 0.33333333333333331},
    {0.5, -2, 0.5, 0.022120355118554806},
    {-8, 3, 0.5, 6.2209605742717829e-16},
    {3, -6, 0.5, 9.8658764503642982e-10},
    {1.2815515655446004, 1.2815515655446004, 0.5, 0.83240152321834349},
    {2.5, 1, 0.5, 0.83935666835610012},
    {3, 3, 0.5, 0.99738209359857199},
    {-8, -8, 0.8, 4.2480055222667789e-18},
    {-5, -5, 0.8, 2.418688831123697e-08},
    {-4.264890793922825, -4.264890793922825, 0.8, 1.3634565132886073e-06},
    {-8, -5, 0.8, 6.1788643886932213e-16},
    {-6, -2, 0.8, 9.8658691257186116e-10},
    {-4.264890793922825, -2.3263478740408408, 0.8, 9.7907045213639818e-06},
    {-3, -3, 0.8, 0.00037209239626781639},
    {-2.3263478740408408, -1.2815515655446004, 0.8, 0.0090716155915633191},
    {-1, -1, 0.8, 0.097636519081557807},
    {-1.5, 0.5, 0.8, 0.066758158053758163},
    {0, 0, 0.8, 0.39758361765043326},
    {0.5, -2, 0.8, 0.022748423452953144},
    {-8, 3, 0.8, 6.2209605742717839e-16},
    {3, -6, 0.8, 9.8658764503769809e-10},
    {1.2815515655446004, 1.2815515655446004, 0.8, 0.85624273674472784},
    {2.5, 1, 0.8, 0.84119769760281515},
    {3, 3, 0.8, 0.99767229633300758},
    {-8, -8, 0.925, 6.7822791569979536e-17},
    {-5, -5, 0.925, 8.7791353488583181e-08},
    {-4.264890793922825, -4.264890793922825, 0.925, 3.7707056095529224e-06},
    {-8, -5, 0.925, 6.2209605739901595e-16},
    {-6, -2, 0.925, 9.8658764503769809e-10},
    {-4.264890793922825, -2.3263478740408408, 0.925, 9.9999706139344171e-06},
    {-3, -3, 0.925, 0.00069864040730976365},
    {-2.3263478740408408, -1.2815515655446004, 0.925, 0.0099687521585531437},
    {-1, -1, 0.925, 0.12127116007176211},
    {-1.5, 0.5, 0.925, 0.066807198240660198},
    {0, 0, 0.925, 0.43796765275216248},
    {0.5, -2, 0.925, 0.022750131947236147},
    {-8, 3, 0.925, 6.2209605742717839e-16},
    {3, -6, 0.925, 9.8658764503769809e-10},
    {1.2815515655446004, 1.2815515655446004, 0.925, 0.87299673815613676},
    {2.5, 1, 0.925, 0.84134434484969423},
    {3, 3, 0.925, 0.99799884434404962},
    {-8, -8, 0.95, 1.2039096180683063e-16},
    {-5, -5, 0.95, 1.1650980496795293e-07},
    {-4.264890793922825, -4.264890793922825, 0.95, 4.7351093745643934e-06},
    {-8, -5, 0.95, 6.2209605742717839e-16},
    {-6, -2, 0.95, 9.8658764503769809e-10},
    {-4.264890793922825, -2.3263478740408408, 0.95, 9.9999999665950543e-06},
    {-3, -3, 0.95, 0.00080916334643593572},
    {-2.3263478740408408, -1.2815515655446004, 0.95, 0.0099969703056250678},
    {-1, -1, 0.95, 0.12813002083211028},
    {-1.5, 0.5, 0.95, 0.066807201266703267},
    {0, 0, 0.95, 0.44945868794787003},
    {0.5, -2, 0.95, 0.022750131948179191},
    {-8, 3, 0.95, 6.2209605742717839e-16},
    {3, -6, 0.95, 9.8658764503769809e-10},
    {1.2815515655446004, 1.2815515655446004, 0.95, 0.87792044426386473},
    {2.5, 1, 0.95, 0.8413447406075043},
    {3, 3, 0.95, 0.99810936728317579},
    {-8, -8, 0.999, 5.3242841314293125e-16},
    {-5, -5, 0.999, 2.601796211494633e-07},
    {-4.264890793922825, -4.264890793922825, 0.999, 9.202081934775038e-06},
    {-8, -5, 0.999, 6.2209605742717839e-16},
    {-6, -2, 0.999, 9.8658764503769809e-10},
    {-4.264890793922825, -2.3263478740408408, 0.999, 9.9999999999999991e-06},
    {-3, -3, 0.999, 0.0012708810536105266},
    {-2.3263478740408408, -1.2815515655446004, 0.999, 0.010000000000000009},
    {-1, -1, 0.999, 0.15433819593527037},
    {-1.5, 0.5, 0.999, 0.066807201268858071},
    {0, 0, 0.999, 0.49288178129688015},
    {0.5, -2, 0.999, 0.022750131948179209},
    {-8, 3, 0.999, 6.2209605742717839e-16},
    {3, -6, 0.999, 9.8658764503769809e-10},
    {1.2815515655446004, 1.2815515655446004, 0.999, 0.89686905962989649},
    {2.5, 1, 0.999, 0.84134474606854293},
    {3, 3, 0.999, 0.9985710849903503},
    {-3.5, 3, -0.95, 1.4255521434940365e-05},
    {-3.7, 3, -0.95, 1.9518679984765459e-06},
    {-6.3, 6.3, -0.95, 1.0392261554730322e-10},
    {-6.5, 6.4, -0.95, 2.4338646618430467e-11},
    {-6.3, -6.3, 0.95, 4.4900206628928048e-11},
    {-6.5, -6.4, 0.95, 1.5821359220160711e-11},
    {-1, -1, -0.5, 0.0037823020728542638},
    {-1.05, -1, -0.5, 0.0033059791718411625},
    {-9, -9, -0.2, 1.3438936993659087e-47},
    {-20, -20, 0.3, 1.6430962972645522e-137},
    {-12, -11.5, 0.99, 1.7742754960580766e-33},
    {-30, -30, 0.999999, 4.8235785755055543e-198},
    {-1, 1.0001, -0.9999, 0.0013772374217737274},
    {-0.5, 0.6, -0.999999, 0.034284420975913311},
    {-5, -5, 1, 2.8665157187919391e-07},
    {-1, 2, 1, 0.15865525393145705},
    {-2, 2.5, -1, 0.016540466622403074},
    {1, -0.5, -1, 0.14988228479452984},
    {-3, -2, -1, 0},
    {3, -2.9, -1, 0.00051591526875394394},
};

static double rel_err(double got, double want) {
  if (want == 0.0) return got == 0.0 ? 0.0 : INFINITY;
  return fabs(got - want) / fabs(want);
}

/* Relative error for normal results, absolute in units of DBL_TRUE_MIN for
 * subnormal ones. */
static void check_value(const char *what, double arg, double got, double want) {
  if (fabs(want) < DBL_MIN) {
    cr_expect(fabs(got - want) <= 2 * DBL_TRUE_MIN, "%s(%.17g) = %.17g, want %.17g (subnormal)",
              what, arg, got, want);
  } else {
    cr_expect(rel_err(got, want) <= REL_BOUND, "%s(%.17g) = %.17g, want %.17g (rel err %.3g)",
              what, arg, got, want, rel_err(got, want));
  }
}

Test(normal_reference, quantile) {
  for (size_t i = 0; i < COUNT(quantile_ref); i++)
    check_value("quantile", quantile_ref[i].arg, cas_norm_quantile(quantile_ref[i].arg),
                quantile_ref[i].val);
}

Test(normal_reference, quantile_upper) {
  /* Phi^-1(1 - q) = -Phi^-1(q): the lower-tail table read from the other
   * side, including q = 1e-300, where 1 - q would be 1. */
  for (size_t i = 0; i < COUNT(quantile_ref); i++)
    check_value("quantile_upper", quantile_ref[i].arg, cas_norm_quantile_upper(quantile_ref[i].arg),
                -quantile_ref[i].val);
}

Test(normal_reference, cdf) {
  for (size_t i = 0; i < COUNT(cdf_ref); i++)
    check_value("cdf", cdf_ref[i].arg, cas_norm_cdf(cdf_ref[i].arg), cdf_ref[i].val);
}

Test(normal_reference, sf) {
  for (size_t i = 0; i < COUNT(sf_ref); i++)
    check_value("sf", sf_ref[i].arg, cas_norm_sf(sf_ref[i].arg), sf_ref[i].val);
}

Test(normal_reference, pdf) {
  for (size_t i = 0; i < COUNT(pdf_ref); i++)
    check_value("pdf", pdf_ref[i].arg, cas_norm_pdf(pdf_ref[i].arg), pdf_ref[i].val);
}

/* 3,000 points log-spaced from 1e-300 to 0.5, both tails. */
Test(normal_roundtrip, cdf_of_quantile) {
  const int n = 3000;
  for (int k = 0; k <= n; k++) {
    double p = pow(10.0, -300.0 + k * (300.0 - log10(2.0)) / n);
    double x = cas_norm_quantile(p);
    double bound = 8 * DBL_EPSILON * (1.0 + x * x);
    cr_expect(rel_err(cas_norm_cdf(x), p) <= bound, "Phi(Phi^-1(%.17g)) = %.17g (rel err %.3g > %.3g)",
              p, cas_norm_cdf(x), rel_err(cas_norm_cdf(x), p), bound);
    double xu = cas_norm_quantile_upper(p);
    cr_expect(rel_err(cas_norm_sf(xu), p) <= bound, "Q(Q^-1(%.17g)) = %.17g (rel err %.3g > %.3g)", p,
              cas_norm_sf(xu), rel_err(cas_norm_sf(xu), p), bound);
  }
}

Test(normal_symmetry, exact) {
  /* For p in [1/2, 1), 1 - p is exact and the code works from min(p, 1-p),
   * so the odd symmetry holds bit for bit; likewise Phi(x) + Phi(-x) = 1. */
  for (int k = 0; k < 10000; k++) {
    double p = 0.5 + k / 20000.0;
    cr_expect(cas_norm_quantile(p) == -cas_norm_quantile(1.0 - p), "asymmetric at p = %.17g", p);
  }
  for (double x = -8.0; x <= 8.0; x += 0.0625)
    cr_expect(fabs(cas_norm_cdf(x) + cas_norm_cdf(-x) - 1.0) <= 2 * DBL_EPSILON,
              "Phi(%g) + Phi(%g) != 1", x, -x);
}

/* Strictly increasing on grids whose steps move x by far more than the
 * error bound: 2^20 uniform steps over (0, 1), and ratio-1.01 steps
 * through both tails down to 1e-300. */
Test(normal_monotone, grids) {
  double prev = -INFINITY;
  for (int k = 1; k < (1 << 20); k++) {
    double x = cas_norm_quantile(k * 0x1.0p-20);
    cr_assert(x > prev, "not increasing at p = %d/2^20", k);
    prev = x;
  }
  double lo_prev = -INFINITY, hi_prev = INFINITY;
  for (double q = 1e-300; q < 0.5; q *= 1.01) {
    double lo = cas_norm_quantile(q), hi = cas_norm_quantile_upper(q);
    cr_assert(lo > lo_prev, "quantile not increasing at p = %.17g", q);
    cr_assert(hi < hi_prev, "quantile_upper not decreasing at q = %.17g", q);
    lo_prev = lo;
    hi_prev = hi;
  }
}

/* Ulp by ulp across AS 241's region switches (|p - 1/2| = 0.425 and
 * r = 5, i.e. p = exp(-25)). Between neighbouring doubles x moves by less
 * than its own ulp, so rounding may reverse a step by an ulp or two (no
 * implementation short of correctly rounded avoids that); the test asks
 * that no step goes back by more than the accuracy bound, so a seam
 * between two approximations would show. */
Test(normal_monotone, region_switches) {
  const double splits[] = {0.075, 0.925, exp(-25.0), 1.0 - exp(-25.0)};
  for (size_t s = 0; s < COUNT(splits); s++) {
    double p = splits[s];
    for (int i = 0; i < 5000; i++) p = nextafter(p, 0.0);
    double prev = cas_norm_quantile(p);
    for (int i = 0; i < 10000; i++) {
      p = nextafter(p, 1.0);
      double x = cas_norm_quantile(p);
      cr_assert(x >= prev - REL_BOUND * fabs(prev), "step back at p = %.17g: %.17g after %.17g", p, x,
                prev);
      prev = x;
    }
  }
}

Test(normal_edges, quantile) {
  cr_expect(cas_norm_quantile(0.0) == -INFINITY);
  cr_expect(cas_norm_quantile(1.0) == INFINITY);
  cr_expect(cas_norm_quantile(0.5) == 0.0);
  cr_expect(isnan(cas_norm_quantile(NAN)));
  cr_expect(isnan(cas_norm_quantile(-0x1.0p-1074)));
  cr_expect(isnan(cas_norm_quantile(-1.0)));
  cr_expect(isnan(cas_norm_quantile(nextafter(1.0, 2.0))));
  cr_expect(isnan(cas_norm_quantile(INFINITY)));
  cr_expect(isnan(cas_norm_quantile(-INFINITY)));
  /* The smallest subnormal still gives a finite, sensible answer. */
  double x = cas_norm_quantile(DBL_TRUE_MIN);
  cr_expect(isfinite(x) && x < -38.0 && x > -39.0, "quantile(DBL_TRUE_MIN) = %g", x);

  cr_expect(cas_norm_quantile_upper(0.0) == INFINITY);
  cr_expect(cas_norm_quantile_upper(1.0) == -INFINITY);
  cr_expect(cas_norm_quantile_upper(0.5) == 0.0);
  cr_expect(isnan(cas_norm_quantile_upper(NAN)));
  cr_expect(isnan(cas_norm_quantile_upper(1.5)));
  cr_expect(isnan(cas_norm_quantile_upper(-0.5)));
}

Test(normal_edges, cdf_sf_pdf) {
  cr_expect(cas_norm_cdf(-INFINITY) == 0.0);
  cr_expect(cas_norm_cdf(INFINITY) == 1.0);
  cr_expect(cas_norm_cdf(0.0) == 0.5);
  cr_expect(cas_norm_cdf(-40.0) == 0.0); /* below DBL_TRUE_MIN */
  cr_expect(cas_norm_cdf(-38.0) > 0.0);  /* but not before it must */
  cr_expect(isnan(cas_norm_cdf(NAN)));
  cr_expect(cas_norm_sf(INFINITY) == 0.0);
  cr_expect(cas_norm_sf(-INFINITY) == 1.0);
  cr_expect(isnan(cas_norm_sf(NAN)));
  cr_expect(cas_norm_pdf(INFINITY) == 0.0);
  cr_expect(cas_norm_pdf(-INFINITY) == 0.0);
  cr_expect(isnan(cas_norm_pdf(NAN)));
}

/* ---- bivariate ---------------------------------------------------------- */

#define BVN_REL 4.0 /* times eps (1 + |ln P|) */
#define BVN_ABS 3e-16

static double bvn_rel_bound(double p) { return BVN_REL * DBL_EPSILON * (1.0 + fabs(log(p))); }

Test(bvn_reference, table) {
  for (size_t i = 0; i < COUNT(bvn_ref); i++) {
    const struct bvn_ref *r = &bvn_ref[i];
    double got = cas_bvn_cdf(r->h, r->k, r->rho);
    cr_expect(fabs(got - r->val) <= BVN_ABS,
              "P(%.17g, %.17g, %.17g) = %.17g, want %.17g (abs err %.3g)", r->h, r->k, r->rho, got,
              r->val, fabs(got - r->val));
    if (r->val > 1e-300)
      cr_expect(rel_err(got, r->val) <= bvn_rel_bound(r->val),
                "P(%.17g, %.17g, %.17g) = %.17g, want %.17g (rel err %.3g > %.3g)", r->h, r->k,
                r->rho, got, r->val, rel_err(got, r->val), bvn_rel_bound(r->val));
  }
}

/* Thresholds and correlations that reach every branch of the method. */
static const double bvn_x[] = {-39.0, -20.0, -8.0,  -5.0, -4.2648907939228247,
                               -3.0,  -1.0,  -0.25, 0.0,  0.5,
                               1.3,   2.0,   3.0,   8.0,  30.0};
static const double bvn_rho[] = {-0.9999999, -0.999,    -0.95, -0.925, -0.9249999, -0.8,     -0.5,
                                 -0.3,       -0.1,      -1e-9, 1e-9,   0.1,        0.3,      0.5,
                                 0.8,        0.9249999, 0.925, 0.95,   0.999,      0.9999999};

Test(bvn_edges, closed_forms) {
  for (size_t i = 0; i < COUNT(bvn_x); i++) {
    for (size_t j = 0; j < COUNT(bvn_x); j++) {
      double h = bvn_x[i], k = bvn_x[j];
      double ph = cas_norm_cdf(h), pk = cas_norm_cdf(k);
      cr_expect(cas_bvn_cdf(h, k, 0.0) == ph * pk, "rho = 0 at (%g, %g)", h, k);
      cr_expect(cas_bvn_cdf(h, k, -0.0) == ph * pk, "rho = -0 at (%g, %g)", h, k);
      cr_expect(cas_bvn_cdf(h, k, 1.0) == cas_norm_cdf(fmin(h, k)), "rho = 1 at (%g, %g)", h, k);
      /* rho = -1: the mass of [-k, h], computed so as not to cancel, so
       * equal to the textbook form to its own rounding, and exactly 0 when
       * the interval is empty. */
      double m = cas_bvn_cdf(h, k, -1.0), textbook = fmax(0.0, ph + pk - 1.0);
      cr_expect(m >= 0.0 && fabs(m - textbook) <= 2 * DBL_EPSILON,
                "rho = -1 at (%g, %g): %.17g vs %.17g", h, k, m, textbook);
      if (h + k <= 0.0) cr_expect(m == 0.0, "rho = -1 at (%g, %g): %.17g, want 0", h, k, m);
    }
  }
}

Test(bvn_edges, infinite_and_nan) {
  for (size_t i = 0; i < COUNT(bvn_x); i++) {
    double x = bvn_x[i];
    for (size_t j = 0; j < COUNT(bvn_rho); j++) {
      double r = bvn_rho[j];
      cr_expect(cas_bvn_cdf(INFINITY, x, r) == cas_norm_cdf(x), "P(inf, %g, %g)", x, r);
      cr_expect(cas_bvn_cdf(x, INFINITY, r) == cas_norm_cdf(x), "P(%g, inf, %g)", x, r);
      cr_expect(cas_bvn_cdf(-INFINITY, x, r) == 0.0, "P(-inf, %g, %g)", x, r);
      cr_expect(cas_bvn_cdf(x, -INFINITY, r) == 0.0, "P(%g, -inf, %g)", x, r);
      cr_expect(isnan(cas_bvn_cdf(NAN, x, r)) && isnan(cas_bvn_cdf(x, NAN, r)), "NaN at (%g, %g)",
                x, r);
    }
    cr_expect(isnan(cas_bvn_cdf(x, x, NAN)));
    cr_expect(isnan(cas_bvn_cdf(x, x, nextafter(1.0, 2.0))),
              "rho just above 1 is not a correlation");
    cr_expect(isnan(cas_bvn_cdf(x, x, -1.5)));
    cr_expect(isnan(cas_bvn_cdf(x, x, INFINITY)));
  }
  cr_expect(cas_bvn_cdf(INFINITY, INFINITY, 0.5) == 1.0);
  cr_expect(cas_bvn_cdf(-INFINITY, INFINITY, 0.5) == 0.0);
  cr_expect(isnan(cas_bvn_cdf(NAN, -INFINITY, 0.5)));
}

/* Symmetric bit for bit, and between the Frechet bounds
 * max(0, Phi(h) + Phi(k) - 1) <= P <= min(Phi(h), Phi(k)). */
Test(bvn_identity, symmetry_and_bounds) {
  for (size_t i = 0; i < COUNT(bvn_x); i++) {
    for (size_t j = 0; j < COUNT(bvn_x); j++) {
      for (size_t l = 0; l < COUNT(bvn_rho); l++) {
        double h = bvn_x[i], k = bvn_x[j], r = bvn_rho[l];
        double p = cas_bvn_cdf(h, k, r);
        cr_expect(p == cas_bvn_cdf(k, h, r), "P(%g, %g, %g) != P(%g, %g, %g)", h, k, r, k, h, r);
        double lo = fmax(0.0, cas_norm_cdf(h) + cas_norm_cdf(k) - 1.0);
        double hi = fmin(cas_norm_cdf(h), cas_norm_cdf(k));
        double slack = hi > 0.0 ? hi * bvn_rel_bound(hi) : 0.0;
        cr_expect(p >= lo - 2 * DBL_EPSILON && p <= hi + slack,
                  "P(%g, %g, %g) = %.17g outside [%.17g, %.17g]", h, k, r, p, lo, hi);
      }
    }
  }
}

/* P(h, k, rho) + P(h, -k, -rho) = Phi(h): {X <= h} split by Y <= k. The
 * two terms take different branches (the sign of rho decides most of
 * them), so this ties each branch to its mirror. Each term is within
 * BVN_REL eps (1 + |ln P_i|) P_i, and x (1 - ln x) grows on (0, 1), so the
 * sum is within twice that bound at Phi(h). */
Test(bvn_identity, reflection) {
  for (size_t i = 0; i < COUNT(bvn_x); i++) {
    for (size_t j = 0; j < COUNT(bvn_x); j++) {
      for (size_t l = 0; l < COUNT(bvn_rho); l++) {
        double h = bvn_x[i], k = bvn_x[j], r = bvn_rho[l], ph = cas_norm_cdf(h);
        if (!(ph > 1e-300)) continue;
        double sum = cas_bvn_cdf(h, k, r) + cas_bvn_cdf(h, -k, -r);
        double bound = 2 * ph * bvn_rel_bound(ph) + 2 * DBL_EPSILON * ph;
        cr_expect(fabs(sum - ph) <= bound,
                  "P(%g, %g, %g) + P(%g, %g, %g) = %.17g, Phi = %.17g (err %.3g > %.3g)", h, k, r,
                  h, -k, -r, sum, ph, fabs(sum - ph), bound);
      }
    }
  }
}

/* Walks one argument ulp by ulp and looks for a jump between two of the
 * method's branches. P may legitimately move by more than its error bound
 * per ulp (d ln P / d rho reaches 4000 in the tail), but smoothly: its
 * second difference over one ulp is below rounding, so any second
 * difference beyond four error bounds is a seam. */
static void expect_no_seam(double h, double k, double rho, int which) {
  double args[3] = {h, k, rho}, p[3] = {0.0, 0.0, 0.0};
  for (int n = 0; n < 200; n++) args[which] = nextafter(args[which], -INFINITY);
  for (int n = 0; n < 400; n++) {
    args[which] = nextafter(args[which], INFINITY);
    p[0] = p[1];
    p[1] = p[2];
    p[2] = cas_bvn_cdf(args[0], args[1], args[2]);
    if (n < 2 || !(p[1] > 1e-300)) continue; /* below, exp(-g) underflows */
    double jump = fabs(p[2] - 2 * p[1] + p[0]);
    cr_assert(jump <= 4 * p[1] * bvn_rel_bound(p[1]),
              "seam at P(%.17g, %.17g, %.17g): %.17g, %.17g, %.17g", args[0], args[1], args[2],
              p[0], p[1], p[2]);
  }
}

/* Across |rho| = 0.925, where Genz's method changes formula. */
Test(bvn_identity, no_seam_at_0_925) {
  const double pairs[][2] = {{-8, -8}, {-5, -4.5}, {-3, -1},  {-1, 0.5},
                             {0, 0},   {2, 1},     {-6, 5.8}, {-2, 2.3}};
  for (size_t i = 0; i < COUNT(pairs); i++) {
    expect_no_seam(pairs[i][0], pairs[i][1], 0.925, 2);
    expect_no_seam(pairs[i][0], pairs[i][1], -0.925, 2);
  }
}

/* Across the switches between the forms of the integral (sim/core/normal.c,
 * the limits NEAR_ONE_MAX_SHK = 4, NEAR_ONE_MAX_B = 2 and
 * FROM_MINUS_ONE_RISE = 1): each walk crosses one at its midpoint. */
Test(bvn_identity, no_seam_between_forms) {
  const double a2 = (1 - 0.95) * (1 + 0.95), a = sqrt(a2), k = sqrt(4 / a2);
  expect_no_seam(-k, -k, 0.95, 0);         /* |hk| (1 - rho^2) = 4, rho > 0 */
  expect_no_seam(-k, k, -0.95, 0);         /* the same, rho < 0 */
  expect_no_seam(-3 - 2 * a, 3, -0.95, 0); /* |h + k| = 2 sqrt(1 - rho^2) */
  expect_no_seam(-1, -1, -0.5, 0);         /* g rises by 1 from the peak to rho */
}

/* cas_norm_cdf_many against cas_norm_cdf, point by point: within the
 * relative CAS_NORM_CDF_MANY_TOL that the sparse kernel widens its bucket
 * bounds by (so p_max stays above every loan's Phi), on a fine grid over
 * the whole range where Phi is a normal double, with lengths that leave 0
 * to 3 points after the last group of four; exactly cas_norm_cdf below
 * 1e-280 and at the infinities. */
Test(normal_many, within_its_tolerance_of_cas_norm_cdf) {
  enum { N = 40003 };
  static double x[N], p[N];
  for (int i = 0; i < N; i++) x[i] = -40.0 + 50.0 * i / (N - 1);   /* -40 .. 10 */
  for (int tail = 0; tail < 4; tail++) {
    int n = N - tail;
    cas_norm_cdf_many(x, p, (size_t)n);
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
      double want = cas_norm_cdf(x[i]);
      if (want < 1e-280) {
        cr_assert(p[i] == want || (isnan(p[i]) && isnan(want)), "x %.17g: %.17g, expected %.17g", x[i], p[i], want);
        continue;
      }
      double rel = fabs(p[i] - want) / want;
      if (rel > worst) worst = rel;
      cr_assert(rel <= CAS_NORM_CDF_MANY_TOL, "x %.17g: %.17g against %.17g, relative %.3g", x[i], p[i],
                want, rel);
    }
    /* a few ulp, and the correction of t that the vector form leaves out,
     * 2 t^2 eps: 1.6e-13 at t = 26.6 */
    cr_assert(worst < 3e-13, "worst relative error %.3g: more than expected", worst);
  }
  double e[5] = {-INFINITY, INFINITY, -1.0, NAN, 0.0}, q[5];
  cas_norm_cdf_many(e, q, 5);
  cr_assert(q[0] == 0.0 && q[1] == 1.0 && isnan(q[3]) && q[4] == 0.5);
}
