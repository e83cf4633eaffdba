/*
 * Standby side of the SA mirror: the master's sync messages become passive
 * copies of its SAs (libike import + <ike/mirror.h> updates) and passive
 * data-plane installs, so that a takeover only has to jump the ESP sequence
 * numbers and activate them.
 *
 * Everything here comes from another node: the codec has checked the
 * bodies' shape (hasync_codec.c), this file checks what they refer to (the
 * vcluster, the gateway, the SA, that we are not the master of it) and
 * every refusal is logged and counted (ha->stats.dropped by body, or
 * import_errors when libike or the data plane refused it), never fatal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/mirror.h>
#include <ike/sa.h>

#include "daemon.h"
#include "gw_sa.h"
#include "ha_internal.h"
#include "hasync_export.h"

/* ---- lookups ------------------------------------------------------------- */

struct gw_sa *ha_find_sa(struct ha *ha, const uint8_t spi_i[IKE_SPI_LEN],
                         const uint8_t spi_r[IKE_SPI_LEN])
{
    struct ike_hdr hdr = {0};
    memcpy(hdr.spi_i, spi_i, IKE_SPI_LEN);
    memcpy(hdr.spi_r, spi_r, IKE_SPI_LEN);
    /* The table finds an SA by our SPI, which depends on our role in it:
     * ask as a message from either side would. */
    for (int k = 0; k < 2; k++) {
        hdr.flags = k ? 0 : IKE_FLAG_INITIATOR;
        struct gw_sa *gs = sat_lookup(&ha->d->sat, &hdr);
        if (gs && gs->sa && !gs->dying && !memcmp(ike_sa_spi_i(gs->sa), spi_i, IKE_SPI_LEN) &&
            !memcmp(ike_sa_spi_r(gs->sa), spi_r, IKE_SPI_LEN))
            return gs;
    }
    return NULL;
}

bool ha_gw_in_vc(struct ha *ha, const struct gateway *gw, const struct ha_vc *vc)
{
    return gw && ha_vc_of_vdom(ha->d, gw->vdom) == vc;
}

static bool replaced_recently(struct ha_mirror *m, const uint8_t *spi_i, const uint8_t *spi_r)
{
    for (size_t i = 0; i < HA_REPLACED_RING; i++)
        if (!memcmp(m->replaced[i].spi_i, spi_i, IKE_SPI_LEN) &&
            !memcmp(m->replaced[i].spi_r, spi_r, IKE_SPI_LEN))
            return true;
    return false;
}

static void note_replaced(struct ha_mirror *m, const uint8_t *spi_i, const uint8_t *spi_r)
{
    size_t i = m->replaced_next++ % HA_REPLACED_RING;
    memcpy(m->replaced[i].spi_i, spi_i, IKE_SPI_LEN);
    memcpy(m->replaced[i].spi_r, spi_r, IKE_SPI_LEN);
}

/* The passive copy a message refers to, or NULL (dropped and counted; an
 * SA replaced by a rekey here is expected to get its last messages: quiet). */
static struct gw_sa *passive_sa(struct ha *ha, const Hasync__Envelope *env, struct ha_vc *vc,
                                const ProtobufCBinaryData *spi_i, const ProtobufCBinaryData *spi_r)
{
    char s[40];
    ha_spis(spi_i->data, spi_r->data, s);
    struct gw_sa *gs = ha_find_sa(ha, spi_i->data, spi_r->data);
    if (!gs) {
        /* Before the snapshot is in, the stream names SAs we do not have
         * yet: expected, the snapshot brings them. */
        if (vc->sync != HA_SYNC_IN_SYNC ||
            replaced_recently(ha_mirror(ha), spi_i->data, spi_r->data)) {
            ha_log(ha, IKE_LOG_DEBUG, NULL, "HA %s for IKE SA %s (%s): ignored",
                   hasync_body_name(env->body_case), s,
                   vc->sync != HA_SYNC_IN_SYNC ? "snapshot not complete" : "replaced by a rekey");
            return NULL;
        }
        ha_drop(ha, env, "no IKE SA %s here", s);
        return NULL;
    }
    if (!ha_gw_in_vc(ha, gs->gw, vc)) {
        ha_drop(ha, env, "IKE SA %s belongs to another virtual cluster", s);
        return NULL;
    }
    if (!ike_sa_is_passive(gs->sa) || ha_gateway_active(ha->d, gs->gw)) {
        ha_drop(ha, env, "IKE SA %s is active here (two masters?)", s);
        return NULL;
    }
    return gs;
}

