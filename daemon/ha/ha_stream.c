/*
 * Master side of the SA mirror: libike's sync events and the data plane's
 * counter events become sync messages, in order, and IKE datagrams wait
 * for the acknowledgement of the sync message describing them (write-ahead,
 * DESIGN.md §3).
 *
 * libike passes an event BEFORE the datagram whose effect depends on it
 * (<ike/ctx.h>), so by the time ike_glue.c's send callback asks
 * ha_hold_datagram(), the message is sent and its sequence number known.
 * The gate is per IKE SA: its datagrams are held while its latest sync
 * message is unacknowledged, and go out in order from the ack callback.
 * hasync acknowledges at once when no other member is in the group, so a
 * lone master never waits. ESP counters are not gated: too frequent, and
 * covered by the sequence-number jump on takeover.
 *
 * A gated message hasync refuses (queue full) never reaches the standby, so
 * no ack can release what it gates: the SA's datagrams then wait for the
 * ack of the next snapshot of its vcluster (ha_bulk.c's resync, or any
 * snapshot served meanwhile), which carries that state. Sending them at
 * once would leave the master ahead of its standby, the one thing the
 * write-ahead exists to prevent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/events.h>
#include <ike/sa.h>

#include "daemon.h"
#include "gw_sa.h"
#include "ha_internal.h"
#include "hasync_export.h"

/* ---- write-ahead bookkeeping ------------------------------------------- */

static size_t pend_slot(const struct ike_sa *sa)
{
    uintptr_t k = (uintptr_t)sa;
    return (size_t)((k >> 4) * 2654435761u) & (HA_PEND_BUCKETS - 1);
}

static struct ha_pend *pend_find(struct ha_mirror *m, const struct ike_sa *sa)
{
    for (struct ha_pend *p = m->pend_hash[pend_slot(sa)]; p; p = p->hnext)
        if (p->sa == sa)
            return p;
    return NULL;
}

/* The list p is on: blocked by a refusal with no snapshot sent yet, or
 * waiting for a sequence number. */
static void pend_unlink(struct ha_mirror *m, struct ha_pend *p)
{
    if (p->seq == HA_SEQ_RESYNC)
        TAILQ_REMOVE(&m->pend_resync, p, fifo);
    else
        TAILQ_REMOVE(&m->pend_fifo, p, fifo);
}

static void pend_link(struct ha_mirror *m, struct ha_pend *p)
{
    if (p->seq == HA_SEQ_RESYNC)
        TAILQ_INSERT_TAIL(&m->pend_resync, p, fifo);
    else
        TAILQ_INSERT_TAIL(&m->pend_fifo, p, fifo); /* seqs only grow: stays sorted */
}

static void pend_remove(struct ha_mirror *m, struct ha_pend *p)
{
    for (struct ha_pend **pp = &m->pend_hash[pend_slot(p->sa)]; *pp; pp = &(*pp)->hnext)
        if (*pp == p) {
            *pp = p->hnext;
            break;
        }
    pend_unlink(m, p);
    free(p);
}

/* sa's entry, unlinked from its list (the caller sets seq and links it), or
 * a new one. NULL: out of memory (logged). */
static struct ha_pend *pend_take(struct ha *ha, const struct ike_sa *sa)
{
    struct ha_mirror *m = ha_mirror(ha);
    struct ha_pend *p = pend_find(m, sa);
    if (p) {
        pend_unlink(m, p);
        return p;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        ha_log(ha, IKE_LOG_ERR, NULL, "HA out of memory: an IKE datagram is not held");
        return NULL;
    }
    p->sa = sa;
    size_t s = pend_slot(sa);
    p->hnext = m->pend_hash[s];
    m->pend_hash[s] = p;
    return p;
}

/* sa's datagrams now wait for seq. Out of memory: they are not held (the
 * sync message is sent anyway; logged). An SA blocked by a refusal stays
 * blocked until a snapshot is sent (which comes after seq). */
static void pend_set(struct ha *ha, const struct ike_sa *sa, uint64_t seq)
{
    struct ha_mirror *m = ha_mirror(ha);
    if (!sa || seq <= m->acked_upto)
        return;
    struct ha_pend *p = pend_find(m, sa);
    if (p && p->seq == HA_SEQ_RESYNC)
        return;
    if (!(p = pend_take(ha, sa)))
        return;
    p->seq = seq;
    pend_link(m, p);
}

