# Writes the git revision header that src/profile/hardware.cc includes, so
# every result names the code that made it. Run by the tc_git_revision target
# at every build (not at configure time: a revision taken then goes stale with
# the next commit). The header is replaced only when its text changes, so an
# unchanged revision recompiles nothing.
#
# In: SOURCE_DIR (the checkout), OUTPUT (the header to write).
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE revision
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT revision)
  set(revision "unknown")
endif()
# A build from uncommitted changes says so ("-dirty"): its revision alone cannot
# reproduce it. --no-optional-locks keeps the check from writing the index
# while others use the checkout.
execute_process(
  COMMAND git --no-optional-locks status --porcelain
  WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE status
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(status AND NOT revision STREQUAL "unknown")
  string(APPEND revision "-dirty")
endif()

set(text "// Generated at build time by cmake/write_git_revision.cmake; do not edit.\n")
string(APPEND text "#pragma once\n#define TC_GIT_REVISION \"${revision}\"\n")
set(previous "")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} previous)
endif()
if(NOT previous STREQUAL text)
  file(WRITE ${OUTPUT} "${text}")
endif()
