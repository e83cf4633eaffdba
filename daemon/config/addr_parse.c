/*
 * Address, selector and identity syntax of haiked.conf. Only literals are
 * accepted: a VPN gateway that silently depends on DNS at (re)load time is
 * a gateway that comes up differently on each node of a cluster.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ike/const.h>

#include "config/addr_parse.h"

int cfg_addr_parse(const char *s, struct ike_addr *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->port = IKE_PORT;
    if (inet_pton(AF_INET, s, out->addr) == 1) {
        out->family = IKE_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->addr) == 1) {
        out->family = IKE_AF_INET6;
        return 0;
    }
    snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", s);
    return -1;
}

bool cfg_addr_is_zero(const struct ike_addr *a)
{
    size_t len = a->family == IKE_AF_INET ? 4 : 16;
    for (size_t i = 0; i < len; i++)
        if (a->addr[i])
            return false;
    return true;
}

static size_t family_len(uint8_t family)
{
    return family == IKE_AF_INET ? 4 : 16;
}

/* Parses a literal of either family into 16 octets; 0 or -1. */
static int addr_literal(const char *s, uint8_t addr[16], uint8_t *family)
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, s, addr) == 1) {
        *family = IKE_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, addr) == 1) {
        *family = IKE_AF_INET6;
        return 0;
    }
    return -1;
}

static void ts_init(struct ike_ts *ts, uint8_t family)
{
    memset(ts, 0, sizeof(*ts));
    ts->type = family == IKE_AF_INET ? IKE_TS_IPV4_ADDR_RANGE : IKE_TS_IPV6_ADDR_RANGE;
    ts->ip_proto = 0;
    ts->start_port = 0;
    ts->end_port = 0xffff;
}

static int subnet_prefix(const char *s, const char *slash, struct ike_ts *ts, uint8_t *family,
                         char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    size_t hl = (size_t)(slash - s);
    uint8_t addr[16];
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "'%s' is not a subnet", s);
        return -1;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (addr_literal(host, addr, family) != 0) {
        snprintf(err, errlen, "'%s': '%s' is not an IPv4 or IPv6 address", s, host);
        return -1;
    }
    size_t alen = family_len(*family);
    char *end;
    errno = 0;
    unsigned long plen = strtoul(slash + 1, &end, 10);
    if (!isdigit((unsigned char)slash[1]) || *end || errno || plen > alen * 8) {
        snprintf(err, errlen, "'%s': prefix length must be 0..%zu", s, alen * 8);
        return -1;
    }
    ts_init(ts, *family);
    bool host_bits = false;
    for (size_t i = 0; i < alen; i++) {
        size_t bits = plen > i * 8 ? plen - i * 8 : 0;
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        host_bits |= (addr[i] & (uint8_t)~mask) != 0;
        ts->start_addr[i] = addr[i] & mask;
        ts->end_addr[i] = addr[i] | (uint8_t)~mask;
    }
    if (host_bits) {
        char net[INET6_ADDRSTRLEN];
        inet_ntop(*family == IKE_AF_INET ? AF_INET : AF_INET6, ts->start_addr, net, sizeof(net));
        snprintf(err, errlen, "'%s' has host bits set (did you mean %s/%lu?)", s, net, plen);
        return -1;
    }
    return 0;
}

static int subnet_range(const char *s, const char *dash, struct ike_ts *ts, uint8_t *family,
                        char *err, size_t errlen)
{
    char first[INET6_ADDRSTRLEN + 1];
    size_t fl = (size_t)(dash - s);
    uint8_t a[16], b[16], fb;
    if (fl >= sizeof(first)) {
        snprintf(err, errlen, "'%s' is not an address range", s);
        return -1;
    }
    memcpy(first, s, fl);
    first[fl] = '\0';
    if (addr_literal(first, a, family) != 0 || addr_literal(dash + 1, b, &fb) != 0) {
        snprintf(err, errlen, "'%s' is not an address range (ADDR-ADDR)", s);
        return -1;
    }
    if (fb != *family) {
        snprintf(err, errlen, "'%s' mixes IPv4 and IPv6", s);
        return -1;
    }
    if (memcmp(a, b, family_len(*family)) > 0) {
        snprintf(err, errlen, "'%s': range start is above its end", s);
        return -1;
    }
    ts_init(ts, *family);
    memcpy(ts->start_addr, a, 16);
    memcpy(ts->end_addr, b, 16);
    return 0;
}

int cfg_subnet_parse(const char *s, struct ike_ts *ts, uint8_t *family, char *err, size_t errlen)
{
    const char *slash = strchr(s, '/');
    if (slash)
        return subnet_prefix(s, slash, ts, family, err, errlen);
    const char *dash = strchr(s, '-');
    if (dash)
        return subnet_range(s, dash, ts, family, err, errlen);
    uint8_t a[16];
    if (addr_literal(s, a, family) != 0) {
        snprintf(err, errlen, "'%s' is not a subnet, range or address", s);
        return -1;
    }
    ts_init(ts, *family);
    memcpy(ts->start_addr, a, 16);
    memcpy(ts->end_addr, a, 16);
    return 0;
}

static const struct {
    const char *name;
    uint8_t proto;
} protos[] = {
    {"any", 0},  {"icmp", 1},       {"tcp", 6},     {"udp", 17},   {"gre", 47},
    {"esp", 50}, {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136},
};

