/*
 * decimal.h: the one grammar for numbers a user writes, in scenario files,
 * CSV books and links, on the command line and in environment variables.
 *
 *   [+|-] ( digits [ . [digits] ] | . digits ) [ (e|E) [+|-] digits ]
 *
 * strtod alone takes more: hexadecimal (0x10 is 16, 0x1p-3 is 0.125),
 * inf, infinity, nan and leading white space. A bank's book or a
 * scenario reviewed by a regulator has no use for those, and 0x10 read
 * silently as 16 CNY is a wrong number, so every reader checks the text
 * against this grammar before converting it (docs/CLI.md, after the exit
 * codes; scenarios/reference.yaml).
 */
#ifndef CASCADE_DECIMAL_H
#define CASCADE_DECIMAL_H

/* 1 if s (all of it) is a decimal number by the grammar above. */
int cas_decimal_syntax(const char *s);

/* A decimal number (cas_decimal_syntax) that converts to a finite double:
 * 1 and *out set, or 0. An underflow gives the correctly rounded tiny
 * value or zero (kept: it is the nearest double); an overflow fails. */
int cas_decimal_parse(const char *s, double *out);

#endif
