# cmake -DPROGRAM=... -DARGS="a;b" -DEXIT_CODE=n -DEXPECT="regex1;regex2" -P expect_output.cmake
# Runs PROGRAM ARGS and fails unless it exits with EXIT_CODE and, for every regex, some whole line of
# its standard output matches it.
execute_process(COMMAND ${PROGRAM} ${ARGS} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc STREQUAL "${EXIT_CODE}")
  message(FATAL_ERROR "expected exit status ${EXIT_CODE}, got ${rc}")
endif()
foreach(pattern IN LISTS EXPECT)
  if(NOT out MATCHES "(^|\n)${pattern}\n")
    message(FATAL_ERROR "no output line matches: ${pattern}")
  endif()
endforeach()
