# The diagnostic front end (WARD_DEBUG, WARD_GUARD_SAMPLE, WARD_LEAKS) and ward_check.
list(APPEND WARD_SOURCES
  frontend/diagnose/front.c         # malloc family under the diagnostics: shards, header, canaries, junk
  frontend/diagnose/quarantine.c    # freed blocks wait before reuse; junk checked when they leave
  frontend/diagnose/guard.c         # sampled blocks against guard pages; the fault handler
  frontend/diagnose/leaks.c         # the leak report at exit
  frontend/diagnose/stack_depot.c   # stacks captured without allocating, stored once each
  frontend/diagnose/report.c        # the report of every finding, and the fatal path
  frontend/diagnose/check.c         # ward_check
)
