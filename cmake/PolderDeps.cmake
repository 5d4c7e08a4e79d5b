# Every third-party dependency comes from a Debian 12 package; nothing is downloaded.
find_package(PkgConfig REQUIRED)
find_package(Protobuf REQUIRED)
find_package(SQLiteCpp CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# GMP's C++ interface: exact big rationals for node/decide (libgmp-dev).
pkg_check_modules(GMPXX REQUIRED IMPORTED_TARGET gmpxx)
if(POLDER_TESTS)
  find_package(GTest REQUIRED)
endif()

# Asio (standalone, header-only) has no CMake or pkg-config file in Debian.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(polder_asio INTERFACE)
add_library(polder::asio ALIAS polder_asio)
target_include_directories(polder_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio decides between aligned_alloc/free and operator new/delete
# for its recycled coroutine frames by a libstdc++ macro that exists only once a standard header
# was included. A file that includes an Asio header first (include sorting does that) then picks
# the other pair, and a frame allocated in one file is freed in another with the wrong function
# (AddressSanitizer: alloc-dealloc-mismatch in tests/sync). One choice for every file.
target_compile_definitions(polder_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                                 ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(polder_asio INTERFACE Threads::Threads)