static void import_error(struct ha *ha, const struct gateway *gw, const char *what, const char *why)
{
    ha->stats.import_errors++;
    struct hlog_who who = daemon_who(gw, NULL);
    hlog_write(&ha->d->log, HLOG_SYNC, IKE_LOG_WARN, &who, "HA %s not mirrored: %s", what, why);
}

/* ---- responder cache ------------------------------------------------------ */

/* The master's response to the peer's request, into the copy's responder
 * cache (a live IkeResponse or a snapshot's last_response). -1: refused
 * (the caller logs and counts). */
static int mirror_response(struct gw_sa *gs, const Hasync__IkeResponse *m, struct ike_diag *diag)
{
    struct ike_ev_response r = {
        .message_id = m->message_id,
        .req_hash = m->request_hash.data,
        .data = m->datagram.data,
        .len = m->datagram.len,
    };
    return ike_sa_mirror_response(gs->sa, &r, diag) == IKE_OK ? 0 : -1;
}

/* A snapshot's SA with its responder cache: a refusal costs only the
 * answer to one retransmission, the SA stays. */
static void import_response(struct ha *ha, struct gw_sa *gs, const Hasync__IkeSaAdd *m)
{
    struct ike_diag diag = {0};
    if (gs && m->last_response && mirror_response(gs, m->last_response, &diag) < 0)
        import_error(ha, gs->gw, "IKE response", diag.reason);
}

/* ---- IKE SA add (live or snapshot) ------------------------------------------ */

/* IKE rekey: the CHILD SAs of old now belong to gs (libike's copies and the
 * data plane's), then old goes. */
static void take_over_children(struct ha *ha, struct gw_sa *old, struct gw_sa *gs)
{
    struct ike_diag diag = {0};
    size_t n = ike_sa_child_count(old->sa);
    for (size_t i = 0; i < n; i++) {
        struct ike_child_export c;
        if (ike_sa_export_child(old->sa, i, &c, &diag) != IKE_OK)
            continue;
        memcpy(c.ike_spi_i, ike_sa_spi_i(gs->sa), IKE_SPI_LEN);
        memcpy(c.ike_spi_r, ike_sa_spi_r(gs->sa), IKE_SPI_LEN);
        if (ike_sa_import_child(gs->sa, &c, &diag) != IKE_OK)
            import_error(ha, gs->gw, "CHILD SA of a rekeyed IKE SA", diag.reason);
        ike_export_wipe(&c, sizeof(c));
    }
    gw_sa_move_children(old, gs);
    note_replaced(ha_mirror(ha), ike_sa_spi_i(old->sa), ike_sa_spi_r(old->sa));
    ha_log(ha, IKE_LOG_INFO, gs,
           "HA IKE SA %" PRIu32 " replaces IKE SA %" PRIu32
           ": %zu CHILD SA(s) moved, the old one dropped",
           gs->serial, old->serial, n);
    gw_sa_destroy(old);
}

static bool spi_zero(const uint8_t spi[IKE_SPI_LEN])
{
    static const uint8_t z[IKE_SPI_LEN];
    return !memcmp(spi, z, IKE_SPI_LEN);
}

/* libike import of ex into a new passive gw_sa of gw (SPIs free: the caller
 * checked), with an IKE rekey's CHILD SAs taken over. NULL: refused (logged,
 * counted). */
