/*
 * The "userspace" data-plane backend: ESP tunnel mode in haiked over one
 * TUN device per gateway (see README.md in this directory).
 *
 *   outbound: TUN -> CHILD SA whose selectors hold (src, dst) -> esp_encap
 *             -> ESP-in-UDP over the daemon's 4500 socket (dp->udp_send)
 *             when the SA is encapsulated, else plain ESP on a raw socket
 *   inbound:  4500 hand-off (esp_input) or the raw socket -> SPI lookup ->
 *             esp_decap (replay, ICV, padding) -> inside the SA's
 *             selectors? -> TUN
 *
 * Rekeys (make-before-break): a new pair is usable inbound at install; the
 * outbound side prefers SAs the peer already sends on, newest first, so the
 * switch follows the peer (strongSwan moves its outbound SA only when the
 * rekey is done) and the old pair keeps working until it is deleted.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include <ike/const.h>

#include "config/config.h"
#include "dataplane.h"
#include "esp_ip.h"
#include "esp_sa.h"
#include "esp_tun.h"
#include "gateway.h"
#include "net.h"

/* Packets taken from one readable TUN or raw socket per event: bounds the
 * time one source holds the loop. */
#define US_BATCH 64
#define US_BUF   (ESP_TUN_MTU + ESP_OVERHEAD_MAX + 64)
#define US_RAW_RCVBUF (4 << 20)

struct us_child;

struct us_tun {
    struct us_tun *next;
    TAILQ_HEAD(, us_child) children; /* installed here: the outbound lookup walks only these */
    struct dp *dp;
    char gw[DP_NAME_MAX];
    char ifname[IFNAMSIZ];
    int fd, ifindex;
    struct event *ev;
    uint64_t no_sa;        /* packets no CHILD SA's selectors hold */
    uint64_t write_errors;
};

struct us_child {
    struct esp_sa esp;
    struct us_tun *tun;
    TAILQ_ENTRY(us_child) tun_link;
    struct dp_child *c;      /* the pair this state belongs to */
    uint64_t order;          /* install order: newer is larger */
    bool peer_sends;         /* an authentic inbound packet arrived */
    uint64_t dropped_selector;
    uint64_t send_errors, tun_errors;
    uint64_t since_event;    /* packets since the last counter event */
    bool dirty;              /* counters changed since the last event */
    struct dp_limits lim;    /* the selector's byte/packet lifetimes */
    bool soft_due, hard_due; /* limit reached, report pending */
    bool soft_sent, hard_sent;
    bool act_in, act_out;    /* traffic since the last activity report */
};

struct us_priv {
    struct us_tun *tuns;
    int raw4;                /* IPPROTO_ESP, IPv4; -1 without CAP_NET_RAW */
    struct event *raw4_ev;
    struct event *ctr_timer;
    struct event *tick;      /* activity reports, once a second */
    struct event *report_ev; /* limit reports, at the next loop turn */
    uint64_t next_order;
    uint64_t unknown_spi, raw_errors;
    uint8_t buf[US_BUF];
};

static struct us_child *uc_of(const struct dp_child *c)
{
    return c->backend;
}

/* ---- counters ------------------------------------------------------------- */

static void fill_counters(struct dp_child *c)
{
    const struct us_child *u = uc_of(c);
    const struct esp_counters *e = &u->esp.ctr;
    c->ctr.packets_in = e->packets_in;
    c->ctr.bytes_in = e->bytes_in;
    c->ctr.packets_out = e->packets_out;
    c->ctr.bytes_out = e->bytes_out;
    c->ctr.dropped_replay = e->err[ESP_E_REPLAY];
    c->ctr.dropped_integrity = e->err[ESP_E_INTEGRITY];
    c->ctr.dropped_other = e->err[ESP_E_MALFORMED] + e->err[ESP_E_PADDING] +
                           e->err[ESP_E_SEQ_EXHAUSTED] + e->err[ESP_E_SPACE] +
                           e->err[ESP_E_CRYPTO] + u->dropped_selector + u->send_errors +
                           u->tun_errors;
    c->ctr.seq_out = u->esp.out.seq;
    c->ctr.replay_in_edge = u->esp.replay.top;
}

static bool over(uint64_t v, uint64_t limit)
{
    return limit && v >= limit;
}

/* Byte/packet lifetimes (either direction's SA reaching them counts):
 * reported from the loop (on_report), never from inside the packet path. */