/* A gated message of sa was refused: its datagrams wait for a snapshot of
 * vcluster (ha_stream_send_done). */
static void pend_block(struct ha *ha, const struct ike_sa *sa, uint32_t vcluster)
{
    struct ha_pend *p;
    if (!sa || !(p = pend_take(ha, sa)))
        return;
    p->seq = HA_SEQ_RESYNC;
    p->resync = true;
    p->vc = vcluster;
    pend_link(ha_mirror(ha), p);
}

static void send_held(struct ha *ha, struct ha_held *h, uint64_t now)
{
    int r = net_send_ike(&h->v->net, &h->local, &h->remote, h->data, h->len);
    uint64_t held = now > h->since_us ? now - h->since_us : 0;
    if (held > ha->stats.held_max_us)
        ha->stats.held_max_us = held;
    if (r < 0)
        ha_log(ha, IKE_LOG_WARN, NULL, "HA held IKE datagram (%zu octets) not sent: %s", h->len,
               strerror(-r));
    else
        ha_log(ha, IKE_LOG_DEBUG, NULL,
               "HA sent held IKE datagram (%zu octets) after %" PRIu64 " us, sync seq %" PRIu64
               " acknowledged",
               h->len, held, h->wait_seq);
}

/* hasync_acked_fn: every gated message up to seq is acknowledged (callbacks
 * come in sequence order). Held datagrams of an SA carry non-decreasing
 * wait_seq, so releasing all that are due keeps each SA's order. */
static void on_acked(void *arg, uint64_t seq)
{
    struct ha *ha = arg;
    struct ha_mirror *m = ha_mirror(ha);
    if (seq > m->acked_upto)
        m->acked_upto = seq;
    struct ha_pend *p;
    while ((p = TAILQ_FIRST(&m->pend_fifo)) && p->seq <= m->acked_upto)
        pend_remove(m, p);
    if (!m->n_held)
        return;
    uint64_t now = ha_now_us();
    struct ha_held *h, *next;
    for (h = TAILQ_FIRST(&m->held); h; h = next) {
        next = TAILQ_NEXT(h, link);
        if (h->wait_seq > m->acked_upto)
            continue;
        TAILQ_REMOVE(&m->held, h, link);
        m->n_held--;
        send_held(ha, h, now);
        explicit_bzero(h->data, h->len);
        free(h);
    }
}

bool ha_hold_datagram(struct daemon *d, struct gw_sa *gs, const struct ike_addr *local,
                      const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    struct ha *ha = d->ha;
    if (!ha || !gs || !gs->sa || !gs->vdom)
        return false;
    struct ha_mirror *m = ha_mirror(ha);
    struct ha_pend *p = pend_find(m, gs->sa);
    if (!p || p->seq <= m->acked_upto)
        return false;
    struct ha_held *h = malloc(sizeof(*h) + len);
    if (!h) {
        ha_log(ha, IKE_LOG_ERR, gs, "HA out of memory holding an IKE datagram: sent unsynced");
        return false;
    }
    h->wait_seq = p->seq;
    h->resync = p->resync;
    h->vc = p->vc;
    h->since_us = ha_now_us();
    h->v = gs->vdom;
    h->local = *local;
    h->remote = *remote;
    h->len = len;
    memcpy(h->data, data, len);
    TAILQ_INSERT_TAIL(&m->held, h, link);
    m->n_held++;
    ha->stats.held_datagrams++;
    if (p->seq == HA_SEQ_RESYNC)
        ha_log(ha, IKE_LOG_DEBUG, gs,
               "HA holding IKE datagram (%zu octets) until a snapshot of virtual cluster %" PRIu32
               " is acknowledged (its sync message was refused)",
               len, p->vc);
    else
        ha_log(ha, IKE_LOG_DEBUG, gs,
               "HA holding IKE datagram (%zu octets) until sync seq %" PRIu64 " is acknowledged",
               len, p->seq);
    return true;
}

/* A snapshot of vcluster went out, its SnapshotDone as done_seq: what a
 * refused message of the vcluster blocks waits for that ack now (also what
 * an earlier snapshot's ack would have released: a standby that merged an
 * unasked snapshot asks for an exact one at once, and that one is exact). */
