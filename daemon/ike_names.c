/* Log text helpers (see ike_names.h). */
#include "ike_names.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/transform.h>

const char *ike_names_exchange(uint8_t exchange, char *buf, size_t size)
{
    switch (exchange) {
    case IKE_EXCH_IKE_SA_INIT: return "SA_INIT";
    case IKE_EXCH_IKE_AUTH: return "AUTH";
    case IKE_EXCH_CREATE_CHILD_SA: return "CREATE_CHILD";
    case IKE_EXCH_INFORMATIONAL: return "INFORMATIONAL";
    default: snprintf(buf, size, "%u", exchange); return buf;
    }
}

char *ike_names_spi(const uint8_t spi[IKE_SPI_LEN], char out[2 * IKE_SPI_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < IKE_SPI_LEN; i++) {
        out[2 * i] = hex[spi[i] >> 4];
        out[2 * i + 1] = hex[spi[i] & 15];
    }
    out[2 * IKE_SPI_LEN] = '\0';
    return out;
}

char *ike_names_describe_dgram(const uint8_t *data, size_t len, const struct ike_addr *from,
                               const struct ike_addr *to, char *buf, size_t size)
{
    struct ike_hdr hdr;
    struct ike_diag diag = {0};
    char f[IKE_ADDR_STR_MAX], t[IKE_ADDR_STR_MAX], i[17], r[17], x[8];
    ike_addr_str(from, f, sizeof(f));
    ike_addr_str(to, t, sizeof(t));
    if (ike_hdr_decode(data, len, &hdr, &diag) != IKE_OK) {
        snprintf(buf, size, "(undecodable): %s->%s, len=%zu", f, t, len);
        return buf;
    }
    snprintf(buf, size, "(%s): %s->%s, len=%zu, id=%s/%s:%08x",
             ike_names_exchange(hdr.exchange, x, sizeof(x)), f, t, len,
             ike_names_spi(hdr.spi_i, i), ike_names_spi(hdr.spi_r, r), hdr.message_id);
    return buf;
}

/* Prefix length if [start, end] is exactly a CIDR block, else -1. */
static int cidr_len(const uint8_t *s, const uint8_t *e, size_t n)
{
    int bits = 0;
    size_t k = 0;
    for (; k < n && s[k] == e[k]; k++)
        bits += 8;
    if (k == n)
        return bits;
    uint8_t diff = s[k] ^ e[k];
    int host = 0;
    while (diff) {
        host++;
        diff >>= 1;
    }
    uint8_t mask = (uint8_t)((1u << host) - 1);
    if ((s[k] & mask) != 0 || (e[k] & mask) != mask)
        return -1;
    for (size_t j = k + 1; j < n; j++)
        if (s[j] != 0 || e[j] != 0xff)
            return -1;
    return bits + 8 - host;
}

char *ike_names_ts(const struct ike_ts_export *ts, char *buf, size_t size)
{
    int af = ts->type == IKE_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;
    size_t n = af == AF_INET ? 4 : 16;
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    inet_ntop(af, ts->start_addr, a, sizeof(a));
    inet_ntop(af, ts->end_addr, b, sizeof(b));
    int pl = cidr_len(ts->start_addr, ts->end_addr, n);
    int w = pl >= 0 ? snprintf(buf, size, "%s/%d", a, pl) : snprintf(buf, size, "%s-%s", a, b);
    if (w < 0 || (size_t)w >= size)
        return buf;
    if (ts->ip_proto || ts->start_port != 0 || ts->end_port != 0xffff)
        snprintf(buf + w, size - (size_t)w, "[%u/%u-%u]", ts->ip_proto, ts->start_port,
                 ts->end_port);
    return buf;
}

static size_t ts_list(char *buf, size_t size, const struct ike_ts_export *ts, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n && used < size; i++) {
        char one[96];
        int w = snprintf(buf + used, size - used, "%s%s", i ? "," : "",
                         ike_names_ts(&ts[i], one, sizeof(one)));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return used < size ? used : size - 1;
}

char *ike_names_ts_pair(const struct ike_child_export *ex, char *buf, size_t size)
{
    if (!size)
        return buf;
    buf[0] = '\0';
    size_t n_l = ex->n_ts_local < IKE_EXPORT_TS_MAX ? ex->n_ts_local : IKE_EXPORT_TS_MAX;
    size_t n_r = ex->n_ts_remote < IKE_EXPORT_TS_MAX ? ex->n_ts_remote : IKE_EXPORT_TS_MAX;
    size_t used = ts_list(buf, size, ex->ts_local, n_l);
    used += (size_t)snprintf(buf + used, size - used, " === ");
    if (used < size)
        ts_list(buf + used, size - used, ex->ts_remote, n_r);
    return buf;
}

const char *ike_names_esp_alg(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id)
{
    static char out[64];
    const char *e = ike_encr_name(encr_id, key_bits);
    const char *i = integ_id ? ike_integ_name(integ_id) : NULL;
    char eb[16], ib[16];
    if (!e) {
        snprintf(eb, sizeof(eb), "encr%u", encr_id);
        e = eb;
    }
    if (integ_id && !i) {
        snprintf(ib, sizeof(ib), "integ%u", integ_id);
        i = ib;
    }
    snprintf(out, sizeof(out), "%s%s%s", e, i ? "/" : "", i ? i : "");
    return out;
}
