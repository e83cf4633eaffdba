/*
 * Counters and async events of the kernel data plane:
 *
 *   counters   XFRM_MSG_GETSA per direction (curlft bytes/packets, the
 *              replay state, stats.replay/integrity_failed) -> dp_child.ctr
 *   set_seq    XFRM_MSG_NEWAE with XFRMA_REPLAY_ESN_VAL: outbound oseq,
 *              inbound edge with everything below it marked seen
 *   events     a second socket in XFRMNLGRP_AEVENTS and XFRMNLGRP_EXPIRE on the
 *              daemon's loop, one per namespace (dp_xfrm_netns.h): NEWAE
 *              (replay threshold / timer) refreshes the counters and raises
 *              the counter event; EXPIRE reports soft/hard byte and packet
 *              lifetimes; both only for the pairs of that namespace
 *
 * The kernel stores XFRMA_ETIMER_THRESH as given, in jiffies, but reports
 * it in 100 ms units (xfrm_user.c: replay_maxage * 10 / HZ), and HZ is
 * not visible from user space: it is learnt once by writing a known value
 * on the first state and reading it back (xf_learn_hz).
 */
#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/xfrm/ae.h>
#include <netlink/xfrm/sa.h>

#include "dp_xfrm.h"
#include "dp_xfrm_netns.h"
#include "esp_netns.h"

#define XF_EV_RCVBUF    (4 << 20)
#define XF_HZ_PROBE     100000u /* jiffies: exact in 100 ms units for HZ up to 10^4 */
#define XF_HZ_GUESS     100u
#define XF_REPLAY_WORDS (4096 / 32)

uint64_t xf_seq64(uint32_t hi, uint32_t lo)
{
    return (uint64_t)hi << 32 | lo;
}

unsigned xf_hz_from_readback(uint32_t written_jiffies, uint32_t read_deciseconds)
{
    if (!read_deciseconds)
        return 0;
    uint64_t hz = ((uint64_t)written_jiffies * 10 + read_deciseconds / 2) / read_deciseconds;
    return hz >= 24 && hz <= 10000 ? (unsigned)hz : 0; /* the kernel's CONFIG_HZ range */
}

uint32_t xf_etimer_for(const struct xf_priv *p, uint32_t ms)
{
    unsigned hz = p->hz ? p->hz : XF_HZ_GUESS;
    uint64_t j = ((uint64_t)ms * hz + 999) / 1000;
    return j ? (uint32_t)(j > UINT32_MAX ? UINT32_MAX : j) : 1;
}

/* ---- counters --------------------------------------------------------------- */

void xf_fill_counters(struct dp_child *c)
{
    const struct xf_child *x = xf_of(c);
    if (!x)
        return;
    c->ctr.packets_in = x->in.packets;
    c->ctr.bytes_in = x->in.bytes;
    c->ctr.packets_out = x->out.packets;
    c->ctr.bytes_out = x->out.bytes;
    c->ctr.dropped_replay = x->in.replay_drops;
    c->ctr.dropped_integrity = x->in.integrity_drops;
    c->ctr.seq_out = x->out.seq;
    c->ctr.replay_in_edge = x->in.seq;
}

/* One GETSA: libnl's xfrmnl_sa has every field we read. The kernel's
 * bitmap is at most XFRMA_REPLAY_ESN_MAX bits, so bmp always fits. */
static int read_dir(struct nl_sock *sk, struct xf_dir *d, bool inbound)
{
    struct nl_addr *dst = xf_nl_addr(&d->dst);
    struct xfrmnl_sa *sa = NULL;
    int r = dst ? xfrmnl_sa_get_kernel(sk, dst, d->spi, IPPROTO_ESP, 0, 0, &sa) : -NLE_NOMEM;
    nl_addr_put(dst);
    if (r < 0 || !sa)
        return -1;
    unsigned long long bytes, packets, add_time, use_time, rw, replay, integ;
    if (xfrmnl_sa_get_curlifetime(sa, &bytes, &packets, &add_time, &use_time) == 0) {
        d->bytes = bytes;
        d->packets = packets;
    }
    if (inbound && xfrmnl_sa_get_stats(sa, &rw, &replay, &integ) == 0) {
        d->replay_drops = rw + replay; /* outside the window + duplicates */
        d->integrity_drops = integ;
    }
    unsigned oseq, seq, oseq_hi, seq_hi, win, bmp_len, bmp[XF_REPLAY_WORDS];
    if (xfrmnl_sa_get_replay_state_esn(sa, &oseq, &seq, &oseq_hi, &seq_hi, &win, &bmp_len, bmp) ==
        0)
        d->seq = inbound ? xf_seq64(seq_hi, seq) : xf_seq64(oseq_hi, oseq);
    else if (xfrmnl_sa_get_replay_state(sa, &oseq, &seq, bmp) == 0)
        d->seq = inbound ? seq : oseq;
    xfrmnl_sa_put(sa);
    return 0;
}

