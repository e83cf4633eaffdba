/* IKE SA lifecycle inside the daemon (see gw_sa.h). */
#include "gw_sa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "daemon.h"
#include "gw_internal.h"
#include "ike_names.h"

struct gw_sa *gw_sa_new(struct gateway *gw, struct vdom_rt *v)
{
    struct gw_sa *gs = calloc(1, sizeof(*gs));
    if (!gs)
        return NULL;
    struct daemon *d = gw->d;
    gs->gw = gw;
    gs->vdom = v;
    gs->serial = ++d->next_serial ? d->next_serial : ++d->next_serial;
    gs->created_ms = daemon_now_ms();
    gs->created_wall = (uint64_t)time(NULL);
    TAILQ_INIT(&gs->children);
    for (unsigned i = 0; i < IKE_TIMER_COUNT; i++) {
        gs->timers[i].gs = gs;
        gs->timers[i].which = i;
    }
    TAILQ_INSERT_TAIL(&gw->sas, gs, link);
    gw->n_sas++;
    return gs;
}

/* Brings gw's live/established counts up to date for gs: what gs counts
 * now replaces what it counted before. Called at every change of gs->sa,
 * dying, deleting or its libike state (after_one), so gw_refresh_state is
 * O(1) instead of a walk over every SA of the gateway. */
static void account(struct gw_sa *gs)
{
    struct gateway *gw = gs->gw;
    uint8_t now = 0;
    if (gs->sa && !gs->dying && !gs->deleting) {
        now = GW_SA_COUNTED_LIVE;
        if (ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED)
            now |= GW_SA_COUNTED_ESTABLISHED;
    }
    uint8_t flip = now ^ gs->counted;
    if (flip & GW_SA_COUNTED_LIVE) {
        if (now & GW_SA_COUNTED_LIVE)
            gw->n_live++;
        else
            gw->n_live--;
    }
    if (flip & GW_SA_COUNTED_ESTABLISHED) {
        if (now & GW_SA_COUNTED_ESTABLISHED)
            gw->n_established++;
        else
            gw->n_established--;
    }
    gs->counted = now;
}

/* Files gs in the peer ID index (peer_index.h) under its current ID:
 * called wherever its libike SA, its ID (IKE_AUTH, import, IKE rekey) or
 * dying may have changed. Out of memory leaves it unfiled and counted, so
 * INITIAL_CONTACT walks instead. */
static void file_peer_id(struct gw_sa *gs)
{
    struct peer_index *x = &gs->gw->d->peer_ids;
    if (gs->sa && !gs->dying)
        (void)peer_index_file(x, gs, ike_sa_peer_id(gs->sa));
    else
        peer_index_remove(x, gs);
}

void gw_sa_defer(struct gw_sa *gs)
{
    account(gs);
    if (!gs->in_attn) {
        gs->in_attn = true;
        TAILQ_INSERT_TAIL(&gs->gw->attn, gs, attn_link);
    }
}

struct gw_sa *gw_sa_from_cb(struct daemon *d, const struct ike_sa *sa)
{
    if (!sa)
        return NULL;
    struct gw_sa *gs = ike_sa_user(sa);
    if (!gs && d->creating && !d->creating->sa) {
        gs = d->creating;
        gs->sa = (struct ike_sa *)sa; /* libike hands us its own SA */
        ike_sa_set_user(gs->sa, gs);
    }
    return gs;
}

