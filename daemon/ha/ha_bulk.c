/*
 * Bulk sync (DESIGN.md §3): a standby that joins, restarts or missed part of
 * the stream asks the master of a virtual cluster for a snapshot of every SA
 * of its VDOMs; the master answers on the same ordered channel with
 * SnapshotChunk messages (IKE SAs, their CHILD SAs, ESP counters) and a
 * SnapshotDone carrying the totals. The requester applies chunks like live
 * messages, then drops every passive SA of that vcluster the snapshot (or
 * the live stream since the request) did not bring, and is IN_SYNC.
 *
 * The master builds the whole snapshot in one loop turn, so no live message
 * falls between its chunks; live messages before and after apply on top.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <ike/mirror.h>
#include <ike/sa.h>

#include "daemon.h"
#include "gw_sa.h"
#include "ha_internal.h"
#include "hasync_export.h"

/* Per chunk: far below HASYNC_MSG_MAX and HASYNC_CHUNK_MAX whatever the
 * selectors hold. */
#define CHUNK_IKE_MAX   64
#define CHUNK_CHILD_MAX 256
#define CHUNK_BYTES     (160u * 1024u)
/* Consecutive snapshots whose totals did not match before giving up. */
#define SNAPSHOT_RETRIES 3
/* A request still open after this long is sent again when asked. */
#define SNAPSHOT_PATIENCE_MS 2000u
/* A resync waits until hasync's queue is empty and fewer messages than this
 * await acks (room for the snapshot's chunks); checked this often. */
#define RESYNC_ROOM    4096u
#define RESYNC_POLL_MS 100

static void import_error_bulk(struct ha *ha, const struct gateway *gw, const char *what)
{
    ha->stats.import_errors++;
    struct hlog_who who = daemon_who(gw, NULL);
    hlog_write(&ha->d->log, HLOG_SYNC, IKE_LOG_WARN, &who, "HA %s: the data plane refused", what);
}

static struct ha_snap_rx *snap_of(struct ha *ha, const struct ha_vc *vc)
{
    return &ha_mirror(ha)->snap[vc - ha->vcs];
}

int ha_bulk_init(struct ha *ha)
{
    struct ha_mirror *m = ha_mirror(ha);
    m->snap = calloc(ha->n_vcs ? ha->n_vcs : 1, sizeof(*m->snap));
    if (!m->snap)
        return -1;
    for (size_t i = 0; i < ha->n_vcs; i++)
        m->snap[i].vcluster = ha->vcs[i].id;
    return 0;
}

void ha_bulk_free(struct ha *ha)
{
    struct ha_mirror *m = ha_mirror(ha);
    if (!m || !m->snap)
        return;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        free(m->snap[i].seen);
        free(m->snap[i].fresh);
    }
    free(m->snap);
    m->snap = NULL;
    if (m->resync_timer)
        event_free(m->resync_timer);
    m->resync_timer = NULL;
}

void ha_bulk_note_import(struct ha *ha, struct ha_vc *vc, const struct ike_sa *sa)
{
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (!s->open)
        return;
    if (s->n_seen == s->cap_seen) {
        size_t cap = s->cap_seen ? s->cap_seen * 2 : 256;
        const struct ike_sa **v = realloc(s->seen, cap * sizeof(*v));
        if (!v) {
            s->seen_lost = true; /* then the done drops nothing (drop_stale) */
            return;
        }
        s->seen = v;
        s->cap_seen = cap;
    }
    s->seen[s->n_seen++] = sa;
}

/* ---- requester ---------------------------------------------------------- */

void ha_bulk_request(struct ha *ha, struct ha_vc *vc)
{
    struct ha_snap_rx *s = snap_of(ha, vc);
    uint64_t now = daemon_now_ms();
    /* A gap and the election that follows it both ask: one request is
     * enough while its answer can still come. */
    if (s->open && now - s->requested_ms < SNAPSHOT_PATIENCE_MS)
        return;
    s->requested_ms = now;
    Hasync__BulkRequest br;
    hasync__bulk_request__init(&br);
    br.has_to_node = true;
    br.to_node = 0; /* whoever masters the vcluster */
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_BULK_REQUEST;
    env.bulk_request = &br;
    s->open = true;
    s->have_id = false;
    s->n_ike = s->n_child = 0;
    s->n_seen = 0;
    s->seen_lost = false;
    vc->snapshot_sas = 0;
    /* BEHIND stays visible (hactl: "behind by N") until the snapshot is in. */
    if (vc->sync != HA_SYNC_BEHIND)
        vc->sync = HA_SYNC_SYNCING;
    ha->stats.bulk_syncs_requested++;
    if (ha_stream_send(ha, vc->id, &env, NULL, NULL) < 0)
        return; /* logged; the next membership change asks again */
    ha_log(ha, IKE_LOG_INFO, NULL, "HA bulk sync of virtual cluster %" PRIu32 " requested", vc->id);
}

