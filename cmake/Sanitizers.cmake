# ASan + UBSan for the whole tree; UBSan findings abort so ctest sees them.
if(HAIKED_SANITIZE)
    set(_san -fsanitize=address,undefined -fno-sanitize-recover=all
             -fno-omit-frame-pointer)
    add_compile_options(${_san})
    add_link_options(${_san})
endif()