int xf_read_counters(struct dp *dp, struct xf_child *x)
{
    struct nl_sock *sk = xf_ns_of(dp, x)->cmd;
    int ok = 0;
    if (x->in.installed && read_dir(sk, &x->in, true) == 0)
        ok++;
    if (x->out.installed && read_dir(sk, &x->out, false) == 0)
        ok++;
    return ok ? 0 : -1;
}

/* ---- NEWAE ------------------------------------------------------------------ */

static struct xfrmnl_ae *ae_for(const struct xf_dir *d)
{
    struct xfrmnl_ae *ae = xfrmnl_ae_alloc();
    struct nl_addr *dst = xf_nl_addr(&d->dst);
    if (!ae || !dst || xfrmnl_ae_set_daddr(ae, dst) < 0) {
        nl_addr_put(dst);
        if (ae)
            xfrmnl_ae_put(ae);
        return NULL;
    }
    nl_addr_put(dst);
    xfrmnl_ae_set_spi(ae, d->spi);
    xfrmnl_ae_set_proto(ae, IPPROTO_ESP);
    return ae;
}

/* The whole replay state of one direction (NEWAE replaces it; bmp_len
 * must be the installed one). */
static int set_replay(struct nl_sock *sk, const struct xf_dir *d, uint32_t window, uint64_t oseq,
                      uint64_t seq)
{
    unsigned bmp[XF_REPLAY_WORDS] = {0};
    uint32_t len = xf_replay_bmp_len(window);
    if (seq) /* everything up to the edge counts as seen */
        memset(bmp, 0xff, len * sizeof(bmp[0]));
    struct xfrmnl_ae *ae = ae_for(d);
    if (!ae)
        return -NLE_NOMEM;
    int r =
        xfrmnl_ae_set_replay_state_esn(ae, (unsigned)oseq, (unsigned)seq, (unsigned)(oseq >> 32),
                                       (unsigned)(seq >> 32), window, len, bmp) < 0
            ? -NLE_NOMEM
            : 0;
    if (!r)
        r = xfrmnl_ae_set(sk, ae, 0);
    xfrmnl_ae_put(ae);
    return r;
}

int xf_set_seq(struct dp *dp, struct xf_child *x, uint64_t seq_out, uint64_t replay_edge, char *err,
               size_t errlen)
{
    struct xf_priv *p = dp->priv;
    struct nl_sock *sk = xf_ns_of(dp, x)->cmd;
    if (!x->c->esn && (seq_out > UINT32_MAX || replay_edge > UINT32_MAX)) {
        snprintf(err, errlen, "SPI %08x: sequence numbers over 2^32 without ESN", x->in.spi);
        return -1;
    }
    uint32_t w = xf_replay_window(dp->replay_window, x->c->esn);
    xf_cmd_begin(p);
    /* a deferred outbound state starts from it when added */
    int r = x->out.installed ? set_replay(sk, &x->out, w, seq_out, 0) : 0;
    if (r < 0) {
        xf_nl_error(err, errlen, p, "setting the outbound sequence number of", x->out.spi, r);
        return -1;
    }
    x->out.seq = seq_out;
    xf_cmd_begin(p);
    r = set_replay(sk, &x->in, w, 0, replay_edge);
    if (r < 0) {
        xf_nl_error(err, errlen, p, "setting the replay window of", x->in.spi, r);
        return -1;
    }
    x->in.seq = replay_edge;
    return 0;
}

/* ---- learning HZ ------------------------------------------------------------ */

struct etimer_reply {
    bool seen;
    uint32_t value;
};

