# Writes the version header for the commit the tree is at now. Run at every
# build (not only at configure time), so that the commit recorded in result
# files is never stale; the file is rewritten only when its text changes, so
# an unchanged commit triggers no rebuild.
execute_process(COMMAND git describe --always --dirty --abbrev=12
                WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE CASCADE_GIT OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT CASCADE_GIT)
  set(CASCADE_GIT "unknown")
endif()
# A tree with uncommitted changes gets a fingerprint of them (the diff
# against HEAD and the untracked, not ignored files with their contents),
# so that two different uncommitted trees never record the same version:
# a batch does not reuse, and verify does not accept, results of other code.
if(CASCADE_GIT MATCHES "-dirty$")
  execute_process(COMMAND git diff HEAD --binary WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE CASCADE_DIFF ERROR_QUIET)
  execute_process(COMMAND git ls-files --others --exclude-standard WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE CASCADE_UNTRACKED OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  set(CASCADE_FINGERPRINT "${CASCADE_DIFF}")
  if(CASCADE_UNTRACKED)
    string(REPLACE "\n" ";" CASCADE_UNTRACKED "${CASCADE_UNTRACKED}")
    foreach(f IN LISTS CASCADE_UNTRACKED)
      if(EXISTS "${SRC}/${f}" AND NOT IS_DIRECTORY "${SRC}/${f}")
        file(SHA256 "${SRC}/${f}" h)
        string(APPEND CASCADE_FINGERPRINT "\n${f} ${h}")
      endif()
    endforeach()
  endif()
  string(SHA256 CASCADE_FINGERPRINT_HASH "${CASCADE_FINGERPRINT}")
  string(SUBSTRING "${CASCADE_FINGERPRINT_HASH}" 0 8 CASCADE_FINGERPRINT_HASH)
  set(CASCADE_GIT "${CASCADE_GIT}.${CASCADE_FINGERPRINT_HASH}")
endif()
set(PROJECT_VERSION ${VERSION})
configure_file(${SRC}/sim/core/version.h.in ${OUT} @ONLY)