static struct gw_sa *import_ike(struct ha *ha, struct ha_vc *vc, struct gateway *gw,
                                struct vdom_rt *v, const struct ike_sa_export *ex, const char *how,
                                const char *s)
{
    struct daemon *d = ha->d;
    char err[256];
    struct ike_sa *sa = NULL;
    struct ike_diag diag = {0};
    d->cur_gw = gw; /* libike's lines about the import carry the gateway */
    d->cur_vdom = v;
    enum ike_status st = ike_sa_import(&d->ike_ctx, gw->ike_cfg, ex, &sa, &diag);
    d->cur_gw = NULL;
    d->cur_vdom = NULL;
    if (st != IKE_OK) {
        snprintf(err, sizeof(err), "IKE SA %s: libike: %.160s", s, diag.reason);
        import_error(ha, gw, "IKE SA", err);
        return NULL;
    }
    struct gw_sa *gs = gw_sa_new(gw, v);
    if (!gs) {
        ike_sa_free(sa);
        import_error(ha, gw, "IKE SA", "out of memory");
        return NULL;
    }
    if (gw_sa_attach(gs, sa) < 0) { /* logged; gs and sa are gone */
        ha->stats.import_errors++;
        return NULL;
    }
    gs->established_ms = daemon_now_ms();
    gs->msgid_send_next = ex->msgid_send_next;
    gs->msgid_recv_next = ex->msgid_recv_next;
    gs->nat_local = ex->nat_local;
    gs->nat_remote = ex->nat_remote;
    if (!spi_zero(ex->replaces_spi_i)) {
        struct gw_sa *old = ha_find_sa(ha, ex->replaces_spi_i, ex->replaces_spi_r);
        /* not itself: a message naming its own SPIs as the replaced SA
         * would have the new copy destroyed under us */
        if (old && old != gs && old->gw == gw && ike_sa_is_passive(old->sa))
            take_over_children(ha, old, gs);
    }
    ha_bulk_note_import(ha, vc, sa);
    gw_sa_after(gs);
    /* DEBUG like the master's line: one per mirrored tunnel */
    ha_log(ha, IKE_LOG_DEBUG, gs,
           "HA add IKE SA %s (%s) vcluster %" PRIu32 " msgid send/recv=%" PRIu32 "/%" PRIu32
           ", passive",
           s, how, vc->id, ex->msgid_send_next, ex->msgid_recv_next);
    return gs;
}

/* The gateway an export names, in vc; NULL refused (logged, counted). */
static struct gateway *export_gw(struct ha *ha, struct ha_vc *vc, const struct ike_sa_export *ex,
                                 const char *s, struct vdom_rt **v)
{
    char err[256];
    /* An established SA has both SPIs. With a zero one the SA table could
     * not find the copy again (found by fuzz_ha_apply): no later update or
     * delete would reach it, and a takeover would activate it. */
    if (spi_zero(ex->spi_i) || spi_zero(ex->spi_r)) {
        snprintf(err, sizeof(err), "IKE SA %s: a zero SPI", s);
        import_error(ha, NULL, "IKE SA", err);
        return NULL;
    }
    /* An IKE rekey of a retiring gateway's SA stays with that gateway
     * (gw_retire.c): gw_find names only the configured one. */
    struct gw_sa *old = spi_zero(ex->replaces_spi_i)
                            ? NULL
                            : ha_find_sa(ha, ex->replaces_spi_i, ex->replaces_spi_r);
    struct gateway *gw = old && old->gw->retiring ? old->gw : gw_find(ha->d, ex->cfg_name);
    if (!gw || !ha_gw_in_vc(ha, gw, vc)) {
        snprintf(err, sizeof(err), "IKE SA %s: %s \"%s\"%s", s, gw ? "gateway" : "no gateway",
                 ex->cfg_name, gw ? " is not in this virtual cluster" : " here");
        import_error(ha, gw, "IKE SA", err);
        return NULL;
    }
    *v = daemon_vdom(ha->d, gw->cfg->vdom);
    if (!*v) {
        import_error(ha, gw, "IKE SA", "its VDOM has no runtime");
        return NULL;
    }
    return gw;
}