int gw_sa_attach(struct gw_sa *gs, struct ike_sa *sa)
{
    struct daemon *d = gs->gw->d;
    gs->sa = sa;
    ike_sa_set_user(sa, gs);
    gs->last_state = ike_sa_state(sa);
    d->ctr.ike_sa_created++;
    if (sat_add(&d->sat, gs) < 0) {
        d->ctr.sa_table_collisions++;
        struct hlog_who who = daemon_who(gs->gw, gs);
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_ERR, &who,
                   "SPI already in use (or out of memory): SA dropped");
        /* Not in the table: make destroy skip the removal. */
        gs->dying = true;
        ike_sa_free(gs->sa);
        gs->sa = NULL;
        gw_sa_destroy(gs);
        return -1;
    }
    account(gs);
    file_peer_id(gs); /* an imported (mirrored) SA has its ID already */
    if (!ike_sa_is_initiator(sa) && gs->last_state == IKE_SA_STATE_INIT_DONE) {
        gs->half_open = true;
        gs->half_open_peer = *ike_sa_remote_addr(sa);
        sat_half_open_inc(&d->sat, &gs->half_open_peer);
    }
    return 0;
}

/* Adds what libike counted since the last look to the gateway's counters. */
static void take_stats(struct gw_sa *gs)
{
    const struct ike_sa_stats *st = ike_sa_stats(gs->sa);
    struct gw_counters *c = &gs->gw->counters;
    c->dropped[GW_DROP_MALFORMED] += st->dropped_malformed - gs->stats_seen.dropped_malformed;
    c->dropped[GW_DROP_INTEGRITY] += st->dropped_integrity - gs->stats_seen.dropped_integrity;
    c->dropped[GW_DROP_MSGID] += st->dropped_msgid - gs->stats_seen.dropped_msgid;
    c->dropped[GW_DROP_UNHANDLED] += st->dropped_unhandled - gs->stats_seen.dropped_unhandled;
    c->retransmits += st->retransmits_sent - gs->stats_seen.retransmits_sent;
    gs->gw->dpd.probes_sent += st->dpd_sent - gs->stats_seen.dpd_sent;
    gs->stats_seen = *st;
}

/* Silence after which an SA that dies on its own is blamed on the peer. */
#define DEAD_PEER_SILENCE_MS 1000u

static void half_open_done(struct gw_sa *gs)
{
    if (!gs->half_open)
        return;
    gs->half_open = false;
    sat_half_open_dec(&gs->gw->d->sat, &gs->half_open_peer);
}

static struct gw_sa *find_serial(struct gateway *gw, uint32_t serial)
{
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link)
        if (gs->serial == serial)
            return gs;
    return NULL;
}

static bool has_spis(const struct gw_sa *gs, const uint8_t spi_i[IKE_SPI_LEN],
                     const uint8_t spi_r[IKE_SPI_LEN])
{
    return gs->sa && !memcmp(ike_sa_spi_i(gs->sa), spi_i, IKE_SPI_LEN) &&
           !memcmp(ike_sa_spi_r(gs->sa), spi_r, IKE_SPI_LEN);
}

struct gw_sa *gw_sa_find_spis(struct gateway *gw, const struct gw_sa *self,
                              const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN])
{
    /* Our SPI is SPI_i where we initiated the SA, SPI_r where we answered:
     * the SA table knows both roles by our SPI (the I flag of a header
     * from the other side says which). */
    const struct sa_table *t = &gw->d->sat;
    for (int from_initiator = 0; from_initiator < 2; from_initiator++) {
        struct ike_hdr h = {.flags = from_initiator ? IKE_FLAG_INITIATOR : 0};
        memcpy(h.spi_i, spi_i, IKE_SPI_LEN);
        memcpy(h.spi_r, spi_r, IKE_SPI_LEN);
        struct gw_sa *gs = sat_lookup(t, &h);
        if (gs && gs != self && gs->gw == gw && has_spis(gs, spi_i, spi_r))
            return gs;
    }
    /* Not in the table (its SPI collided when it was adopted): the walk. */
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link)
        if (gs != self && has_spis(gs, spi_i, spi_r))
            return gs;
    return NULL;
}

/* Make-before-break: the new SA is up, now the old one goes. */
static void reauth_done(struct gw_sa *gs)
{
    struct gw_sa *old = find_serial(gs->gw, gs->reauth_of);
    gs->reauth_of = 0;
    if (old && old->sa && !old->dying) {
        char why[64];
        snprintf(why, sizeof(why), "reauthenticated by IKE SA %u", gs->serial);
        gw_sa_delete(old, why);
    }
}

