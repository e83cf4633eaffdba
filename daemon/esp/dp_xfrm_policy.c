/*
 * XFRM policies of the kernel data plane: for every (local TS, remote TS)
 * pair of a CHILD SA, an out policy (local -> remote) and in + fwd policies
 * (remote -> local), each a template "ESP tunnel between the outer
 * addresses, this reqid". Address ranges become prefixes and port ranges
 * port/mask blocks, since an XFRM selector holds only those.
 *
 * A rekeyed CHILD SA has the same selectors as the one it replaces, and
 * the kernel keeps one policy per (direction, selector): policies are
 * shared by reference count, and a rekey reuses the reqid so the
 * template matches the new states as well (the kernel then sends on the
 * newest state).
 */
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include <ike/const.h>

#include "dp_xfrm.h"
#include "dp_xfrm_netns.h"

/* Blocks one TS side may split into, and selectors per pair overall. */
#define XF_BLOCKS_MAX 32
#define XF_SELS_MAX   64
#define XF_PRIO_BASE  100000u

/* ---- ranges -> blocks (pure) -------------------------------------------- */

static bool low_bits_zero(const uint8_t *v, size_t len, unsigned bits)
{
    for (unsigned b = 0; b < bits; b++)
        if (v[len - 1 - b / 8] >> (b % 8) & 1)
            return false;
    return true;
}

/* out = v + 2^bits - 1 (v's low bits are zero: just set them). */
static void block_end(const uint8_t *v, size_t len, unsigned bits, uint8_t *out)
{
    memcpy(out, v, len);
    for (unsigned b = 0; b < bits; b++)
        out[len - 1 - b / 8] |= (uint8_t)(1u << (b % 8));
}

/* v += 1; false on overflow. */
static bool incr(uint8_t *v, size_t len)
{
    for (size_t i = len; i-- > 0;)
        if (++v[i] != 0)
            return true;
    return false;
}

void xf_range_blocks(const uint8_t *start, const uint8_t *end, size_t len,
                     void (*fn)(void *arg, const uint8_t *value, unsigned plen), void *arg)
{
    uint8_t cur[16], last[16];
    if (len > sizeof(cur) || memcmp(start, end, len) > 0)
        return;
    memcpy(cur, start, len);
    for (;;) {
        unsigned bits = 0;
        while (bits < len * 8 && low_bits_zero(cur, len, bits + 1)) {
            block_end(cur, len, bits + 1, last);
            if (memcmp(last, end, len) > 0)
                break;
            bits++;
        }
        fn(arg, cur, (unsigned)(len * 8) - bits);
        block_end(cur, len, bits, last);
        if (memcmp(last, end, len) >= 0 || !incr(last, len))
            return;
        memcpy(cur, last, len);
    }
}

/* ---- TS pair -> selectors (pure) ----------------------------------------- */

struct blocks {
    size_t n;
    bool overflow;
    uint8_t v[XF_BLOCKS_MAX][16];
    uint8_t plen[XF_BLOCKS_MAX];
};

static void add_block(void *arg, const uint8_t *value, unsigned plen)
{
    struct blocks *b = arg;
    if (b->n == XF_BLOCKS_MAX) {
        b->overflow = true;
        return;
    }
    memcpy(b->v[b->n], value, 16 < sizeof(b->v[0]) ? 16 : sizeof(b->v[0]));
    b->plen[b->n++] = (uint8_t)plen;
}

static void addr_blocks(const struct ike_ts_export *ts, struct blocks *b)
{
    size_t len = ts->type == IKE_TS_IPV6_ADDR_RANGE ? 16 : 4;
    memset(b, 0, sizeof(*b));
    xf_range_blocks(ts->start_addr, ts->end_addr, len, add_block, b);
}

static void port_blocks(uint16_t start, uint16_t end, struct blocks *b)
{
    memset(b, 0, sizeof(*b));
    uint8_t s[2] = {(uint8_t)(start >> 8), (uint8_t)start};
    uint8_t e[2] = {(uint8_t)(end >> 8), (uint8_t)end};
    xf_range_blocks(s, e, 2, add_block, b);
}

