# ctest -P script: build one (EXCLUDE_FROM_ALL) target of the current build tree,
# then run it; the test fails if either step fails. Used by readme_example.
#
# Inputs (-D): BUILD_DIR, BUILD_CONFIG (may be empty), BUILD_TARGET, RUN_EXE
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR BUILD_TARGET RUN_EXE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "build_and_run.cmake: -D${var}=... is required")
  endif()
endforeach()

set(config_args)
if(NOT "${BUILD_CONFIG}" STREQUAL "")
  set(config_args --config ${BUILD_CONFIG})
endif()

execute_process(
  COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${BUILD_TARGET} ${config_args}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${BUILD_TARGET} failed (${rc})")
endif()

execute_process(COMMAND ${RUN_EXE} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${RUN_EXE} exited with ${rc}")
endif()