static void resync_sent(struct ha *ha, uint32_t vcluster, uint64_t done_seq)
{
    struct ha_mirror *m = ha_mirror(ha);
    TAILQ_HEAD(, ha_pend) moved = TAILQ_HEAD_INITIALIZER(moved);
    struct ha_pend *p, *pn;
    for (p = TAILQ_FIRST(&m->pend_resync); p; p = pn) {
        pn = TAILQ_NEXT(p, fifo);
        if (p->vc == vcluster) {
            TAILQ_REMOVE(&m->pend_resync, p, fifo);
            TAILQ_INSERT_TAIL(&moved, p, fifo);
        }
    }
    for (p = TAILQ_FIRST(&m->pend_fifo); p; p = pn) {
        pn = TAILQ_NEXT(p, fifo);
        if (p->resync && p->vc == vcluster && p->seq < done_seq) {
            TAILQ_REMOVE(&m->pend_fifo, p, fifo);
            TAILQ_INSERT_TAIL(&moved, p, fifo);
        }
    }
    while ((p = TAILQ_FIRST(&moved))) {
        TAILQ_REMOVE(&moved, p, fifo);
        p->seq = done_seq; /* the newest sequence number: the fifo stays sorted */
        TAILQ_INSERT_TAIL(&m->pend_fifo, p, fifo);
    }
    struct ha_held *h;
    TAILQ_FOREACH(h, &m->held, link)
    if (h->resync && h->vc == vcluster && h->wait_seq < done_seq)
        h->wait_seq = done_seq;
    if (done_seq <= m->acked_upto) /* acknowledged inside hasync_send: no peer */
        on_acked(ha, m->acked_upto);
}

void ha_stream_resync_cancel(struct ha *ha, uint32_t vcluster, bool send)
{
    struct ha_mirror *m = ha_mirror(ha);
    if (!m)
        return;
    struct ha_pend *p, *pn;
    for (p = TAILQ_FIRST(&m->pend_resync); p; p = pn) {
        pn = TAILQ_NEXT(p, fifo);
        if (p->vc == vcluster)
            pend_remove(m, p);
    }
    struct ha_held *h, *hn;
    size_t dropped = 0;
    for (h = TAILQ_FIRST(&m->held); h; h = hn) {
        hn = TAILQ_NEXT(h, link);
        if (!h->resync || h->vc != vcluster || h->wait_seq != HA_SEQ_RESYNC)
            continue;
        if (send) {
            h->wait_seq = 0;
            continue;
        }
        TAILQ_REMOVE(&m->held, h, link);
        m->n_held--;
        explicit_bzero(h->data, h->len);
        free(h);
        dropped++;
    }
    if (dropped)
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA dropped %zu held IKE datagram(s) of virtual cluster %" PRIu32
               ": not master any more, their sync message never reached the standby",
               dropped, vcluster);
    if (send)
        on_acked(ha, m->acked_upto);
}

bool ha_stream_unacked(struct ha *ha, const struct ike_sa *sa)
{
    struct ha_mirror *m = ha_mirror(ha);
    return m && sa && pend_find(m, sa) != NULL;
}

void ha_stream_release_all(struct ha *ha)
{
    struct ha_mirror *m = ha_mirror(ha);
    if (!m)
        return;
    on_acked(ha, UINT64_MAX);
}

/* ---- sending ------------------------------------------------------------- */

static int stream_send(struct ha *ha, uint32_t vcluster, Hasync__Envelope *env, bool gated,
                       uint64_t *seq)
{
    struct ha_mirror *m = ha_mirror(ha);
    env->has_vcluster = true;
    env->vcluster = vcluster;
    if (!ha->cpg || hasync_send(ha->cpg, env, gated ? on_acked : NULL, ha, seq) < 0) {
        m->send_failures++;
        ha->stats.sync_refused++;
        ha_log(ha, IKE_LOG_ERR, NULL,
               "HA could not send %s (queue full or invalid): the standby misses it and gets "
               "a resync snapshot",
               hasync_body_name(env->body_case));
        ha_bulk_resync_due(ha, vcluster);
        return -1;
    }
    int i = ha_body_index(env->body_case);
    if (i >= 0)
        ha->stats.sent[i]++;
    return 0;
}

