# The Go programs (bench/go: Go's map on the benchmark's workloads;
# fuzz/go_oracle: Go's map as the harness's second oracle) are vetted and
# tested offline with Debian's Go 1.19: nothing is ever downloaded. Labelled
# tools, so they run in the dev and fuzz test presets.
find_program(GOMAP_GO go PATHS /usr/lib/go-1.19/bin NO_DEFAULT_PATH)
set(_gomap_go_env GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE=${CMAKE_BINARY_DIR}/gocache)
foreach(_dir bench/go fuzz/go_oracle)
  string(REPLACE "/" "_" _name ${_dir})
  if(GOMAP_GO)
    add_test(NAME go_${_name}
      COMMAND ${CMAKE_COMMAND} -E env ${_gomap_go_env} sh -c "${GOMAP_GO} vet . && ${GOMAP_GO} test -count=1 ."
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/${_dir})
  else()
    # Missing Go is a failure, not a skip: ci/bootstrap.sh installs it.
    add_test(NAME go_${_name} COMMAND ${CMAKE_COMMAND} -E echo "Go 1.19 not found in /usr/lib/go-1.19/bin (ci/bootstrap.sh installs golang-1.19-go)")
    set_tests_properties(go_${_name} PROPERTIES WILL_FAIL TRUE)
  endif()
  set_tests_properties(go_${_name} PROPERTIES LABELS "tools;go" TIMEOUT 300)
endforeach()