static int cmp_ptr(const void *a, const void *b)
{
    const void *const *pa = a, *const *pb = b;
    uintptr_t x = (uintptr_t)*pa, y = (uintptr_t)*pb;
    return x < y ? -1 : x > y;
}

/* Every passive SA of vc the snapshot did not bring is gone on the master. */
static size_t drop_stale(struct ha *ha, struct ha_vc *vc, struct ha_snap_rx *s)
{
    if (s->seen_lost) {
        ha_log(ha, IKE_LOG_WARN, NULL, "HA snapshot of virtual cluster %" PRIu32
               ": out of memory tracking it, stale SAs kept", vc->id);
        return 0;
    }
    if (s->n_seen)
        qsort(s->seen, s->n_seen, sizeof(*s->seen), cmp_ptr);
    size_t dropped = 0;
    struct gateway *gw;
    TAILQ_FOREACH(gw, &ha->d->gateways, link) {
        if (!ha_gw_in_vc(ha, gw, vc) || ha_gateway_active(ha->d, gw))
            continue;
        struct gw_sa *gs, *next;
        bool any = false;
        for (gs = TAILQ_FIRST(&gw->sas); gs; gs = next) {
            next = TAILQ_NEXT(gs, link);
            if (!gs->sa || !ike_sa_is_passive(gs->sa))
                continue;
            const struct ike_sa *key = gs->sa;
            if (s->n_seen && bsearch(&key, s->seen, s->n_seen, sizeof(*s->seen), cmp_ptr))
                continue;
            ha_log(ha, IKE_LOG_INFO, gs, "HA del IKE SA (not in the snapshot)");
            gw_sa_destroy(gs);
            dropped++;
            any = true;
        }
        if (any)
            gw_refresh_state(gw);
    }
    return dropped;
}

static void rx_chunk(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__SnapshotChunk *c = env->snapshot_chunk;
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (!s->open) {
        ha_log(ha, IKE_LOG_DEBUG, NULL,
               "HA snapshot chunk of virtual cluster %" PRIu32 " for another node: ignored",
               vc->id);
        return;
    }
    if (s->have_id && s->id != c->snapshot_id) {
        ha_drop(ha, env, "snapshot %" PRIu32 ", receiving %" PRIu32, c->snapshot_id, s->id);
        return;
    }
    s->have_id = true;
    s->id = c->snapshot_id;
    for (size_t i = 0; i < c->n_ike; i++)
        ha_apply_ike_add(ha, vc, c->ike[i], "bulk");
    for (size_t i = 0; i < c->n_child; i++)
        ha_apply_child_add(ha, vc, c->child[i], "bulk");
    for (size_t i = 0; i < c->n_esp; i++)
        ha_apply_esp(ha, vc, c->esp[i]);
    s->n_ike += (uint32_t)c->n_ike;
    s->n_child += (uint32_t)c->n_child;
    vc->snapshot_sas = s->n_ike;
    ha_log(ha, IKE_LOG_DEBUG, NULL,
           "HA snapshot %" PRIu32 " chunk: %zu IKE SA(s), %zu CHILD SA(s), %zu ESP counter(s)",
           c->snapshot_id, c->n_ike, c->n_child, c->n_esp);
}