static uint16_t port_of(const struct blocks *b, size_t i)
{
    return (uint16_t)(b->v[i][0] << 8 | b->v[i][1]);
}

static uint16_t mask_of(const struct blocks *b, size_t i)
{
    return b->plen[i] ? (uint16_t)(0xffffu << (16 - b->plen[i])) : 0;
}

/* ICMP "ports" are type << 8 | code (RFC 4301 §4.4.1.1); XFRM matches the
 * type in sport and the code in dport. One type (any or one code) only. */
static int icmp_sel(const struct ike_ts_export *ts, struct xf_sel *s, char *err, size_t errlen)
{
    if (ts->start_port == 0 && ts->end_port == 0xffff)
        return 0;
    uint8_t type = (uint8_t)(ts->start_port >> 8);
    uint8_t c0 = (uint8_t)ts->start_port, c1 = (uint8_t)ts->end_port;
    if ((uint8_t)(ts->end_port >> 8) != type || !(c0 == c1 || (c0 == 0 && c1 == 0xff))) {
        snprintf(err, errlen, "ICMP type/code range %u-%u has no XFRM selector", ts->start_port,
                 ts->end_port);
        return -1;
    }
    s->sport = type;
    s->sport_mask = 0xffff;
    if (c0 == c1) {
        s->dport = c0;
        s->dport_mask = 0xffff;
    }
    return 0;
}