static void check_limits(struct dp *dp, struct us_child *u)
{
    const struct esp_counters *e = &u->esp.ctr;
    uint64_t b = e->bytes_in > e->bytes_out ? e->bytes_in : e->bytes_out;
    uint64_t n = e->packets_in > e->packets_out ? e->packets_in : e->packets_out;
    struct us_priv *p = dp->priv;
    if (!u->hard_sent && (over(b, u->lim.hard_bytes) || over(n, u->lim.hard_packets))) {
        u->hard_sent = u->hard_due = true;
        event_active(p->report_ev, EV_TIMEOUT, 0);
    } else if (!u->soft_sent && (over(b, u->lim.soft_bytes) || over(n, u->lim.soft_packets))) {
        u->soft_sent = u->soft_due = true;
        event_active(p->report_ev, EV_TIMEOUT, 0);
    }
}

/* Counts a packet for the counter event; raises it every N packets. */
static void counted(struct dp *dp, struct dp_child *c)
{
    struct us_child *u = uc_of(c);
    u->dirty = true;
    check_limits(dp, u);
    if (dp->counter_event && dp->counter_event_packets &&
        ++u->since_event >= dp->counter_event_packets) {
        u->since_event = 0;
        u->dirty = false;
        fill_counters(c);
        dp->counter_event(dp->counter_event_arg, c);
    }
}

static void on_ctr_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct dp_child *c, *next;
    for (c = TAILQ_FIRST(&dp->children); c; c = next) {
        next = TAILQ_NEXT(c, all_link); /* the observer must not delete CHILD SAs */
        struct us_child *u = uc_of(c);
        if (u && u->dirty && dp->counter_event) {
            u->dirty = false;
            u->since_event = 0;
            fill_counters(c);
            dp->counter_event(dp->counter_event_arg, c);
        }
    }
}

/* Pending limit reports. The hook may delete CHILD SAs (a hard limit's
 * Delete): start over after each call; flags cleared first, so it ends. */
static void on_report(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct dp_child *c;
again:
    TAILQ_FOREACH(c, &dp->children, all_link) {
        struct us_child *u = uc_of(c);
        if (!u || !(u->soft_due || u->hard_due))
            continue;
        enum dp_report r = u->hard_due ? DP_REPORT_HARD_LIMIT : DP_REPORT_SOFT_LIMIT;
        u->soft_due = u->hard_due = false;
        if (dp->report) {
            dp->report(dp->report_arg, c, r);
            goto again;
        }
    }
}

/* Traffic seen in the last second, for DPD (ike_sa_note_activity). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct dp_child *c;
again:
    TAILQ_FOREACH(c, &dp->children, all_link) {
        struct us_child *u = uc_of(c);
        if (!u || !(u->act_in || u->act_out))
            continue;
        bool in = u->act_in, out = u->act_out;
        u->act_in = u->act_out = false;
        if (!dp->report)
            continue;
        if (in)
            dp->report(dp->report_arg, c, DP_REPORT_INBOUND);
        if (out)
            dp->report(dp->report_arg, c, DP_REPORT_OUTBOUND);
        goto again;
    }
}

/* ---- outbound ------------------------------------------------------------- */

/* The CHILD SA of tun whose selectors hold ip: SAs the peer already uses
 * first, then the newest. */
static struct dp_child *outbound_sa(struct dp *dp, const struct us_tun *t,
                                    const struct esp_ip_info *ip)
{
    (void)dp;
    struct dp_child *best = NULL;
    struct us_child *u;
    TAILQ_FOREACH(u, &t->children, tun_link) {
        struct dp_child *c = u->c;
        if (u->hard_sent) /* past its hard lifetime: unusable */
            continue;
        if (!esp_ip_in_selectors(ip, true, c->ts_local, c->n_ts_local, c->ts_remote,
                                 c->n_ts_remote))
            continue;
        if (!best) {
            best = c;
            continue;
        }
        struct us_child *b = uc_of(best);
        if (u->peer_sends > b->peer_sends ||
            (u->peer_sends == b->peer_sends && u->order > b->order))
            best = c;
    }
    return best;
}

