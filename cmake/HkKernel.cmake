# A kernel is one folder: kernels/<name>/ with a CMakeLists.txt that calls hk_add_kernel().
# kernels/CMakeLists.txt adds every such folder (no list to edit); the kernel registers itself in
# C++ (HK_REGISTER_KERNEL), and everything else follows from the folder:
#   - its sources are linked into hk-kernel, hk and the tests (the hk_kernels OBJECT library);
#   - its smoke configurations (Kernel::smoke_configs, `hk-kernel list --smoke`) drive the mix
#     tests every kernel gets (<name>.smoke.RxT), the ThreadSanitizer run and the CLI fuzz seeds;
#   - kernels/<name>/tests/CMakeLists.txt, if there is one, adds the kernel's own tests (the only
#     subfolder with a CMakeLists.txt a kernel may have: another name is refused, not skipped).
# See docs/adding-a-kernel.md.

# hk_add_kernel(NAME name SOURCES file... [LIBRARIES target...] [INCLUDE_DIRECTORIES dir...])
# NAME must be the name the kernel registers with HK_REGISTER_KERNEL (the tests check it).
function(hk_add_kernel)
  cmake_parse_arguments(K "" "NAME" "SOURCES;LIBRARIES;INCLUDE_DIRECTORIES" ${ARGN})
  if(NOT K_NAME OR NOT K_SOURCES)
    message(FATAL_ERROR "hk_add_kernel: NAME and SOURCES are required (in ${CMAKE_CURRENT_SOURCE_DIR})")
  endif()
  if(NOT K_NAME MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "hk_add_kernel: NAME '${K_NAME}' must be lower-case letters, digits and _")
  endif()
  get_property(_known GLOBAL PROPERTY HK_KERNELS)
  if(K_NAME IN_LIST _known)
    message(FATAL_ERROR "hk_add_kernel: a kernel named '${K_NAME}' is already added")
  endif()
  target_sources(hk_kernels PRIVATE ${K_SOURCES})
  target_include_directories(hk_kernels PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${K_INCLUDE_DIRECTORIES})
  if(K_LIBRARIES)
    target_link_libraries(hk_kernels PUBLIC ${K_LIBRARIES})
  endif()
  file(GLOB _subfolders LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
  foreach(_sub IN LISTS _subfolders)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_sub}/CMakeLists.txt AND NOT _sub STREQUAL "tests")
      message(FATAL_ERROR "kernel ${K_NAME}: ${_sub}/ has a CMakeLists.txt; a kernel's tests go in tests/ "
                          "(the only subfolder that is added)")
    endif()
  endforeach()
  set_property(GLOBAL APPEND PROPERTY HK_KERNELS ${K_NAME})
  set_property(GLOBAL APPEND PROPERTY HK_KERNEL_DIRS ${CMAKE_CURRENT_SOURCE_DIR})
endfunction()

# hk_add_subfolders(DIR [EXCEPT name...] [REQUIRED]): add_subdirectory of every folder of DIR that
# has a CMakeLists.txt, in name order: the folders are found, never listed. REQUIRED: a folder
# without one is reported (kernels/), else it is a data or helper folder (tests/data, tests/cmake).
function(hk_add_subfolders dir)
  cmake_parse_arguments(S "REQUIRED" "" "EXCEPT" ${ARGN})
  file(GLOB _children LIST_DIRECTORIES true RELATIVE ${dir} ${dir}/*)
  list(SORT _children)
  foreach(_child IN LISTS _children)
    if(NOT IS_DIRECTORY ${dir}/${_child} OR _child IN_LIST S_EXCEPT)
      continue()
    endif()
    if(EXISTS ${dir}/${_child}/CMakeLists.txt)
      add_subdirectory(${dir}/${_child})
    elseif(S_REQUIRED)
      message(WARNING "${dir}/${_child} has no CMakeLists.txt: not built (remove the folder or add one)")
    endif()
  endforeach()
endfunction()