int ha_apply_ike_add(struct ha *ha, struct ha_vc *vc, const Hasync__IkeSaAdd *m, const char *how)
{
    struct ike_sa_export ex;
    char err[256], s[40];
    int rc = -1;
    struct vdom_rt *v = NULL;
    if (hasync_ike_from_msg(m, &ex, err, sizeof(err)) < 0) {
        import_error(ha, NULL, "IKE SA", err);
        goto out;
    }
    ha_spis(ex.spi_i, ex.spi_r, s);
    struct gateway *gw = export_gw(ha, vc, &ex, s, &v);
    if (!gw)
        goto out;
    if (ha_gateway_active(ha->d, gw)) {
        snprintf(err, sizeof(err), "IKE SA %s: gateway %s is active here (two masters?)", s,
                 gw->name);
        import_error(ha, gw, "IKE SA", err);
        goto out;
    }
    struct gw_sa *dup = ha_find_sa(ha, ex.spi_i, ex.spi_r);
    if (dup) {
        if (dup->gw != gw || !ike_sa_is_passive(dup->sa)) {
            snprintf(err, sizeof(err), "IKE SA %s: SPIs in use by %s SA %" PRIu32, s,
                     ike_sa_is_passive(dup->sa) ? "a passive" : "an active", dup->serial);
            import_error(ha, gw, "IKE SA", err);
            goto out;
        }
        gw_sa_destroy(dup); /* a snapshot refreshes what the stream built */
    }
    struct gw_sa *gs = import_ike(ha, vc, gw, v, &ex, how, s);
    import_response(ha, gs, m);
    rc = gs ? 0 : -1;
out:
    ike_export_wipe(&ex, sizeof(ex));
    return rc;
}

int ha_merge_ike(struct ha *ha, struct ha_vc *vc, const Hasync__IkeSaAdd *m, struct ike_sa **out)
{
    struct ike_sa_export ex;
    char err[256], s[40];
    int rc = -1;
    struct vdom_rt *v = NULL;
    *out = NULL;
    if (hasync_ike_from_msg(m, &ex, err, sizeof(err)) < 0) {
        import_error(ha, NULL, "IKE SA (merge)", err);
        goto out;
    }
    ha_spis(ex.spi_i, ex.spi_r, s);
    struct gateway *gw = export_gw(ha, vc, &ex, s, &v);
    if (!gw)
        goto out;
    struct gw_sa *ours = ha_find_sa(ha, ex.spi_i, ex.spi_r);
    if (ours) {
        /* Newest wins: message IDs only grow, so the side that saw more
         * exchanges with the peer holds what the peer holds. */
        uint32_t os = ours->msgid_send_next, orcv = ours->msgid_recv_next;
        bool newer = ex.msgid_send_next >= os && ex.msgid_recv_next >= orcv &&
                     (ex.msgid_send_next > os || ex.msgid_recv_next > orcv);
        if (!newer || ours->gw != gw) {
            ha_log(ha, IKE_LOG_INFO, ours,
                   "HA merge IKE SA %s: ours kept (send/recv=%" PRIu32 "/%" PRIu32
                   ", offered %" PRIu32 "/%" PRIu32 ")",
                   s, os, orcv, ex.msgid_send_next, ex.msgid_recv_next);
            rc = 1;
            goto out;
        }
        ha_log(ha, IKE_LOG_INFO, ours,
               "HA merge IKE SA %s: the peer's is newer (send/recv=%" PRIu32 "/%" PRIu32
               " > %" PRIu32 "/%" PRIu32 "), replacing ours",
               s, ex.msgid_send_next, ex.msgid_recv_next, os, orcv);
        gw_sa_destroy(ours);
    }
    struct gw_sa *gs = import_ike(ha, vc, gw, v, &ex, "merge", s);
    import_response(ha, gs, m);
    if (gs) {
        *out = gs->sa;
        rc = 0;
    }
out:
    ike_export_wipe(&ex, sizeof(ex));
    return rc;
}

/* ---- CHILD SA add --------------------------------------------------------- */

static int add_child(struct ha *ha, struct ha_vc *vc, const Hasync__ChildSaAdd *m, const char *how,
                     bool merge);

int ha_apply_child_add(struct ha *ha, struct ha_vc *vc, const Hasync__ChildSaAdd *m,
                       const char *how)
{
    return add_child(ha, vc, m, how, false);
}