static void on_state(struct gw_sa *gs, enum ike_sa_state st)
{
    struct gateway *gw = gs->gw;
    if (st != IKE_SA_STATE_INIT_DONE)
        half_open_done(gs);
    if (st == IKE_SA_STATE_ESTABLISHED && !gs->established_ms) {
        gs->established_ms = daemon_now_ms();
        gw->counters.ike_sa_established++;
        gw->retry_backoff_s = 0;
        if (gs->reauth_of)
            reauth_done(gs);
    }
    if (st == IKE_SA_STATE_DEAD && !gs->dying) {
        struct hlog_who who = daemon_who(gw, gs);
        char i[17], r[17];
        /* A peer that deletes or rekeys just spoke; one that went silent
         * made our liveness check (or another request) give up. */
        bool silent = gs->established_ms && !gs->deleting &&
                      daemon_now_ms() - ike_sa_last_rx_ms(gs->sa) > DEAD_PEER_SILENCE_MS;
        if (silent)
            gw->dpd.failures++;
        hlog_write(&gw->d->log, HLOG_IKE, silent ? IKE_LOG_WARN : IKE_LOG_INFO, &who,
                   "IKE SA %s/%s down: %s",
                   ike_names_spi(ike_sa_spi_i(gs->sa), i), ike_names_spi(ike_sa_spi_r(gs->sa), r),
                   gs->deleting        ? "deleted by us"
                   : silent            ? "peer dead (no answer to our requests)"
                   : gs->established_ms ? "deleted by the peer, expired or replaced"
                                        : "negotiation failed");
        gs->dying = true;
        gw_sa_defer(gs);
        if (gs->established_ms)
            gw->counters.ike_sa_deleted++;
        else
            gw->counters.ike_sa_failed++;
        daemon_schedule_reap(gw->d);
    }
}

/* true when gs changed state (then on_state has run). */
static bool after_one(struct gw_sa *gs)
{
    bool changed = false;
    if (gs->sa) {
        take_stats(gs);
        enum ike_sa_state st = ike_sa_state(gs->sa);
        if (st != gs->last_state) {
            gs->last_state = st;
            on_state(gs, st);
            changed = true;
        }
    }
    account(gs); /* also without a state change: gw_sa_delete set deleting */
    file_peer_id(gs); /* IKE_AUTH set the peer's ID, or the SA died */
    return changed;
}

/* Every SA of gw: one call may change several (a rekey creates one, a
 * reauthentication deletes another), so look until nothing changes. */
static void after_gw(struct gateway *gw)
{
    gw->sweep_needed = false;
    gw->n_adopted = 0;
    for (int pass = 0; pass < 4; pass++) {
        bool changed = false;
        struct gw_sa *gs;
        TAILQ_FOREACH(gs, &gw->sas, link)
            changed |= after_one(gs);
        if (!changed)
            break;
    }
    gw_refresh_state(gw);
}

/* gs and the SAs an IKE rekey adopted during the call (gw->adopted),
 * until nothing changes: the same passes as after_gw over those only. */
static void after_adopted(struct gateway *gw, struct gw_sa *gs)
{
    struct gw_sa *set[1 + sizeof(gw->adopted) / sizeof(gw->adopted[0])];
    size_t n = 0;
    if (gs)
        set[n++] = gs;
    for (unsigned i = 0; i < gw->n_adopted; i++)
        if (gw->adopted[i] != gs)
            set[n++] = gw->adopted[i];
    /* Cleared first: a nested gw_sa_after (reauth_done deleting the old
     * SA) must not look at them again, as with sweep_needed. after_one
     * never frees, so the pointers stay valid through the passes. */
    gw->n_adopted = 0;
    for (int pass = 0; pass < 4; pass++) {
        bool changed = false;
        for (size_t i = 0; i < n; i++)
            changed |= after_one(set[i]);
        if (!changed)
            break;
    }
}

