# cmake -DEVENTS=<duplex-example-events> [-DCLI=<duplex> -DKEYS=<directory>]
#       -P check_events.cmake
#
# Runs the demonstration, echoes what it printed, and fails unless it exited 0 and the
# server and the subscribers reported what the demonstration is about. With CLI and KEYS:
# over CURVE, with a key pair `duplex keygen` writes into KEYS (replaced).
if(NOT EVENTS)
  message(FATAL_ERROR "usage: cmake -DEVENTS=<path> -P check_events.cmake")
endif()

set(key_arguments)
set(curve_expected)
if(CLI AND KEYS)
  file(REMOVE_RECURSE "${KEYS}")
  file(MAKE_DIRECTORY "${KEYS}")
  execute_process(COMMAND ${CLI} keygen ${KEYS}/events
    RESULT_VARIABLE keygen_status OUTPUT_QUIET TIMEOUT 30)
  if(NOT keygen_status STREQUAL "0")
    message(FATAL_ERROR "duplex keygen ${KEYS}/events exited with '${keygen_status}'")
  endif()
  set(key_arguments --key ${KEYS}/events)
  set(curve_expected "\\[driver\\] starting [^\n]*, all over CURVE")
endif()

execute_process(COMMAND ${EVENTS} ${key_arguments}
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
    ${curve_expected}
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