static bool is_icmp(uint8_t proto)
{
    return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

int xf_sel_expand(const struct ike_ts_export *src, const struct ike_ts_export *dst,
                  struct xf_sel *out, size_t max, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (src->type != dst->type) {
        snprintf(err, errlen, "traffic selectors of different families");
        return -1;
    }
    if (src->ip_proto && dst->ip_proto && src->ip_proto != dst->ip_proto) {
        snprintf(err, errlen, "traffic selectors with protocols %u and %u", src->ip_proto,
                 dst->ip_proto);
        return -1;
    }
    struct xf_sel base = {.family = src->type == IKE_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET,
                          .proto = src->ip_proto ? src->ip_proto : dst->ip_proto};
    struct blocks sa, da, sp, dp;
    addr_blocks(src, &sa);
    addr_blocks(dst, &da);
    bool icmp = is_icmp(base.proto);
    if (icmp) { /* the type/code sit in whichever TS narrowed them */
        const struct ike_ts_export *t = src->start_port == 0 && src->end_port == 0xffff ? dst : src;
        if (icmp_sel(t, &base, err, errlen) < 0)
            return -1;
        memset(&sp, 0, sizeof(sp));
        memset(&dp, 0, sizeof(dp));
        sp.n = dp.n = 1; /* the ports come from base */
    } else {
        port_blocks(src->start_port, src->end_port, &sp);
        port_blocks(dst->start_port, dst->end_port, &dp);
    }
    if (sa.overflow || da.overflow || sp.overflow || dp.overflow || !sa.n || !da.n || !sp.n ||
        !dp.n || sa.n * da.n * sp.n * dp.n > max) {
        snprintf(err, errlen,
                 "traffic selectors need more than %zu XFRM selectors (or are "
                 "empty)",
                 max);
        return -1;
    }
    size_t alen = base.family == AF_INET6 ? 16 : 4;
    for (size_t a = 0; a < sa.n; a++)
        for (size_t b = 0; b < da.n; b++)
            for (size_t c = 0; c < sp.n; c++)
                for (size_t d = 0; d < dp.n; d++) {
                    struct xf_sel *s = &out[(*n)++];
                    *s = base;
                    memcpy(s->saddr, sa.v[a], alen);
                    memcpy(s->daddr, da.v[b], alen);
                    s->plen_s = sa.plen[a];
                    s->plen_d = da.plen[b];
                    if (!icmp) {
                        s->sport = port_of(&sp, c);
                        s->sport_mask = mask_of(&sp, c);
                        s->dport = port_of(&dp, d);
                        s->dport_mask = mask_of(&dp, d);
                    }
                }
    return 0;
}

uint32_t xf_sel_priority(const struct xf_sel *s)
{
    uint32_t specific = (uint32_t)(s->plen_s + s->plen_d) * 8u + (s->proto ? 4u : 0u) +
                        (s->sport_mask ? 2u : 0u) + (s->dport_mask ? 2u : 0u);
    return XF_PRIO_BASE - specific;
}

/* ---- policy objects --------------------------------------------------------- */

static struct xfrmnl_sel *build_sel(const struct xf_sel *s)
{
    struct xfrmnl_sel *sel = xfrmnl_sel_alloc();
    size_t alen = s->family == AF_INET6 ? 16 : 4;
    struct nl_addr *sa = nl_addr_build(s->family, s->saddr, alen);
    struct nl_addr *da = nl_addr_build(s->family, s->daddr, alen);
    if (!sel || !sa || !da) {
        if (sel)
            xfrmnl_sel_put(sel);
        sel = NULL;
    } else {
        nl_addr_set_prefixlen(sa, s->plen_s);
        nl_addr_set_prefixlen(da, s->plen_d);
        xfrmnl_sel_set_family(sel, s->family);
        xfrmnl_sel_set_saddr(sel, sa);
        xfrmnl_sel_set_daddr(sel, da);
        xfrmnl_sel_set_prefixlen_s(sel, s->plen_s);
        xfrmnl_sel_set_prefixlen_d(sel, s->plen_d);
        xfrmnl_sel_set_proto(sel, s->proto);
        xfrmnl_sel_set_sport(sel, s->sport);
        xfrmnl_sel_set_sportmask(sel, s->sport_mask);
        xfrmnl_sel_set_dport(sel, s->dport);
        xfrmnl_sel_set_dportmask(sel, s->dport_mask);
    }
    nl_addr_put(sa);
    nl_addr_put(da);
    return sel;
}

static struct xfrmnl_user_tmpl *build_tmpl(uint32_t reqid, const struct ike_addr *src,
                                           const struct ike_addr *dst)
{
    struct xfrmnl_user_tmpl *t = xfrmnl_user_tmpl_alloc();
    struct nl_addr *s = xf_nl_addr(src), *d = xf_nl_addr(dst);
    if (t && s && d) {
        xfrmnl_user_tmpl_set_family(t, (unsigned)xf_family(dst));
        xfrmnl_user_tmpl_set_daddr(t, d);
        xfrmnl_user_tmpl_set_saddr(t, s);
        xfrmnl_user_tmpl_set_spi(t, 0);
        xfrmnl_user_tmpl_set_proto(t, IPPROTO_ESP);
        xfrmnl_user_tmpl_set_mode(t, XFRM_MODE_TUNNEL);
        xfrmnl_user_tmpl_set_reqid(t, reqid);
        xfrmnl_user_tmpl_set_share(t, XFRM_SHARE_ANY);
        xfrmnl_user_tmpl_set_optional(t, 0);
        xfrmnl_user_tmpl_set_aalgos(t, ~0u);
        xfrmnl_user_tmpl_set_ealgos(t, ~0u);
        xfrmnl_user_tmpl_set_calgos(t, ~0u);
    } else if (t) {
        xfrmnl_user_tmpl_free(t);
        t = NULL;
    }
    nl_addr_put(s);
    nl_addr_put(d);
    return t;
}

int xf_sp_build(const struct xf_sel *s, int dir, uint32_t priority, uint32_t reqid,
                const struct ike_addr *tmpl_src, const struct ike_addr *tmpl_dst,
                struct xfrmnl_sp **out)
{
    *out = NULL;
    struct xfrmnl_sp *sp = xfrmnl_sp_alloc();
    struct xfrmnl_sel *sel = build_sel(s);
    struct xfrmnl_ltime_cfg *lt = xfrmnl_ltime_cfg_alloc();
    struct xfrmnl_user_tmpl *t = tmpl_src ? build_tmpl(reqid, tmpl_src, tmpl_dst) : NULL;
    int r = sp && sel && lt && (t || !tmpl_src) ? 0 : -NLE_NOMEM;
    if (!r) {
        xfrmnl_sp_set_sel(sp, sel);
        /* no limits on a policy (0 would expire it) */
        xfrmnl_ltime_cfg_set_soft_bytelimit(lt, XFRM_INF);
        xfrmnl_ltime_cfg_set_hard_bytelimit(lt, XFRM_INF);
        xfrmnl_ltime_cfg_set_soft_packetlimit(lt, XFRM_INF);
        xfrmnl_ltime_cfg_set_hard_packetlimit(lt, XFRM_INF);
        xfrmnl_sp_set_lifetime_cfg(sp, lt);
        xfrmnl_sp_set_priority(sp, priority);
        xfrmnl_sp_set_dir(sp, (unsigned)dir);
        xfrmnl_sp_set_action(sp, XFRM_POLICY_ALLOW);
        xfrmnl_sp_set_share(sp, XFRM_SHARE_ANY);
        if (t) {
            xfrmnl_sp_add_usertemplate(sp, t); /* the policy owns it now */
            t = NULL;
        }
    }
    if (sel)
        xfrmnl_sel_put(sel);
    if (lt)
        xfrmnl_ltime_cfg_put(lt);
    if (t)
        xfrmnl_user_tmpl_free(t);
    if (r < 0) {
        if (sp)
            xfrmnl_sp_put(sp);
        return r;
    }
    *out = sp;
    return 0;
}

/* ---- the shared policy table ------------------------------------------------- */

static const char *dir_name(int dir)
{
    return dir == XFRM_POLICY_OUT ? "out" : dir == XFRM_POLICY_IN ? "in" : "fwd";
}

static void pol_error(char *err, size_t errlen, const struct xf_priv *xp, const char *what,
                      const struct xf_pol *p, uint32_t spi, int r)
{
    char s[64], d[64];
    struct nl_addr *a =
        nl_addr_build(p->sel.family, p->sel.saddr, p->sel.family == AF_INET6 ? 16 : 4);
    struct nl_addr *b =
        nl_addr_build(p->sel.family, p->sel.daddr, p->sel.family == AF_INET6 ? 16 : 4);
    if (a)
        nl_addr_set_prefixlen(a, p->sel.plen_s);
    if (b)
        nl_addr_set_prefixlen(b, p->sel.plen_d);
    char why[192];
    if (xp->last_errno)
        snprintf(why, sizeof(why), "%s%s%s%s", strerror(xp->last_errno),
                 xp->last_ext[0] ? " (" : "", xp->last_ext, xp->last_ext[0] ? ")" : "");
    else
        snprintf(why, sizeof(why), "%s", nl_geterror(r));
    snprintf(err, errlen, "%s %s policy %s -> %s (SPI %08x): %s", what, dir_name(p->dir),
             a ? nl_addr2str(a, s, sizeof(s)) : "?", b ? nl_addr2str(b, d, sizeof(d)) : "?", spi,
             why);
    nl_addr_put(a);
    nl_addr_put(b);
}

/* UPDPOLICY creates or replaces: a policy left behind by a crashed
 * haiked (or another IKE daemon) does not block us. */
static int pol_send(struct nl_sock *sk, const struct xf_pol *p)
{
    struct xfrmnl_sp *sp;
    int r =
        xf_sp_build(&p->sel, p->dir, xf_sel_priority(&p->sel), p->reqid, &p->tsrc, &p->tdst, &sp);
    if (r < 0)
        return r;
    if (p->mark) /* route-based: only its VTI's lookups (okey/ikey) find it */
        xfrmnl_sp_set_mark(sp, p->mark, UINT32_MAX);
    if (p->blocked) /* dropped (XfrmOutPolBlock), never encrypted nor sent in the clear */
        xfrmnl_sp_set_action(sp, XFRM_POLICY_BLOCK);
    r = xfrmnl_sp_update(sk, sp, 0);
    xfrmnl_sp_put(sp);
    return r;
}

static int pol_delete(struct nl_sock *sk, const struct xf_pol *p)
{
    struct xfrmnl_sp *sp;
    int r = xf_sp_build(&p->sel, p->dir, 0, 0, NULL, NULL, &sp);
    if (r < 0)
        return r;
    if (p->mark) /* the mark is part of the policy's identity */
        xfrmnl_sp_set_mark(sp, p->mark, UINT32_MAX);
    r = xfrmnl_sp_delete(sk, sp, 0);
    xfrmnl_sp_put(sp);
    return r == -NLE_OBJ_NOTFOUND ? 0 : r;
}

static bool same_host(const struct ike_addr *a, const struct ike_addr *b)
{
    return a->family == b->family && !memcmp(a->addr, b->addr, a->family == IKE_AF_INET6 ? 16 : 4);
}

static struct xf_pol **pol_bucket(struct xf_priv *p, const struct xf_sel *sel, int dir)
{
    uint32_t h = xf_hash(XF_HASH_INIT, &dir, sizeof(dir));
    return &p->pol_index[xf_hash(h, sel, sizeof(*sel)) % XF_BUCKETS];
}

static struct xf_pol *pol_acquire(struct dp *dp, struct xf_ns *ns, const struct xf_sel *sel,
                                  int dir, uint32_t reqid, const struct ike_addr *src,
                                  const struct ike_addr *dst, uint32_t spi, uint32_t mark,
                                  bool blocked, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    struct xf_pol **bucket = pol_bucket(p, sel, dir), *pol;
    /* one kernel policy per (namespace, direction, selector) */
    for (pol = *bucket; pol; pol = pol->next)
        if (pol->ns == ns && pol->dir == dir && pol->mark == mark &&
            !memcmp(&pol->sel, sel, sizeof(*sel)))
            break;
    if (pol && pol->reqid == reqid && same_host(&pol->tsrc, src) && same_host(&pol->tdst, dst)) {
        pol->refs++;
        return pol;
    }
    bool fresh = !pol;
    if (fresh && !(pol = calloc(1, sizeof(*pol)))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct xf_pol want = *pol;
    want.sel = *sel;
    want.dir = dir;
    want.reqid = reqid;
    want.tsrc = *src;
    want.tdst = *dst;
    want.ns = ns;
    want.mark = mark;
    want.blocked = dir == XFRM_POLICY_OUT && blocked;
    xf_cmd_begin(p);
    int r = pol_send(ns->cmd, &want);
    if (r < 0) {
        pol_error(err, errlen, p, "kernel refused the", &want, spi, r);
        if (fresh)
            free(pol);
        return NULL;
    }
    /* same selector, other tunnel (another peer, same subnets): the
     * newest CHILD SA wins, as in the kernel's own policy table */
    *pol = want;
    pol->refs++;
    if (fresh) {
        pol->next = *bucket;
        *bucket = pol;
    }
    return pol;
}

static void pol_release(struct dp *dp, struct xf_pol *pol)
{
    struct xf_priv *p = dp->priv;
    if (--pol->refs)
        return;
    (void)pol_delete(pol->ns->cmd, pol); /* best effort: nothing to undo */
    for (struct xf_pol **pp = pol_bucket(p, &pol->sel, pol->dir); *pp; pp = &(*pp)->next)
        if (*pp == pol) {
            *pp = pol->next;
            break;
        }
    free(pol);
}

static int hold(struct dp *dp, struct xf_child *x, const struct xf_sel *sel, int dir,
                const struct ike_addr *src, const struct ike_addr *dst, size_t cap, char *err,
                size_t errlen)
{
    if (x->n_pols == cap) {
        snprintf(err, errlen, "too many policies");
        return -1;
    }
    struct xf_pol *pol = pol_acquire(dp, xf_ns_of(dp, x), sel, dir, x->reqid, src, dst, x->in.spi,
                                     x->mark, x->c->passive, err, errlen);
    if (!pol)
        return -1;
    x->pols[x->n_pols++] = pol;
    return 0;
}

/* Policies for one (local TS, remote TS) pair. */
static int pair_install(struct dp *dp, struct xf_child *x, const struct ike_ts_export *l,
                        const struct ike_ts_export *r, size_t cap, char *err, size_t errlen)
{
    const struct dp_child *c = x->c;
    struct xf_sel sels[XF_SELS_MAX];
    size_t n;
    if (xf_sel_expand(l, r, sels, XF_SELS_MAX, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (hold(dp, x, &sels[i], XFRM_POLICY_OUT, &c->local, &c->remote, cap, err, errlen) < 0)
            return -1;
    if (xf_sel_expand(r, l, sels, XF_SELS_MAX, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (hold(dp, x, &sels[i], XFRM_POLICY_IN, &c->remote, &c->local, cap, err, errlen) < 0 ||
            hold(dp, x, &sels[i], XFRM_POLICY_FWD, &c->remote, &c->local, cap, err, errlen) < 0)
            return -1;
    return 0;
}

int xf_policies_install(struct dp *dp, struct xf_child *x, char *err, size_t errlen)
{
    const struct dp_child *c = x->c;
    size_t cap = c->n_ts_local * c->n_ts_remote * XF_SELS_MAX * 3;
    x->pols = cap ? calloc(cap, sizeof(*x->pols)) : NULL;
    if (!x->pols) {
        snprintf(err, errlen, cap ? "out of memory" : "CHILD SA without traffic selectors");
        return -1;
    }
    size_t pairs = 0;
    for (size_t i = 0; i < c->n_ts_local; i++)
        for (size_t j = 0; j < c->n_ts_remote; j++) {
            if (c->ts_local[i].type != c->ts_remote[j].type)
                continue; /* IPv4 with IPv4, IPv6 with IPv6 */
            pairs++;
            if (pair_install(dp, x, &c->ts_local[i], &c->ts_remote[j], cap, err, errlen) < 0) {
                xf_policies_remove(dp, x);
                return -1;
            }
        }
    if (!pairs) {
        snprintf(err, errlen, "no local and remote traffic selectors of one family");
        xf_policies_remove(dp, x);
        return -1;
    }
    return 0;
}

void xf_policies_remove(struct dp *dp, struct xf_child *x)
{
    for (size_t i = 0; i < x->n_pols; i++)
        pol_release(dp, x->pols[i]);
    free(x->pols);
    x->pols = NULL;
    x->n_pols = 0;
}

int xf_policies_block_out(struct dp *dp, struct xf_child *x, bool block, char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    bool *changed = x->n_pols ? calloc(x->n_pols, sizeof(*changed)) : NULL;
    if (x->n_pols && !changed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < x->n_pols; i++) {
        struct xf_pol *pol = x->pols[i];
        if (pol->dir != XFRM_POLICY_OUT || pol->blocked == block)
            continue;
        pol->blocked = block;
        xf_cmd_begin(p);
        int r = pol_send(pol->ns->cmd, pol);
        if (r < 0) {
            pol->blocked = !block;
            pol_error(err, errlen, p,
                      block ? "kernel refused to block the" : "kernel refused to open the", pol,
                      x->in.spi, r);
            rc = -1;
            break;
        }
        changed[i] = true;
    }
    /* all or nothing: what this call changed goes back */
    for (size_t j = 0; rc < 0 && j < x->n_pols; j++)
        if (changed[j]) {
            x->pols[j]->blocked = !block;
            xf_cmd_begin(p);
            (void)pol_send(x->pols[j]->ns->cmd, x->pols[j]);
        }
    free(changed);
    return rc;
}
