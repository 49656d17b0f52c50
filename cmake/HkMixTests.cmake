# The mix matrix of the kit, declared here once: every kernel runs on each of these ranks x
# threads mixes (tests oversubscribe a small machine: ranks are not bound; binding is tested
# through hk run).
set(HK_MIX_RANKS 1 2 3 4)
set(HK_MIX_THREADS 1 2)
set(HK_RUN_SMOKE ${CMAKE_CURRENT_LIST_DIR}/../tests/run_smoke.sh)

# hk_add_mix_tests(KERNEL k CASE c (ARGS arg... | SMOKE) [VARIANTS v...] [SAME pointer...]
#                  [TRUE pointer...] [EXTRA_RECORDS n] [EXTRA_RECORDS_PER_PATH k] [CHECK_NAME name]
#                  [LABELS label...] [TIMEOUT s])
# Every mix of the matrix (and, with VARIANTS, every variant: --variant V) runs
# `hk-kernel k ARGS --out FILE`, FILE = <binary dir>/records/<k>_<c>.jsonl, emptied first by the
# test <k>.<c>.reset. Then <k>.<c>.<CHECK_NAME> (default identical_across_mixes) requires every
# record ok, verified, of the current schema with all its fields, each TRUE pointer true and the
# value at each SAME pointer identical in all of them. In ARGS, @VARIANT@, @RANKS@ and @THREADS@
# stand for the run's own. Test names: <k>.<c>[.<variant>].<R>x<T> (the variant is named when
# there are several). SMOKE instead of ARGS: the kernel's smoke configurations, as
# `hk-kernel list --smoke` reports them, each run on every mix (every kernel gets these).
# In the caller, HK_MIX_RECORDS is the records file and HK_MIX_FIXTURE the fixture prefix, to add
# runs to the same file (FIXTURES_REQUIRED ${HK_MIX_FIXTURE}_reset, FIXTURES_SETUP
# ${HK_MIX_FIXTURE}_runs, and EXTRA_RECORDS for the check's count). EXTRA_RECORDS_PER_PATH k: the
# caller adds k runs per SIMD path forced with HK_ISA (hk_add_isa_test; skipped, no record, where
# the CPU lacks the path): the check expects k more records per path available here and a record
# of each such path (/metrics/isa).
function(hk_add_mix_tests)
  cmake_parse_arguments(M "SMOKE" "KERNEL;CASE;EXTRA_RECORDS;EXTRA_RECORDS_PER_PATH;CHECK_NAME;TIMEOUT"
                        "ARGS;VARIANTS;SAME;TRUE;LABELS" ${ARGN})
  if(NOT M_KERNEL OR NOT M_CASE OR (NOT M_ARGS AND NOT M_SMOKE))
    message(FATAL_ERROR "hk_add_mix_tests: KERNEL, CASE and ARGS (or SMOKE) are required")
  endif()
  if(NOT M_CHECK_NAME)
    set(M_CHECK_NAME identical_across_mixes)
  endif()
  if(NOT M_TIMEOUT)
    set(M_TIMEOUT 120)
  endif()
  if(NOT M_EXTRA_RECORDS)
    set(M_EXTRA_RECORDS 0)
  endif()
  set(_variants ${M_VARIANTS})
  if(NOT _variants)
    set(_variants "-")  # one run per mix, no --variant
  endif()
  set(_records ${CMAKE_CURRENT_BINARY_DIR}/records)
  file(MAKE_DIRECTORY ${_records})
  set(_file ${_records}/${M_KERNEL}_${M_CASE}.jsonl)
  set(_fixture ${M_KERNEL}_${M_CASE})
  hk_add_reset_test(NAME ${M_KERNEL}.${M_CASE}.reset FILES ${_file} ${_records}/${M_KERNEL}_${M_CASE}.csv
                    FIXTURE ${_fixture}_reset)
  list(LENGTH M_VARIANTS _variant_count)
  set(_runs 0)
  foreach(_variant IN LISTS _variants)
    foreach(_ranks IN LISTS HK_MIX_RANKS)
      foreach(_threads IN LISTS HK_MIX_THREADS)
        set(_name ${M_KERNEL}.${M_CASE})
        if(_variant_count GREATER 1)
          string(APPEND _name .${_variant})
        endif()
        string(APPEND _name .${_ranks}x${_threads})
        _hk_mix_run(${_name} ${_ranks} ${_threads} "${_variant}")
        math(EXPR _runs "${_runs} + 1")
      endforeach()
    endforeach()
  endforeach()
  _hk_mix_check()
  set(HK_MIX_RECORDS ${_file} PARENT_SCOPE)
  set(HK_MIX_FIXTURE ${_fixture} PARENT_SCOPE)
