/* Inner packet parsing and traffic selector matching (see esp_ip.h). */
#include "esp_ip.h"

#include <string.h>

#include <ike/const.h>

static uint16_t get16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void ports(struct esp_ip_info *out, const uint8_t *l4, size_t l4len)
{
    if ((out->proto == 6 || out->proto == 17 || out->proto == 132) && l4len >= 4) {
        out->sport = get16(l4);
        out->dport = get16(l4 + 2);
    }
}

int esp_ip_parse(const uint8_t *p, size_t len, struct esp_ip_info *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 1)
        return -1;
    out->version = p[0] >> 4;
    if (out->version == 4) {
        size_t ihl = (size_t)(p[0] & 0x0f) * 4;
        if (len < 20 || ihl < 20 || ihl > len || get16(p + 2) != len)
            return -1;
        out->proto = p[9];
        memcpy(out->src, p + 12, 4);
        memcpy(out->dst, p + 16, 4);
        /* ports only in the first fragment */
        if ((get16(p + 6) & 0x1fff) == 0)
            ports(out, p + ihl, len - ihl);
        return 0;
    }
    if (out->version == 6) {
        if (len < 40 || (size_t)get16(p + 4) + 40 != len)
            return -1;
        out->proto = p[6];
        memcpy(out->src, p + 8, 16);
        memcpy(out->dst, p + 24, 16);
        ports(out, p + 40, len - 40);
        return 0;
    }
    return -1;
}

bool esp_ts_match(const struct ike_ts_export *ts, uint8_t version, const uint8_t *addr,
                  uint8_t proto, uint16_t port)
{
    size_t alen;
    if (ts->type == IKE_TS_IPV4_ADDR_RANGE && version == 4)
        alen = 4;
    else if (ts->type == IKE_TS_IPV6_ADDR_RANGE && version == 6)
        alen = 16;
    else
        return false;
    if (memcmp(addr, ts->start_addr, alen) < 0 || memcmp(addr, ts->end_addr, alen) > 0)
        return false;
    if (ts->ip_proto && ts->ip_proto != proto)
        return false;
    /* ICMP carries type/code in the "port"; we do not: any port range that
     * is not the full range only matches port-carrying protocols. */
    if (ts->start_port == 0 && ts->end_port == 0xffff)
        return true;
    return port >= ts->start_port && port <= ts->end_port &&
           (proto == 6 || proto == 17 || proto == 132);
}

static bool any_match(const struct ike_ts_export *ts, size_t n, uint8_t version,
                      const uint8_t *addr, uint8_t proto, uint16_t port)
{
    for (size_t i = 0; i < n; i++)
        if (esp_ts_match(&ts[i], version, addr, proto, port))
            return true;
    return false;
}

bool esp_ip_in_selectors(const struct esp_ip_info *ip, bool outbound,
                         const struct ike_ts_export *local, size_t n_local,
                         const struct ike_ts_export *remote, size_t n_remote)
{
    const uint8_t *la = outbound ? ip->src : ip->dst, *ra = outbound ? ip->dst : ip->src;
    uint16_t lp = outbound ? ip->sport : ip->dport, rp = outbound ? ip->dport : ip->sport;
    return any_match(local, n_local, ip->version, la, ip->proto, lp) &&
           any_match(remote, n_remote, ip->version, ra, ip->proto, rp);
}
