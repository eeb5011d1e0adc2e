/*
 * decimal.c: the decimal number grammar (decimal.h).
 */
#include "decimal.h"

#include <math.h>
#include <stdlib.h>

static int digit(char c) { return c >= '0' && c <= '9'; }

int cas_decimal_syntax(const char *s) {
  if (!s) return 0;
  const char *c = s;
  if (*c == '+' || *c == '-') c++;
  int digits = 0;
  while (digit(*c)) c++, digits++;
  if (*c == '.') {
    c++;
    while (digit(*c)) c++, digits++;
  }
  if (!digits) return 0;
  if (*c == 'e' || *c == 'E') {
    c++;
    if (*c == '+' || *c == '-') c++;
    if (!digit(*c)) return 0;
    while (digit(*c)) c++;
  }
  return *c == '\0';
}

int cas_decimal_parse(const char *s, double *out) {
  if (!cas_decimal_syntax(s)) return 0;
  double v = strtod(s, NULL);
  if (!isfinite(v)) return 0;
  *out = v;
  return 1;
}
