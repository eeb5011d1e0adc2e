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
set(PROJECT_VERSION ${VERSION})
configure_file(${SRC}/sim/version.h.in ${OUT} @ONLY)