static void rx_done(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__SnapshotDone *dn = env->snapshot_done;
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (!s->open)
        return;
    if (s->have_id && s->id != dn->snapshot_id) {
        ha_drop(ha, env, "snapshot %" PRIu32 " done, receiving %" PRIu32, dn->snapshot_id, s->id);
        return;
    }
    if (dn->n_ike != s->n_ike || dn->n_child != s->n_child) {
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA snapshot %" PRIu32 " of virtual cluster %" PRIu32 " incomplete: %" PRIu32
               "/%" PRIu32 " IKE and %" PRIu32 "/%" PRIu32 " CHILD SAs received",
               dn->snapshot_id, vc->id, s->n_ike, dn->n_ike, s->n_child, dn->n_child);
        vc->sync = HA_SYNC_BEHIND;
        s->open = false;
        if (s->retries < SNAPSHOT_RETRIES) {
            s->retries++;
            ha_bulk_request(ha, vc);
        } else {
            ha_log(ha, IKE_LOG_ERR, NULL,
                   "HA giving up bulk sync of virtual cluster %" PRIu32
                   " after %d incomplete snapshots",
                   vc->id, SNAPSHOT_RETRIES);
        }
        ha_role_sync_changed(ha, vc);
        return;
    }
    s->retries = 0;
    size_t stale = drop_stale(ha, vc, s);
    s->open = false;
    free(s->seen);
    s->seen = NULL;
    s->n_seen = s->cap_seen = 0;
    vc->sync = HA_SYNC_IN_SYNC;
    vc->behind = 0;
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA bulk sync of virtual cluster %" PRIu32 " complete: %" PRIu32 " IKE SA(s), %" PRIu32
           " CHILD SA(s), %zu stale dropped",
           vc->id, s->n_ike, s->n_child, stale);
    ha_role_sync_changed(ha, vc);
}

/* ---- master: serving a snapshot ------------------------------------------------ */

struct chunk {
    struct ha *ha;
    struct ha_vc *vc;
    uint32_t id;
    bool failed;
    uint32_t total_ike, total_child, n_chunks;
    size_t bytes;
    size_t n_ike, n_child, n_esp;
    struct ike_sa_export ike_ex[CHUNK_IKE_MAX];
    struct hasync_ike_msg ike_msg[CHUNK_IKE_MAX];
    Hasync__IkeSaAdd *ike[CHUNK_IKE_MAX];
    Hasync__IkeResponse ike_resp[CHUNK_IKE_MAX]; /* points into the SA until packed */
    struct ike_child_export child_ex[CHUNK_CHILD_MAX];
    struct hasync_child_msg child_msg[CHUNK_CHILD_MAX];
    Hasync__ChildSaAdd *child[CHUNK_CHILD_MAX];
    Hasync__EspSeqUpdate esp_msg[CHUNK_CHILD_MAX];
    Hasync__EspSeqUpdate *esp[CHUNK_CHILD_MAX];
};

static void flush(struct chunk *k)
{
    if ((!k->n_ike && !k->n_child) || k->failed)
        goto wipe;
    Hasync__SnapshotChunk sc;
    hasync__snapshot_chunk__init(&sc);
    sc.has_snapshot_id = true;
    sc.snapshot_id = k->id;
    sc.n_ike = k->n_ike;
    sc.ike = k->ike;
    sc.n_child = k->n_child;
    sc.child = k->child;
    sc.n_esp = k->n_esp;
    sc.esp = k->esp;
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    env.snapshot_chunk = &sc;
    if (ha_stream_send(k->ha, k->vc->id, &env, NULL, NULL) < 0)
        k->failed = true;
    k->n_chunks++;
wipe:
    ike_export_wipe(k->ike_ex, sizeof(k->ike_ex[0]) * k->n_ike);
    ike_export_wipe(k->child_ex, sizeof(k->child_ex[0]) * k->n_child);
    k->n_ike = k->n_child = k->n_esp = 0;
    k->bytes = 0;
}

static void add_child(struct chunk *k, const struct ike_sa *sa, size_t i)
{
    struct daemon *d = k->ha->d;
    if (k->n_child == CHUNK_CHILD_MAX || k->bytes > CHUNK_BYTES)
        flush(k);
    struct ike_child_export *ex = &k->child_ex[k->n_child];
    struct ike_diag diag = {0};
    if (ike_sa_export_child(sa, i, ex, &diag) != IKE_OK)
        return;
    struct hasync_child_msg *cm = &k->child_msg[k->n_child];
    hasync_child_to_msg(ex, cm);
    k->child[k->n_child++] = &cm->m;
    k->bytes += hasync__child_sa_add__get_packed_size(&cm->m) + 8;
    k->total_child++;
    struct dp_child *c = dp_child_find(&d->dp, ex->spi_in);
    if (c) {
        dp_child_counters(&d->dp, c);
        Hasync__EspSeqUpdate *e = &k->esp_msg[k->n_esp];
        hasync__esp_seq_update__init(e);
        e->has_spi_in = e->has_seq_out = e->has_replay_edge = true;
        e->spi_in = c->spi_in;
        e->seq_out = c->ctr.seq_out;
        e->replay_edge = c->ctr.replay_in_edge;
        k->esp[k->n_esp++] = e;
        k->bytes += 32;
    }
}

