# ctest -P script behind the engine_package_consumer test.
#
# 1. cmake --install <GOMAP_BINARY_DIR> --prefix <WORK_DIR>/prefix
# 2. configure + build <CONSUMER_SOURCE_DIR> (find_package(gomap REQUIRED)) with the
#    parent build's C++ compiler and flags, against that prefix only
# 3. run the consumer executable; any failure fails the test.
#
# Inputs (-D): GOMAP_BINARY_DIR, GOMAP_CONFIG, CONSUMER_SOURCE_DIR, WORK_DIR,
#              CONSUMER_GENERATOR, CONSUMER_CXX_COMPILER, CONSUMER_CXX_FLAGS,
#              CONSUMER_EXE_LINKER_FLAGS
cmake_minimum_required(VERSION 3.25)

foreach(var GOMAP_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR CONSUMER_CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "test_package.cmake: -D${var}=... is required")
  endif()
endforeach()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step name)
  message(STATUS "[package_consumer] ${name}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[package_consumer] ${name} failed (${rc})")
  endif()
endfunction()

set(config_args)
if(NOT "${GOMAP_CONFIG}" STREQUAL "")
  set(config_args --config ${GOMAP_CONFIG})
endif()

run_step(install ${CMAKE_COMMAND} --install ${GOMAP_BINARY_DIR} --prefix ${prefix} ${config_args})

if(NOT EXISTS ${prefix}/include/gomap/map.hpp)
  message(FATAL_ERROR "[package_consumer] install did not provide include/gomap/map.hpp "
                      "(engine/include/gomap/map.hpp missing?)")
endif()

set(gen_args)
if(NOT "${CONSUMER_GENERATOR}" STREQUAL "")
  set(gen_args -G ${CONSUMER_GENERATOR})
endif()
set(type_args)
if(NOT "${GOMAP_CONFIG}" STREQUAL "")
  set(type_args -DCMAKE_BUILD_TYPE=${GOMAP_CONFIG})
endif()

run_step(configure ${CMAKE_COMMAND}
  -S ${CONSUMER_SOURCE_DIR} -B ${build} ${gen_args} ${type_args}
  -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}
  "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_EXE_LINKER_FLAGS}"
  -DCMAKE_PREFIX_PATH=${prefix}
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)

# Make sure the package came from the scratch prefix, not from somewhere else.
file(STRINGS ${build}/CMakeCache.txt found_dir REGEX "^gomap_DIR:")
string(REGEX REPLACE "^gomap_DIR:[A-Z]+=" "" found_dir "${found_dir}")
file(REAL_PATH "${found_dir}" found_dir)
file(REAL_PATH "${prefix}" real_prefix)
string(FIND "${found_dir}" "${real_prefix}/" pos)
if(NOT pos EQUAL 0)
  message(FATAL_ERROR "[package_consumer] gomap was found in '${found_dir}', not under '${real_prefix}'")
endif()

run_step(build ${CMAKE_COMMAND} --build ${build} ${config_args} --parallel 2)

set(exe ${build}/gomap_package_consumer)
if(NOT EXISTS ${exe} AND NOT "${GOMAP_CONFIG}" STREQUAL "")
  set(exe ${build}/${GOMAP_CONFIG}/gomap_package_consumer)   # multi-config generators
endif()
run_step(run ${exe})
message(STATUS "[package_consumer] OK")
