/*
 * The "kernel" data-plane backend: each CHILD SA pair becomes two XFRM
 * states (in: remote -> local, out: local -> remote, ESP tunnel mode) and
 * in/out/fwd policies for its selectors; the kernel then carries the
 * traffic, inbound ESP included (on port 4500 through the IKE socket's
 * UDP_ENCAP_ESPINUDP, see net.c). See README.md in this directory.
 *
 * Requests go over one synchronous netlink socket (the kernel answers at
 * once); async AE and EXPIRE events come on a second one, watched by the
 * daemon's event loop (dp_xfrm_ae.c). Both exist once per network
 * namespace in use: a pair goes into its gateway's VDOM's namespace
 * (dp_xfrm_netns.c).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include <ike/const.h>

#include "config/config.h"
#include "dp_xfrm.h"
#include "dp_xfrm_netns.h"
#include "dp_xfrm_vti.h"
#include "gateway.h"

#define XF_ETIMER_DEFAULT_MS 1000 /* AE timer without a time cadence: DPD activity */
#define XF_OUT_INDEX_MIN     1024

/* ---- lookups -------------------------------------------------------------- */

static bool same_host(const struct ike_addr *a, const struct ike_addr *b)
{
    return a->family == b->family && !memcmp(a->addr, b->addr, a->family == IKE_AF_INET6 ? 16 : 4);
}

static size_t out_slot(const struct xf_priv *p, uint32_t spi)
{
    return (size_t)((spi * 2654435761u) >> 7) & (p->out_index_size - 1);
}

static void out_index_add(struct dp *dp, struct xf_child *x)
{
    struct xf_priv *p = dp->priv;
    if (!p->out_index || dp->n_children + 1 > p->out_index_size) {
        size_t size = p->out_index_size ? p->out_index_size * 2 : XF_OUT_INDEX_MIN;
        struct xf_child **idx = calloc(size, sizeof(*idx));
        if (idx) { /* on failure the old index (or none: a walk) stays */
            struct xf_child **old = p->out_index;
            size_t old_size = p->out_index_size;
            p->out_index = idx;
            p->out_index_size = size;
            for (size_t i = 0; i < old_size; i++)
                for (struct xf_child *y = old[i], *next; y; y = next) {
                    next = y->out_next;
                    size_t k = out_slot(p, y->out.spi);
                    y->out_next = idx[k];
                    idx[k] = y;
                }
            free(old);
        }
    }
    if (!p->out_index)
        return;
    size_t k = out_slot(p, x->out.spi);
    x->out_next = p->out_index[k];
    p->out_index[k] = x;
}

static void out_index_remove(struct dp *dp, struct xf_child *x)
{
    struct xf_priv *p = dp->priv;
    if (!p->out_index)
        return;
    for (struct xf_child **pp = &p->out_index[out_slot(p, x->out.spi)]; *pp; pp = &(*pp)->out_next)
        if (*pp == x) {
            *pp = x->out_next;
            return;
        }
}

/* Two VDOMs may use the same addresses, and the peers pick the outbound
 * SPIs: an event names a pair only together with its namespace. */
struct xf_child *xf_find(struct dp *dp, const struct xf_ns *ns, uint32_t spi,
                         const struct ike_addr *dst, bool *inbound)
{
    struct xf_priv *p = dp->priv;
    struct dp_child *c = dp_child_find(dp, spi);
    if (c && xf_of(c) && xf_ns_of(dp, xf_of(c)) == ns && same_host(&xf_of(c)->in.dst, dst)) {
        *inbound = true;
        return xf_of(c);
    }
    *inbound = false;
    if (p->out_index) {
        for (struct xf_child *x = p->out_index[out_slot(p, spi)]; x; x = x->out_next)
            if (x->out.spi == spi && xf_ns_of(dp, x) == ns && same_host(&x->out.dst, dst))
                return x;
        return NULL;
    }
    TAILQ_FOREACH(c, &dp->children, all_link)
    if (xf_of(c) && xf_of(c)->out.spi == spi && xf_ns_of(dp, xf_of(c)) == ns &&
        same_host(&xf_of(c)->out.dst, dst))
        return xf_of(c);
    return NULL;
}

