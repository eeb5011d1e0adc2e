/*
 * svg.h: the report's plots as inline SVG, written as text into a cas_buf.
 *
 * Two chart types cover every plot of the report: lines (histograms drawn
 * as steps, exceedance curves on a log axis, values along any axis) and
 * horizontal grouped bars (one group per category, one bar per scenario).
 * Series k always has colour k of one palette, so a scenario has the same
 * colour in every plot of a report. Every string is escaped; non-finite
 * values are skipped (lines break there, bars are left out). Each chart is
 * one <svg class="plot"> element with a viewBox, so it scales with the page.
 */
#ifndef CASCADE_SVG_H
#define CASCADE_SVG_H

#include <stddef.h>

#include "textbuf.h"

/* Colour of series k (CSS hex): black for series 0 (the baseline), then
 * a cycle of 9 colours led by the palette for colour-blind readers of
 * Okabe & Ito (2008, "Color universal design"). */
const char *cas_svg_colour(size_t k);

typedef struct cas_svg_series {
  const char *name;  /* legend text (escaped when written) */
  const double *x;   /* n points; with step: n + 1 bin edges */
  const double *y;   /* n values */
  size_t n;
  size_t colour;     /* palette index */
} cas_svg_series;

typedef struct cas_svg_axes {
  const char *xlabel, *ylabel; /* axis titles (escaped) */
  int log_y;         /* logarithmic y axis (values <= 0 skipped) */
  int step;          /* draw series as histograms: x holds n + 1 edges */
  int percent_y;     /* y tick labels as percentages of 1 */
} cas_svg_axes;

/* A line chart of ns series. */
void cas_svg_lines(cas_buf *b, const cas_svg_axes *ax, const cas_svg_series *s, size_t ns);

/* Horizontal grouped bars: ncat categories (rows), nser series per
 * category; values[c * nser + k] is category c, series k (NAN: absent). */
void cas_svg_bars(cas_buf *b, const char *xlabel, const char *const *cats, size_t ncat,
                  const char *const *series, const size_t *colours, size_t nser,
                  const double *values, int percent);

/* n as text: up to 4 significant digits, thousands separated by commas
 * for large values, "n/a" when not finite. */
void cas_svg_format(double v, char *out, size_t size);

#endif