int ha_merge_child(struct ha *ha, struct ha_vc *vc, const Hasync__ChildSaAdd *m)
{
    return add_child(ha, vc, m, "merge", true);
}

/* merge: the IKE SA is a passive import of a merge, on a gateway that may be
 * active here. */
static int add_child(struct ha *ha, struct ha_vc *vc, const Hasync__ChildSaAdd *m, const char *how,
                     bool merge)
{
    struct daemon *d = ha->d;
    struct ike_child_export ex;
    char err[256], s[40];
    int rc = -1;
    if (hasync_child_from_msg(m, &ex, err, sizeof(err)) < 0) {
        import_error(ha, NULL, "CHILD SA", err);
        goto out;
    }
    ha_spis(ex.ike_spi_i, ex.ike_spi_r, s);
    struct gw_sa *gs = ha_find_sa(ha, ex.ike_spi_i, ex.ike_spi_r);
    if (!gs && vc->sync != HA_SYNC_IN_SYNC) {
        ha_log(ha, IKE_LOG_DEBUG, NULL,
               "HA CHILD SA spi in=%08" PRIx32 " of IKE SA %s before "
               "the snapshot: ignored",
               ex.spi_in, s);
        rc = 1;
        goto out;
    }
    if (!gs || !ha_gw_in_vc(ha, gs->gw, vc) || !ike_sa_is_passive(gs->sa) ||
        (!merge && ha_gateway_active(d, gs->gw))) {
        snprintf(err, sizeof(err), "spi in=%08" PRIx32 ": %s IKE SA %s", ex.spi_in,
                 gs ? "not a passive copy of this virtual cluster:" : "no", s);
        import_error(ha, gs ? gs->gw : NULL, "CHILD SA", err);
        goto out;
    }
    if (dp_child_find(&d->dp, ex.spi_in)) {
        snprintf(err, sizeof(err), "inbound SPI %08" PRIx32 " is already installed", ex.spi_in);
        import_error(ha, gs->gw, "CHILD SA", err);
        goto out;
    }
    struct ike_diag diag = {0};
    if (ike_sa_import_child(gs->sa, &ex, &diag) != IKE_OK) {
        snprintf(err, sizeof(err), "spi in=%08" PRIx32 ": libike: %.160s", ex.spi_in, diag.reason);
        import_error(ha, gs->gw, "CHILD SA", err);
        goto out;
    }
    /* Installed passively: inbound ESP only reaches the master (the VIP is
     * there), and the takeover jumps the outbound sequence numbers. */
    struct dp_child *c =
        dp_child_install(&d->dp, gs, &ex, ike_sa_local_addr(gs->sa), ike_sa_remote_addr(gs->sa),
                         ike_sa_nat_detected(gs->sa), daemon_now_ms(), err, sizeof(err));
    if (!c) {
        ike_sa_mirror_child_del(gs->sa, ex.spi_in, &diag);
        import_error(ha, gs->gw, "CHILD SA (data plane)", err);
        goto out;
    }
    ha_log(ha, IKE_LOG_DEBUG, gs,
           "HA add IPsec SA %s (%s) spi in=%08" PRIx32 " out=%08" PRIx32 " seq %" PRIu64
           "%s, passive",
           ex.cfg_name, how, ex.spi_in, ex.spi_out, c->ctr.seq_out,
           ex.replaces_spi_in ? " (rekey)" : "");
    rc = 0;
out:
    ike_export_wipe(&ex, sizeof(ex));
    return rc;
}

/* ---- ESP counters ----------------------------------------------------------- */