/* A call into gs changes gs only, unless a callback added an SA (an IKE
 * rekey: gw->adopted, or sweep_needed past that array); on_state's own
 * work on another SA (reauth_done deleting the old one) goes through
 * gw_sa_after of that SA. Sweeping every SA of the gateway per datagram
 * made a dial-up gateway with 10^4 peers quadratic (tests/bench/ike.sh). */
void gw_sa_after(struct gw_sa *gs)
{
    struct gateway *gw = gs->gw;
    if (gw->sweep_needed) {
        after_gw(gw);
        return;
    }
    if (gw->n_adopted)
        after_adopted(gw, gs);
    else
        after_one(gs);
    gw_refresh_state(gw);
}

void gw_sa_destroy(struct gw_sa *gs)
{
    struct gateway *gw = gs->gw;
    struct daemon *d = gw->d;
    half_open_done(gs);
    peer_index_remove(&d->peer_ids, gs);
    if (gs->sa) {
        sat_remove(&d->sat, gs);
        /* libike cancels its timers through our callbacks: events still live. */
        ike_sa_free(gs->sa);
        gs->sa = NULL;
    }
    struct dp_child *c;
    while ((c = TAILQ_FIRST(&gs->children))) {
        gw->counters.child_deleted++;
        dp_child_delete(&d->dp, c);
    }
    for (unsigned i = 0; i < IKE_TIMER_COUNT; i++)
        if (gs->timers[i].ev)
            event_free(gs->timers[i].ev);
    TAILQ_REMOVE(&gw->sas, gs, link);
    gw->n_sas--;
    /* Takes back what it counted (whatever its fields say now). */
    gs->sa = NULL;
    account(gs);
    if (gs->in_attn)
        TAILQ_REMOVE(&gw->attn, gs, attn_link);
    for (unsigned i = 0; i < gw->n_adopted; i++)
        if (gw->adopted[i] == gs)
            gw->adopted[i--] = gw->adopted[--gw->n_adopted];
    if (d->creating == gs)
        d->creating = NULL;
    free(gs);
}

void gw_sa_delete(struct gw_sa *gs, const char *reason)
{
    struct daemon *d = gs->gw->d;
    struct hlog_who who = daemon_who(gs->gw, gs);
    if (!gs->sa || gs->dying)
        return;
    struct ike_diag diag = {0};
    bool established = ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED;
    enum ike_status st = ike_sa_delete(gs->sa, &diag);
    gs->deleting = true;
    if (st == IKE_OK) {
        if (established)
            gs->gw->counters.deletes_sent++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who, "deleting IKE SA (%s)%s", reason,
                   established ? ": Delete sent" : ": not established, dropped");
    } else {
        /* No Delete possible now (e.g. one is already under way and
         * stuck): tear it down locally. */
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who,
                   "deleting IKE SA (%s) locally: %s%s%s", reason, ike_status_str(st),
                   diag.reason[0] ? ": " : "", diag.reason);
        ike_sa_drop(gs->sa, reason);
    }
    gw_sa_after(gs);
}

struct gw_sa *gw_sa_adopt_rekeyed(struct gw_sa *old, struct ike_sa *new_sa)
{
    struct gateway *gw = old->gw;
    struct daemon *d = gw->d;
    struct gw_sa *gs = gw_sa_new(gw, old->vdom);
    struct hlog_who who = daemon_who(gw, old);
    if (!gs) {
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_ERR, &who,
                   "out of memory for the rekeyed IKE SA: dropping it");
        return NULL;
    }
    gs->sa = new_sa;
    ike_sa_set_user(new_sa, gs);
    gs->last_state = ike_sa_state(new_sa);
    gs->rekey_of = old->serial;
    gs->established_ms = daemon_now_ms(); /* a rekey is born established */
    gs->nat_local = old->nat_local;
    gs->nat_remote = old->nat_remote;
    if (sat_add(&d->sat, gs) < 0) {
        d->ctr.sa_table_collisions++;
        hlog_write(&d->log, HLOG_IKE, IKE_LOG_ERR, &who,
                   "rekeyed IKE SA: SPI already in use, it will not receive");
    }
    account(gs);
    file_peer_id(gs); /* libike copies the old SA's peer ID: after_one re-files if not yet */
    gw->counters.ike_rekeys++;
    if (gw->n_adopted < sizeof(gw->adopted) / sizeof(gw->adopted[0]))
        gw->adopted[gw->n_adopted++] = gs;
    else
        gw->sweep_needed = true;
    hlog_write(&d->log, HLOG_IKE, IKE_LOG_INFO, &who, "IKE SA rekeyed: replaced by IKE SA %u",
               gs->serial);
    return gs;
}