int ha_stream_send(struct ha *ha, uint32_t vcluster, Hasync__Envelope *env,
                   const struct ike_sa *gate_sa, const struct ike_sa *gate_sa2)
{
    uint64_t seq = 0;
    if (stream_send(ha, vcluster, env, gate_sa || gate_sa2, &seq) < 0) {
        pend_block(ha, gate_sa, vcluster);
        pend_block(ha, gate_sa2, vcluster);
        return -1;
    }
    pend_set(ha, gate_sa, seq);
    pend_set(ha, gate_sa2, seq);
    return 0;
}

int ha_stream_send_done(struct ha *ha, uint32_t vcluster, Hasync__Envelope *env)
{
    uint64_t seq = 0;
    if (stream_send(ha, vcluster, env, true, &seq) < 0)
        return -1;
    resync_sent(ha, vcluster, seq);
    return 0;
}

/* ---- events -> messages ---------------------------------------------------- */

static ProtobufCBinaryData bin(const void *p, size_t len)
{
    ProtobufCBinaryData b = {.len = len, .data = (uint8_t *)(uintptr_t)p};
    return b;
}

static void addr_msg(Hasync__Addr *m, const struct ike_addr *a)
{
    hasync__addr__init(m);
    m->has_ip = m->has_port = true;
    m->ip = bin(a->addr, a->family == IKE_AF_INET ? 4 : 16);
    m->port = a->port;
}

static bool spi_zero(const uint8_t spi[IKE_SPI_LEN])
{
    static const uint8_t z[IKE_SPI_LEN];
    return !memcmp(spi, z, IKE_SPI_LEN);
}

/* The IKE SA an IKE rekey replaces (its response goes out on it). */
static const struct ike_sa *replaced_sa(struct gw_sa *gs, const struct ike_sa_export *ex)
{
    if (spi_zero(ex->replaces_spi_i))
        return NULL;
    struct gw_sa *o = gw_sa_find_spis(gs->gw, gs, ex->replaces_spi_i, ex->replaces_spi_r);
    return o ? o->sa : NULL;
}

static void send_ike_add(struct ha *ha, struct ha_vc *vc, struct gw_sa *gs,
                         const struct ike_event *ev)
{
    const struct ike_sa_export *ex = ev->ike_add;
    struct hasync_ike_msg im;
    hasync_ike_to_msg(ex, &im);
    im.m.has_vdom = true;
    im.m.vdom = gs->gw->vdom;
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    env.ike_sa_add = &im.m;
    const struct ike_sa *old = replaced_sa(gs, ex);
    char s[40], o[40];
    /* Per-SA lines are DEBUG: at INFO every new tunnel cost the master
     * (and the standby) a formatted, flushed line per message. An IKE
     * rekey's add stays INFO (rare, and it retires an SA). */
    if (ha_stream_send(ha, vc->id, &env, ev->sa, old) == 0)
        ha_log(ha, old ? IKE_LOG_INFO : IKE_LOG_DEBUG, gs,
               "HA send IKE SA add %s vcluster %" PRIu32 " msgid send/recv=%" PRIu32 "/%" PRIu32
               "%s%s",
               ha_spis(ex->spi_i, ex->spi_r, s), vc->id, ex->msgid_send_next, ex->msgid_recv_next,
               spi_zero(ex->replaces_spi_i) ? "" : " replacing ",
               spi_zero(ex->replaces_spi_i) ? ""
                                            : ha_spis(ex->replaces_spi_i, ex->replaces_spi_r, o));
    explicit_bzero(&im, sizeof(im)); /* pointers to keys only, but no trace */
}

static void send_child_add(struct ha *ha, struct ha_vc *vc, struct gw_sa *gs,
                           const struct ike_event *ev)
{
    const struct ike_child_export *ex = ev->child_add;
    struct hasync_child_msg cm;
    hasync_child_to_msg(ex, &cm);
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_CHILD_SA_ADD;
    env.child_sa_add = &cm.m;
    if (ha_stream_send(ha, vc->id, &env, ev->sa, NULL) == 0)
        ha_log(ha, IKE_LOG_DEBUG, gs,
               "HA send IPsec SA add %s spi in=%08" PRIx32 " out=%08" PRIx32 "%s", ex->cfg_name,
               ex->spi_in, ex->spi_out, ex->replaces_spi_in ? " (rekey)" : "");
    explicit_bzero(&cm, sizeof(cm));
}

