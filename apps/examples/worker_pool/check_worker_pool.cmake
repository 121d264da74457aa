# cmake -DPRODUCER=<duplex-example-worker-pool> -DWORKER=<duplex-example-worker>
#       [-DCLI=<duplex> -DKEYS=<directory>] -P check_worker_pool.cmake
#
# Runs the producer with its defaults (3 workers, 10 000 jobs, one worker hung then killed midway),
# echoes what it printed, and fails unless it exited 0 and reported every job exactly once.
# With CLI and KEYS: over CURVE, with key pairs `duplex keygen` writes into KEYS (replaced).
if(NOT PRODUCER OR NOT WORKER)
  message(FATAL_ERROR "usage: cmake -DPRODUCER=<path> -DWORKER=<path> -P check_worker_pool.cmake")
endif()

set(key_arguments)
set(curve_expected)
if(CLI AND KEYS)
  file(REMOVE_RECURSE "${KEYS}")
  file(MAKE_DIRECTORY "${KEYS}/workers")
  foreach(pair producer workers/worker)
    execute_process(COMMAND ${CLI} keygen ${KEYS}/${pair}
      RESULT_VARIABLE keygen_status OUTPUT_QUIET TIMEOUT 30)
    if(NOT keygen_status STREQUAL "0")
      message(FATAL_ERROR "duplex keygen ${KEYS}/${pair} exited with '${keygen_status}'")
    endif()
  endforeach()
  set(key_arguments --key ${KEYS}/producer --allow ${KEYS}/workers
                    --worker-key ${KEYS}/workers/worker)
  set(curve_expected "producer: CURVE on, public key [^,]+, allowing 1 client keys\n")
endif()

execute_process(COMMAND ${PRODUCER} --worker ${WORKER} ${key_arguments}
  RESULT_VARIABLE exit_status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors
  TIMEOUT 150)
message("${output}")
if(errors)
  message("stderr:\n${errors}")
endif()
if(NOT exit_status STREQUAL "0")
  message(FATAL_ERROR "the producer exited with '${exit_status}', expected 0")
endif()

foreach(expected
    ${curve_expected}
    "killing worker-2 \\(pid [0-9]+\\) with SIGKILL"
    "summary: jobs 10000, results 10000, retries [1-9][0-9]* \\([^)]*unavailable [1-9]"
    "verified: each of the 10000 job ids has exactly one result"
    "worker pool: PASSED")
  if(NOT output MATCHES "${expected}")
    message(FATAL_ERROR "the producer did not print '${expected}'")
  endif()
endforeach()