static void add_sa(struct chunk *k, struct gw_sa *gs)
{
    if (k->n_ike == CHUNK_IKE_MAX || k->bytes > CHUNK_BYTES)
        flush(k);
    struct ike_sa_export *ex = &k->ike_ex[k->n_ike];
    struct ike_diag diag = {0};
    if (ike_sa_export(gs->sa, ex, &diag) != IKE_OK)
        return;
    struct hasync_ike_msg *im = &k->ike_msg[k->n_ike];
    hasync_ike_to_msg(ex, im);
    im->m.has_vdom = true;
    im->m.vdom = gs->gw->vdom;
    /* The responder cache: after a takeover the peer's retransmission of
     * the request answered last gets its answer. */
    struct ike_ev_response r;
    if (ike_sa_last_response(gs->sa, &r)) {
        Hasync__IkeResponse *rm = &k->ike_resp[k->n_ike];
        hasync__ike_response__init(rm);
        rm->has_spi_i = rm->has_spi_r = rm->has_message_id = true;
        rm->has_request_hash = rm->has_datagram = true;
        rm->spi_i = (ProtobufCBinaryData){IKE_SPI_LEN, ex->spi_i};
        rm->spi_r = (ProtobufCBinaryData){IKE_SPI_LEN, ex->spi_r};
        rm->message_id = r.message_id;
        rm->request_hash =
            (ProtobufCBinaryData){IKE_RESPONSE_HASH_LEN, (uint8_t *)(uintptr_t)r.req_hash};
        rm->datagram = (ProtobufCBinaryData){r.len, (uint8_t *)(uintptr_t)r.data};
        im->m.last_response = rm;
    }
    k->ike[k->n_ike++] = &im->m;
    k->bytes += hasync__ike_sa_add__get_packed_size(&im->m) + 8;
    k->total_ike++;
    size_t n = ike_sa_child_count(gs->sa);
    for (size_t i = 0; i < n; i++)
        add_child(k, gs->sa, i);
}

/* 0: every chunk and the done went out; -1: not (logged). */
static int serve(struct ha *ha, struct ha_vc *vc, uint32_t requester)
{
    int rc = -1;
    struct chunk *k = calloc(1, sizeof(*k));
    if (!k) {
        ha_log(ha, IKE_LOG_ERR, NULL, "HA out of memory serving a bulk sync");
        return -1;
    }
    uint64_t t0 = ha_now_us();
    k->ha = ha;
    k->vc = vc;
    k->id = ++ha_mirror(ha)->next_snapshot_id;
    struct gateway *gw;
    TAILQ_FOREACH(gw, &ha->d->gateways, link) {
        if (!ha_gw_in_vc(ha, gw, vc) || !ha_gateway_active(ha->d, gw))
            continue;
        struct gw_sa *gs;
        TAILQ_FOREACH(gs, &gw->sas, link)
        /* not one we are deleting: its IkeSaDel follows soon, and a
         * standby that took over would only have to expire it */
        if (gs->sa && !gs->dying && !gs->deleting &&
            ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED && !ike_sa_is_passive(gs->sa) &&
            !k->failed)
            add_sa(k, gs);
    }
    flush(k);
    Hasync__SnapshotDone dn;
    hasync__snapshot_done__init(&dn);
    dn.has_snapshot_id = dn.has_n_ike = dn.has_n_child = true;
    dn.snapshot_id = k->id;
    dn.n_ike = k->total_ike;
    dn.n_child = k->total_child;
    Hasync__Envelope env = HASYNC__ENVELOPE__INIT;
    env.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE;
    env.snapshot_done = &dn;
    if (!k->failed && ha_stream_send_done(ha, vc->id, &env) == 0) {
        rc = 0;
        ha->stats.bulk_syncs_served++;
        ha_log(ha, IKE_LOG_INFO, NULL,
               "HA bulk sync of virtual cluster %" PRIu32 " for node %" PRIu32 ": snapshot %" PRIu32
               ", %" PRIu32 " IKE SA(s), %" PRIu32 " CHILD SA(s) in %" PRIu32 " chunk(s), %" PRIu64
               " us",
               vc->id, requester, k->id, k->total_ike, k->total_child, k->n_chunks,
               ha_now_us() - t0);
    } else {
        ha_log(ha, IKE_LOG_ERR, NULL,
               "HA bulk sync of virtual cluster %" PRIu32 " for node %" PRIu32
               " failed: the sync queue refused a chunk",
               vc->id, requester);
    }
    explicit_bzero(k, sizeof(*k));
    free(k);
    return rc;
}