static void send_simple(struct ha *ha, struct ha_vc *vc, struct gw_sa *gs,
                        const struct ike_event *ev)
{
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    Hasync__MsgidUpdate mu;
    Hasync__IkeSaUpdate up;
    Hasync__IkeSaDel del;
    Hasync__ChildSaDel cdel;
    Hasync__Addr l, r;
    char s[40];
    ha_spis(ev->spi_i, ev->spi_r, s);
    switch (ev->type) {
    case IKE_EV_MSGID_UPDATE:
        hasync__msgid_update__init(&mu);
        mu.has_spi_i = mu.has_spi_r = mu.has_send_next = mu.has_recv_next = true;
        mu.spi_i = bin(ev->spi_i, IKE_SPI_LEN);
        mu.spi_r = bin(ev->spi_r, IKE_SPI_LEN);
        mu.send_next = ev->msgid.send_next;
        mu.recv_next = ev->msgid.recv_next;
        env.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
        env.msgid_update = &mu;
        if (ha_stream_send(ha, vc->id, &env, ev->sa, NULL) == 0)
            ha_log(ha, IKE_LOG_DEBUG, gs,
                   "HA send IKEv2 message ID update %s send/recv=%" PRIu32 "/%" PRIu32, s,
                   ev->msgid.send_next, ev->msgid.recv_next);
        break;
    case IKE_EV_IKE_SA_UPDATE:
        hasync__ike_sa_update__init(&up);
        up.has_spi_i = up.has_spi_r = up.has_nat_local = up.has_nat_remote = true;
        up.spi_i = bin(ev->spi_i, IKE_SPI_LEN);
        up.spi_r = bin(ev->spi_r, IKE_SPI_LEN);
        addr_msg(&l, &ev->ike_update.local);
        addr_msg(&r, &ev->ike_update.remote);
        up.local = &l;
        up.remote = &r;
        up.nat_local = ev->ike_update.nat_local;
        up.nat_remote = ev->ike_update.nat_remote;
        env.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE;
        env.ike_sa_update = &up;
        if (ha_stream_send(ha, vc->id, &env, ev->sa, NULL) == 0)
            ha_log(ha, IKE_LOG_INFO, gs, "HA send IKE SA update %s nat local/remote=%d/%d", s,
                   ev->ike_update.nat_local, ev->ike_update.nat_remote);
        break;
    case IKE_EV_IKE_SA_DEL:
        hasync__ike_sa_del__init(&del);
        del.has_spi_i = del.has_spi_r = true;
        del.spi_i = bin(ev->spi_i, IKE_SPI_LEN);
        del.spi_r = bin(ev->spi_r, IKE_SPI_LEN);
        env.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_DEL;
        env.ike_sa_del = &del;
        if (ha_stream_send(ha, vc->id, &env, ev->sa, NULL) == 0)
            ha_log(ha, IKE_LOG_INFO, gs, "HA send IKE SA del %s", s);
        break;
    case IKE_EV_CHILD_SA_DEL:
        hasync__child_sa_del__init(&cdel);
        cdel.has_ike_spi_i = cdel.has_ike_spi_r = cdel.has_spi_in = true;
        cdel.ike_spi_i = bin(ev->spi_i, IKE_SPI_LEN);
        cdel.ike_spi_r = bin(ev->spi_r, IKE_SPI_LEN);
        cdel.spi_in = ev->child_del_spi_in;
        env.body_case = HASYNC__ENVELOPE__BODY_CHILD_SA_DEL;
        env.child_sa_del = &cdel;
        if (ha_stream_send(ha, vc->id, &env, ev->sa, NULL) == 0)
            ha_log(ha, IKE_LOG_INFO, gs, "HA send IPsec SA del spi in=%08" PRIx32,
                   ev->child_del_spi_in);
        break;
    default: break;
    }
}

/* The response to the peer's request, gated like the rest: it leaves once
 * the standby holds it, so a retransmission after a takeover gets the same
 * bytes. Its length only in the log: ciphertext, but not for logs. */
