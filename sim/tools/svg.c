/*
 * svg.c: line and bar charts as SVG text (svg.h).
 *
 * Axis ticks follow the "nice numbers" method of P. Heckbert, "Nice numbers
 * for graph labels", Graphics Gems (1990): a step of 1, 2 or 5 times a
 * power of ten such that about five ticks span the data. Everything else is
 * plain geometry: data coordinates are mapped linearly (or through log10)
 * onto the plot area inside fixed margins.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const palette[10] = {"#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                        "#E69F00", "#56B4E9", "#8C6D1F", "#999999", "#332288"};

/* black is the baseline's alone: later series cycle through the rest */
const char *cas_svg_colour(size_t k) { return palette[k == 0 ? 0 : 1 + (k - 1) % 9]; }

enum { W = 600, ML = 78, MR = 16, MT = 14 };

void cas_svg_format(double v, char *out, size_t size) {
  if (!isfinite(v)) {
    snprintf(out, size, "n/a");
    return;
  }
  double a = fabs(v);
  if (a >= 1e4 && a < 1e15) {
    /* integer with thousands separators */
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", a);
    char tmp[48];
    size_t nd = strlen(digits), j = 0;
    if (v < 0) tmp[j++] = '-';
    for (size_t i = 0; i < nd; i++) {
      if (i && (nd - i) % 3 == 0) tmp[j++] = ',';
      tmp[j++] = digits[i];
    }
    tmp[j] = '\0';
    snprintf(out, size, "%s", tmp);
  } else if (a >= 1e15 || (a > 0 && a < 1e-3)) {
    snprintf(out, size, "%.3g", v);
  } else {
    snprintf(out, size, "%.4g", v);
  }
}

static double nice(double x, int round) {
  double e = floor(log10(x)), f = x / pow(10, e), nf;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * pow(10, e);
}

/* Widens [*lo, *hi] to nice tick bounds; returns the tick step. */
static double nice_range(double *lo, double *hi) {
  if (!isfinite(*hi - *lo) || (*hi - *lo) < 1e-9 * fmax(fabs(*lo), fabs(*hi))) {
    /* empty, degenerate or unplottable span: centre what there is */
    double mid = isfinite(*hi - *lo) ? 0.5 * (*lo + *hi) : 0;
    *lo = mid;
    *hi = mid;
  }
  if (!(*hi > *lo)) {
    double d = *lo != 0 ? fabs(*lo) * 0.1 : 1;
    *lo -= d;
    *hi += d;
  }
  double range = nice(*hi - *lo, 0);
  double step = nice(range / 4, 1);
  *lo = floor(*lo / step) * step;
  *hi = ceil(*hi / step) * step;
  return step;
}

static void tick_label(double v, int percent, char *out, size_t size) {
  if (percent) {
    char t[40];
    cas_svg_format(100 * v, t, sizeof t);
    snprintf(out, size, "%s%%", t);
  } else {
    cas_svg_format(fabs(v) < 1e-12 ? 0 : v, out, size);
  }
}

static void legend(cas_buf *b, const char *const *names, const size_t *colours, size_t n, int y0) {
  int x = ML, y = y0;
  for (size_t k = 0; k < n; k++) {
    int w = 26 + 7 * (int)strlen(names[k] ? names[k] : "");
    if (x + w > W - MR && x > ML) {
      x = ML;
      y += 16;
    }
    cas_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/>", x, y - 9,
                   cas_svg_colour(colours[k]));
    cas_buf_printf(b, "<text x=\"%d\" y=\"%d\">", x + 18, y);
    cas_buf_put_escaped(b, names[k]);
    cas_buf_put(b, "</text>");
    x += w;
  }
}

static int legend_height(const char *const *names, size_t n) {
  int x = ML, rows = 1;
  for (size_t k = 0; k < n; k++) {
    int w = 26 + 7 * (int)strlen(names[k] ? names[k] : "");
    if (x + w > W - MR && x > ML) {
      x = ML;
      rows++;
    }
    x += w;
  }
  return 16 * rows + 6;
}