/* ---- master: resync after a refused sync message ----------------------------- */

/* Room in hasync's queue for a snapshot. */
static bool queue_drained(const struct ha *ha)
{
    const struct hasync_cpg_stats *st = hasync_cpg_get_stats(ha->cpg);
    return st->queue_len == 0 && hasync_cpg_pending_acks(ha->cpg) < RESYNC_ROOM;
}

static void on_resync_timer(evutil_socket_t fd, short what, void *arg);

static void resync_arm(struct ha *ha)
{
    struct ha_mirror *m = ha_mirror(ha);
    if (!m->resync_timer)
        m->resync_timer = evtimer_new(ha->d->base, on_resync_timer, ha);
    if (!m->resync_timer) {
        ha_log(ha, IKE_LOG_ERR, NULL, "HA out of memory: a resync waits for the next refusal");
        return;
    }
    if (evtimer_pending(m->resync_timer, NULL))
        return;
    struct timeval tv = {0, RESYNC_POLL_MS * 1000};
    evtimer_add(m->resync_timer, &tv);
}

/* Every vcluster with a resync due whose queue has room gets its snapshot;
 * the others wait for the next poll. */
static void on_resync_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ha *ha = arg;
    bool waiting = false;
    for (size_t i = 0; i < ha->n_vcs; i++) {
        struct ha_snap_rx *s = &ha_mirror(ha)->snap[i];
        struct ha_vc *vc = &ha->vcs[i];
        if (!s->resync_due)
            continue;
        /* Not master any more: the new master's stream is what counts. No
         * peer: whoever joins asks for a snapshot anyway. */
        if (!vc->active || !ha->cpg || !hasync_cpg_peer_count(ha->cpg)) {
            s->resync_due = false;
            /* what a refused message held: no standby to be ahead of (sent),
             * or the new master answers the peer's retransmission (dropped) */
            ha_stream_resync_cancel(ha, vc->id, vc->active);
            continue;
        }
        if (!queue_drained(ha)) {
            waiting = true;
            continue;
        }
        s->resync_due = false; /* a refused chunk sets it again */
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA the sync queue has drained: resync snapshot of virtual cluster %" PRIu32
               " for the standby",
               vc->id);
        if (serve(ha, vc, 0) == 0)
            ha->stats.resyncs_sent++;
        waiting |= s->resync_due;
    }
    if (waiting)
        resync_arm(ha);
}

void ha_bulk_resync_due(struct ha *ha, uint32_t vcluster)
{
    struct ha_vc *vc = ha_vc_find(ha, vcluster);
    if (!vc || !vc->active || !ha_mirror(ha)->snap)
        return; /* only the master's stream is mirrored */
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (!s->resync_due)
        ha_log(ha, IKE_LOG_WARN, NULL,
               "HA the standby of virtual cluster %" PRIu32
               " missed a sync message: resync snapshot once the queue drains",
               vc->id);
    s->resync_due = true;
    resync_arm(ha);
}

/* ---- split-brain heal: merging a peer's offer ------------------------------ */

/* What an ESP counter must become here: never back; on a CHILD SA we send
 * on (active vcluster) strictly above anything the peer may have sent with
 * the same keys, by the takeover margin (reusing an (SPI, seq) pair reuses
 * an AES-GCM nonce). */