/* Raw: libnl's xfrmnl_ae_parse looks the thresholds up under the flag
 * values (XFRM_AE_ETHR) instead of the attribute types, so it never
 * returns XFRMA_ETIMER_THRESH. */
static int on_etimer(struct nl_msg *msg, void *arg)
{
    struct etimer_reply *out = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    struct nlattr *tb[XFRMA_MAX + 1];
    if (h->nlmsg_type != XFRM_MSG_NEWAE ||
        nlmsg_parse(h, sizeof(struct xfrm_aevent_id), tb, XFRMA_MAX, NULL) < 0)
        return NL_SKIP;
    if (tb[XFRMA_ETIMER_THRESH] && nla_len(tb[XFRMA_ETIMER_THRESH]) == sizeof(uint32_t)) {
        out->value = nla_get_u32(tb[XFRMA_ETIMER_THRESH]);
        out->seen = true;
    }
    return NL_OK;
}

/* GETAE asking for the timer threshold (flags XFRM_AE_ETHR). */
static int get_etimer(struct nl_sock *sk, const struct xf_dir *d, uint32_t *out)
{
    struct xfrm_aevent_id id;
    memset(&id, 0, sizeof(id));
    memcpy(&id.sa_id.daddr, d->dst.addr, d->dst.family == IKE_AF_INET6 ? 16 : 4);
    id.sa_id.spi = htonl(d->spi);
    id.sa_id.family = (uint16_t)xf_family(&d->dst);
    id.sa_id.proto = IPPROTO_ESP;
    id.flags = XFRM_AE_ETHR;
    struct nl_msg *msg = nlmsg_alloc_simple(XFRM_MSG_GETAE, 0);
    if (!msg)
        return -NLE_NOMEM;
    int r = nlmsg_append(msg, &id, sizeof(id), NLMSG_ALIGNTO);
    if (r >= 0)
        r = nl_send_auto(sk, msg);
    nlmsg_free(msg);
    if (r < 0)
        return r;
    struct etimer_reply rep = {0};
    struct nl_cb *own = nl_socket_get_cb(sk); /* a reference */
    struct nl_cb *cb = own ? nl_cb_clone(own) : NULL;
    nl_cb_put(own);
    if (!cb)
        return -NLE_NOMEM;
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_etimer, &rep);
    r = nl_recvmsgs(sk, cb);
    nl_cb_put(cb);
    if (r >= 0)
        r = nl_wait_for_ack(sk);
    if (r < 0)
        return r;
    if (!rep.seen)
        return -NLE_MISSING_ATTR;
    *out = rep.value;
    return 0;
}

static int put_etimer(struct nl_sock *sk, const struct xf_dir *d, uint32_t jiffies)
{
    struct xfrmnl_ae *ae = ae_for(d);
    if (!ae)
        return -NLE_NOMEM;
    xfrmnl_ae_set_replay_maxage(ae, jiffies);
    int r = xfrmnl_ae_set(sk, ae, 0);
    xfrmnl_ae_put(ae);
    return r;
}

/* Once, on the first installed state d: write a probe, read it back,
 * and put the timer d should have had. HZ stays unknown (the guess is
 * used) if the kernel does not answer as expected. */
void xf_learn_hz(struct dp *dp, struct xf_ns *ns, const struct xf_dir *d)
{
    struct xf_priv *p = dp->priv;
    if (p->hz) /* HZ is the kernel's: one namespace tells for all */
        return;
    uint32_t back = 0;
    unsigned hz = 0;
    if (put_etimer(ns->cmd, d, XF_HZ_PROBE) == 0 && get_etimer(ns->cmd, d, &back) == 0)
        hz = xf_hz_from_readback(XF_HZ_PROBE, back);
    p->hz = hz ? hz : XF_HZ_GUESS;
    p->hz_learnt = hz != 0;
    (void)put_etimer(ns->cmd, d, xf_etimer_for(p, p->etimer_ms));
}

/* ---- the event socket ---------------------------------------------------------- */