const struct cfg_selector *xf_selector_of(const struct dp_child *c)
{
    if (!c->owner || !c->owner->gw || !c->owner->gw->cfg)
        return NULL;
    const struct cfg_gateway *g = c->owner->gw->cfg;
    for (size_t i = 0; i < g->n_selectors; i++)
        if (g->selectors[i].name && !strcmp(g->selectors[i].name, c->child_name))
            return &g->selectors[i];
    return NULL;
}

/* ---- reports (from the loop, never from inside install/remove) ------------ */

void xf_limit_reached(struct dp *dp, struct xf_child *x, bool hard)
{
    struct xf_priv *p = dp->priv;
    if (hard && !x->hard_sent)
        x->hard_sent = x->hard_due = true;
    else if (!hard && !x->soft_sent && !x->hard_sent)
        x->soft_sent = x->soft_due = true;
    else
        return;
    event_active(p->report_ev, EV_TIMEOUT, 0);
}

/* The hook may delete CHILD SAs (a hard limit's Delete): start over after
 * each call; flags are cleared first, so it ends. */
static void on_report(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct dp_child *c;
again:
    TAILQ_FOREACH(c, &dp->children, all_link)
    {
        struct xf_child *x = xf_of(c);
        if (!x || !(x->soft_due || x->hard_due))
            continue;
        enum dp_report r = x->hard_due ? DP_REPORT_HARD_LIMIT : DP_REPORT_SOFT_LIMIT;
        x->soft_due = x->hard_due = false;
        if (dp->report) {
            dp->report(dp->report_arg, c, r);
            goto again;
        }
    }
}

/* Traffic seen (AE events) in the last second, for DPD. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct dp_child *c;
again:
    TAILQ_FOREACH(c, &dp->children, all_link)
    {
        struct xf_child *x = xf_of(c);
        if (!x || !(x->act_in || x->act_out))
            continue;
        bool in = x->act_in, out = x->act_out;
        x->act_in = x->act_out = false;
        if (!dp->report)
            continue;
        if (in)
            dp->report(dp->report_arg, c, DP_REPORT_INBOUND);
        if (out)
            dp->report(dp->report_arg, c, DP_REPORT_OUTBOUND);
        goto again;
    }
}

/* ---- install / remove ------------------------------------------------------ */

