# cmake -DDEMO=<path to duplex-demo> -DSTEPS=<number of steps> -P check_demo.cmake
#
# Runs the demo, echoes what it printed, and fails unless it exited 0 and printed the
# "step N ok" milestone of every step, in order, and the final line.
if(NOT DEMO OR NOT STEPS)
  message(FATAL_ERROR "usage: cmake -DDEMO=<duplex-demo> -DSTEPS=<n> -P check_demo.cmake")
endif()

execute_process(COMMAND ${DEMO}
  RESULT_VARIABLE exit_status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors
  TIMEOUT 100)
message("${output}")
if(errors)
  message("stderr:\n${errors}")
endif()
if(NOT exit_status STREQUAL "0")
  message(FATAL_ERROR "duplex-demo exited with '${exit_status}', expected 0")
endif()

set(rest "${output}")
foreach(step RANGE 1 ${STEPS})
  string(FIND "${rest}" "step ${step} ok: " at)
  if(at EQUAL -1)
    message(FATAL_ERROR "duplex-demo did not print the milestone 'step ${step} ok' (in order)")
  endif()
  string(SUBSTRING "${rest}" ${at} -1 rest)
endforeach()
string(FIND "${rest}" "duplex-demo: all ${STEPS} steps passed" at)
if(at EQUAL -1)
  message(FATAL_ERROR "duplex-demo did not print its final line")
endif()