static void on_newae(struct dp *dp, struct xf_ns *ns, struct nlmsghdr *h)
{
    struct xf_priv *p = dp->priv;
    /* xfrmnl_ae_parse dereferences the replay attribute unchecked */
    if (!nlmsg_find_attr(h, sizeof(struct xfrm_aevent_id), XFRMA_REPLAY_ESN_VAL) &&
        !nlmsg_find_attr(h, sizeof(struct xfrm_aevent_id), XFRMA_REPLAY_VAL)) {
        p->ev_errors++, ns->ev_ctr.errors++;
        return;
    }
    struct xfrmnl_ae *ae = NULL;
    if (xfrmnl_ae_parse(h, &ae) < 0 || !ae) {
        p->ev_errors++, ns->ev_ctr.errors++;
        return;
    }
    struct ike_addr dst = {0};
    struct nl_addr *a = xfrmnl_ae_get_daddr(ae);
    bool inbound = false;
    struct xf_child *x = NULL;
    if (a && nl_addr_get_len(a) <= sizeof(dst.addr)) {
        dst.family = nl_addr_get_family(a) == AF_INET6 ? IKE_AF_INET6 : IKE_AF_INET;
        memcpy(dst.addr, nl_addr_get_binary_addr(a), nl_addr_get_len(a));
        x = xf_find(dp, ns, (uint32_t)xfrmnl_ae_get_spi(ae), &dst, &inbound);
    }
    if (!x) {
        p->ev_unknown++, ns->ev_ctr.unknown++; /* not ours (another daemon's SA) or already gone */
        xfrmnl_ae_put(ae);
        return;
    }
    struct xf_dir *d = inbound ? &x->in : &x->out;
    uint64_t before = d->packets;
    unsigned long long bytes, packets, t1, t2;
    if (xfrmnl_ae_get_curlifetime(ae, &bytes, &packets, &t1, &t2) == 0) {
        d->bytes = bytes;
        d->packets = packets;
    }
    unsigned oseq, seq, oseq_hi, seq_hi, win, bmp_len, bmp[XF_REPLAY_WORDS];
    if (xfrmnl_ae_get_replay_state_esn(ae, &oseq, &seq, &oseq_hi, &seq_hi, &win, &bmp_len, bmp) ==
        0)
        d->seq = inbound ? xf_seq64(seq_hi, seq) : xf_seq64(oseq_hi, oseq);
    else if (xfrmnl_ae_get_replay_state(ae, &oseq, &seq, bmp) == 0)
        d->seq = inbound ? seq : oseq;
    int cause = xfrmnl_ae_get_flags(ae);
    xfrmnl_ae_put(ae);
    if (d->packets > before) {
        if (inbound)
            x->act_in = true;
        else
            x->act_out = true;
    }
    /* the peer sends on the new SA (its replay edge moved; the packet
     * count lags one behind in the kernel's notification): follow it */
    if (inbound && x->out_deferred && (cause & (XFRM_AE_CR | XFRM_AE_CE)) && d->seq)
        (void)xf_out_activate(dp, x);
    xf_fill_counters(x->c);
    p->ae_events++, ns->ev_ctr.ae_events++;
    /* The counter event: every counter_event_packets packets of the pair
     * (the kernel's threshold counts per state from its last event, and a
     * timer event resets it, so count here), or on timer events when the
     * daemon asked for a cadence in time (else they only serve DPD). */
    uint64_t total = x->in.packets + x->out.packets;
    bool by_count =
        dp->counter_event_packets && total - x->event_packets >= dp->counter_event_packets;
    bool by_time = (cause & XFRM_AE_CE) && dp->counter_event_ms;
    if (dp->counter_event && (by_count || by_time) && d->packets > before) {
        x->event_packets = total;
        dp->counter_event(dp->counter_event_arg, x->c);
    }
}

