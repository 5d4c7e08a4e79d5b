# polder::options: the one place for language level, warnings and sanitizer flags.
add_library(polder_options INTERFACE)
add_library(polder::options ALIAS polder_options)
target_compile_features(polder_options INTERFACE cxx_std_20)
target_compile_options(polder_options INTERFACE -Wall -Wextra)
if(POLDER_WERROR)
  target_compile_options(polder_options INTERFACE -Werror)
endif()
if(POLDER_SANITIZE)
  target_compile_options(polder_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=undefined)
  target_link_options(polder_options INTERFACE -fsanitize=address,undefined)
endif()
if(POLDER_FUZZ)
  # libFuzzer with ASan and UBSan; -fno-sanitize=function: clang 14 cannot assemble coroutine code
  # with it (see STYLE.md), and the fuzz build leaves the Asio session out anyway.
  target_compile_options(polder_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                   -fno-sanitize=function -fno-omit-frame-pointer)
  target_link_options(polder_options INTERFACE -fsanitize=address,undefined)
endif()
# Includes are written from the repository root: #include "crypto/hash.h".
target_include_directories(polder_options INTERFACE ${PROJECT_SOURCE_DIR})