int ha_apply_esp(struct ha *ha, struct ha_vc *vc, const Hasync__EspSeqUpdate *m)
{
    struct daemon *d = ha->d;
    struct dp_child *c = dp_child_find(&d->dp, m->spi_in);
    if (!c || !c->owner || !c->owner->sa || !ha_gw_in_vc(ha, c->owner->gw, vc) ||
        !ike_sa_is_passive(c->owner->sa) || ha_gateway_active(d, c->owner->gw))
        return -1;
    dp_child_counters(&d->dp, c);
    /* Never back: a late update must not rewind what a newer one set. */
    uint64_t seq = m->seq_out > c->ctr.seq_out ? m->seq_out : c->ctr.seq_out;
    uint64_t edge = c->ctr.replay_in_edge;
    if (m->has_replay_edge && m->replay_edge > edge)
        edge = m->replay_edge;
    if (seq == c->ctr.seq_out && edge == c->ctr.replay_in_edge)
        return 0;
    if (!d->dp.ops->set_seq || d->dp.ops->set_seq(&d->dp, c, seq, edge) < 0) {
        import_error(ha, c->owner->gw, "ESP counters", "the data plane cannot set them");
        return -1;
    }
    ha_log(ha, IKE_LOG_DEBUG, c->owner,
           "HA ESP seq update spi in=%08" PRIx32 " seq out=%" PRIu64 " replay edge=%" PRIu64,
           c->spi_in, seq, edge);
    return 0;
}

/* ---- the other bodies ----------------------------------------------------- */

