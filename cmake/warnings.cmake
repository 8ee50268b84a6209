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
  # float-cast-overflow is not part of GCC's "undefined": a NaN or out-of-range float converted
  # to an integer (a quantizer fed a NaN weight did that) is caught only with it named.
  add_compile_options(-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined,float-cast-overflow)
endif()
