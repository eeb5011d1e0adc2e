/*
 * test_h5scan.c: the scan of a result file behind `cascade report`
 * (h5scan.h) leaves nothing open in HDF5, even on a crafted file.
 *
 * A result whose dataset `loss` has a dimension list that refers to a named
 * datatype instead of a dimension scale (found by fuzz_result): HDF5's
 * H5DSiterate_scales hands the datatype to the callback and then fails to
 * close it as a dataset; the scan closes it itself, so that after
 * cas_h5_close no HDF5 identifier is left (a leaked one keeps the file's
 * metadata cached for the next file opened under the same name).
 */
#include <criterion/criterion.h>

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5scan.h"
#include "seal.h"
#include "support.h"

static ssize_t open_ids(void) {
  return H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
}

Test(h5scan, a_dimension_list_naming_a_datatype_leaves_nothing_open) {
  char dir[] = "/tmp/test_h5scan_XXXXXX", path[128];
  cas_test_small_result(dir, path, sizeof path, 100, 1000);
  cas_error err = {0};

  /* the plain file: scanned, then nothing open */
  cas_h5_file *f = NULL;
  cr_assert_eq(cas_h5_open(path, &f, &err), CAS_OK, "%s", err.msg);
  cas_h5_close(f);
  cr_assert_eq(open_ids(), 0);

  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  cr_assert(file >= 0);
  hid_t t = H5Tcopy(H5T_NATIVE_DOUBLE);
  cr_assert(H5Tcommit2(file, "dt", t, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) >= 0);
  H5Tclose(t);
  hobj_ref_t ref;
  cr_assert(H5Rcreate(&ref, file, "dt", H5R_OBJECT, -1) >= 0);
  hid_t d = H5Dopen2(file, "loss", H5P_DEFAULT);
  cr_assert(d >= 0);
  cr_assert(H5Adelete(d, "DIMENSION_LIST") >= 0);
  hid_t vt = H5Tvlen_create(H5T_STD_REF_OBJ);
  hsize_t one = 1;
  hid_t sp = H5Screate_simple(1, &one, NULL);
  hid_t a = H5Acreate2(d, "DIMENSION_LIST", vt, sp, H5P_DEFAULT, H5P_DEFAULT);
  hvl_t list = {1, &ref};
  cr_assert(a >= 0 && H5Awrite(a, vt, &list) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(vt);
  H5Dclose(d);
  H5Fclose(file);
  cr_assert_eq(open_ids(), 0);
  cr_assert_eq(cas_seal_write(path, path, &err), CAS_OK, "%s", err.msg); /* as a crafted file */

  f = NULL;
  cas_status st = cas_h5_open(path, &f, &err);
  cr_assert(st == CAS_OK || st == CAS_ERR_INPUT, "status %d: %s", (int)st, err.msg);
  cas_h5_close(f);
  cr_assert_eq(open_ids(), 0, "HDF5 identifiers left open after the scan");

  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}
