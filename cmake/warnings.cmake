# Project-wide compiler flags: warnings (errors in CI) and the optional sanitizer build.
function(ivl_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wnull-dereference -Wimplicit-fallthrough
                                           # designated initializers leave members at their defaults on purpose
                                           -Wno-missing-field-initializers
                                           # GCC 12 false positive on "lit" + std::string (GCC bug 105329)
                                           -Wno-restrict)
  if(IVL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(IVL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
