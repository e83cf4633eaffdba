/*
 * The "userspace" data-plane backend: ESP tunnel mode in haiked over one
 * TUN device per gateway (see README.md in this directory).
 *
 *   outbound: TUN -> CHILD SA whose selectors hold (src, dst) -> esp_encap
 *             -> queued: ESP-in-UDP for the daemon's 4500 socket
 *             (dp->udp_path) when the SA is encapsulated, else plain ESP
 *             for a raw socket -> one sendmmsg per socket (UDP GSO runs)
 *   inbound:  4500 hand-off (esp_input, a recvmmsg batch ended by
 *             esp_flush) or the raw socket -> SPI lookup -> esp_decap
 *             (replay, ICV, padding) -> inside the SA's selectors? -> TUN
 *             (TCP runs coalesced per batch)
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
#include "daemon.h"
#include "esp_batch.h"
#include "esp_early.h"
#include "esp_gso.h"
#include "esp_ip.h"
#include "esp_netns.h"
#include "esp_sa.h"
#include "esp_tun.h"
#include "gateway.h"
#include "net.h"

/* A raw socket's receive buffer: bursts of a TCP flow must not overflow
 * the default ~200 KiB while the loop is busy with the TUN. */
#define US_RAW_RCVBUF (4 << 20)

struct us_child;
TAILQ_HEAD(us_list, us_child);

/* The raw IPv4 ESP socket of one network namespace (plain ESP, no NAT). */
struct us_raw {
    struct us_raw *next;
    struct dp *dp;
    char netns[NET_NETNS_MAX]; /* "" = the daemon's own */
    int fd;                    /* -1 without CAP_NET_RAW */
    struct event *ev;
};

struct us_tun {
    struct us_tun *next;
    struct us_list children; /* installed here: the outbound lookup walks only these */
    struct dp *dp;
    char gw[DP_NAME_MAX];
    char ifname[IFNAMSIZ];
    char netns[NET_NETNS_MAX]; /* where the device lives: its gateway's VDOM */
    int fd, ifindex;
    struct event *ev;
    struct us_raw *raw;    /* plain ESP out of this namespace (NULL: none yet) */
    uint64_t no_sa;        /* packets no CHILD SA's selectors hold */
    uint64_t malformed;    /* TUN frames that were not whole packets */
    uint64_t write_errors;
};

/* Per-SA work outside the packet path runs only for SAs on one of three
 * lists (activity, new counts, limit reached): a tick costs what happened
 * since the last one, not the number of installed SAs. */
