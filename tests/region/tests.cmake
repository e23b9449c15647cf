# Region heaps: one model test per policy, then the cross-policy tests.
foreach(fit first next best worst quick tlsf buddy)
  ward_add_test(NAME region_model_${fit} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/model.c
                ARGS ${fit} LABELS api)
endforeach()
ward_add_test(NAME region_coalesce SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/coalesce.c LABELS api)
ward_add_test(NAME region_align SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/align.c LABELS api)
ward_add_test(NAME region_add SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/add.c LABELS api)
ward_add_test(NAME region_relocate SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/relocate.c LABELS api)
ward_add_test(NAME region_api SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/api.c LABELS api)
ward_add_test(NAME region_threads SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/threads.c LABELS threads)
ward_add_test(NAME region_death SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/region/death.c LABELS death)
