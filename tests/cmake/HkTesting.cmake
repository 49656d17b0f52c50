# Helpers for registering hybridkit's CTest tests.

set(HK_TEST_RUN_AS_ROOT_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
set(HK_EXPECT_EXIT ${CMAKE_CURRENT_LIST_DIR}/../expect_exit.sh)

# The test launcher's dialect, from its --version: Open MPI's needs --oversubscribe --bind-to none on
# a 2-core machine; MPICH's Hydra (the MPICH build pass, MPIEXEC_EXECUTABLE=mpiexec.hydra) knows
# neither flag, and neither binds nor refuses more ranks than cores by default.
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _hk_mpiexec_version
                ERROR_VARIABLE _hk_mpiexec_version TIMEOUT 20)
if(_hk_mpiexec_version MATCHES "HYDRA")
  set(HK_TEST_MPI_DIALECT hydra)
  set(HK_TEST_MPIEXEC_FLAGS "")
else()
  set(HK_TEST_MPI_DIALECT openmpi)
  set(HK_TEST_MPIEXEC_FLAGS --oversubscribe --bind-to none)
endif()
message(STATUS "hybridkit tests launch with ${MPIEXEC_EXECUTABLE} (${HK_TEST_MPI_DIALECT})")

# hk_add_mpi_test(NAME n RANKS r THREADS t [LABELS ...] [FIXTURES_SETUP f] [FIXTURES_REQUIRED f] COMMAND exe args...)
# Runs COMMAND under ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} r with OMP_NUM_THREADS=t.
# Ranks are not bound (tests oversubscribe a 2-core machine); binding is tested through `hk run`.
function(hk_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;RANKS;THREADS;TIMEOUT" "COMMAND;LABELS;FIXTURES_SETUP;FIXTURES_REQUIRED" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${T_RANKS} ${HK_TEST_MPIEXEC_FLAGS}
                   ${MPIEXEC_PREFLAGS} ${T_COMMAND} ${MPIEXEC_POSTFLAGS})
  set_tests_properties(${T_NAME} PROPERTIES
    ENVIRONMENT "OMP_NUM_THREADS=${T_THREADS};${HK_TEST_RUN_AS_ROOT_ENV}"
    PROCESSORS ${T_RANKS}
    TIMEOUT ${T_TIMEOUT}
    LABELS "mpi;${T_LABELS}")
  if(T_FIXTURES_SETUP)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_SETUP "${T_FIXTURES_SETUP}")
  endif()
  if(T_FIXTURES_REQUIRED)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES_REQUIRED}")
  endif()
endfunction()

# The SIMD paths a run can be forced to with HK_ISA (kernels/runtime/include/hk/simd.hpp).
set(HK_SIMD_PATHS avx512 avx2 generic)

# hk_add_isa_test(PATH p NAME n <hk_add_mpi_test arguments>): hk_add_mpi_test with HK_ISA=p. On a
# CPU (or an HK_NATIVE build) without path p every rank refuses with "HK_ISA=p: this CPU lacks ..."
# or "... this build has no ...": the test is then reported as skipped, and leaves no record.
function(hk_add_isa_test)
  cmake_parse_arguments(I "" "PATH;NAME" "" ${ARGN})
  hk_add_mpi_test(NAME ${I_NAME} ${I_UNPARSED_ARGUMENTS})
  set_property(TEST ${I_NAME} APPEND PROPERTY ENVIRONMENT "HK_ISA=${I_PATH}")
  set_property(TEST ${I_NAME} APPEND PROPERTY LABELS simd)
  set_tests_properties(${I_NAME} PROPERTIES SKIP_REGULAR_EXPRESSION "HK_ISA=${I_PATH}: this (CPU lacks|build has no)")
endfunction()

# hk_add_exit_test(NAME n CODE c [MATCH regex] [SECONDS s] [LABELS ...] COMMAND exe args...)
# Passes when COMMAND exits with status c within s seconds (default 10) and its output matches regex.
function(hk_add_exit_test)
  cmake_parse_arguments(T "" "NAME;CODE;MATCH;SECONDS" "COMMAND;LABELS" ${ARGN})
  if(NOT T_SECONDS)
    set(T_SECONDS 10)
  endif()
  add_test(NAME ${T_NAME} COMMAND bash ${HK_EXPECT_EXIT} ${T_CODE} "${T_MATCH}" ${T_SECONDS} ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${HK_TEST_RUN_AS_ROOT_ENV}" LABELS "cli;${T_LABELS}")
endfunction()

# hk_add_reset_test(NAME n FILES f... FIXTURE fx): deletes record files before the tests of fixture fx run.
function(hk_add_reset_test)
  cmake_parse_arguments(T "" "NAME;FIXTURE" "FILES" ${ARGN})
  add_test(NAME ${T_NAME} COMMAND ${CMAKE_COMMAND} -E rm -f ${T_FILES})
  set_tests_properties(${T_NAME} PROPERTIES FIXTURES_SETUP ${T_FIXTURE} LABELS records)
endfunction()

# Extra properties of the GoogleTest unit tests. Under HK_SANITIZE they run with LeakSanitizer on:
# they never start MPI. Processes under mpirun keep the asan preset's detect_leaks=0: Open MPI
# dlopen()s its components and dlclose()s them in MPI_Finalize, so the stacks of what they leak
# end in "<unknown module>" frames that no suppression by library name can match (measured on
# Open MPI 4.1.4: every leak report of `mpirun -np 2 hk-kernel montecarlo` was of that kind, or
# inside libmpi/libopen-pal). The fuzz targets (scripts/run-fuzz.sh) also run with leaks on.
if(HK_SANITIZE)
  set(HK_UNIT_TEST_PROPERTIES ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1")
else()
  set(HK_UNIT_TEST_PROPERTIES "")
endif()

# hk_add_cluster_cases(PREFIX p SCRIPT s LABEL l FIXTURE f ENVIRONMENT e... CASES name:seconds...)
# One test p.NAME per case (`bash s NAME`, at most `seconds`), run one at a time, skipped when
# the script exits 77. The first case starts the cluster (FIXTURES_SETUP f), the last stops it
# (FIXTURES_CLEANUP f: it runs also when the cases in between fail), the others need it.
function(hk_add_cluster_cases)
  cmake_parse_arguments(T "" "PREFIX;SCRIPT;LABEL;FIXTURE" "ENVIRONMENT;CASES" ${ARGN})
  list(GET T_CASES 0 _first)
  list(GET T_CASES -1 _last)
  foreach(_case ${T_CASES})
    string(REPLACE ":" ";" _pair ${_case})
    list(GET _pair 0 _name)
    list(GET _pair 1 _seconds)
    add_test(NAME ${T_PREFIX}.${_name} COMMAND bash ${T_SCRIPT} ${_name})
    set_tests_properties(${T_PREFIX}.${_name} PROPERTIES
      ENVIRONMENT "${T_ENVIRONMENT}" LABELS ${T_LABEL} RUN_SERIAL TRUE TIMEOUT ${_seconds} SKIP_RETURN_CODE 77)
    if(_case STREQUAL _first)
      set_tests_properties(${T_PREFIX}.${_name} PROPERTIES FIXTURES_SETUP ${T_FIXTURE})
    elseif(_case STREQUAL _last)
      set_tests_properties(${T_PREFIX}.${_name} PROPERTIES FIXTURES_CLEANUP ${T_FIXTURE})
    else()
      set_tests_properties(${T_PREFIX}.${_name} PROPERTIES FIXTURES_REQUIRED ${T_FIXTURE})
    endif()
  endforeach()
endfunction()
