# Region heaps: the public face, the two engines, one file per placement policy.
list(APPEND WARD_SOURCES
  frontend/region/region.c       # API, lock, areas, statistics, policy table
  frontend/region/blocks.c       # list engine: split, merge, boundary tags, check
  frontend/region/fit_first.c
  frontend/region/fit_next.c
  frontend/region/fit_best.c
  frontend/region/fit_worst.c
  frontend/region/fit_quick.c
  frontend/region/fit_tlsf.c
  frontend/region/fit_buddy.c    # buddy engine and policy
)
