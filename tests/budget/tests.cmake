# Tests of budgets: limits, the reserve, reclaim callbacks, the OOM policy
# and the low-memory killer, pressure levels, the accounting modes, memory
# returned to the OS (ward_collect, the background reclaimer) and the
# cgroup limit.  Included by tests/CMakeLists.txt.

set(WARD_BUDGET_DIR ${CMAKE_CURRENT_SOURCE_DIR}/budget)

# ---- conformance (also run in the AddressSanitizer build) ----
ward_add_test(NAME budget_api SOURCES ${WARD_BUDGET_DIR}/api.c LABELS api)
ward_add_test(NAME budget_limit SOURCES ${WARD_BUDGET_DIR}/limit.c LABELS api)
ward_add_test(NAME budget_reclaimers SOURCES ${WARD_BUDGET_DIR}/reclaimers.c LABELS api)
ward_add_test(NAME budget_oom SOURCES ${WARD_BUDGET_DIR}/oom.c LABELS api)
ward_add_test(NAME budget_pressure SOURCES ${WARD_BUDGET_DIR}/pressure.c LABELS api)

# ---- threads (also run in the ThreadSanitizer build) ----
ward_add_test(NAME budget_threads SOURCES ${WARD_BUDGET_DIR}/threads.c LABELS threads)
# the same with the background reclaimer working beside the threads
add_test(NAME budget_threads_background COMMAND budget_threads)
set_tests_properties(budget_threads_background PROPERTIES LABELS threads TIMEOUT 120 SKIP_RETURN_CODE 77
                     ENVIRONMENT "WARD_BACKGROUND=1")

# ---- the kernel's view: RSS, cgroup, address space (not under sanitizers,
#      whose shadow memory the RSS figures would include) ----
if(WARD_SANITIZE STREQUAL "")
  ward_add_test(NAME budget_rss SOURCES ${WARD_BUDGET_DIR}/rss.c LABELS budget)
  ward_add_test(NAME budget_background SOURCES ${WARD_BUDGET_DIR}/background.c LABELS budget)
  set_tests_properties(budget_background PROPERTIES ENVIRONMENT "WARD_BACKGROUND=1")
  ward_add_test(NAME budget_cgroup SOURCES ${WARD_BUDGET_DIR}/cgroup.c LABELS budget)
  ward_add_test(NAME budget_overcommit SOURCES ${WARD_BUDGET_DIR}/overcommit.c LABELS budget)
  add_executable(budget_env_probe ${WARD_BUDGET_DIR}/env_probe.c)
  target_link_libraries(budget_env_probe PRIVATE ward)
  add_test(NAME budget_options_env COMMAND sh ${WARD_BUDGET_DIR}/options_env.sh $<TARGET_FILE:budget_env_probe>
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(budget_options_env PROPERTIES LABELS budget TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()

set_tests_properties(budget_api budget_limit budget_reclaimers budget_oom budget_pressure budget_threads
                     PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
if(WARD_SANITIZE STREQUAL "")
  set_tests_properties(budget_rss budget_background budget_cgroup budget_overcommit
                       PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()

# ---- the cache server example under `ward run --limit` ----
if(WARD_SANITIZE STREQUAL "" AND WARD_OVERRIDE AND WARD_BUILD_TOOLS AND WARD_BUILD_EXAMPLES)
  add_test(NAME budget_cache_server
           COMMAND sh ${WARD_BUDGET_DIR}/cache_server.sh ${PROJECT_BINARY_DIR}/tools/ward
                   $<TARGET_FILE:cache_server> ${CMAKE_CURRENT_BINARY_DIR}/budget-work/cache_server)
  set_tests_properties(budget_cache_server PROPERTIES LABELS "budget;preload" TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
