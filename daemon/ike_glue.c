/*
 * libike's context ops for the daemon: datagrams out through the VDOM's
 * sockets, libike's timers on the event loop, CLOCK_MONOTONIC, its log
 * lines into ours, CHILD SAs into the data plane, sync events counted and
 * passed to the observer (hasync, later).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ike/events.h>
#include <ike/message.h>
#include <ike/sa.h>

#include "daemon.h"
#include "gw_sa.h"
#include "ha/ha.h"
#include "ike_names.h"

static void glue_send(void *user, struct ike_sa *sa, const struct ike_addr *local,
                      const struct ike_addr *remote, const uint8_t *data, size_t len)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    struct gateway *gw = gs ? gs->gw : d->cur_gw;
    struct vdom_rt *v = gs ? gs->vdom : d->cur_vdom;
    struct hlog_who who = daemon_who(gw, gs);
    who.peer = remote;
    if (!v) {
        hlog_write(&d->log, HLOG_NET, IKE_LOG_ERR, &who, "no socket to send %zu octets from", len);
        return;
    }
    /* HA write-ahead (DESIGN.md §3): a datagram whose sync message the
     * standby has not acknowledged waits; ha_stream.c sends it on the ack. */
    bool held = d->ha && ha_hold_datagram(d, gs, local, remote, data, len);
    int r = held ? 0 : net_send_ike(&v->net, local, remote, data, len);
    char desc[160];
    ike_names_describe_dgram(data, len, local, remote, desc, sizeof(desc));
    if (r < 0) {
        hlog_write(&d->log, HLOG_NET, IKE_LOG_WARN, &who, "send IKE msg failed (%s): %s", desc,
                   strerror(-r));
        return;
    }
    if (gw) {
        gw->counters.dgrams_out++;
        gw->counters.bytes_out += len;
    }
    if (gs)
        gs->dgrams_out++;
    hlog_write(&d->log, HLOG_IKE, IKE_LOG_DEBUG, &who, "%s IKE msg %s",
               held ? "holding (HA sync)" : "sent", desc);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct gw_timer *t = arg;
    struct gw_sa *gs = t->gs;
    if (!gs->sa || gs->dying)
        return;
    ike_sa_timer(gs->sa, (enum ike_timer)t->which);
    gw_sa_after(gs);
}

static void glue_timer_arm(void *user, struct ike_sa *sa, enum ike_timer which, uint32_t ms)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    if (!gs || (unsigned)which >= IKE_TIMER_COUNT)
        return;
    struct gw_timer *t = &gs->timers[which];
    if (!t->ev)
        t->ev = evtimer_new(d->base, on_timer, t);
    if (!t->ev) {
        struct hlog_who who = daemon_who(gs->gw, gs);
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_ERR, &who, "out of memory arming timer %d", which);
        return;
    }
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(t->ev, &tv);
}

static void glue_timer_cancel(void *user, struct ike_sa *sa, enum ike_timer which)
{
    struct gw_sa *gs = gw_sa_from_cb(user, sa);
    if (gs && (unsigned)which < IKE_TIMER_COUNT && gs->timers[which].ev)
        evtimer_del(gs->timers[which].ev);
}

static uint64_t glue_now_ms(void *user)
{
    (void)user;
    return daemon_now_ms();
}

static void glue_log(void *user, const struct ike_sa *sa, enum ike_log_level level,
                     const char *text)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    struct gateway *gw = gs ? gs->gw : d->cur_gw;
    struct hlog_who who = daemon_who(gw, gs);
    if (!hlog_enabled(&d->log, HLOG_IKE, level, &who)) {
        d->log.filtered++;
        return;
    }
    /* libike starts with "NAME spi_i/spi_r: " (or "NAME: " without an
     * SA); the name is in our prefix already. */
    const char *name = sa && ike_sa_cfg(sa) ? ike_sa_cfg(sa)->name : gw ? gw->name : NULL;
    size_t n = name ? strlen(name) : 0;
    if (n && !strncmp(text, name, n) && text[n] == ' ')
        text += n + 1;
    else if (n && !strncmp(text, name, n) && text[n] == ':' && text[n + 1] == ' ')
        text += n + 2;
    hlog_write(&d->log, HLOG_IKE, (int)level, &who, "%s", text);
}

