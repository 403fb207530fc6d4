# Third-party dependencies, all from Debian packages (see README.md for the apt line).
find_package(nlohmann_json 3.10 REQUIRED)
find_package(absl REQUIRED)
find_package(Threads REQUIRED)
# libjpeg-turbo and libpng: runtime/vision decodes image files.
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)
if(MVC_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
# FFmpeg's libraries: runtime/vision decodes video files (Debian's libav*-dev).
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
find_library(UTF8PROC_LIBRARY NAMES utf8proc REQUIRED)
find_path(UTF8PROC_INCLUDE_DIR utf8proc.h REQUIRED)
add_library(mvc_utf8proc INTERFACE)
target_link_libraries(mvc_utf8proc INTERFACE ${UTF8PROC_LIBRARY})
target_include_directories(mvc_utf8proc INTERFACE ${UTF8PROC_INCLUDE_DIR})

if(MVC_BUILD_COMPILER)
  set(MVC_LLVM_ROOT /usr/lib/llvm-22 CACHE PATH "LLVM/MLIR 22 install prefix")
  find_package(MLIR REQUIRED CONFIG HINTS ${MVC_LLVM_ROOT}/lib/cmake/mlir)
  message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")
  list(APPEND CMAKE_MODULE_PATH ${MLIR_CMAKE_DIR} ${LLVM_CMAKE_DIR})
  include(TableGen)
  include(AddLLVM)
  include(AddMLIR)
  # MLIR and LLVM are used only by targets that ask for them (mvc_link_mlir); the runtime
  # include path stays clean.
  set(MVC_MLIR_INCLUDE_DIRS ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
  find_program(MVC_LIT lit HINTS ${MVC_LLVM_ROOT}/bin REQUIRED)
  find_program(MVC_FILECHECK FileCheck HINTS ${MVC_LLVM_ROOT}/bin REQUIRED)
endif()
# zlib: the tests read the compressed fixtures the project carries (tests/fixtures/**/*.gz).
find_package(ZLIB REQUIRED)
