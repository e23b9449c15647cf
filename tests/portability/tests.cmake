# The library builds for aarch64 (cross compiler from Debian), warning-free.
add_test(NAME portability_aarch64
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/portability/cross_aarch64.sh ${PROJECT_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/portability-aarch64)
set_tests_properties(portability_aarch64 PROPERTIES LABELS portability TIMEOUT 600 SKIP_RETURN_CODE 77)