struct us_child {
    struct esp_sa esp;
    struct us_tun *tun;
    TAILQ_ENTRY(us_child) tun_link;
    TAILQ_ENTRY(us_child) act_link;   /* p->active while act_in || act_out */
    TAILQ_ENTRY(us_child) dirty_link; /* p->dirty while dirty */
    TAILQ_ENTRY(us_child) due_link;   /* p->due while soft_due || hard_due */
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
    struct us_raw *raws;     /* the daemon's own namespace first (opened at start) */
    struct event *ctr_timer; /* armed while p->dirty is not empty */
    struct event *tick;      /* activity reports: armed while p->active is not empty */
    struct event *report_ev; /* limit reports, at the next loop turn */
    struct event *early_ev;  /* held early ESP, at the next loop turn after an install */
    struct esp_early early;  /* ESP that came before its SA (esp_early.h) */
    struct us_list active, dirty, due;
    uint64_t next_order;
    uint64_t unknown_spi, raw_errors;
    /* one set of buffers: the loop runs one source at a time, and an
     * outbound batch is flushed before on_tun() returns; ESP-in-UDP and
     * plain ESP share it (each packet names its socket) */
    struct esp_batch io;
    struct us_tun *reading;               /* the TUN on_tun() is cutting up */
    uint8_t frame[ESP_GSO_FRAME_MAX];     /* one TUN read: up to 64 KiB of TSO */
    struct esp_gro gro;                   /* inbound coalescing, per receive batch */
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

static void arm(struct event *ev, uint32_t ms)
{
    if (!event_pending(ev, EV_TIMEOUT, NULL)) {
        struct timeval tv = {ms / 1000, ms % 1000 * 1000};
        event_add(ev, &tv);
    }
}

/* Traffic for the next activity report (at most once a second). */
static void mark_active(struct us_priv *p, struct us_child *u, bool in)
{
    if (!u->act_in && !u->act_out) {
        TAILQ_INSERT_TAIL(&p->active, u, act_link);
        arm(p->tick, 1000);
    }
    if (in)
        u->act_in = true;
    else
        u->act_out = true;
}

/* New counts for the timed counter event. */
static void mark_dirty(struct dp *dp, struct us_child *u)
{
    struct us_priv *p = dp->priv;
    if (u->dirty)
        return;
    u->dirty = true;
    TAILQ_INSERT_TAIL(&p->dirty, u, dirty_link);
    if (dp->counter_event && dp->counter_event_ms)
        arm(p->ctr_timer, dp->counter_event_ms);
}

static void clear_dirty(struct us_priv *p, struct us_child *u)
{
    if (u->dirty)
        TAILQ_REMOVE(&p->dirty, u, dirty_link);
    u->dirty = false;
    u->since_event = 0;
}

static void mark_due(struct us_priv *p, struct us_child *u)
{
    if (!u->soft_due && !u->hard_due)
        TAILQ_INSERT_TAIL(&p->due, u, due_link);
    event_active(p->report_ev, EV_TIMEOUT, 0);
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
        mark_due(p, u);
        u->hard_sent = u->hard_due = true;
    } else if (!u->soft_sent && (over(b, u->lim.soft_bytes) || over(n, u->lim.soft_packets))) {
        mark_due(p, u);
        u->soft_sent = u->soft_due = true;
    }
}

/* Counts a packet for the counter event; raises it every N packets. */
static void counted(struct dp *dp, struct dp_child *c)
{
    struct us_child *u = uc_of(c);
    mark_dirty(dp, u);
    check_limits(dp, u);
    if (dp->counter_event && dp->counter_event_packets &&
        ++u->since_event >= dp->counter_event_packets) {
        clear_dirty(dp->priv, u);
        fill_counters(c);
        dp->counter_event(dp->counter_event_arg, c);
    }
}

/* The lists below are drained from the head and every hook may delete
 * CHILD SAs (us_remove unlinks them): each SA is taken off before its
 * hook runs, so the walk ends and never touches a freed one. */

static void on_ctr_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct us_priv *p = dp->priv;
    struct us_child *u;
    while ((u = TAILQ_FIRST(&p->dirty))) {
        clear_dirty(p, u);
        if (!dp->counter_event)
            continue;
        fill_counters(u->c);
        dp->counter_event(dp->counter_event_arg, u->c);
    }
}

/* Pending limit reports (a hard limit's hook deletes the CHILD SA). */
static void on_report(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct us_priv *p = dp->priv;
    struct us_child *u;
    while ((u = TAILQ_FIRST(&p->due))) {
        TAILQ_REMOVE(&p->due, u, due_link);
        enum dp_report r = u->hard_due ? DP_REPORT_HARD_LIMIT : DP_REPORT_SOFT_LIMIT;
        u->soft_due = u->hard_due = false;
        if (dp->report)
            dp->report(dp->report_arg, u->c, r);
    }
}

/* Traffic seen in the last second, for DPD (ike_sa_note_activity; that
 * hook deletes nothing, so both directions may be reported in a row). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct us_priv *p = dp->priv;
    struct us_child *u;
    while ((u = TAILQ_FIRST(&p->active))) {
        TAILQ_REMOVE(&p->active, u, act_link);
        bool in = u->act_in, out = u->act_out;
        u->act_in = u->act_out = false;
        if (!dp->report)
            continue;
        if (in)
            dp->report(dp->report_arg, u->c, DP_REPORT_INBOUND);
        if (out)
            dp->report(dp->report_arg, u->c, DP_REPORT_OUTBOUND);
    }
}

/* ---- outbound ------------------------------------------------------------- */

/* An SA whose IKE SA we are deleting (a reload retired its gateway): the
 * peer drops it on our Delete, so it carries only what nothing else can. */
