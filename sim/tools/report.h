/*
 * report.h: one self-contained HTML page comparing result files with a
 * baseline, for people who review stress tests (docs/REPORT.md).
 *
 * The page is built from what each file declares (dimension scales, units,
 * long_name, `_se` partners), not from a list of known datasets, so
 * datasets added to the result format later are shown without changes
 * here. It has no external resources: CSS, plots (SVG) and one small
 * script that checks the plots were drawn are inline.
 */
#ifndef CASCADE_REPORT_H
#define CASCADE_REPORT_H

#include <stddef.h>

#include "error.h"

typedef struct cas_report_options {
  const char *const *inputs; /* result files, the baseline first */
  size_t ninputs;
  const char *output;        /* HTML file, written under a temporary name and renamed */
  const char *command_line;  /* recorded in the page */
} cas_report_options;

/* Reads every input, then writes the page. Bad input (missing file, not
 * HDF5, not a cascade result) is CAS_ERR_INPUT naming the file, and no
 * output is written; a file that cannot be written is CAS_ERR_IO. */
cas_status cas_report_write(const cas_report_options *opt, cas_error *err);

#endif
