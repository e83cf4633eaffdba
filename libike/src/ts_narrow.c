/* Traffic selector narrowing (RFC 7296 §2.9): the responder answers with
 * the parts of the offered selectors its policy allows. Ranges intersect
 * per field: protocol (0 = any), ports, and the address range compared as
 * big-endian numbers. */
#include <stdio.h>
#include <string.h>

#include "sa_internal.h"

static size_t addr_len(uint8_t type)
{
    return type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;
}

static bool known(const struct ike_ts *t)
{
    return t->type == IKE_TS_IPV4_ADDR_RANGE || t->type == IKE_TS_IPV6_ADDR_RANGE;
}

/* *out = a ∩ b; false when empty or incomparable. */
static bool intersect(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *out)
{
    if (!known(a) || a->type != b->type)
        return false;
    if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
        return false;
    size_t n = addr_len(a->type);
    memset(out, 0, sizeof(*out));
    out->type = a->type;
    out->ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
    out->start_port = a->start_port > b->start_port ? a->start_port : b->start_port;
    out->end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
    if (out->start_port > out->end_port)
        return false;
    const uint8_t *s = memcmp(a->start_addr, b->start_addr, n) > 0 ? a->start_addr : b->start_addr;
    const uint8_t *e = memcmp(a->end_addr, b->end_addr, n) < 0 ? a->end_addr : b->end_addr;
    if (memcmp(s, e, n) > 0)
        return false;
    memcpy(out->start_addr, s, n);
    memcpy(out->end_addr, e, n);
    return true;
}

static bool same(const struct ike_ts *a, const struct ike_ts *b)
{
    size_t n = addr_len(a->type);
    return a->type == b->type && a->ip_proto == b->ip_proto && a->start_port == b->start_port &&
           a->end_port == b->end_port && memcmp(a->start_addr, b->start_addr, n) == 0 &&
           memcmp(a->end_addr, b->end_addr, n) == 0;
}

size_t ike_ts_narrow(const struct ike_ts *offered, size_t n_offered, const struct ike_ts *cfg,
                     size_t n_cfg, struct ike_ts *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < n_offered; i++)
        for (size_t j = 0; j < n_cfg && n < cap; j++) {
            struct ike_ts x;
            if (!intersect(&offered[i], &cfg[j], &x))
                continue;
            bool dup = false;
            for (size_t k = 0; k < n && !dup; k++)
                dup = same(&out[k], &x);
            if (!dup)
                out[n++] = x;
        }
    return n;
}

bool ike_ts_subset(const struct ike_ts *sub, size_t n_sub, const struct ike_ts *sup, size_t n_sup)
{
    for (size_t i = 0; i < n_sub; i++) {
        bool inside = false;
        for (size_t j = 0; j < n_sup && !inside; j++) {
            struct ike_ts x;
            inside = intersect(&sub[i], &sup[j], &x) && same(&x, &sub[i]);
        }
        if (!inside)
            return false;
    }
    return true;
}

static void one(const struct ike_ts *t, char *buf, size_t size)
{
    struct ike_addr s = {.family = t->type == IKE_TS_IPV4_ADDR_RANGE ? IKE_AF_INET : IKE_AF_INET6};
    struct ike_addr e = s;
    if (!known(t)) {
        snprintf(buf, size, "type%u", t->type);
        return;
    }
    memcpy(s.addr, t->start_addr, 16);
    memcpy(e.addr, t->end_addr, 16);
    char a[IKE_ADDR_STR_MAX], b[IKE_ADDR_STR_MAX];
    ike_addr_str(&s, a, sizeof(a));
    ike_addr_str(&e, b, sizeof(b));
    *strrchr(a, ':') = '\0'; /* no port: ike_addr_str always writes ":port" */
    *strrchr(b, ':') = '\0';
    snprintf(buf, size, "%s-%s/%u/%u-%u", a, b, t->ip_proto, t->start_port, t->end_port);
}

bool ike_ts_narrow_child(const struct ike_cfg_child *c, const struct ike_pld_ts *tsi,
                         const struct ike_pld_ts *tsr, struct ike_ts *out_i, size_t *n_i,
                         struct ike_ts *out_r, size_t *n_r)
{
    *n_i =
        ike_ts_narrow(tsi->ts, tsi->n_ts, c->remote_ts, c->n_remote_ts, out_i, IKE_EXPORT_TS_MAX);
    *n_r = ike_ts_narrow(tsr->ts, tsr->n_ts, c->local_ts, c->n_local_ts, out_r, IKE_EXPORT_TS_MAX);
    return *n_i && *n_r;
}

void ike_ts_describe(const struct ike_ts *ts, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        char s[160];
        one(&ts[i], s, sizeof(s));
        int w = snprintf(buf + used, size - used, "%s%s", i ? " " : "", s);
        if (w > 0)
            used += (size_t)w;
    }
}

/* struct ike_ts and the export ABI's struct ike_ts_export name the same
 * selector fields (the export has no opaque part, which stays zero on the
 * way in); one field copy serves both directions. */
#define TS_COPY(out, in, n)                                                                        \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                      \
            memset(&(out)[i_], 0, sizeof((out)[i_]));                                              \
            (out)[i_].type = (in)[i_].type;                                                        \
            (out)[i_].ip_proto = (in)[i_].ip_proto;                                                \
            (out)[i_].start_port = (in)[i_].start_port;                                            \
            (out)[i_].end_port = (in)[i_].end_port;                                                \
            memcpy((out)[i_].start_addr, (in)[i_].start_addr, 16);                                 \
            memcpy((out)[i_].end_addr, (in)[i_].end_addr, 16);                                     \
        }                                                                                          \
    } while (0)

void ike_ts_to_export(const struct ike_ts *in, size_t n, struct ike_ts_export *out)
{
    TS_COPY(out, in, n);
}

void ike_ts_from_export(const struct ike_ts_export *in, size_t n, struct ike_ts *out)
{
    TS_COPY(out, in, n);
}
