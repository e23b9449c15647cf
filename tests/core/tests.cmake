# Tests of the core allocator: the ward_malloc family, first-class heaps,
# statistics and options, threads and fork, misuse, the drop-in override,
# the `ward run` tool, the installed package and the sanitizer builds.
# Included by tests/CMakeLists.txt (ward_add_test, Threads::Threads).

set(WARD_CORE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/core)
set(WARD_CORE_WORK ${CMAKE_CURRENT_BINARY_DIR}/core-work)
# Tests exit with 77 when something they need is missing (said in their output).
set(WARD_SKIP_CODE 77)

# ---- conformance (also run in the AddressSanitizer build) ----
ward_add_test(NAME core_api_malloc SOURCES ${WARD_CORE_DIR}/api_malloc.c LABELS api)
ward_add_test(NAME core_api_calloc SOURCES ${WARD_CORE_DIR}/api_calloc.c LABELS api)
ward_add_test(NAME core_api_realloc SOURCES ${WARD_CORE_DIR}/api_realloc.c LABELS api)
ward_add_test(NAME core_api_aligned SOURCES ${WARD_CORE_DIR}/api_aligned.c LABELS api)
ward_add_test(NAME core_api_heap SOURCES ${WARD_CORE_DIR}/api_heap.c LABELS api threads)
ward_add_test(NAME core_api_stats SOURCES ${WARD_CORE_DIR}/api_stats.c LABELS api)
ward_add_test(NAME core_api_options SOURCES ${WARD_CORE_DIR}/api_options.c LABELS api)
ward_add_test(NAME core_exhaustion SOURCES ${WARD_CORE_DIR}/exhaustion.c LABELS api)
ward_add_test(NAME core_model SOURCES ${WARD_CORE_DIR}/model.c LABELS api TIMEOUT 300)

# ---- threads (also run in the ThreadSanitizer build) ----
ward_add_test(NAME core_threads SOURCES ${WARD_CORE_DIR}/threads.c LABELS threads TIMEOUT 300)
ward_add_test(NAME core_fork SOURCES ${WARD_CORE_DIR}/fork.c LABELS threads TIMEOUT 300)

# ---- misuse: one test per case; core_death alone checks the death-test checks ----
ward_add_test(NAME core_death SOURCES ${WARD_CORE_DIR}/death.c LABELS death)
set(WARD_DEATH_CASES
  free_stack free_static free_foreign_mapping free_foreign_aligned
  free_interior_small free_interior_large free_interior_huge
  realloc_stack realloc_foreign_mapping realloc_interior
  usable_size_foreign usable_size_interior
  double_free_small double_free_small_busy_page double_free_large double_free_huge
  double_free_aligned double_free_cross_thread double_free_remote_after_local double_free_heap
  double_free_local_after_remote double_free_remote_while_reused double_free_after_write_after_free
  double_free_hidden_by_reuse
  write_after_free_into_cached_block
  free_sized_small_wrong free_sized_too_big free_sized_large_wrong free_sized_huge_wrong free_aligned_sized_wrong
  clean_churn clean_cross_thread clean_heap clean_aligned)
if(WARD_HARDEN)
  list(APPEND WARD_DEATH_CASES overflow_into_free_link write_after_free_into_link)