uint32_t xf_hash(uint32_t h, const void *data, size_t len)
{
    const uint8_t *b = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* The tunnel a pair belongs to: gateway, outer addresses, selectors.
 * Rekeys and reauthentications of it share the reqid (and policies). */
static uint32_t tunnel_hash(const struct dp_child *c)
{
    uint32_t h = xf_hash(XF_HASH_INIT, c->gw_name, strlen(c->gw_name));
    size_t alen = c->local.family == IKE_AF_INET6 ? 16 : 4; /* what same_host() compares */
    h = xf_hash(h, c->local.addr, alen);
    h = xf_hash(h, c->remote.addr, alen);
    h = xf_hash(h, c->ts_local, c->n_ts_local * sizeof(c->ts_local[0]));
    return xf_hash(h, c->ts_remote, c->n_ts_remote * sizeof(c->ts_remote[0])) % XF_BUCKETS;
}

static bool same_tunnel(const struct dp_child *a, const struct dp_child *b)
{
    return same_host(&a->local, &b->local) && same_host(&a->remote, &b->remote) &&
           !strcmp(a->gw_name, b->gw_name) && a->n_ts_local == b->n_ts_local &&
           a->n_ts_remote == b->n_ts_remote &&
           !memcmp(a->ts_local, b->ts_local, a->n_ts_local * sizeof(a->ts_local[0])) &&
           !memcmp(a->ts_remote, b->ts_remote, a->n_ts_remote * sizeof(a->ts_remote[0]));
}

static void tunnel_link(struct xf_priv *p, struct xf_child *x)
{
    struct xf_child **b = &p->tun_index[tunnel_hash(x->c)];
    x->tun_next = *b;
    *b = x;
}

static void tunnel_unlink(struct xf_priv *p, struct xf_child *x)
{
    for (struct xf_child **pp = &p->tun_index[tunnel_hash(x->c)]; *pp; pp = &(*pp)->tun_next)
        if (*pp == x) {
            *pp = x->tun_next;
            return;
        }
}

/* Loops o over the other installed pairs of x's tunnel. */
#define FOR_SIBLINGS(p, x, o)                                                                      \
    for (struct xf_child *o = (p)->tun_index[tunnel_hash((x)->c)]; o; o = o->tun_next)             \
        if (o != (x) && o->ns == (x)->ns && o->reqid == (x)->reqid && same_tunnel(o->c, (x)->c))

/* A rekey (or a reauthentication) of the same tunnel keeps the reqid, so
 * the shared policies' template matches the new states too. */
static uint32_t reqid_for(struct dp *dp, const struct dp_child *c, const struct xf_ns *ns)
{
    struct xf_priv *p = dp->priv;
    for (struct xf_child *o = p->tun_index[tunnel_hash(c)]; o; o = o->tun_next)
        if (o->ns == ns && same_tunnel(o->c, c))
            return o->reqid;
    /* In haiked's range (dp_xfrm.h), wrapping inside it. */
    if (++p->next_reqid > XF_REQID_SPAN)
        p->next_reqid = 1;
    return XF_REQID_BASE + p->next_reqid;
}

static void state_params(struct dp *dp, const struct xf_child *x, const struct xf_dir *d,
                         const struct xf_alg *alg, const struct ike_key_export *encr,
                         const struct ike_key_export *integ, struct xf_sa_params *sp)
{
    struct xf_priv *p = dp->priv;
    *sp = (struct xf_sa_params){
        .spi = d->spi,
        .src = &d->src,
        .dst = &d->dst,
        .reqid = x->reqid,
        .alg = alg,
        .encr = encr,
        .integ = integ,
        .esn = x->c->esn,
        .replay_window = dp->replay_window,
        .encap = x->c->encap,
        .lim = x->lim,
        .etimer = xf_etimer_for(p, p->etimer_ms),
        .replay_thresh = dp->counter_event_packets,
    };
}

static void delete_states(struct dp *dp, struct xf_child *x)
{
    struct xf_priv *p = dp->priv;
    struct xf_ns *ns = xf_ns_of(dp, x);
    char e[160];
    if (x->out.installed)
        (void)xf_sa_delete(p, ns, x->out.spi, &x->out.dst, e, sizeof(e));
    if (x->in.installed)
        (void)xf_sa_delete(p, ns, x->in.spi, &x->in.dst, e, sizeof(e));
    x->in.installed = x->out.installed = false;
}

/* Another pair of the same tunnel with its outbound state in the kernel:
 * x is a rekey (or a reauthentication) of it. */
static bool has_active_sibling(struct dp *dp, const struct xf_child *x)
{
    struct xf_priv *p = dp->priv;
    FOR_SIBLINGS(p, x, o)
    if (o->out.installed)
        return true;
    return false;
}

static int add_states(struct dp *dp, struct xf_child *x, const struct ike_child_export *ex,
                      char *err, size_t errlen)
{
    struct xf_priv *p = dp->priv;
    if (xf_alg_map(ex->encr_id, ex->encr_key_bits, ex->integ_id, &x->alg, err, errlen) < 0)
        return -1;
    p->etimer_ms = dp->counter_event_ms ? dp->counter_event_ms : XF_ETIMER_DEFAULT_MS;
    struct xf_sa_params sp;
    struct xf_ns *ns = xf_ns_of(dp, x);
    state_params(dp, x, &x->in, &x->alg, &ex->encr_in, &ex->integ_in, &sp);
    if (xf_sa_add(p, ns, &sp, err, errlen) < 0)
        return -1;
    x->in.installed = true;
    if (!p->hz) /* sets the timer of this first state right once HZ is known */
        xf_learn_hz(dp, ns, &x->in);
    if (has_active_sibling(dp, x)) {
        x->encr_out = ex->encr_out;
        x->integ_out = ex->integ_out;
        x->out_deferred = true;
        p->deferred++;
        return 0;
    }
    state_params(dp, x, &x->out, &x->alg, &ex->encr_out, &ex->integ_out, &sp);
    if (xf_sa_add(p, ns, &sp, err, errlen) < 0) {
        delete_states(dp, x);
        return -1;
    }
    x->out.installed = true;
    return 0;
}

int xf_out_activate(struct dp *dp, struct xf_child *x)
{
    struct xf_priv *p = dp->priv;
    if (!x->out_deferred)
        return 0;
    struct xf_sa_params sp;
    state_params(dp, x, &x->out, &x->alg, &x->encr_out, &x->integ_out, &sp);
    sp.oseq = x->out.seq; /* a set_seq() while deferred */
    char err[192];
    if (xf_sa_add(p, xf_ns_of(dp, x), &sp, err, sizeof(err)) < 0) {
        p->activate_failures++; /* the old pair keeps carrying traffic */
        return -1;
    }
    x->out.installed = true;
    x->out_deferred = false;
    OPENSSL_cleanse(&x->encr_out, sizeof(x->encr_out));
    OPENSSL_cleanse(&x->integ_out, sizeof(x->integ_out));
    p->activated++;
    return 0;
}

void xf_out_successors(struct dp *dp, struct xf_child *x)
{
    struct xf_priv *p = dp->priv;
    FOR_SIBLINGS(p, x, o)
    if (o->out_deferred)
        (void)xf_out_activate(dp, o);
}

static void free_child(struct xf_child *x)
{
    OPENSSL_cleanse(x, sizeof(*x));
    free(x);
}

static int xf_install(struct dp *dp, struct dp_child *c, const struct ike_child_export *ex,
                      char *err, size_t errlen)
{
    if (ex->protocol != IKE_PROTO_ESP || !ex->tunnel) {
        snprintf(err, errlen, "the kernel data plane does ESP tunnel mode only");
        return -1;
    }
    if (c->local.family != c->remote.family) {
        snprintf(err, errlen, "outer addresses of different families");
        return -1;
    }
    struct xf_child *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    x->c = c;
    /* the gateway's VDOM's namespace: states, policies, routes and their
     * events all live there (a reference, dropped in xf_remove) */
    x->ns = xf_ns_get(dp, xf_netns_of(c), err, errlen);
    if (!x->ns) {
        free_child(x);
        return -1;
    }
    x->reqid = reqid_for(dp, c, x->ns);
    x->in = (struct xf_dir){.spi = ex->spi_in, .src = c->remote, .dst = c->local};
    x->out = (struct xf_dir){.spi = ex->spi_out, .src = c->local, .dst = c->remote};
    const struct cfg_selector *sel = xf_selector_of(c);
    if (sel)
        x->lim = (struct dp_limits){sel->lifetime.soft_bytes, sel->lifetime.hard_bytes,
                                    sel->lifetime.soft_packets, sel->lifetime.hard_packets};
    c->backend = x; /* xf_find() during install sees it */
    if (xf_vti_attach(dp, x, err, errlen) < 0) /* route-based: its device; x->mark */
        goto fail;
    if (add_states(dp, x, ex, err, errlen) < 0)
        goto fail;
    if (xf_policies_install(dp, x, err, errlen) < 0) {
        delete_states(dp, x);
        goto fail;
    }
    if (sel && sel->add_route && xf_routes_install(dp, x, err, errlen) < 0) {
        xf_policies_remove(dp, x);
        delete_states(dp, x);
        goto fail;
    }
    out_index_add(dp, x);
    tunnel_link(dp->priv, x);
    return 0;
fail:
    c->backend = NULL;
    xf_ns_put(dp, x->ns);
    free_child(x);
    return -1;
}

/* States first: between the two steps traffic of the selectors is
 * dropped (no state for the policy), never sent in the clear. */
static void xf_remove(struct dp *dp, struct dp_child *c)
{
    struct xf_child *x = xf_of(c);
    if (!x)
        return;
    (void)xf_read_counters(dp, x); /* the last view stays in c->ctr */
    xf_fill_counters(c);
    out_index_remove(dp, x);
    tunnel_unlink(dp->priv, x);
    if (x->out.installed) /* a rekey's new pair takes over before the old goes */
        xf_out_successors(dp, x);
    delete_states(dp, x);
    xf_policies_remove(dp, x);
    xf_routes_remove(dp, x);
    c->backend = NULL;
    xf_ns_put(dp, x->ns); /* the last pair of a VDOM's namespace closes its sockets */
    free_child(x);
}

static int xf_counters(struct dp *dp, struct dp_child *c)
{
    struct xf_child *x = xf_of(c);
    if (!x || xf_read_counters(dp, x) < 0)
        return -1;
    xf_fill_counters(c);
    return 0;
}

/* An HA standby's copy keeps its states (same SPIs as the master's, the
 * counters follow it) but its out policies block: the kernel sends nothing
 * on it until the takeover has jumped the sequence numbers. */
static int xf_set_passive(struct dp *dp, struct dp_child *c, bool passive)
{
    struct xf_child *x = xf_of(c);
    char err[256];
    if (!x)
        return -1;
    return xf_policies_block_out(dp, x, passive, err, sizeof(err));
}

static int xf_set_seq_op(struct dp *dp, struct dp_child *c, uint64_t seq_out,
                         uint64_t replay_in_edge)
{
    struct xf_child *x = xf_of(c);
    char err[192];
    if (!x || xf_set_seq(dp, x, seq_out, replay_in_edge, err, sizeof(err)) < 0)
        return -1;
    xf_fill_counters(c);
    return 0;
}

/* ---- open / close ------------------------------------------------------------ */

static void xf_close(struct dp *dp)
{
    struct xf_priv *p = dp->priv;
    if (!p)
        return;
    xf_vti_close(dp);
    /* dp_close() removed every pair; whatever is left is a leak to report
     * by freeing it (the kernel objects went with their pairs) */
    for (size_t i = 0; p->pol_index && i < XF_BUCKETS; i++)
        while (p->pol_index[i]) {
            struct xf_pol *n = p->pol_index[i]->next;
            free(p->pol_index[i]);
            p->pol_index[i] = n;
        }
    free(p->pol_index);
    free(p->tun_index);
    xf_ns_close_all(dp);
    if (p->tick)
        event_free(p->tick);
    if (p->report_ev)
        event_free(p->report_ev);
    free(p->out_index);
    free(p);
    dp->priv = NULL;
}

static int xf_open(struct dp *dp, char *err, size_t errlen)
{
    struct xf_priv *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dp->priv = p;
    p->pol_index = calloc(XF_BUCKETS, sizeof(*p->pol_index));
    p->tun_index = calloc(XF_BUCKETS, sizeof(*p->tun_index));
    p->tick = event_new(dp->base, -1, EV_PERSIST, on_tick, dp);
    p->report_ev = event_new(dp->base, -1, 0, on_report, dp);
    struct timeval sec = {1, 0};
    if (!p->pol_index || !p->tun_index || !p->tick || !p->report_ev ||
        event_add(p->tick, &sec) < 0) {
        snprintf(err, errlen, "out of memory");
        xf_close(dp);
        return -1;
    }
    /* the daemon's own namespace at once: no XFRM at all fails here, not
     * at the first CHILD SA; a VDOM's opens with its first pair */
    if (xf_ns_open_root(dp, err, errlen) < 0) {
        xf_close(dp);
        return -1;
    }
    return 0;
}

const struct dp_backend_ops dp_xfrm_ops = {
    .name = "kernel",
    .open = xf_open,
    .close = xf_close,
    .install = xf_install,
    .remove = xf_remove,
    .counters = xf_counters,
    .set_seq = xf_set_seq_op,
    .set_passive = xf_set_passive,
    .esp_input = NULL, /* inbound ESP is the kernel's */
    .gateway_removed = xf_vti_gateway_removed,
    .info = xf_ns_info,
    .gateway_device = xf_vti_device,
};
