#include <stdio.h>
#include <stdlib.h>

#include "helper_hex.h"

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool hex_separator(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':';
}

bool helper_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int hi = -1;
    *len = 0;
    for (const char *p = hex; *p; p++) {
        if (hex_separator(*p))
            continue;
        int v = hex_digit(*p);
        if (v < 0)
            return false;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return false;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0)
        return false;
    *len = n;
    return true;
}

size_t helper_hex_must(const char *hex, uint8_t *out, size_t cap, const char *file, int line)
{
    size_t n;
    if (!helper_hex_decode(hex, out, cap, &n)) {
        fprintf(stderr, "%s:%d: bad hex vector (or longer than %zu octets): %.60s\n", file,
                line, cap, hex);
        abort();
    }
    return n;
}
