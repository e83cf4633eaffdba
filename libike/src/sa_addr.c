/* struct ike_addr helpers: text form for logs and comparison. */
#include <stdio.h>
#include <string.h>

#include <ike/ctx.h>

static void v6_str(const uint8_t *a, char *buf, size_t size)
{
    /* Longest run of zero groups (>= 2) becomes "::" (RFC 5952). */
    size_t best = 8, best_len = 0;
    for (size_t i = 0; i < 8;) {
        size_t j = i;
        while (j < 8 && a[2 * j] == 0 && a[2 * j + 1] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < 8 && n < size; i++) {
        if (i == best) {
            n += (size_t)snprintf(buf + n, size - n, "::");
            i += best_len - 1;
            continue;
        }
        unsigned g = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        bool sep = i > 0 && i != best + best_len;
        n += (size_t)snprintf(buf + n, size - n, "%s%x", sep ? ":" : "", g);
    }
}

char *ike_addr_str(const struct ike_addr *a, char *buf, size_t size)
{
    if (!size)
        return buf;
    if (a->family == IKE_AF_INET) {
        snprintf(buf, size, "%u.%u.%u.%u:%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3],
                 a->port);
    } else if (a->family == IKE_AF_INET6) {
        char h[48];
        v6_str(a->addr, h, sizeof(h));
        snprintf(buf, size, "[%s]:%u", h, a->port);
    } else {
        snprintf(buf, size, "(family %u)", a->family);
    }
    return buf;
}

bool ike_addr_equal(const struct ike_addr *a, const struct ike_addr *b)
{
    size_t n = a->family == IKE_AF_INET ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, n) == 0;
}