static int glue_child_install(void *user, struct ike_sa *sa, const struct ike_child_export *ex)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    if (!gs)
        return -1;
    struct hlog_who who = daemon_who(gs->gw, gs);
    char err[192];
    struct dp_child *c =
        dp_child_install(&d->dp, gs, ex, ike_sa_local_addr(sa), ike_sa_remote_addr(sa),
                         ike_sa_nat_detected(sa), daemon_now_ms(), err, sizeof(err));
    if (!c) {
        gs->gw->counters.child_install_failed++;
        hlog_write(&d->log, HLOG_DP, IKE_LOG_ERR, &who, "CHILD SA %s not installed: %s",
                   ex->cfg_name, err);
        return -1;
    }
    gs->gw->counters.child_installed++;
    char ts[256];
    ike_names_ts_pair(ex, ts, sizeof(ts));
    hlog_write(&d->log, HLOG_DP, IKE_LOG_INFO, &who,
               "CHILD SA %s installed (%s): spi in=%08" PRIx32 " out=%08" PRIx32 ", %s, %s%s",
               ex->cfg_name, d->dp.ops->name, ex->spi_in, ex->spi_out, ts,
               ike_names_esp_alg(ex->encr_id, ex->encr_key_bits, ex->integ_id),
               c->encap ? ", UDP-encapsulated" : "");
    return 0;
}

static void glue_child_delete(void *user, struct ike_sa *sa, uint32_t spi_in)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    struct dp_child *c = dp_child_find(&d->dp, spi_in);
    struct hlog_who who = daemon_who(gs ? gs->gw : NULL, gs);
    if (!c || (gs && c->owner != gs)) {
        hlog_write(&d->log, HLOG_DP, IKE_LOG_WARN, &who,
                   "CHILD SA with inbound SPI %08" PRIx32 " to delete is not installed", spi_in);
        return;
    }
    hlog_write(&d->log, HLOG_DP, IKE_LOG_INFO, &who,
               "CHILD SA %s removed: spi in=%08" PRIx32 " out=%08" PRIx32, c->child_name,
               c->spi_in, c->spi_out);
    if (gs)
        gs->gw->counters.child_deleted++;
    dp_child_delete(&d->dp, c);
}

/* libike draws inbound CHILD SPIs at random and redraws while this says
 * taken; the data plane's SPI index holds every installed pair (ours and,
 * on a standby, the mirrored ones). Not seen here: an SPI another IKE SA
 * drew as initiator and has not installed yet (one round trip of
 * IKE_AUTH / CREATE_CHILD_SA); a clash with one of those still ends in a
 * refused install, with odds of (pending SPIs) / 2^32 per draw. */
static bool glue_child_spi_taken(void *user, uint32_t spi)
{
    struct daemon *d = user;
    return dp_child_find(&d->dp, spi) != NULL;
}

static bool spi_zero(const uint8_t spi[IKE_SPI_LEN])
{
    static const uint8_t z[IKE_SPI_LEN];
    return !memcmp(spi, z, IKE_SPI_LEN);
}

/* IKE rekey: the new SA's IKE_SA_ADD names the SA it replaces, whose
 * CHILD SAs it takes over (the redundant SA of a simultaneous rekey names
 * none and gets none). */
static void moved_children(struct daemon *d, struct gw_sa *gs, const struct ike_sa_export *ex)
{
    if (spi_zero(ex->replaces_spi_i))
        return;
    struct gw_sa *old = gw_sa_find_spis(gs->gw, gs, ex->replaces_spi_i, ex->replaces_spi_r);
    if (!old)
        return;
    gw_sa_move_children(old, gs);
    struct hlog_who who = daemon_who(gs->gw, gs);
    hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
               "IKE SA %u replaces IKE SA %u: its CHILD SAs moved", gs->serial, old->serial);
}

static void glue_event(void *user, const struct ike_event *ev)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, ev->sa);
    if ((unsigned)ev->type < sizeof(d->ctr.events) / sizeof(d->ctr.events[0]))
        d->ctr.events[ev->type]++;
    if (gs) {
        gs->gw->counters.events++;
        if (ev->type == IKE_EV_MSGID_UPDATE) {
            gs->msgid_send_next = ev->msgid.send_next;
            gs->msgid_recv_next = ev->msgid.recv_next;
        } else if (ev->type == IKE_EV_IKE_SA_ADD && ev->ike_add) {
            moved_children(d, gs, ev->ike_add);
            gs->nat_local = ev->ike_add->nat_local;
            gs->nat_remote = ev->ike_add->nat_remote;
            gs->msgid_send_next = ev->ike_add->msgid_send_next;
            gs->msgid_recv_next = ev->ike_add->msgid_recv_next;
        } else if (ev->type == IKE_EV_CHILD_SA_ADD && ev->child_add &&
                   ev->child_add->replaces_spi_in) {
            gs->gw->counters.child_rekeys++;
        } else if (ev->type == IKE_EV_IKE_SA_UPDATE) {
            gs->nat_local = ev->ike_update.nat_local;
            gs->nat_remote = ev->ike_update.nat_remote;
        }
    }
    struct hlog_who who = daemon_who(gs ? gs->gw : NULL, gs);
    hlog_write(&d->log, HLOG_SYNC, IKE_LOG_DEBUG, &who, "event %s", ike_event_type_name(ev->type));
    if (d->observer)
        d->observer(d->observer_arg, ev);
}

