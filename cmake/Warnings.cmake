# The warning set of STYLE.md, for every target of the project.
add_compile_options(
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wformat=2 -Wno-unused-parameter)
if(HAIKED_WERROR)
    add_compile_options(-Werror)
endif()
# glibc wants this for the *_r helpers and explicit_bzero-like functions.
add_compile_definitions(_GNU_SOURCE)
