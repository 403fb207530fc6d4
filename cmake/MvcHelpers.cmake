# mvc_link_mlir(target): give a compiler-side target MLIR/LLVM (shared libraries, so links are
# instant). Runtime targets must never call this; tests/runtime_no_mlir checks the binaries.
function(mvc_link_mlir target)
  target_include_directories(${target} SYSTEM PUBLIC ${MVC_MLIR_INCLUDE_DIRS})
  # LLVM_DEFINITIONS is one string of -D flags; as a single item it would become one
  # malformed define.
  separate_arguments(llvm_definitions NATIVE_COMMAND "${LLVM_DEFINITIONS}")
  target_compile_definitions(${target} PUBLIC ${llvm_definitions})
  target_link_libraries(${target} PUBLIC MLIR LLVM)
  if(NOT LLVM_ENABLE_RTTI)
    target_compile_options(${target} PRIVATE -fno-rtti)
  endif()
endfunction()

# mvc_gtest(name SOURCES ... LIBS ...): a gtest binary registered with ctest.
function(mvc_gtest name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT MVC_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
endfunction()