static bool leaving(const struct us_child *u)
{
    return u->c->owner && u->c->owner->deleting;
}

/* The CHILD SA of tun whose selectors hold ip: SAs not being deleted
 * first, then SAs the peer already uses, then the newest. */
static struct us_child *outbound_sa(const struct us_tun *t, const struct esp_ip_info *ip)
{
    struct us_child *best = NULL, *u;
    TAILQ_FOREACH(u, &t->children, tun_link) {
        const struct dp_child *c = u->c;
        if (u->hard_sent) /* past its hard lifetime: unusable */
            continue;
        if (!esp_ip_in_selectors(ip, true, c->ts_local, c->n_ts_local, c->ts_remote,
                                 c->n_ts_remote))
            continue;
        if (best && leaving(u) != leaving(best)) {
            if (leaving(best))
                best = u;
            continue;
        }
        if (!best || u->peer_sends > best->peer_sends ||
            (u->peer_sends == best->peer_sends && u->order > best->order))
            best = u;
    }
    return best;
}

/* esp_batch_flush()'s verdict on one queued packet (aux: the 4500
 * socket's owner, whose counters learn about ESP-in-UDP). */
static void out_sent(void *arg, void *tag, void *aux, size_t octets, int err)
{
    struct dp *dp = arg;
    struct us_child *u = tag;
    if (aux && dp->udp_sent)
        dp->udp_sent(dp->udp_send_arg, aux, octets, err);
    if (err < 0)
        u->send_errors++;
    else
        mark_active(dp->priv, u, false);
}

static void flush_out(struct dp *dp)
{
    struct us_priv *p = dp->priv;
    if (p->io.n)
        esp_batch_flush(&p->io, out_sent, dp);
}

/* ESP-in-UDP of c in pkt: queued for the owner's 4500 socket when it
 * tells us which (dp->udp_path), else sent at once (dp->udp_send). */
static void output_udp(struct dp *dp, struct us_child *u, const uint8_t *pkt, size_t n)
{
    struct us_priv *p = dp->priv;
    const struct dp_child *c = u->c;
    if (dp->udp_path) {
        struct dp_udp_path path;
        if (dp->udp_path(dp->udp_send_arg, c, &path) < 0) {
            u->send_errors++; /* no 4500 socket (counted by its owner too) */
            return;
        }
        esp_batch_queue(&p->io, path.fd, true, pkt, n, path.pktinfo ? &c->local : NULL,
                        &c->remote, u, path.owner);
        return;
    }
    int r = dp->udp_send ? dp->udp_send(dp->udp_send_arg, c, pkt, n) : -ENOTCONN;
    if (r < 0)
        u->send_errors++;
    else
        mark_active(p, u, false);
}

/* The inner packet of len octets in slot p->io.n: encapsulated in place
 * and queued in the slot (the caller flushes). */
static void output(struct dp *dp, struct us_tun *t, size_t len)
{
    struct us_priv *p = dp->priv;
    size_t slot = p->io.n;
    uint8_t *inner = esp_batch_inner(&p->io, slot);
    struct esp_ip_info ip;
    struct us_child *u = NULL;
    if (esp_ip_parse(inner, len, &ip) < 0 || !(u = outbound_sa(t, &ip))) {
        t->no_sa++;
        return;
    }
    struct dp_child *c = u->c;
    /* this SA's header goes right in front of the inner packet */
    uint8_t *pkt = inner - esp_sa_hdr_len(&u->esp);
    size_t n = 0;
    if (esp_encap(&u->esp, pkt, len, (size_t)(p->io.buf[slot] + ESP_BATCH_BUF - pkt),
                  ip.version == 4 ? ESP_NH_IPV4 : ESP_NH_IPV6, &n) != ESP_OK)
        return; /* counted in esp.ctr */
    counted(dp, c);
    if (c->encap) {
        output_udp(dp, u, pkt, n);
        return;
    }
    if (!t->raw) {
        u->send_errors++;
        return;
    }
    struct ike_addr to = c->remote;
    to.port = 0; /* raw IP: no port */
    esp_batch_queue(&p->io, t->raw->fd, false, pkt, n, &c->local, &to, u, NULL);
}

