/* Address conversions and the RFC 3948 datagram classification (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

enum net_class net_classify(uint16_t local_port, const uint8_t *data, size_t len, size_t *off)
{
    *off = 0;
    if (local_port != IKE_PORT_NATT)
        return NET_CLASS_IKE; /* 500: IKE only; the decoder judges the length */
    if (len == 1 && data[0] == 0xff)
        return NET_CLASS_KEEPALIVE;
    if (len < 4)
        return NET_CLASS_TRUNCATED;
    if (data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 0) {
        *off = 4;
        return NET_CLASS_IKE;
    }
    /* ESP: SPI and sequence number at least (RFC 4303 §2). */
    return len < 8 ? NET_CLASS_TRUNCATED : NET_CLASS_ESP;
}

void net_addr_from_sockaddr(struct ike_addr *out, const struct sockaddr_storage *ss)
{
    memset(out, 0, sizeof(*out));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        out->family = IKE_AF_INET;
        memcpy(out->addr, &sin->sin_addr, 4);
        out->port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            out->family = IKE_AF_INET;
            memcpy(out->addr, sin6->sin6_addr.s6_addr + 12, 4);
        } else {
            out->family = IKE_AF_INET6;
            memcpy(out->addr, &sin6->sin6_addr, 16);
        }
        out->port = ntohs(sin6->sin6_port);
    }
}

size_t net_addr_to_sockaddr(const struct ike_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == IKE_AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, a->addr, 4);
        sin->sin_port = htons(a->port);
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    memcpy(&sin6->sin6_addr, a->addr, 16);
    sin6->sin6_port = htons(a->port);
    return sizeof(*sin6);
}

int net_addr_parse(const char *text, struct ike_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, a->addr) == 1) {
        a->family = IKE_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, a->addr) == 1) {
        a->family = IKE_AF_INET6;
        return 0;
    }
    return -1;
}

bool net_addr_is_any(const struct ike_addr *a)
{
    if (a->family != IKE_AF_INET && a->family != IKE_AF_INET6)
        return true;
    size_t n = a->family == IKE_AF_INET ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        if (a->addr[i])
            return false;
    return true;
}

bool net_addr_same_host(const struct ike_addr *a, const struct ike_addr *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->addr, b->addr, a->family == IKE_AF_INET ? 4 : 16) == 0;
}