/* An older SA that INITIAL_CONTACT from gs makes stale: the same gateway
 * (one local identity), the same authenticated peer ID, not gs itself and
 * not on its way out already. Mirrored (HA standby) copies count too. */
static bool ic_stale(const struct gw_sa *gs, const struct gw_sa *o, const struct ike_id_export *id)
{
    return o != gs && o->sa && !o->dying && o->gw == gs->gw &&
           peer_id_equal(ike_sa_peer_id(o->sa), id);
}

static void ic_mark(struct gw_sa *o, size_t *n)
{
    o->drop_pending = true;
    gw_sa_defer(o);
    (*n)++;
}

/* RFC 7296 §2.4: the peer has no older state; ours is stale (the same
 * gateway, the same peer ID). Dropping runs other SAs' code, which a
 * callback may not do: deferred. The peer ID index (peer_index.h) lists
 * exactly those SAs in the order the gateway's list has them; only when
 * it left an SA out (out of memory) does this walk every SA. */
static void glue_initial_contact(void *user, struct ike_sa *sa)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    if (!gs)
        return;
    const struct ike_id_export *id = ike_sa_peer_id(sa);
    size_t n = 0;
    struct gw_sa *o;
    if (peer_index_complete(&d->peer_ids, id)) {
        for (o = peer_index_first(&d->peer_ids, gs->gw, id); o; o = peer_index_next(o))
            if (ic_stale(gs, o, id))
                ic_mark(o, &n);
    } else {
        TAILQ_FOREACH(o, &gs->gw->sas, link)
            if (ic_stale(gs, o, id))
                ic_mark(o, &n);
    }
    if (n) {
        struct hlog_who who = daemon_who(gs->gw, gs);
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
                   "INITIAL_CONTACT: dropping %zu older IKE SA(s) with this peer", n);
        daemon_schedule_reap(d);
    }
}

static void glue_replay_sync(void *user, struct ike_sa *sa, uint64_t delta)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    if (!gs)
        return;
    struct dp_child *c;
    TAILQ_FOREACH(c, &gs->children, sa_link) {
        dp_child_counters(&d->dp, c);
        if (d->dp.ops->set_seq)
            d->dp.ops->set_seq(&d->dp, c, c->ctr.seq_out + delta, c->ctr.replay_in_edge);
    }
    struct hlog_who who = daemon_who(gs->gw, gs);
    hlog_write(&d->log, HLOG_DP, IKE_LOG_INFO, &who,
               "peer's IPSEC_REPLAY_COUNTER_SYNC: outbound sequence numbers advanced by %llu",
               (unsigned long long)delta);
}

static void glue_reauth(void *user, struct ike_sa *sa)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, sa);
    if (!gs)
        return;
    struct hlog_who who = daemon_who(gs->gw, gs);
    hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
               "soft lifetime: reauthenticating (new IKE SA first, then this one goes)");
    gs->reauth_pending = true;
    gw_sa_defer(gs);
    daemon_schedule_reap(d);
}

static void glue_ike_rekeyed(void *user, struct ike_sa *old, struct ike_sa *new_sa)
{
    struct daemon *d = user;
    struct gw_sa *gs = gw_sa_from_cb(d, old);
    if (gs)
        gw_sa_adopt_rekeyed(gs, new_sa);
}

const struct ike_ctx_ops daemon_ike_ops = {
    .initial_contact = glue_initial_contact,
    .replay_sync = glue_replay_sync,
    .reauth = glue_reauth,
    .ike_rekeyed = glue_ike_rekeyed,
    .send = glue_send,
    .timer_arm = glue_timer_arm,
    .timer_cancel = glue_timer_cancel,
    .now_ms = glue_now_ms,
    .log = glue_log,
    .child_install = glue_child_install,
    .child_delete = glue_child_delete,
    .event = glue_event,
    .child_spi_taken = glue_child_spi_taken,
};