/* esp_gso_split()'s sink: segments go straight into the batch slots. */
static uint8_t *tun_slot(void *arg, size_t *cap)
{
    struct us_priv *p = arg;
    if (p->io.n == ESP_BATCH)
        flush_out(p->reading->dp);
    *cap = ESP_BATCH_INNER_MAX;
    return esp_batch_inner(&p->io, p->io.n);
}

static void tun_emit(void *arg, size_t len)
{
    struct us_priv *p = arg;
    output(p->reading->dp, p->reading, len);
}

/* Inner packets taken from one readable TUN per event: bounds the time
 * one source holds the loop (a TSO read yields up to ~48). */
#define US_TUN_PACKETS_MAX (4 * ESP_BATCH)

static void on_tun(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct us_tun *t = arg;
    struct us_priv *p = t->dp->priv;
    const struct esp_gso_sink sink = {tun_slot, tun_emit, p};
    p->reading = t;
    int packets = 0;
    for (int i = 0; i < ESP_BATCH && packets < US_TUN_PACKETS_MAX; i++) {
        ssize_t n = read(fd, p->frame, sizeof(p->frame));
        if (n <= 0)
            break;
        int k = esp_gso_split(p->frame, (size_t)n, &sink);
        if (k < 0)
            t->malformed++;
        else
            packets += k;
    }
    flush_out(t->dp);
    p->reading = NULL;
}

/* ---- inbound -------------------------------------------------------------- */

/* pkt (writable, with room for the TUN's header in front of it) is an
 * ESP packet from remote, part of a receive batch whose TCP segments may
 * be coalesced (the caller flushes p->gro at its end). */
static void input(struct dp *dp, uint8_t *pkt, size_t len)
{
    struct us_priv *p = dp->priv;
    uint32_t spi = esp_packet_spi(pkt, len);
    struct dp_child *c = spi ? dp_child_find(dp, spi) : NULL;
    struct us_child *u = c ? uc_of(c) : NULL;
    if (!u) {
        p->unknown_spi++;
        dp->esp_in_dropped++;
        esp_early_hold(&p->early, spi, pkt, len, daemon_now_ms());
        return;
    }
    uint8_t *inner, nh;
    size_t ilen;
    if (esp_decap(&u->esp, pkt, len, &inner, &ilen, &nh) != ESP_OK) {
        mark_dirty(dp, u);
        return; /* counted in esp.ctr */
    }
    u->peer_sends = true;
    mark_active(p, u, true);
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
    /* the TUN's header goes where the ESP header was (>= 16 octets);
     * a failed write of a coalesced run is billed to the SA at hand */
    if (esp_gro_write(&p->gro, u->tun->fd, inner, ilen) < 0) {
        u->tun_errors++;
        u->tun->write_errors++;
    }
    counted(dp, c);
}

/* ESP-in-UDP from the 4500 socket, one of a receive batch: TCP segments
 * are held back for coalescing until us_esp_flush() ends the batch. */
static void us_esp_input(struct dp *dp, const uint8_t *data, size_t len,
                         const struct ike_addr *local, const struct ike_addr *remote)
{
    (void)local, (void)remote;
    struct us_priv *p = dp->priv;
    /* decapsulated in place here, with headroom for the TUN's header in
     * front (the socket's buffer is the caller's; a coalesced segment is
     * copied out of this one before the next datagram comes) */
    uint8_t *pkt = p->io.buf[0] + ESP_VNET_HDR_LEN;
    if (len > sizeof(p->io.buf[0]) - ESP_VNET_HDR_LEN) {
        dp->esp_in_dropped++;
        return;
    }
    memcpy(pkt, data, len);
    input(dp, pkt, len);
}

static void us_esp_flush(struct dp *dp)
{
    struct us_priv *p = dp->priv;
    (void)esp_gro_flush(&p->gro); /* counted in p->gro.write_errors */
}