static void on_expire(struct dp *dp, struct xf_ns *ns, struct nlmsghdr *h)
{
    struct xf_priv *p = dp->priv;
    struct xfrmnl_sa *sa = NULL;
    if (xfrmnl_sa_parse(h, &sa) < 0 || !sa) {
        p->ev_errors++, ns->ev_ctr.errors++;
        return;
    }
    struct ike_addr dst = {0};
    struct nl_addr *a = xfrmnl_sa_get_daddr(sa);
    bool inbound = false;
    struct xf_child *x = NULL;
    if (a && nl_addr_get_len(a) <= sizeof(dst.addr) && xfrmnl_sa_get_proto(sa) == IPPROTO_ESP) {
        dst.family = nl_addr_get_family(a) == AF_INET6 ? IKE_AF_INET6 : IKE_AF_INET;
        memcpy(dst.addr, nl_addr_get_binary_addr(a), nl_addr_get_len(a));
        x = xf_find(dp, ns, (uint32_t)xfrmnl_sa_get_spi(sa), &dst, &inbound);
    }
    bool hard = xfrmnl_sa_is_hardexpiry_reached(sa);
    xfrmnl_sa_put(sa);
    if (!x) {
        p->ev_unknown++, ns->ev_ctr.unknown++;
        return;
    }
    p->expires++, ns->ev_ctr.expires++;
    if (hard) { /* the kernel deleted that state itself */
        (inbound ? &x->in : &x->out)->installed = false;
        if (!inbound)
            xf_out_successors(dp, x);
    }
    xf_limit_reached(dp, x, hard);
}

static int on_ev_msg(struct nl_msg *msg, void *arg)
{
    struct xf_ns *ns = arg;
    struct dp *dp = ns->dp;
    struct xf_priv *p = dp->priv;
    struct sockaddr_nl *src = nlmsg_get_src(msg);
    if (src && src->nl_pid != 0) { /* only the kernel speaks on these groups */
        p->ev_errors++, ns->ev_ctr.errors++;
        return NL_SKIP;
    }
    struct nlmsghdr *h = nlmsg_hdr(msg);
    p->ev_msgs++, ns->ev_ctr.msgs++;
    if (h->nlmsg_type == XFRM_MSG_NEWAE)
        on_newae(dp, ns, h);
    else if (h->nlmsg_type == XFRM_MSG_EXPIRE)
        on_expire(dp, ns, h);
    return NL_OK;
}

/* One datagram per wake-up (level-triggered: the loop comes back while
 * more is queued); never blocks, the socket is non-blocking. */
static void on_ev_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct xf_ns *ns = arg;
    struct xf_priv *p = ns->dp->priv;
    int r = nl_recvmsgs_default(ns->ev);
    if (r == -NLE_NOMEM || r == -NLE_MSG_OVERFLOW) {
        /* ENOBUFS: events were lost; the next counters() read is exact */
        p->ev_overruns++, ns->ev_ctr.overruns++;
    } else if (r < 0 && r != -NLE_AGAIN) {
        p->ev_errors++, ns->ev_ctr.errors++;
    }
}

int xf_ev_open(struct xf_ns *ns, char *err, size_t errlen)
{
    ns->ev = nl_socket_alloc();
    if (!ns->ev) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    nl_socket_disable_seq_check(ns->ev);
    nl_socket_modify_cb(ns->ev, NL_CB_VALID, NL_CB_CUSTOM, on_ev_msg, ns);
    /* created inside the namespace: its groups carry that namespace's events */
    int back, r = esp_netns_enter(ns->name, &back, err, errlen);
    if (r < 0)
        return -1;
    r = nl_connect(ns->ev, NETLINK_XFRM);
    esp_netns_leave(back);
    if (r >= 0)
        r = nl_socket_add_memberships(ns->ev, XFRMNLGRP_AEVENTS, XFRMNLGRP_EXPIRE, 0);
    if (r >= 0)
        r = nl_socket_set_nonblocking(ns->ev);
    if (r < 0) {
        snprintf(err, errlen, "XFRM event socket%s%s: %s", ns->name[0] ? " in netns " : "",
                 ns->name, nl_geterror(r));
        return -1;
    }
    (void)nl_socket_set_buffer_size(ns->ev, XF_EV_RCVBUF, 0); /* best effort */
    ns->ev_read =
        event_new(ns->dp->base, nl_socket_get_fd(ns->ev), EV_READ | EV_PERSIST, on_ev_read, ns);
    if (!ns->ev_read || event_add(ns->ev_read, NULL) < 0) {
        snprintf(err, errlen, "cannot watch the XFRM event socket");
        return -1;
    }
    return 0;
}

void xf_ev_close(struct xf_ns *ns)
{
    if (ns->ev_read)
        event_free(ns->ev_read);
    ns->ev_read = NULL;
    if (ns->ev)
        nl_socket_free(ns->ev);
    ns->ev = NULL;
}