static int send_raw(struct us_priv *p, const struct dp_child *c, const uint8_t *data, size_t len)
{
    if (p->raw4 < 0 || c->remote.family != IKE_AF_INET)
        return -EAFNOSUPPORT;
    struct sockaddr_in to = {.sin_family = AF_INET};
    memcpy(&to.sin_addr, c->remote.addr, 4);
    struct in_pktinfo pi = {0};
    memcpy(&pi.ipi_spec_dst, c->local.addr, 4);
    char cbuf[CMSG_SPACE(sizeof(pi))] __attribute__((aligned(8))) = {0};
    struct iovec iov = {(void *)data, len};
    struct msghdr mh = {.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    return sendmsg(p->raw4, &mh, 0) < 0 ? -errno : 0;
}

static void output(struct dp *dp, struct us_tun *t, uint8_t *buf, size_t len)
{
    struct us_priv *p = dp->priv;
    struct esp_ip_info ip;
    /* the inner packet was read behind room for the longest header; this
     * SA's header is written right in front of it (no copy) */
    uint8_t *inner = buf + ESP_HDR_LEN + ESP_IV_MAX;
    if (esp_ip_parse(inner, len, &ip) < 0) {
        t->no_sa++;
        return;
    }
    struct dp_child *c = outbound_sa(dp, t, &ip);
    if (!c) {
        t->no_sa++;
        return;
    }
    struct us_child *u = uc_of(c);
    size_t hdr = esp_sa_hdr_len(&u->esp);
    uint8_t *pkt = inner - hdr;
    size_t n = 0;
    if (esp_encap(&u->esp, pkt, len, (size_t)(buf + US_BUF - pkt),
                  ip.version == 4 ? ESP_NH_IPV4 : ESP_NH_IPV6, &n) != ESP_OK)
        return; /* counted in esp.ctr */
    int r = c->encap ? (dp->udp_send ? dp->udp_send(dp->udp_send_arg, c, pkt, n) : -ENOTCONN)
                     : send_raw(p, c, pkt, n);
    if (r < 0)
        u->send_errors++;
    else
        u->act_out = true;
    counted(dp, c);
}

static void on_tun(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct us_tun *t = arg;
    struct us_priv *p = t->dp->priv;
    for (int i = 0; i < US_BATCH; i++) {
        ssize_t n = read(fd, p->buf + ESP_HDR_LEN + ESP_IV_MAX,
                         US_BUF - ESP_HDR_LEN - ESP_IV_MAX - ESP_OVERHEAD_MAX);
        if (n <= 0)
            return;
        output(t->dp, t, p->buf, (size_t)n);
    }
}

/* ---- inbound -------------------------------------------------------------- */

/* pkt (in p->buf, writable) is an ESP packet from remote. */
static void input(struct dp *dp, uint8_t *pkt, size_t len)
{
    struct us_priv *p = dp->priv;
    uint32_t spi = esp_packet_spi(pkt, len);
    struct dp_child *c = spi ? dp_child_find(dp, spi) : NULL;
    struct us_child *u = c ? uc_of(c) : NULL;
    if (!u) {
        p->unknown_spi++;
        dp->esp_in_dropped++;
        return;
    }
    uint8_t *inner, nh;
    size_t ilen;
    if (esp_decap(&u->esp, pkt, len, &inner, &ilen, &nh) != ESP_OK) {
        u->dirty = true;
        return; /* counted in esp.ctr */
    }
    u->peer_sends = true;
    u->act_in = true;
    if (nh == ESP_NH_NONE) {
        counted(dp, c); /* a TFC dummy (RFC 4303 §2.6) */
        return;
    }
    struct esp_ip_info ip;
    if ((nh != ESP_NH_IPV4 && nh != ESP_NH_IPV6) || esp_ip_parse(inner, ilen, &ip) < 0 ||
        (ip.version == 4) != (nh == ESP_NH_IPV4) ||
        !esp_ip_in_selectors(&ip, false, c->ts_local, c->n_ts_local, c->ts_remote,
                             c->n_ts_remote)) {
        u->dropped_selector++;
        counted(dp, c);
        return;
    }
    if (write(u->tun->fd, inner, ilen) != (ssize_t)ilen) {
        u->tun_errors++;
        u->tun->write_errors++;
    }
    counted(dp, c);
}

static void us_esp_input(struct dp *dp, const uint8_t *data, size_t len,
                         const struct ike_addr *local, const struct ike_addr *remote)
{
    (void)local, (void)remote;
    struct us_priv *p = dp->priv;
    if (len > sizeof(p->buf)) {
        dp->esp_in_dropped++;
        return;
    }
    memcpy(p->buf, data, len);
    input(dp, p->buf, len);
}

static void on_raw4(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct dp *dp = arg;
    struct us_priv *p = dp->priv;
    for (int i = 0; i < US_BATCH; i++) {
        ssize_t n = recv(fd, p->buf, sizeof(p->buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                p->raw_errors++;
            return;
        }
        /* a raw IPv4 socket hands us the IP header too */
        size_t ihl = n >= 20 ? (size_t)(p->buf[0] & 0x0f) * 4 : 0;
        if (ihl < 20 || ihl >= (size_t)n) {
            p->raw_errors++;
            continue;
        }
        input(dp, p->buf + ihl, (size_t)n - ihl);
    }
}

/* ---- install / remove --------------------------------------------------- */

static struct us_tun *tun_get(struct dp *dp, const char *gw, char *err, size_t errlen)
{
    struct us_priv *p = dp->priv;
    for (struct us_tun *t = p->tuns; t; t = t->next)
        if (!strcmp(t->gw, gw))
            return t;
    struct us_tun *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->dp = dp;
    TAILQ_INIT(&t->children);
    snprintf(t->gw, sizeof(t->gw), "%s", gw);
    esp_tun_name(gw, t->ifname);
    char e[160];
    t->fd = esp_tun_open(t->ifname, &t->ifindex, e, sizeof(e));
    if (t->fd < 0) {
        snprintf(err, errlen, "TUN %s: %s", t->ifname, e);
        free(t);
        return NULL;
    }
    t->ev = event_new(dp->base, t->fd, EV_READ | EV_PERSIST, on_tun, t);
    if (!t->ev || event_add(t->ev, NULL) < 0) {
        snprintf(err, errlen, "TUN %s: cannot watch it", t->ifname);
        if (t->ev)
            event_free(t->ev);
        close(t->fd);
        free(t);
        return NULL;
    }
    t->next = p->tuns;
    p->tuns = t;
    return t;
}

/* The selector config of c (for add-route); NULL without an owner. */
static const struct cfg_selector *selector_of(const struct dp_child *c)
{
    if (!c->owner || !c->owner->gw || !c->owner->gw->cfg)
        return NULL;
    const struct cfg_gateway *g = c->owner->gw->cfg;
    for (size_t i = 0; i < g->n_selectors; i++)
        if (g->selectors[i].name && !strcmp(g->selectors[i].name, c->child_name))
            return &g->selectors[i];
    return NULL;
}

static int us_install(struct dp *dp, struct dp_child *c, const struct ike_child_export *ex,
                      char *err, size_t errlen)
{
    struct us_priv *p = dp->priv;
    if (ex->protocol != IKE_PROTO_ESP || !ex->tunnel) {
        snprintf(err, errlen, "the userspace data plane does ESP tunnel mode only");
        return -1;
    }
    if (!c->encap && (p->raw4 < 0 || c->remote.family != IKE_AF_INET)) {
        snprintf(err, errlen, "plain ESP needs a raw IPv4 ESP socket (%s)",
                 p->raw4 < 0 ? "CAP_NET_RAW missing" : "IPv6 outer addresses need NAT-T");
        return -1;
    }
    struct us_child *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct esp_sa_params sp = {
        .encr_id = ex->encr_id, .encr_key_bits = ex->encr_key_bits, .integ_id = ex->integ_id,
        .esn = ex->esn, .spi_in = ex->spi_in, .spi_out = ex->spi_out,
        .in = {ex->encr_in.data, ex->encr_in.len, ex->integ_in.data, ex->integ_in.len},
        .out = {ex->encr_out.data, ex->encr_out.len, ex->integ_out.data, ex->integ_out.len},
        .replay_window = dp->replay_window,
    };
    if (esp_sa_init(&u->esp, &sp, err, errlen) < 0) {
        free(u);
        return -1;
    }
    u->tun = tun_get(dp, c->gw_name[0] ? c->gw_name : "tunnel", err, errlen);
    if (!u->tun) {
        esp_sa_free(&u->esp);
        free(u);
        return -1;
    }
    const struct cfg_selector *sel = selector_of(c);
    if (sel)
        u->lim = (struct dp_limits){sel->lifetime.soft_bytes, sel->lifetime.hard_bytes,
                                    sel->lifetime.soft_packets, sel->lifetime.hard_packets};
    if (sel && sel->add_route &&
        esp_tun_routes(u->tun->ifindex, true, c->ts_remote, c->n_ts_remote, c->ts_local,
                       c->n_ts_local, err, errlen) < 0) {
        esp_sa_free(&u->esp);
        free(u);
        return -1;
    }
    if (!p->ctr_timer && dp->counter_event && dp->counter_event_ms) {
        p->ctr_timer = event_new(dp->base, -1, EV_PERSIST, on_ctr_timer, dp);
        struct timeval tv = {dp->counter_event_ms / 1000, dp->counter_event_ms % 1000 * 1000};
        if (p->ctr_timer)
            event_add(p->ctr_timer, &tv);
    }
    u->order = ++p->next_order;
    u->c = c;
    TAILQ_INSERT_TAIL(&u->tun->children, u, tun_link);
    c->backend = u;
    return 0;
}

static void us_remove(struct dp *dp, struct dp_child *c)
{
    (void)dp;
    struct us_child *u = uc_of(c);
    if (!u)
        return;
    fill_counters(c); /* the last view stays in c->ctr */
    TAILQ_REMOVE(&u->tun->children, u, tun_link);
    esp_sa_free(&u->esp);
    OPENSSL_cleanse(u, sizeof(*u));
    free(u);
    c->backend = NULL;
}

static int us_counters(struct dp *dp, struct dp_child *c)
{
    (void)dp;
    if (!uc_of(c))
        return -1;
    fill_counters(c);
    return 0;
}

static int us_set_seq(struct dp *dp, struct dp_child *c, uint64_t seq_out,
                      uint64_t replay_in_edge)
{
    (void)dp;
    struct us_child *u = uc_of(c);
    if (!u)
        return -1;
    u->esp.out.seq = seq_out;
    esp_replay_set_top(&u->esp.replay, replay_in_edge);
    fill_counters(c);
    return 0;
}

/* ---- open / close ------------------------------------------------------- */

static void us_close(struct dp *dp)
{
    struct us_priv *p = dp->priv;
    if (!p)
        return;
    while (p->tuns) {
        struct us_tun *t = p->tuns;
        p->tuns = t->next;
        event_free(t->ev);
        close(t->fd); /* the interface and its routes go with it */
        free(t);
    }
    if (p->raw4_ev)
        event_free(p->raw4_ev);
    if (p->raw4 >= 0)
        close(p->raw4);
    if (p->ctr_timer)
        event_free(p->ctr_timer);
    if (p->tick)
        event_free(p->tick);
    if (p->report_ev)
        event_free(p->report_ev);
    free(p);
    dp->priv = NULL;
}

static int us_open(struct dp *dp, char *err, size_t errlen)
{
    struct us_priv *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dp->priv = p;
    p->raw4 = -1;
    p->tick = event_new(dp->base, -1, EV_PERSIST, on_tick, dp);
    p->report_ev = event_new(dp->base, -1, 0, on_report, dp);
    struct timeval sec = {1, 0};
    if (!p->tick || !p->report_ev || event_add(p->tick, &sec) < 0) {
        snprintf(err, errlen, "out of memory");
        us_close(dp);
        return -1;
    }
    /* Plain ESP (no NAT) needs it; without CAP_NET_RAW only NAT-T SAs work. */
    p->raw4 = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
    if (p->raw4 >= 0) {
        /* bursts of a TCP flow must not overflow the default ~200 KiB while
         * the loop is busy with the TUN (best effort: needs CAP_NET_ADMIN) */
        int sz = US_RAW_RCVBUF;
        if (setsockopt(p->raw4, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
            (void)setsockopt(p->raw4, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        p->raw4_ev = event_new(dp->base, p->raw4, EV_READ | EV_PERSIST, on_raw4, dp);
        if (!p->raw4_ev || event_add(p->raw4_ev, NULL) < 0) {
            snprintf(err, errlen, "cannot watch the raw ESP socket");
            us_close(dp);
            return -1;
        }
    }
    return 0;
}

const struct dp_backend_ops dp_userspace_ops = {
    .name = "userspace",
    .open = us_open,
    .close = us_close,
    .install = us_install,
    .remove = us_remove,
    .counters = us_counters,
    .set_seq = us_set_seq,
    .esp_input = us_esp_input,
};
