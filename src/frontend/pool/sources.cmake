# Buffer pools: get/put, chunks and validation; the per-thread caches.
list(APPEND WARD_SOURCES
  frontend/pool/pool.c
  frontend/pool/cache.c
)
