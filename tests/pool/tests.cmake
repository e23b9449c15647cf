# Buffer pools.
ward_add_test(NAME pool_api SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pool/api.c LABELS api)
ward_add_test(NAME pool_leaks SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pool/leaks.c LABELS api)
ward_add_test(NAME pool_threads SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pool/threads.c LABELS threads)
ward_add_test(NAME pool_death SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pool/death.c LABELS death)