static void on_raw4(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct us_raw *raw = arg;
    struct dp *dp = raw->dp;
    struct us_priv *p = dp->priv;
    int n = esp_batch_recv(&p->io, fd);
    if (n < 0) {
        if (n != -EAGAIN)
            p->raw_errors++;
        return;
    }
    for (int i = 0; i < n; i++) {
        uint8_t *b = p->io.buf[i];
        size_t len = p->io.msg[i].msg_len;
        /* a raw IPv4 socket hands us the IP header too */
        size_t ihl = len >= 20 ? (size_t)(b[0] & 0x0f) * 4 : 0;
        if (ihl < 20 || ihl >= len) {
            p->raw_errors++;
            continue;
        }
        input(dp, b + ihl, len - ihl);
    }
    p->io.n = 0;
    (void)esp_gro_flush(&p->gro); /* counted in p->gro.write_errors */
}

/* The raw ESP socket of netns, opened on first use (the daemon's own at
 * start). NULL with err when it cannot be had. */
static struct us_raw *raw_get(struct dp *dp, const char *netns, char *err, size_t errlen)
{
    struct us_priv *p = dp->priv;
    for (struct us_raw *r = p->raws; r; r = r->next)
        if (!strcmp(r->netns, netns))
            return r->fd >= 0 ? r : NULL;
    struct us_raw *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->dp = dp;
    snprintf(r->netns, sizeof(r->netns), "%s", netns);
    int fd = net_socket_netns(netns, AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ESP);
    r->fd = fd < 0 ? -1 : fd;
    if (r->fd >= 0) {
        int sz = US_RAW_RCVBUF; /* best effort: needs CAP_NET_ADMIN */
        if (setsockopt(r->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
            (void)setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        r->ev = event_new(dp->base, r->fd, EV_READ | EV_PERSIST, on_raw4, r);
        if (!r->ev || event_add(r->ev, NULL) < 0) {
            if (r->ev)
                event_free(r->ev);
            close(r->fd);
            free(r);
            snprintf(err, errlen, "cannot watch the raw ESP socket");
            return NULL;
        }
    }
    /* kept even without a socket: the answer stays the same */
    r->next = p->raws;
    p->raws = r;
    if (r->fd < 0) {
        snprintf(err, errlen, "no raw IPv4 ESP socket%s%s: %s", netns[0] ? " in netns " : "",
                 netns, strerror(-fd));
        return NULL;
    }
    return r;
}

/* ---- install / remove --------------------------------------------------- */

/* The VDOM namespace of c's gateway ("" = the daemon's own; also without
 * an owner, as in tests). */
static const char *netns_of(const struct dp_child *c)
{
    return c->owner && c->owner->vdom ? c->owner->vdom->netns : "";
}

static void tun_free(struct us_tun *t)
{
    if (t->ev)
        event_free(t->ev);
    if (t->fd >= 0)
        close(t->fd); /* the interface and its routes go with it */
    free(t);
}

/* The TUN of gateway gw, created in netns on first use. */
static struct us_tun *tun_get(struct dp *dp, const char *gw, const char *netns, char *err,
                              size_t errlen)
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
    snprintf(t->netns, sizeof(t->netns), "%s", netns);
    esp_tun_name(gw, t->ifname);
    char e[200];
    int back, fd = esp_netns_enter(netns, &back, e, sizeof(e));
    if (fd == 0) {
        /* the device is born in the namespace that opens /dev/net/tun */
        fd = esp_tun_open(t->ifname, &t->ifindex, e, sizeof(e));
        esp_netns_leave(back);
    }
    t->fd = fd;
    if (t->fd < 0) {
        snprintf(err, errlen, "TUN %s: %s", t->ifname, e);
        free(t);
        return NULL;
    }
    t->ev = event_new(dp->base, t->fd, EV_READ | EV_PERSIST, on_tun, t);
    if (!t->ev || event_add(t->ev, NULL) < 0) {
        snprintf(err, errlen, "TUN %s: cannot watch it", t->ifname);
        tun_free(t);
        return NULL;
    }
    t->next = p->tuns;
    p->tuns = t;
    return t;
}

/* Routes to c's remote selectors through t, inside t's namespace. */
static int tun_routes(struct us_tun *t, const struct dp_child *c, char *err, size_t errlen)
{
    int back;
    int r = esp_netns_enter(t->netns, &back, err, errlen);
    if (r < 0)
        return r;
    r = esp_tun_routes(t->ifindex, true, c->ts_remote, c->n_ts_remote, c->ts_local,
                       c->n_ts_local, err, errlen);
    esp_netns_leave(back);
    return r;
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

_Static_assert(CFG_REPLAY_WINDOW_MAX <= ESP_REPLAY_MAX, "the config allows a window we lack");

/* The selector's replay-window if it sets one, else the backend default. */
static uint32_t replay_window_of(const struct dp *dp, const struct cfg_selector *sel)
{
    return sel && sel->replay_set ? sel->replay_window : dp->replay_window;
}

static void child_free(struct us_child *u)
{
    esp_sa_free(&u->esp);
    OPENSSL_cleanse(u, sizeof(*u));
    free(u);
}

/* The TUN (and, for plain ESP, the raw socket) c goes through. */
static int attach(struct dp *dp, struct us_child *u, const struct dp_child *c, char *err,
                  size_t errlen)
{
    const char *netns = netns_of(c);
    if (!c->encap && c->remote.family != IKE_AF_INET) {
        snprintf(err, errlen, "plain ESP needs a raw IPv4 ESP socket (IPv6 outer addresses "
                 "need NAT-T)");
        return -1;
    }
    struct us_raw *raw = NULL;
    if (!c->encap && !(raw = raw_get(dp, netns, err, errlen)))
        return -1;
    u->tun = tun_get(dp, c->gw_name[0] ? c->gw_name : "tunnel", netns, err, errlen);
    if (!u->tun)
        return -1;
    if (strcmp(u->tun->netns, netns)) {
        snprintf(err, errlen, "TUN %s lives in netns '%s', not '%s'", u->tun->ifname,
                 u->tun->netns, netns);
        return -1;
    }
    if (raw)
        u->tun->raw = raw;
    return 0;
}

static int us_install(struct dp *dp, struct dp_child *c, const struct ike_child_export *ex,
                      char *err, size_t errlen)
{
    struct us_priv *p = dp->priv;
    if (ex->protocol != IKE_PROTO_ESP || !ex->tunnel) {
        snprintf(err, errlen, "the userspace data plane does ESP tunnel mode only");
        return -1;
    }
    struct us_child *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const struct cfg_selector *sel = selector_of(c);
    struct esp_sa_params sp = {
        .encr_id = ex->encr_id, .encr_key_bits = ex->encr_key_bits, .integ_id = ex->integ_id,
        .esn = ex->esn, .spi_in = ex->spi_in, .spi_out = ex->spi_out,
        .in = {ex->encr_in.data, ex->encr_in.len, ex->integ_in.data, ex->integ_in.len},
        .out = {ex->encr_out.data, ex->encr_out.len, ex->integ_out.data, ex->integ_out.len},
        .replay_window = replay_window_of(dp, sel),
    };
    if (esp_sa_init(&u->esp, &sp, err, errlen) < 0) {
        free(u);
        return -1;
    }
    if (attach(dp, u, c, err, errlen) < 0 ||
        (sel && sel->add_route && tun_routes(u->tun, c, err, errlen) < 0)) {
        child_free(u);
        return -1;
    }
    if (sel)
        u->lim = (struct dp_limits){sel->lifetime.soft_bytes, sel->lifetime.hard_bytes,
                                    sel->lifetime.soft_packets, sel->lifetime.hard_packets};
    u->order = ++p->next_order;
    u->c = c;
    TAILQ_INSERT_TAIL(&u->tun->children, u, tun_link);
    c->backend = u;
    if (p->early.n_held) /* the front indexes c after this returns */
        event_active(p->early_ev, EV_TIMEOUT, 0);
    return 0;
}

static int early_installed(void *arg, uint32_t spi)
{
    return dp_child_find(arg, spi) != NULL;
}

/* A held packet whose SA is here now: counted as an unknown SPI when it
 * came, it is not one after all. */
static void early_deliver(void *arg, const uint8_t *pkt, size_t len)
{
    struct dp *dp = arg;
    struct us_priv *p = dp->priv;
    p->unknown_spi--;
    dp->esp_in_dropped--;
    us_esp_input(dp, pkt, len, NULL, NULL);
}

static void on_early(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct dp *dp = arg;
    struct us_priv *p = dp->priv;
    if (esp_early_release(&p->early, daemon_now_ms(), early_installed, early_deliver, dp))
        us_esp_flush(dp);
}

static void us_remove(struct dp *dp, struct dp_child *c)
{
    struct us_priv *p = dp->priv;
    struct us_child *u = uc_of(c);
    if (!u)
        return;
    fill_counters(c); /* the last view stays in c->ctr */
    TAILQ_REMOVE(&u->tun->children, u, tun_link);
    if (u->act_in || u->act_out)
        TAILQ_REMOVE(&p->active, u, act_link);
    if (u->dirty)
        TAILQ_REMOVE(&p->dirty, u, dirty_link);
    if (u->soft_due || u->hard_due)
        TAILQ_REMOVE(&p->due, u, due_link);
    child_free(u);
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
    (void)esp_gro_flush(&p->gro); /* a batch's end the caller never sent */
    while (p->tuns) {
        struct us_tun *t = p->tuns;
        p->tuns = t->next;
        tun_free(t);
    }
    while (p->raws) {
        struct us_raw *r = p->raws;
        p->raws = r->next;
        if (r->ev)
            event_free(r->ev);
        if (r->fd >= 0)
            close(r->fd);
        free(r);
    }
    if (p->ctr_timer)
        event_free(p->ctr_timer);
    if (p->tick)
        event_free(p->tick);
    if (p->report_ev)
        event_free(p->report_ev);
    if (p->early_ev)
        event_free(p->early_ev);
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
    TAILQ_INIT(&p->active);
    TAILQ_INIT(&p->dirty);
    TAILQ_INIT(&p->due);
    esp_gro_init(&p->gro);
    /* UDP GSO for ESP-in-UDP unless HAIKED_UDP_GSO=0 (for measuring the
     * batching without it); a path the kernel refuses it on goes without. */
    const char *gso = getenv("HAIKED_UDP_GSO");
    esp_batch_init(&p->io, !(gso && !strcmp(gso, "0")));
    p->tick = event_new(dp->base, -1, 0, on_tick, dp);
    p->ctr_timer = event_new(dp->base, -1, 0, on_ctr_timer, dp);
    p->report_ev = event_new(dp->base, -1, 0, on_report, dp);
    p->early_ev = event_new(dp->base, -1, 0, on_early, dp);
    if (!p->tick || !p->ctr_timer || !p->report_ev || !p->early_ev) {
        snprintf(err, errlen, "out of memory");
        us_close(dp);
        return -1;
    }
    /* Plain ESP (no NAT) needs it; without CAP_NET_RAW only NAT-T SAs
     * work. Opened now, before the daemon may drop privileges. */
    char e[200];
    (void)raw_get(dp, "", e, sizeof(e));
    return 0;
}

/* hactl: UDP GSO's state (esp_batch.h). */
static void us_info(struct dp *dp, struct dp_info *out)
{
    struct us_priv *p = dp->priv;
    if (!p)
        return;
    out->has_gso = true;
    out->gso = p->io.gso;
    out->gso_refused = p->io.gso_refused;
    out->gso_paths_off = esp_batch_gso_paths_off(&p->io);
    out->gso_msgs = p->io.gso_msgs;
    out->gso_evictions = p->io.gso_evictions;
}

/* hactl: the gateway's TUN. */
static bool us_gateway_device(struct dp *dp, const char *gw, struct dp_gw_device *out)
{
    const struct us_priv *p = dp->priv;
    for (const struct us_tun *t = p ? p->tuns : NULL; t; t = t->next)
        if (!strcmp(t->gw, gw)) {
            snprintf(out->kind, sizeof(out->kind), "tun");
            snprintf(out->ifname, sizeof(out->ifname), "%s", t->ifname);
            snprintf(out->netns, sizeof(out->netns), "%s", t->netns);
            out->ifindex = t->ifindex;
            return true;
        }
    return false;
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
    .esp_flush = us_esp_flush,
    .info = us_info,
    .gateway_device = us_gateway_device,
};