static void merge_esp(struct ha *ha, struct ha_vc *vc, const Hasync__EspSeqUpdate *e)
{
    struct daemon *d = ha->d;
    struct dp_child *c = dp_child_find(&d->dp, e->spi_in);
    if (!c || !c->owner || !ha_gw_in_vc(ha, c->owner->gw, vc) || !d->dp.ops->set_seq)
        return;
    dp_child_counters(&d->dp, c);
    uint64_t seq = c->ctr.seq_out, edge = c->ctr.replay_in_edge;
    if (vc->active) {
        uint64_t jump = d->cfg->ha.seq_jump, limit = c->esn ? UINT64_MAX : UINT32_MAX;
        uint64_t above =
            e->seq_out >= limit || jump > limit - e->seq_out ? limit : e->seq_out + jump;
        if (above > seq)
            seq = above;
    } else if (e->seq_out > seq) {
        seq = e->seq_out;
    }
    if (e->has_replay_edge && e->replay_edge > edge)
        edge = e->replay_edge;
    if (seq == c->ctr.seq_out && edge == c->ctr.replay_in_edge)
        return;
    if (d->dp.ops->set_seq(&d->dp, c, seq, edge) < 0) {
        import_error_bulk(ha, c->owner->gw, "ESP counters of a merge");
        return;
    }
    ha_log(ha, IKE_LOG_INFO, c->owner,
           "HA merge ESP spi in=%08" PRIx32 ": seq out=%" PRIu64 " replay edge=%" PRIu64
           " (peer's %" PRIu64 "/%" PRIu64 ")",
           c->spi_in, seq, edge, e->seq_out, e->has_replay_edge ? e->replay_edge : 0);
}

static bool is_fresh(const struct ha_snap_rx *s, const uint8_t *spi_i, const uint8_t *spi_r)
{
    for (size_t i = 0; i < s->n_fresh; i++)
        if (!memcmp(s->fresh[i].spi_i, spi_i, IKE_SPI_LEN) &&
            !memcmp(s->fresh[i].spi_r, spi_r, IKE_SPI_LEN))
            return true;
    return false;
}

static void merge_chunk(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__SnapshotChunk *c = env->snapshot_chunk;
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (!s->merging || s->merge_from != env->sender || s->merge_id != c->snapshot_id) {
        s->merging = true;
        s->merge_from = env->sender;
        s->merge_id = c->snapshot_id;
        s->merge_new = s->merge_kept = 0;
        s->n_fresh = 0;
        ha_log(ha, IKE_LOG_INFO, NULL,
               "HA merging node %" PRIu32 "'s SAs of virtual cluster %" PRIu32
               " (we are %s): newest wins",
               env->sender, vc->id, vc->active ? "master" : "standby");
    }
    for (size_t i = 0; i < c->n_ike; i++) {
        struct ike_sa *sa = NULL;
        int rc = ha_merge_ike(ha, vc, c->ike[i], &sa);
        if (rc == 1) {
            s->merge_kept++;
        } else if (rc == 0) {
            s->merge_new++;
            const uint8_t *spi_i = ike_sa_spi_i(sa), *spi_r = ike_sa_spi_r(sa);
            if (is_fresh(s, spi_i, spi_r))
                continue; /* the offer named it twice: the later one replaced it */
            if (s->n_fresh == s->cap_fresh) {
                size_t cap = s->cap_fresh ? s->cap_fresh * 2 : 64;
                struct ha_spi_pair *v = realloc(s->fresh, cap * sizeof(*v));
                if (!v)
                    continue; /* stays passive (the end's count shows it) */
                s->fresh = v;
                s->cap_fresh = cap;
            }
            memcpy(s->fresh[s->n_fresh].spi_i, spi_i, IKE_SPI_LEN);
            memcpy(s->fresh[s->n_fresh].spi_r, spi_r, IKE_SPI_LEN);
            s->n_fresh++;
        }
    }
    for (size_t i = 0; i < c->n_child; i++) {
        const Hasync__ChildSaAdd *m = c->child[i];
        struct gw_sa *gs = ha_find_sa(ha, m->ike_spi_i.data, m->ike_spi_r.data);
        if (!gs || !is_fresh(s, m->ike_spi_i.data, m->ike_spi_r.data))
            continue; /* of an SA we kept: only its counters (below) */
        if (ha_merge_child(ha, vc, m) == 0 && vc->active) {
            /* a floor until its counters (next entries) raise it */
            struct dp_child *dc = dp_child_find(&ha->d->dp, m->spi_in);
            if (dc && ha->d->dp.ops->set_seq)
                ha->d->dp.ops->set_seq(&ha->d->dp, dc, ha->d->cfg->ha.seq_jump, 0);
        }
    }
    for (size_t i = 0; i < c->n_esp; i++)
        merge_esp(ha, vc, c->esp[i]);
}