static void send_response(struct ha *ha, struct ha_vc *vc, struct gw_sa *gs,
                          const struct ike_event *ev)
{
    const struct ike_ev_response *r = &ev->response;
    Hasync__IkeResponse m;
    hasync__ike_response__init(&m);
    m.has_spi_i = m.has_spi_r = m.has_message_id = m.has_request_hash = m.has_datagram = true;
    m.spi_i = bin(ev->spi_i, IKE_SPI_LEN);
    m.spi_r = bin(ev->spi_r, IKE_SPI_LEN);
    m.message_id = r->message_id;
    m.request_hash = bin(r->req_hash, IKE_RESPONSE_HASH_LEN);
    m.datagram = bin(r->data, r->len);
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_IKE_RESPONSE;
    env.ike_response = &m;
    char s[40];
    if (ha_stream_send(ha, vc->id, &env, ev->sa, NULL) == 0)
        ha_log(ha, IKE_LOG_DEBUG, gs, "HA send IKE response %s to request %" PRIu32 " (%zu octets)",
               ha_spis(ev->spi_i, ev->spi_r, s), r->message_id, r->len);
}

void ha_stream_event(void *arg, const struct ike_event *ev)
{
    struct ha *ha = arg;
    struct gw_sa *gs = gw_sa_of(ev->sa);
    if (!gs || !gs->gw)
        return;
    /* Only what this node masters is streamed: a passive copy never changes
     * through libike, and a gateway of a vcluster we stand by for has no
     * active SA here. */
    if (!ha_gateway_active(ha->d, gs->gw))
        return;
    struct ha_vc *vc = ha_vc_of_vdom(ha->d, gs->gw->vdom);
    if (!vc)
        return;
    switch (ev->type) {
    case IKE_EV_IKE_SA_ADD:
        if (ev->ike_add)
            send_ike_add(ha, vc, gs, ev);
        break;
    case IKE_EV_CHILD_SA_ADD:
        if (ev->child_add)
            send_child_add(ha, vc, gs, ev);
        break;
    case IKE_EV_MSGID_UPDATE:
        /* IKE_AUTH's update precedes IKE_SA_ADD, which carries the IDs: a
         * half-open SA is not mirrored (a standby could not finish it). */
        if (ike_sa_state(ev->sa) == IKE_SA_STATE_ESTABLISHED)
            send_simple(ha, vc, gs, ev);
        break;
    case IKE_EV_RESPONSE: send_response(ha, vc, gs, ev); break;
    default: send_simple(ha, vc, gs, ev); break;
    }
}

/* ESP counters of a CHILD SA we master: outbound sequence number and the
 * replay edge, never gated (DESIGN.md §3: too frequent; the takeover jump
 * covers what was sent since). */
void ha_child_counters(struct daemon *d, struct dp_child *c)
{
    struct ha *ha = d->ha;
    if (!ha || !c || !c->owner || !c->owner->gw || !ha_gateway_active(d, c->owner->gw))
        return;
    struct ha_vc *vc = ha_vc_of_vdom(d, c->owner->gw->vdom);
    if (!vc)
        return;
    Hasync__EspSeqUpdate e;
    hasync__esp_seq_update__init(&e);
    e.has_spi_in = e.has_seq_out = e.has_replay_edge = true;
    e.spi_in = c->spi_in;
    e.seq_out = c->ctr.seq_out;
    e.replay_edge = c->ctr.replay_in_edge;
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE;
    env.esp_seq_update = &e;
    if (ha_stream_send(ha, vc->id, &env, NULL, NULL) == 0)
        ha_log(ha, IKE_LOG_DEBUG, c->owner,
               "HA send ESP seq update spi in=%08" PRIx32 " seq out=%" PRIu64
               " replay edge=%" PRIu64,
               c->spi_in, c->ctr.seq_out, c->ctr.replay_in_edge);
}

/* ---- lifecycle ----------------------------------------------------------- */

int ha_stream_init(struct ha *ha)
{
    struct ha_mirror *m = calloc(1, sizeof(*m));
    if (!m)
        return -1;
    TAILQ_INIT(&m->pend_fifo);
    TAILQ_INIT(&m->pend_resync);
    TAILQ_INIT(&m->held);
    ha->stream = m;
    return 0;
}

void ha_stream_free(struct ha *ha)
{
    struct ha_mirror *m = ha_mirror(ha);
    if (!m)
        return;
    struct ha_pend *p;
    while ((p = TAILQ_FIRST(&m->pend_fifo)))
        pend_remove(m, p);
    while ((p = TAILQ_FIRST(&m->pend_resync)))
        pend_remove(m, p);
    struct ha_held *h;
    while ((h = TAILQ_FIRST(&m->held))) {
        TAILQ_REMOVE(&m->held, h, link);
        explicit_bzero(h->data, h->len);
        free(h);
    }
    free(m);
    ha->stream = NULL;
}