void cas_svg_lines(cas_buf *b, const cas_svg_axes *ax, const cas_svg_series *s, size_t ns) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t k = 0; k < ns; k++) {
    size_t nx = ax->step ? s[k].n + 1 : s[k].n;
    for (size_t i = 0; i < nx; i++)
      if (isfinite(s[k].x[i])) {
        if (s[k].x[i] < xlo) xlo = s[k].x[i];
        if (s[k].x[i] > xhi) xhi = s[k].x[i];
      }
    for (size_t i = 0; i < s[k].n; i++) {
      double y = s[k].y[i];
      if (!isfinite(y) || (ax->log_y && y <= 0)) continue;
      if (y < ylo) ylo = y;
      if (y > yhi) yhi = y;
    }
  }
  if (!isfinite(xlo)) xlo = 0, xhi = 1;
  if (!isfinite(ylo)) ylo = ax->log_y ? 0.1 : 0, yhi = 1;
  double xstep = nice_range(&xlo, &xhi), ystep = 1;
  if (ax->log_y) {
    ylo = pow(10, floor(log10(ylo)));
    yhi = pow(10, ceil(log10(yhi)));
    if (yhi <= ylo) yhi = ylo * 10;
  } else {
    if (ylo > 0 && ax->step) ylo = 0;
    ystep = nice_range(&ylo, &yhi);
  }
  const char *names[64];
  size_t colours[64], nl = ns < 64 ? ns : 64;
  for (size_t k = 0; k < nl; k++) names[k] = s[k].name, colours[k] = s[k].colour;
  int lh = legend_height(names, nl);
  int ph = 260, h = MT + lh + ph + 44;
  int top = MT + lh, bottom = top + ph, left = ML, right = W - MR;
  double yl = ax->log_y ? log10(ylo) : ylo, yh = ax->log_y ? log10(yhi) : yhi;
#define PX(x) (left + ((x) - xlo) / (xhi - xlo) * (right - left))
#define PY(y) (bottom - (((ax->log_y ? log10(y) : (y))) - yl) / (yh - yl) * (bottom - top))
  cas_buf_printf(b, "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                    "width=\"%d\" height=\"%d\" role=\"img\">", W, h, W, h);
  legend(b, names, colours, nl, MT + 10);
  /* grid and ticks */
  cas_buf_put(b, "<g class=\"axis\">");
  char t[48];
  if (ax->log_y) {
    for (double e = yl; e <= yh + 1e-9 && e <= yl + 40; e += 1) {
      double y = PY(pow(10, e));
      cas_buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", left, y, right, y);
      cas_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>", left - 6, y + 4, (int)lround(e));
    }
  } else {
    int nt = (int)lround((yhi - ylo) / ystep);
    for (int i = 0; i <= nt && i <= 50; i++) {
      double v = ylo + i * ystep, y = PY(v);
      tick_label(v, ax->percent_y, t, sizeof t);
      cas_buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>", left, y, right, y);
      cas_buf_printf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", left - 6, y + 4, t);
    }
  }
  int ntx = (int)lround((xhi - xlo) / xstep);
  for (int i = 0; i <= ntx && i <= 50; i++) {
    double v = xlo + i * xstep, x = PX(v);
    tick_label(v, 0, t, sizeof t);
    cas_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"tick\"/>", x, bottom, x, bottom + 5);
    cas_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, bottom + 18, t);
  }
  cas_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>", left, top,
                 right - left, bottom - top);
  cas_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (left + right) / 2, bottom + 38);
  cas_buf_put_escaped(b, ax->xlabel);
  cas_buf_printf(b, "</text><text transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\">",
                 (top + bottom) / 2);
  cas_buf_put_escaped(b, ax->ylabel);
  cas_buf_put(b, "</text></g>");
  /* series */
  for (size_t k = 0; k < ns; k++) {
    const cas_svg_series *se = &s[k];
    int open = 0;
    for (size_t i = 0; i < se->n; i++) {
      double y = se->y[i];
      int ok = isfinite(y) && isfinite(se->x[i]) && !(ax->log_y && y <= 0) &&
               (!ax->step || isfinite(se->x[i + 1]));
      if (!ok) {
        if (open) cas_buf_put(b, "\"/>");
        open = 0;
        continue;
      }
      if (!open) {
        cas_buf_printf(b, "<polyline class=\"series\" stroke=\"%s\" points=\"", cas_svg_colour(se->colour));
        open = 1;
      }
      if (ax->step)
        cas_buf_printf(b, "%.1f,%.1f %.1f,%.1f ", PX(se->x[i]), PY(y), PX(se->x[i + 1]), PY(y));
      else
        cas_buf_printf(b, "%.1f,%.1f ", PX(se->x[i]), PY(y));
    }
    if (open) cas_buf_put(b, "\"/>");
    /* markers where points are few: a lone finite point stays visible */
    if (!ax->step && se->n <= 40)
      for (size_t i = 0; i < se->n; i++) {
        double y = se->y[i];
        if (!isfinite(y) || !isfinite(se->x[i]) || (ax->log_y && y <= 0)) continue;
        cas_buf_printf(b, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", PX(se->x[i]),
                       PY(y), cas_svg_colour(se->colour));
      }
  }
