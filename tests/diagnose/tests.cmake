# Tests of the diagnostics (WARD_DEBUG, WARD_GUARD_SAMPLE, WARD_LEAKS) and
# ward_check: a death test per bug class, the leak report, ward_check, and
# the suite's own programs and real programs with every diagnostic on (no
# false positives).  Included by tests/CMakeLists.txt.
# Label: diagnose.

set(WARD_DIAG_DIR ${CMAKE_CURRENT_SOURCE_DIR}/diagnose)
# every diagnostic at once; sampling often enough to guard many blocks
set(WARD_DIAG_ALL "WARD_DEBUG=1;WARD_GUARD_SAMPLE=7;WARD_LEAKS=1")
# each mode alone, whatever the environment the suite runs in says
set(WARD_DIAG_DEBUG_ONLY "WARD_DEBUG=1;WARD_GUARD_SAMPLE=0;WARD_LEAKS=0")
set(WARD_DIAG_GUARD_ONLY "WARD_DEBUG=0;WARD_GUARD_SAMPLE=1;WARD_LEAKS=0")
set(WARD_DIAG_NONE "WARD_DEBUG=0;WARD_GUARD_SAMPLE=0;WARD_LEAKS=0")

# Stacks name the test programs' functions: -rdynamic exports them to
# dladdr; frames are unwound from .eh_frame, so no frame pointers are needed.
ward_add_test(NAME diag_misuse SOURCES ${WARD_DIAG_DIR}/misuse.c LABELS diagnose)
set_target_properties(diag_misuse PROPERTIES ENABLE_EXPORTS ON)
set_tests_properties(diag_misuse PROPERTIES WILL_FAIL ON) # without a case it prints its usage

set(WARD_DIAG_DEBUG_CASES overflow_one_byte overflow_realloc underflow_one_byte write_after_free
    double_free_debug double_free_large_debug double_free_huge_debug invalid_free_stack interior_free)
set(WARD_DIAG_GUARD_CASES read_after_free_guarded overflow_guarded underflow_guarded
    underflow_guarded_in_page overflow_guarded_slack double_free_guarded)
foreach(case IN LISTS WARD_DIAG_DEBUG_CASES)
  add_test(NAME diag_misuse_${case} COMMAND diag_misuse ${case})
  set_tests_properties(diag_misuse_${case} PROPERTIES ENVIRONMENT "${WARD_DIAG_DEBUG_ONLY}")
endforeach()
foreach(case IN LISTS WARD_DIAG_GUARD_CASES)
  add_test(NAME diag_misuse_${case} COMMAND diag_misuse ${case})
  set_tests_properties(diag_misuse_${case} PROPERTIES ENVIRONMENT "${WARD_DIAG_GUARD_ONLY}")
endforeach()
add_test(NAME diag_misuse_clean_debug COMMAND diag_misuse clean)
set_tests_properties(diag_misuse_clean_debug PROPERTIES ENVIRONMENT "${WARD_DIAG_DEBUG_ONLY}")
add_test(NAME diag_misuse_clean_guard_all COMMAND diag_misuse clean)
set_tests_properties(diag_misuse_clean_guard_all PROPERTIES ENVIRONMENT "${WARD_DIAG_GUARD_ONLY}")
add_test(NAME diag_misuse_clean_all COMMAND diag_misuse clean)
set_tests_properties(diag_misuse_clean_all PROPERTIES ENVIRONMENT "${WARD_DIAG_ALL}")
foreach(case IN LISTS WARD_DIAG_DEBUG_CASES WARD_DIAG_GUARD_CASES ITEMS clean_debug clean_guard_all clean_all)
  set_property(TEST diag_misuse_${case} APPEND PROPERTY LABELS diagnose death)
  set_property(TEST diag_misuse_${case} PROPERTY TIMEOUT 120)
endforeach()

# ward_check, in each mode
ward_add_test(NAME diag_check SOURCES ${WARD_DIAG_DIR}/check.c LABELS diagnose)
set_tests_properties(diag_check PROPERTIES LABELS diagnose ENVIRONMENT "${WARD_DIAG_NONE}") # no diagnostic: the core's walk
add_test(NAME diag_check_debug COMMAND diag_check)
add_test(NAME diag_check_guard COMMAND diag_check)
add_test(NAME diag_check_all COMMAND diag_check)
set_tests_properties(diag_check_debug PROPERTIES ENVIRONMENT "${WARD_DIAG_DEBUG_ONLY}" LABELS diagnose)
set_tests_properties(diag_check_guard PROPERTIES ENVIRONMENT "${WARD_DIAG_GUARD_ONLY}" LABELS diagnose)
set_tests_properties(diag_check_all PROPERTIES ENVIRONMENT "${WARD_DIAG_ALL}" LABELS diagnose)

# the leak report names the leaking function and the bytes
add_executable(diag_leaky ${WARD_DIAG_DIR}/leaky.c)
target_link_libraries(diag_leaky PRIVATE ward)
set_target_properties(diag_leaky PROPERTIES ENABLE_EXPORTS ON)
add_test(NAME diag_leaks COMMAND sh ${WARD_DIAG_DIR}/leaks.sh $<TARGET_FILE:diag_leaky>)
set_tests_properties(diag_leaks PROPERTIES LABELS diagnose TIMEOUT 60 ENVIRONMENT "${WARD_DIAG_NONE}")

# No false positives: the core's own tests with every diagnostic on.
# (not the tests that check size classes and per-class counters: a block
# under the diagnostics is a bigger core block)
foreach(core_test core_api_calloc core_api_aligned core_api_heap core_model core_threads core_fork)
  add_test(NAME diag_all_${core_test} COMMAND ${core_test})
  set_tests_properties(diag_all_${core_test} PROPERTIES ENVIRONMENT "${WARD_DIAG_ALL}"
                       LABELS diagnose TIMEOUT 300 SKIP_RETURN_CODE 77)
endforeach()

# ... and real programs (python3, sort, xz) under LD_PRELOAD: the same
# output; the leak report goes to stderr, which the script keeps apart.
if(WARD_OVERRIDE AND WARD_SANITIZE STREQUAL "")
  add_test(NAME diag_all_preload_programs
           COMMAND sh ${PROJECT_SOURCE_DIR}/tests/core/preload_programs.sh $<TARGET_FILE:ward>
                   ${CMAKE_CURRENT_BINARY_DIR}/diagnose-work/preload_programs)
  set_tests_properties(diag_all_preload_programs PROPERTIES ENVIRONMENT "WARD_DEBUG=1;WARD_GUARD_SAMPLE=50;WARD_LEAKS=1"
                       LABELS "diagnose;preload" TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

if(WARD_OVERRIDE AND WARD_BUILD_TOOLS AND WARD_SANITIZE STREQUAL "")
  add_test(NAME diag_ward_run
           COMMAND sh ${WARD_DIAG_DIR}/ward_run.sh ${PROJECT_BINARY_DIR}/tools/ward $<TARGET_FILE:diag_leaky>)
  set_tests_properties(diag_ward_run PROPERTIES LABELS "diagnose;preload" TIMEOUT 120)
endif()
