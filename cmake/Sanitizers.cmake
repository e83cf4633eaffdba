# ASan + UBSan for the whole tree; UBSan findings abort so ctest sees them.
if(HAIKED_SANITIZE)
    set(_san -fsanitize=address,undefined -fno-sanitize-recover=all
             -fno-omit-frame-pointer)
    add_compile_options(${_san})
    add_link_options(${_san})
endif()

# Fuzz builds: coverage instrumentation for everything (libike above all),
# so libFuzzer sees the decoder's edges, not just the target's own file.
# The fuzz targets add -fsanitize=fuzzer (with libFuzzer's main) themselves.
if(HAIKED_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