endfunction()

# One run of the matrix (variables of hk_add_mix_tests in scope).
macro(_hk_mix_run name ranks threads variant)
  if(M_SMOKE)
    add_test(NAME ${name} COMMAND bash ${HK_RUN_SMOKE} run $<TARGET_FILE:hk-kernel> ${M_KERNEL} ${ranks} ${threads}
                                  ${_file} ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${HK_TEST_MPIEXEC_FLAGS})
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${HK_TEST_RUN_AS_ROOT_ENV}" PROCESSORS ${ranks}
                         TIMEOUT ${M_TIMEOUT} LABELS "mpi;smoke;${M_KERNEL};${M_LABELS}"
                         FIXTURES_REQUIRED ${_fixture}_reset FIXTURES_SETUP ${_fixture}_runs)
  else()
    set(_args ${M_ARGS})
    list(TRANSFORM _args REPLACE "@VARIANT@" "${variant}")
    list(TRANSFORM _args REPLACE "@RANKS@" "${ranks}")
    list(TRANSFORM _args REPLACE "@THREADS@" "${threads}")
    if(NOT "${variant}" STREQUAL "-")
      list(APPEND _args --variant ${variant})
    endif()
    hk_add_mpi_test(NAME ${name} RANKS ${ranks} THREADS ${threads} TIMEOUT ${M_TIMEOUT}
                    LABELS ${M_KERNEL} ${M_LABELS}
                    FIXTURES_REQUIRED ${_fixture}_reset FIXTURES_SETUP ${_fixture}_runs
                    COMMAND $<TARGET_FILE:hk-kernel> ${M_KERNEL} ${_args} --out ${_file})
  endif()
endmacro()

# The check over every record of the case (variables of hk_add_mix_tests in scope).
macro(_hk_mix_check)
  set(_check ${M_KERNEL}.${M_CASE}.${M_CHECK_NAME})
  set(_conditions --status ok --true /verification/passed --complete)
  foreach(_pointer IN LISTS M_TRUE)
    list(APPEND _conditions --true ${_pointer})
  endforeach()
  foreach(_pointer IN LISTS M_SAME)
    list(APPEND _conditions --same ${_pointer})
  endforeach()
  if(M_EXTRA_RECORDS_PER_PATH)
    list(APPEND _conditions --count-per-path ${M_EXTRA_RECORDS_PER_PATH} --each-path /metrics/isa)
  endif()
  if(M_SMOKE)
    list(LENGTH HK_MIX_RANKS _r)
    list(LENGTH HK_MIX_THREADS _t)
    math(EXPR _mixes "${_r} * ${_t}")
    add_test(NAME ${_check} COMMAND bash ${HK_RUN_SMOKE} check $<TARGET_FILE:hk-kernel> ${M_KERNEL} ${_mixes} ${_file}
                                    $<TARGET_FILE:hk-check-records> ${_conditions})
  else()
    math(EXPR _count "${_runs} + ${M_EXTRA_RECORDS}")
    add_test(NAME ${_check} COMMAND hk-check-records ${_file} --count ${_count} ${_conditions})
  endif()
  set_tests_properties(${_check} PROPERTIES FIXTURES_REQUIRED ${_fixture}_runs LABELS "mpi;${M_KERNEL};${M_LABELS}")
endmacro()