static int addr_from(const Hasync__Addr *a, const struct ike_addr *cur, struct ike_addr *out)
{
    if (!a) {
        *out = *cur;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    if (!a->has_ip || (a->ip.len != 4 && a->ip.len != 16) || a->port > 65535)
        return -1;
    out->family = a->ip.len == 4 ? IKE_AF_INET : IKE_AF_INET6;
    memcpy(out->addr, a->ip.data, a->ip.len);
    out->port = (uint16_t)a->port;
    return 0;
}

static void apply_update(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__IkeSaUpdate *m = env->ike_sa_update;
    struct gw_sa *gs = passive_sa(ha, env, vc, &m->spi_i, &m->spi_r);
    if (!gs)
        return;
    struct ike_ev_ike_update u = {
        .nat_local = m->has_nat_local ? m->nat_local : gs->nat_local,
        .nat_remote = m->has_nat_remote ? m->nat_remote : gs->nat_remote,
    };
    struct ike_diag diag = {0};
    if (addr_from(m->local, ike_sa_local_addr(gs->sa), &u.local) < 0 ||
        addr_from(m->remote, ike_sa_remote_addr(gs->sa), &u.remote) < 0 ||
        ike_sa_mirror_update(gs->sa, &u, &diag) != IKE_OK) {
        ha_drop(ha, env, "addresses refused: %s", diag.reason[0] ? diag.reason : "malformed");
        return;
    }
    gs->nat_local = u.nat_local;
    gs->nat_remote = u.nat_remote;
    char l[IKE_ADDR_STR_MAX], r[IKE_ADDR_STR_MAX];
    ha_log(ha, IKE_LOG_INFO, gs, "HA update IKE SA %s->%s nat local/remote=%d/%d",
           ike_addr_str(&u.local, l, sizeof(l)), ike_addr_str(&u.remote, r, sizeof(r)), u.nat_local,
           u.nat_remote);
    ha_mirror(ha)->applied++;
}

static void apply_msgid(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__MsgidUpdate *m = env->msgid_update;
    struct gw_sa *gs = passive_sa(ha, env, vc, &m->spi_i, &m->spi_r);
    if (!gs)
        return;
    struct ike_diag diag = {0};
    if (ike_sa_mirror_msgid(gs->sa, m->send_next, m->recv_next, &diag) != IKE_OK) {
        ha_drop(ha, env, "out of order: %s", diag.reason);
        return;
    }
    gs->msgid_send_next = m->send_next;
    gs->msgid_recv_next = m->recv_next;
    ha_log(ha, IKE_LOG_DEBUG, gs, "HA IKEv2 message ID update send/recv=%" PRIu32 "/%" PRIu32,
           m->send_next, m->recv_next);
    ha_mirror(ha)->applied++;
}

static void apply_response(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__IkeResponse *m = env->ike_response;
    struct gw_sa *gs = passive_sa(ha, env, vc, &m->spi_i, &m->spi_r);
    if (!gs)
        return;
    struct ike_diag diag = {0};
    if (mirror_response(gs, m, &diag) < 0) {
        ha_drop(ha, env, "%s", diag.reason);
        return;
    }
    ha_log(ha, IKE_LOG_DEBUG, gs, "HA IKE response to request %" PRIu32 " (%zu octets) cached",
           m->message_id, m->datagram.len);
    ha_mirror(ha)->applied++;
}

static void apply_ike_del(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__IkeSaDel *m = env->ike_sa_del;
    struct gw_sa *gs = passive_sa(ha, env, vc, &m->spi_i, &m->spi_r);
    if (!gs)
        return;
    char s[40];
    ha_log(ha, IKE_LOG_INFO, gs, "HA del IKE SA %s", ha_spis(m->spi_i.data, m->spi_r.data, s));
    struct gateway *gw = gs->gw;
    gw_sa_destroy(gs);
    gw_refresh_state(gw);
    ha_mirror(ha)->applied++;
}

static void apply_child_del(struct ha *ha, struct ha_vc *vc, const Hasync__Envelope *env)
{
    const Hasync__ChildSaDel *m = env->child_sa_del;
    struct gw_sa *gs = passive_sa(ha, env, vc, &m->ike_spi_i, &m->ike_spi_r);
    if (!gs)
        return;
    struct ike_diag diag = {0};
    if (ike_sa_mirror_child_del(gs->sa, m->spi_in, &diag) != IKE_OK) {
        ha_drop(ha, env, "%s", diag.reason);
        return;
    }
    struct dp_child *c = dp_child_find(&ha->d->dp, m->spi_in);
    if (c && c->owner == gs)
        dp_child_delete(&ha->d->dp, c);
    ha_log(ha, IKE_LOG_INFO, gs, "HA del IPsec SA spi in=%08" PRIx32, m->spi_in);
    ha_mirror(ha)->applied++;
}

void ha_apply(struct ha *ha, const Hasync__Envelope *env)
{
    struct ha_vc *vc = env->has_vcluster ? ha_vc_find(ha, env->vcluster) : NULL;
    if (!vc) {
        ha_drop(ha, env, "virtual cluster %" PRIu32 " is not configured here",
                env->has_vcluster ? env->vcluster : 0);
        return;
    }
    if (vc->active) {
        ha_drop(ha, env, "we are master of virtual cluster %" PRIu32 " (two masters?)", vc->id);
        return;
    }
    int rc = 0;
    switch (env->body_case) {
    case HASYNC__ENVELOPE__BODY_IKE_SA_ADD:
        rc = ha_apply_ike_add(ha, vc, env->ike_sa_add, "live");
        break;
    case HASYNC__ENVELOPE__BODY_CHILD_SA_ADD:
        rc = ha_apply_child_add(ha, vc, env->child_sa_add, "live");
        break;
    case HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE:
        if (ha_apply_esp(ha, vc, env->esp_seq_update) < 0) {
            if (vc->sync != HA_SYNC_IN_SYNC)
                return; /* the snapshot brings the CHILD SA and its counters */
            ha_drop(ha, env,
                    "no passive CHILD SA with inbound SPI %08" PRIx32 " in this virtual cluster",
                    env->esp_seq_update->spi_in);
            return;
        }
        break;
    case HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE: apply_update(ha, vc, env); return;
    case HASYNC__ENVELOPE__BODY_MSGID_UPDATE: apply_msgid(ha, vc, env); return;
    case HASYNC__ENVELOPE__BODY_IKE_RESPONSE: apply_response(ha, vc, env); return;
    case HASYNC__ENVELOPE__BODY_IKE_SA_DEL: apply_ike_del(ha, vc, env); return;
    case HASYNC__ENVELOPE__BODY_CHILD_SA_DEL: apply_child_del(ha, vc, env); return;
    default: ha_drop(ha, env, "not a live sync body"); return;
    }
    if (rc == 0) {
        ha_mirror(ha)->applied++;
    } else if (rc < 0) {
        int i = ha_body_index(env->body_case);
        if (i >= 0)
            ha->stats.dropped[i]++;
    }
}