/* The offer is in: on an active vcluster, what it brought goes live. */
static void merge_done(struct ha *ha, struct ha_vc *vc, const char *why)
{
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (!s->merging)
        return;
    size_t activated = 0;
    for (size_t i = 0; vc->active && i < s->n_fresh; i++) {
        /* gone meanwhile (deleted, or replaced by a rekey): nothing to do */
        struct gw_sa *gs = ha_find_sa(ha, s->fresh[i].spi_i, s->fresh[i].spi_r);
        if (!gs || gs->dying || !gs->sa || !ike_sa_is_passive(gs->sa))
            continue;
        ike_sa_activate(gs->sa);
        ha_dp_follow_role(ha, gs);
        gw_sa_after(gs);
        activated++;
    }
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA merge from node %" PRIu32 " of virtual cluster %" PRIu32 " %s: %" PRIu32
           " IKE SA(s) taken (newer there or unknown here), %" PRIu32 " kept, %zu activated",
           s->merge_from, vc->id, why, s->merge_new, s->merge_kept, activated);
    s->merging = false;
    s->n_fresh = 0;
    /* Standing by (we released after the split, or just joined): the merge
     * kept whatever was newer on either side, but not what the master
     * deleted meanwhile. Its snapshot (served after it merged ours: CPG's
     * order) makes our copies exactly its state. */
    if (!vc->active) {
        ha_bulk_request(ha, vc);
        ha_role_sync_changed(ha, vc);
    }
}

void ha_bulk_offer(struct ha *ha, struct ha_vc *vc, uint32_t to_node)
{
    struct ha_snap_rx *s = snap_of(ha, vc);
    if (s->offered || !vc->active)
        return;
    s->offered = true;
    ha_log(ha, IKE_LOG_WARN, NULL,
           "HA node %" PRIu32 " is master of virtual cluster %" PRIu32
           " too (the split healed): offering our SAs to merge",
           to_node, vc->id);
    (void)serve(ha, vc, to_node);
}

void ha_bulk_released(struct ha *ha, struct ha_vc *vc)
{
    if (!snap_of(ha, vc)->offered)
        return; /* a graceful handover: the stream continues, nothing to resync */
    ha_log(ha, IKE_LOG_INFO, NULL,
           "HA vcluster %" PRIu32 " released after a split: asking the master for its snapshot",
           vc->id);
    ha_bulk_request(ha, vc);
    ha_role_sync_changed(ha, vc);
}

void ha_bulk_membership(struct ha *ha, const struct hasync_member *left, size_t n_left)
{
    struct ha_mirror *m = ha_mirror(ha);
    for (size_t i = 0; i < ha->n_vcs; i++) {
        struct ha_snap_rx *s = &m->snap[i];
        s->offered = false;
        for (size_t k = 0; k < n_left; k++)
            if (s->merging && s->merge_from == left[k].node)
                merge_done(ha, &ha->vcs[i], "cut short (the node left)");
    }
}

void ha_bulk_rx(struct ha *ha, const Hasync__Envelope *env)
{
    struct ha_vc *vc = env->has_vcluster ? ha_vc_find(ha, env->vcluster) : NULL;
    if (!vc) {
        ha_drop(ha, env, "virtual cluster %" PRIu32 " is not configured here",
                env->has_vcluster ? env->vcluster : 0);
        return;
    }
    switch (env->body_case) {
    case HASYNC__ENVELOPE__BODY_BULK_REQUEST:
        if (!vc->active) {
            ha_log(ha, IKE_LOG_DEBUG, NULL,
                   "HA bulk sync request for virtual cluster %" PRIu32 " from node %" PRIu32
                   ": not its master here",
                   vc->id, env->sender);
            return;
        }
        if (env->bulk_request->has_to_node && env->bulk_request->to_node &&
            env->bulk_request->to_node != hasync_cpg_local_node(ha->cpg))
            return;
        (void)serve(ha, vc, env->sender); /* a refused chunk makes a resync due */
        return;
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK:
        /* A snapshot we asked for replaces; anything else is a peer's offer
         * after a split (or a snapshot for another node): merged, newest
         * wins, nothing dropped. */
        if (!vc->active && snap_of(ha, vc)->open)
            rx_chunk(ha, vc, env);
        else
            merge_chunk(ha, vc, env);
        return;
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE:
        if (!vc->active && snap_of(ha, vc)->open)
            rx_done(ha, vc, env);
        else if (snap_of(ha, vc)->merge_from == env->sender &&
                 snap_of(ha, vc)->merge_id == env->snapshot_done->snapshot_id)
            merge_done(ha, vc, "complete");
        return;
    default: ha_drop(ha, env, "not a bulk sync body"); return;
    }
}