#undef PX
#undef PY
  cas_buf_put(b, "</svg>");
}

void cas_svg_bars(cas_buf *b, const char *xlabel, const char *const *cats, size_t ncat,
                  const char *const *series, const size_t *colours, size_t nser,
                  const double *values, int percent) {
  double lo = 0, hi = 0;
  for (size_t i = 0; i < ncat * nser; i++)
    if (isfinite(values[i])) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
  double step = nice_range(&lo, &hi);
  int barh = nser > 4 ? 8 : 12, gap = 10;
  int cat_left = 170; /* room for category names */
  int lh = legend_height(series, nser);
  int top = MT + lh, ph = (int)ncat * ((int)nser * barh + gap), bottom = top + ph;
  int left = cat_left, right = W - MR, h = bottom + 44;
#define PX(v) (left + ((v) - lo) / (hi - lo) * (right - left))
  cas_buf_printf(b, "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                    "width=\"%d\" height=\"%d\" role=\"img\">", W, h, W, h);
  legend(b, series, colours, nser, MT + 10);
  cas_buf_put(b, "<g class=\"axis\">");
  char t[48];
  int nt = (int)lround((hi - lo) / step);
  for (int i = 0; i <= nt && i <= 50; i++) {
    double v = lo + i * step, x = PX(v);
    tick_label(v, percent, t, sizeof t);
    cas_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>", x, top, x, bottom);
    cas_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, bottom + 18, t);
  }
  cas_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (left + right) / 2, bottom + 38);
  cas_buf_put_escaped(b, xlabel);
  cas_buf_put(b, "</text>");
  for (size_t c = 0; c < ncat; c++) {
    int y0 = top + (int)c * ((int)nser * barh + gap) + gap / 2;
    cas_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y0 + (int)nser * barh / 2 + 4);
    cas_buf_put_escaped(b, cats[c]);
    cas_buf_put(b, "</text>");
  }
  cas_buf_put(b, "</g>");
  double x0 = PX(0.0);
  for (size_t c = 0; c < ncat; c++) {
    int y0 = top + (int)c * ((int)nser * barh + gap) + gap / 2;
    for (size_t k = 0; k < nser; k++) {
      double v = values[c * nser + k];
      if (!isfinite(v)) continue;
      double x = PX(v), xa = x < x0 ? x : x0, w = fabs(x - x0);
      tick_label(v, percent, t, sizeof t);
      cas_buf_printf(b, "<rect class=\"bar\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>",
                     xa, y0 + (int)k * barh, w < 0.5 ? 0.5 : w, barh - 1, cas_svg_colour(colours[k]));
      cas_buf_put_escaped(b, series[k]);
      cas_buf_put(b, ": ");
      cas_buf_put(b, t);
      cas_buf_put(b, "</title></rect>");
    }
  }
  cas_buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"zero\"/>", x0, top, x0, bottom);
#undef PX
  cas_buf_put(b, "</svg>");
}
