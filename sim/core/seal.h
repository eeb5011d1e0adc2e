/*
 * seal.h: a result file that says whether it is still the one cascade wrote.
 *
 * A result file is an HDF5 file behind a user block of CAS_SEAL_BYTES bytes
 * (HDF5's place for an application's own header, skipped by every HDF5
 * reader: h5py, h5dump, xarray). Once HDF5 has closed the file, cascade
 * writes its seal there, in plain text:
 *
 *   cascade-result-seal 1
 *   sha256 <64 lowercase hex digits>
 *   bytes <decimal>
 *
 * followed by NUL bytes up to CAS_SEAL_BYTES: the SHA-256 and the length of
 * everything after the user block. Readers check the seal before HDF5
 * parses a byte, so a file truncated, damaged (a flipped bit, a bad disk)
 * or changed since (an attribute added with h5py) is refused with a clear
 * message, instead of being read as numbers or handed to HDF5's parser,
 * which crashes on some damaged files (docs/FUZZING.md).
 *
 * The seal is not a signature: anyone can write a file with a valid seal.
 * It stops accidents, not forgeries; the crash guard of the reading commands
 * (docs/CLI.md) and the readers' own checks deal with crafted files.
 *
 * Files written before the seal (cascade 0.3 and earlier) start with HDF5's
 * signature at byte 0: they are "unsealed" and read as before, with HDF5's
 * and the readers' checks only.
 */
#ifndef CASCADE_SEAL_H
#define CASCADE_SEAL_H

#include "error.h"

enum { CAS_SEAL_BYTES = 512 };

/* Writes the seal into the user block of the closed HDF5 file at path (a
 * temporary, before its rename; created with a user block of
 * CAS_SEAL_BYTES, all zero, or holding an earlier seal, which is replaced).
 * name is the final file's name, for messages. CAS_ERR_IO naming it and the
 * cause if the file cannot be read or written back, or its first
 * CAS_SEAL_BYTES hold anything else (EINVAL). */
cas_status cas_seal_write(const char *path, const char *name, cas_error *err);

typedef enum { CAS_SEAL_NONE = 0, CAS_SEAL_INTACT = 1 } cas_seal_state;

/* Checks the file at path before it is opened with HDF5: CAS_OK with
 * *state CAS_SEAL_INTACT (a seal that matches the content) or
 * CAS_SEAL_NONE (an HDF5 file with no user block, from before the seal).
 * Anything else is CAS_ERR_INPUT naming the file and what was found: not a
 * regular file, too short, neither a seal nor HDF5's signature at its
 * start, a seal that does not parse, a length or a digest that do not
 * match (got X, expected Y). Never reads more than the file's length. The
 * last file found intact is remembered by device, inode, size and times of
 * last modification and change, and not hashed again while they hold (one
 * command opens the same result several times); not thread-safe. */
cas_status cas_seal_check(const char *path, cas_seal_state *state, cas_error *err);

#endif