endif()
foreach(case IN LISTS WARD_DEATH_CASES)
  add_test(NAME core_death_${case} COMMAND core_death ${case})
  set_tests_properties(core_death_${case} PROPERTIES LABELS death TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()

# ---- metadata next to another mapping's memory is protected ----
ward_add_test(NAME core_metadata_guard SOURCES ${WARD_CORE_DIR}/metadata_guard.c LABELS death)
set_tests_properties(core_metadata_guard PROPERTIES SKIP_RETURN_CODE 77)
if(NOT WARD_HARDEN)
  target_compile_definitions(core_metadata_guard PRIVATE WARD_TEST_NO_HARDEN)
endif()

# ---- the drop-in override: linked, preloaded, and real programs ----
if(WARD_OVERRIDE AND WARD_SANITIZE STREQUAL "")
  ward_add_test(NAME core_override_linked SOURCES ${WARD_CORE_DIR}/override_names.c LABELS preload)
  target_link_libraries(core_override_linked PRIVATE ${CMAKE_DL_LIBS})
  # the test checks errno after failed malloc calls: clang would otherwise assume
  # that the builtin malloc family leaves errno alone
  target_compile_options(core_override_linked PRIVATE -fno-builtin)

  # programs that do not link ward: it arrives through LD_PRELOAD or dlopen
  foreach(program override_names preload_program dlopen_host)
    add_executable(core_${program}_plain ${WARD_CORE_DIR}/${program}.c)
    target_include_directories(core_${program}_plain PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    target_compile_definitions(core_${program}_plain PRIVATE _GNU_SOURCE)
    target_link_libraries(core_${program}_plain PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
    target_compile_options(core_${program}_plain PRIVATE -fno-builtin)
  endforeach()
  add_library(core_preload_lib MODULE ${WARD_CORE_DIR}/preload_lib.c)
  add_library(core_uses_ward_lib MODULE ${WARD_CORE_DIR}/uses_ward_lib.c)
  target_link_libraries(core_uses_ward_lib PRIVATE ward Threads::Threads)
  # the project hides symbols by default; these libraries exist to export some
  set_target_properties(core_preload_lib core_uses_ward_lib PROPERTIES C_VISIBILITY_PRESET default)
  target_compile_definitions(core_preload_lib PRIVATE _GNU_SOURCE)
  target_compile_definitions(core_uses_ward_lib PRIVATE _GNU_SOURCE)

  add_test(NAME core_override_preload
           COMMAND ${CMAKE_COMMAND} -E env LD_PRELOAD=$<TARGET_FILE:ward>
                   $<TARGET_FILE:core_override_names_plain>)
  add_test(NAME core_preload_lifecycle
           COMMAND ${CMAKE_COMMAND} -E env LD_PRELOAD=$<TARGET_FILE:ward>
                   $<TARGET_FILE:core_preload_program_plain> $<TARGET_FILE:core_preload_lib>)
  add_test(NAME core_dlopen_ward_local
           COMMAND core_dlopen_host_plain $<TARGET_FILE:core_uses_ward_lib> local)
  add_test(NAME core_dlopen_ward_global
           COMMAND core_dlopen_host_plain $<TARGET_FILE:core_uses_ward_lib> global)
  add_test(NAME core_preload_programs
           COMMAND sh ${WARD_CORE_DIR}/preload_programs.sh $<TARGET_FILE:ward>
                   ${WARD_CORE_WORK}/preload_programs)
  set_tests_properties(core_override_preload core_preload_lifecycle core_dlopen_ward_local
                       core_dlopen_ward_global core_preload_programs
                       PROPERTIES LABELS preload TIMEOUT 300 SKIP_RETURN_CODE ${WARD_SKIP_CODE})

  if(WARD_BUILD_TOOLS)
    add_test(NAME core_ward_run
             COMMAND sh ${WARD_CORE_DIR}/ward_run.sh ${PROJECT_BINARY_DIR}/tools/ward
                     ${WARD_CORE_WORK}/ward_run)
    set_tests_properties(core_ward_run PROPERTIES LABELS preload TIMEOUT 120)
  endif()
endif()

# ---- the installed package, and the sanitizer builds (top-level build only) ----
if(WARD_SANITIZE STREQUAL "")
  add_test(NAME core_package
           COMMAND sh ${WARD_CORE_DIR}/package.sh ${PROJECT_BINARY_DIR} ${CMAKE_C_COMPILER}
                   ${WARD_CORE_WORK}/package)
  set_tests_properties(core_package PROPERTIES LABELS package TIMEOUT 300
                       SKIP_RETURN_CODE ${WARD_SKIP_CODE})

  # Each rebuilds everything with -j2: never both at once on a small machine.
  add_test(NAME core_sanitize_address
           COMMAND sh ${WARD_CORE_DIR}/sanitize.sh address ${PROJECT_SOURCE_DIR}
                   ${PROJECT_BINARY_DIR}/sanitize-address ${CMAKE_C_COMPILER} api)
  add_test(NAME core_sanitize_thread
           COMMAND sh ${WARD_CORE_DIR}/sanitize.sh thread ${PROJECT_SOURCE_DIR}
                   ${PROJECT_BINARY_DIR}/sanitize-thread ${CMAKE_C_COMPILER} threads)
  set_tests_properties(core_sanitize_address core_sanitize_thread PROPERTIES
                       LABELS sanitize TIMEOUT 900 RESOURCE_LOCK ward_sanitizer_build
                       SKIP_RETURN_CODE ${WARD_SKIP_CODE})
endif()

set_tests_properties(core_api_malloc core_api_calloc core_api_realloc core_api_aligned core_api_heap
                     core_api_stats core_exhaustion core_model core_threads core_fork core_death
                     PROPERTIES SKIP_RETURN_CODE ${WARD_SKIP_CODE})
