# cmake -DEVENTS=<duplex-example-events> -P check_events.cmake
#
# Runs the demonstration, echoes what it printed, and fails unless it exited 0 and the
# server and the subscribers reported what the demonstration is about.
if(NOT EVENTS)
  message(FATAL_ERROR "usage: cmake -DEVENTS=<path> -P check_events.cmake")
endif()

execute_process(COMMAND ${EVENTS}
  RESULT_VARIABLE exit_status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors
  TIMEOUT 150)
message("${output}")
if(errors)
  message("stderr:\n${errors}")
endif()
if(NOT exit_status STREQUAL "0")
  message(FATAL_ERROR "duplex-example-events exited with '${exit_status}', expected 0")
endif()

foreach(expected
    "\\[server\\] carol left \\(cancelled: [^\n]*\\); active subscriptions: 3"
    "\\[carol\\] received events 1..4, all in order"
    "\\[server\\] dave left \\(unavailable: [^\n]*\\); active subscriptions: 2"
    "\\[driver\\] published #12, delivered to 2 subscribers"
    "\\[alice\\] received events 1..12, all in order"
    "\\[bob\\] received events 1..12, all in order"
    "\\[driver\\] the server counts 0 subscriptions"
    "\\[driver\\] PASSED")
  if(NOT output MATCHES "${expected}")
    message(FATAL_ERROR "duplex-example-events did not print '${expected}'")
  endif()
endforeach()