/* Moves the CHILD SAs the data plane holds for old to gs (IKE rekey). */
void gw_sa_move_children(struct gw_sa *old, struct gw_sa *gs)
{
    struct dp_child *c;
    while ((c = TAILQ_FIRST(&old->children))) {
        TAILQ_REMOVE(&old->children, c, sa_link);
        c->owner = gs;
        memcpy(c->ike_spi_i, ike_sa_spi_i(gs->sa), IKE_SPI_LEN);
        memcpy(c->ike_spi_r, ike_sa_spi_r(gs->sa), IKE_SPI_LEN);
        TAILQ_INSERT_TAIL(&gs->children, c, sa_link);
    }
}

/* Work libike asked for from inside a callback (where it may not be
 * done): an INITIAL_CONTACT drop or a reauthentication of gs. */
static void run_pending(struct gateway *gw, struct gw_sa *gs)
{
    if (gs->drop_pending && gs->sa && !gs->dying) {
        gs->drop_pending = false;
        gw->counters.initial_contact_drops++;
        ike_sa_drop(gs->sa, "peer sent INITIAL_CONTACT on a newer IKE SA");
        gw_sa_after(gs);
    }
    if (gs->reauth_pending && gs->sa && !gs->dying) {
        gs->reauth_pending = false;
        char err[256];
        gw->counters.reauths++;
        uint32_t old_serial = gs->serial;
        if (gw_initiate_reauth(gw, old_serial, err, sizeof(err)) < 0) {
            struct hlog_who who = daemon_who(gw, gs);
            hlog_write(&gw->d->log, HLOG_IKE, IKE_LOG_ERR, &who,
                       "reauthentication not started: %s", err);
        }
    }
}

/* Only the SAs on gw->attn (gw_sa_defer: dying, or work pending) are
 * looked at: a reap per loop turn over every SA of a gateway made a mass
 * teardown quadratic. */
static void reap_gw(struct gateway *gw)
{
    /* An adopted SA no gw_sa_after looked at yet (as the sweep did). */
    if (gw->sweep_needed)
        after_gw(gw);
    else if (gw->n_adopted)
        after_adopted(gw, NULL);
    /* Pending work first (it may queue more SAs at the tail, which
     * this walk reaches; nothing here frees one). */
    struct gw_sa *gs, *next;
    TAILQ_FOREACH(gs, &gw->attn, attn_link)
        run_pending(gw, gs);
    for (gs = TAILQ_FIRST(&gw->attn); gs; gs = next) {
        next = TAILQ_NEXT(gs, attn_link);
        TAILQ_REMOVE(&gw->attn, gs, attn_link);
        gs->in_attn = false;
        if (gs->dying)
            gw_sa_destroy(gs);
    }
    gw_refresh_state(gw); /* as every reap did (O(1) now) */
}

void gw_sa_reap(struct daemon *d)
{
    struct gateway *gw;
    TAILQ_FOREACH(gw, &d->gateways, link)
        reap_gw(gw);
    TAILQ_FOREACH(gw, &d->retiring, link)
        reap_gw(gw);
    gw_retire_collect(d); /* frees those left without SAs */
}
