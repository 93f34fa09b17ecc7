# cmake -DBUILD_DIR=... -DWORK_DIR=... -DCONSUMER_SOURCE=... -DGENERATOR=... -DBUILD_TYPE=...
#       -DCXX_COMPILER=... [-DCXX_LAUNCHER=...] [-DCXX_FLAGS=...] -P install_and_consume.cmake
# Installs BUILD_DIR into WORK_DIR/prefix, then builds CONSUMER_SOURCE against that prefix and runs it.
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${what} failed (exit status ${rc})")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
# Only the scratch prefix is searched: the consumer must not see the source tree or this build.
run("configuring the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${build} -G ${GENERATOR}
  -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_LAUNCHER} -DCMAKE_CXX_FLAGS=${CXX_FLAGS}
  -DCMAKE_EXE_LINKER_FLAGS=${CXX_FLAGS}
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(NOT run_output MATCHES "seqgrad found in ${prefix}/")
  message(FATAL_ERROR "install test: find_package(seqgrad) did not resolve to ${prefix}")
endif()
run("building the consumer" ${CMAKE_COMMAND} --build ${build})
run("running the consumer" ${build}/consumer)
if(NOT run_output MATCHES "consumer: gradients match")
  message(FATAL_ERROR "install test: the consumer did not report matching gradients")
endif()
run("running the distributed consumer" ${build}/consumer_distributed)