int cfg_proto_parse(const char *s, uint8_t *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (strcasecmp(s, protos[i].name) == 0) {
            *out = protos[i].proto;
            return 0;
        }
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!isdigit((unsigned char)s[0]) || *end || errno || v > 255) {
        snprintf(err, errlen,
                 "unknown protocol '%s' (a name such as tcp, udp, icmp, sctp, or 0..255)", s);
        return -1;
    }
    *out = (uint8_t)v;
    return 0;
}

static int port_num(const char *s, const char *stop, uint16_t *out)
{
    if (s == stop || !isdigit((unsigned char)*s))
        return -1;
    unsigned long v = 0;
    for (; s < stop; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 65535)
            return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

int cfg_port_range_parse(const char *s, uint16_t *start, uint16_t *end, char *err, size_t errlen)
{
    const char *dash = strchr(s, '-');
    const char *stop = s + strlen(s);
    int rc = dash ? (port_num(s, dash, start) | port_num(dash + 1, stop, end))
                  : port_num(s, stop, start);
    if (rc != 0) {
        snprintf(err, errlen, "'%s' is not a port or port range (0..65535, e.g. 1000-2000)", s);
        return -1;
    }
    if (!dash)
        *end = *start;
    if (*start > *end) {
        snprintf(err, errlen, "port range '%s': start is above its end", s);
        return -1;
    }
    return 0;
}

void cfg_id_from_addr(const struct ike_addr *a, struct ike_cfg_id *out)
{
    memset(out, 0, sizeof(*out));
    out->type = a->family == IKE_AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
    out->len = family_len(a->family);
    memcpy(out->data, a->addr, out->len);
}

static int id_text(uint8_t type, const char *s, const char *shown, struct ike_cfg_id *out,
                   char *err, size_t errlen)
{
    size_t len = strlen(s);
    if (len == 0 || len > IKE_CFG_MAX_ID) {
        snprintf(err, errlen, "identity '%s' must be 1..%d characters", shown, IKE_CFG_MAX_ID);
        return -1;
    }
    out->type = type;
    out->len = len;
    memcpy(out->data, s, len);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int id_keyid(const char *hex, const char *shown, struct ike_cfg_id *out, char *err,
                    size_t errlen)
{
    if (strncasecmp(hex, "0x", 2) == 0)
        hex += 2;
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > IKE_CFG_MAX_ID) {
        snprintf(err, errlen, "key ID '%s' must be an even number of hex digits", shown);
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "key ID '%s' must be an even number of hex digits", shown);
            return -1;
        }
        out->data[i] = (uint8_t)(hi << 4 | lo);
    }
    out->type = IKE_ID_KEY_ID;
    out->len = n / 2;
    return 0;
}

static int id_addr(int af, const char *s, const char *shown, struct ike_cfg_id *out, char *err,
                   size_t errlen)
{
    if (inet_pton(af, s, out->data) != 1) {
        snprintf(err, errlen, "identity '%s' is not an %s address", shown,
                 af == AF_INET ? "IPv4" : "IPv6");
        return -1;
    }
    out->type = af == AF_INET ? IKE_ID_IPV4_ADDR : IKE_ID_IPV6_ADDR;
    out->len = af == AF_INET ? 4 : 16;
    return 0;
}

int cfg_id_parse(const char *s, bool allow_any, struct ike_cfg_id *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (strcasecmp(s, "any") == 0 || strcasecmp(s, "%any") == 0) {
        if (allow_any)
            return 0;
        snprintf(err, errlen, "'%s' is not a valid local identity", s);
        return -1;
    }
    if (strncasecmp(s, "fqdn:", 5) == 0)
        return id_text(IKE_ID_FQDN, s + 5, s, out, err, errlen);
    if (strncasecmp(s, "email:", 6) == 0)
        return id_text(IKE_ID_RFC822_ADDR, s + 6, s, out, err, errlen);
    if (strncasecmp(s, "rfc822:", 7) == 0)
        return id_text(IKE_ID_RFC822_ADDR, s + 7, s, out, err, errlen);
    if (strncasecmp(s, "keyid:", 6) == 0)
        return id_keyid(s + 6, s, out, err, errlen);
    if (strncasecmp(s, "ipv4:", 5) == 0)
        return id_addr(AF_INET, s + 5, s, out, err, errlen);
    if (strncasecmp(s, "ipv6:", 5) == 0)
        return id_addr(AF_INET6, s + 5, s, out, err, errlen);
    if (strncmp(s, "@#", 2) == 0) /* strongSwan's key ID shorthand */
        return id_keyid(s + 2, s, out, err, errlen);
    if (s[0] == '@')
        return id_text(IKE_ID_FQDN, s + 1, s, out, err, errlen);
    if (id_addr(AF_INET, s, s, out, err, errlen) == 0 ||
        id_addr(AF_INET6, s, s, out, err, errlen) == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    if (strchr(s, '=')) {
        snprintf(err, errlen,
                 "identity '%s' looks like a distinguished name; those need certificates, "
                 "which haiked does not support (use an FQDN, e-mail or address)",
                 s);
        return -1;
    }
    if (strchr(s, '@'))
        return id_text(IKE_ID_RFC822_ADDR, s, s, out, err, errlen);
    return id_text(IKE_ID_FQDN, s, s, out, err, errlen);
}
