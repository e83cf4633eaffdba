/*
 * The SA mirror end to end in one process (private network namespace, one
 * event_base): A (127.0.0.1) is the peer and initiates to M (127.0.0.2,
 * master of virtual cluster 1); S (127.0.0.3) is M's standby. M and S talk
 * over the real hasync channel on an in-process CPG bus (../hasync/
 * fake_cpg.h), A and M over real UDP. The election is not under test here:
 * ha_role.c's entry points are replaced by doubles and the test sets each
 * node's vcluster role.
 *
 * Checks: M's events become the right sync messages in order; an IKE
 * datagram of M leaves only after S acknowledged its sync message (and at
 * once without a peer); S's passive SA has M's SPIs, keys and message IDs
 * and follows CHILD and IKE rekeys; ESP counters never go back; a snapshot
 * rebuilds every SA and drops stale ones; bad bodies are counted and dropped.
 */
#include "dtest_util.h"
#include "ha_test_util.h"

#include <ike/events.h>
#include <ike/export.h>
#include <ike/mirror.h>
#include <ike/sa.h>

#include "ha/ha_internal.h"
#include "hasync_export.h"

/* ---- role doubles (weak: ha_role.c wins if something pulls it in) ------ */

static unsigned role_sync_changes;

__attribute__((weak)) struct ha_vc *ha_vc_of_vdom(const struct daemon *d, unsigned vdom)
{
    if (!d->ha || vdom >= d->n_vdoms)
        return NULL;
    for (size_t i = 0; i < d->ha->n_vcs; i++) {
        const struct cfg_vcluster *c = d->ha->vcs[i].cfg;
        if (!c->n_vdoms)
            return &d->ha->vcs[i];
        for (size_t k = 0; k < c->n_vdoms; k++)
            if (!strcmp(c->vdoms[k], d->vdoms[vdom].name))
                return &d->ha->vcs[i];
    }
    return NULL;
}

__attribute__((weak)) struct ha_vc *ha_vc_find(struct ha *ha, uint32_t id)
{
    for (size_t i = 0; ha && i < ha->n_vcs; i++)
        if (ha->vcs[i].id == id)
            return &ha->vcs[i];
    return NULL;
}

__attribute__((weak)) bool ha_gateway_active(const struct daemon *d, const struct gateway *gw)
{
    if (!d->ha)
        return true;
    struct ha_vc *vc = ha_vc_of_vdom(d, gw->vdom);
    return vc && vc->active;
}

__attribute__((weak)) int ha_role_init(struct ha *ha, char *err, size_t errlen)
{
    (void)ha, (void)err, (void)errlen;
    return 0;
}
__attribute__((weak)) void ha_role_free(struct ha *ha)
{
    (void)ha;
}
__attribute__((weak)) void ha_role_membership(struct ha *ha, const struct hasync_member *members,
                                              size_t n, const struct hasync_member *left,
                                              size_t n_left)
{
    (void)ha, (void)members, (void)n, (void)left, (void)n_left;
}
__attribute__((weak)) void ha_role_connection(struct ha *ha, bool up)
{
    (void)ha, (void)up;
}
/* The one election outcome a test needs: this daemon releases its vcluster
 * when another master announces itself (test_split_heal_merge). */
static struct daemon *release_on_master;

__attribute__((weak)) void ha_role_announce_rx(struct ha *ha, const Hasync__Envelope *env)
{
    if (ha->d == release_on_master && env->role->role == HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER &&
        ha->vcs[0].active) {
        ha->vcs[0].active = false;
        ha->vcs[0].role = HASYNC_ROLE_STANDBY;
        ha->vcs[0].sync = HA_SYNC_IN_SYNC;
        struct gw_sa *gs;
        TAILQ_FOREACH(gs, &gw_find(ha->d, "gwB")->sas, link)
        if (gs->sa)
            assert_int_equal(ike_sa_deactivate(gs->sa, NULL), IKE_OK);
    }
}
__attribute__((weak)) void ha_role_sync_changed(struct ha *ha, struct ha_vc *vc)
{
    (void)ha, (void)vc;
    role_sync_changes++;
}

/* ---- the three nodes ------------------------------------------------------ */

static const struct hat_conf conf = {
    .ike = "retransmit-timeout-ms = 500; retransmit-tries = 3;",
    .gw = "",
    .group = "haiked-test",
    .ha = "",
};

static bool ha_joined(void *arg)
{
    struct hat *c = arg;
    return hasync_cpg_peer_count(c->m.ha->cpg) == 1 && hasync_cpg_peer_count(c->s.ha->cpg) == 1;
}

/* The gateway's live, established, non-passive SA (A's or M's). */
static struct gw_sa *live_sa(struct daemon *d, const char *gw_name)
{
    struct gateway *gw = gw_find(d, gw_name);
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw->sas, link)
    if (gs->sa && !gs->dying && !gs->deleting && ike_sa_state(gs->sa) == IKE_SA_STATE_ESTABLISHED &&
        !ike_sa_is_passive(gs->sa))
        return gs;
    return NULL;
}

static size_t n_passive(struct daemon *d)
{
    size_t n = 0;
    struct gw_sa *gs;
    TAILQ_FOREACH(gs, &gw_find(d, "gwB")->sas, link)
    n += gs->sa && !gs->dying && ike_sa_is_passive(gs->sa);
    return n;
}

/* M's established SAs of gwB (not being deleted) and S's passive ones are
 * the same set: SPIs, message IDs, CHILD SAs (libike's and the data
 * plane's). */
static bool mirrored(void *arg)
{
    struct hat *c = arg;
    size_t n_m = 0;
    struct gw_sa *gm;
    TAILQ_FOREACH(gm, &gw_find(&c->m, "gwB")->sas, link) {
        if (!gm->sa || gm->dying || ike_sa_state(gm->sa) != IKE_SA_STATE_ESTABLISHED ||
            ike_sa_state(gm->sa) == IKE_SA_STATE_DEAD || gm->deleting)
            continue;
        struct ike_sa_export em, es;
        struct ike_diag d = {0};
        if (ike_sa_export(gm->sa, &em, &d) != IKE_OK)
            return false;
        n_m++;
        struct ike_hdr h = {0};
        memcpy(h.spi_i, em.spi_i, IKE_SPI_LEN);
        memcpy(h.spi_r, em.spi_r, IKE_SPI_LEN);
        h.flags = em.initiator ? 0 : IKE_FLAG_INITIATOR; /* as the peer sends */
        struct gw_sa *gsb = sat_lookup(&c->s.sat, &h);
        if (!gsb || !ike_sa_is_passive(gsb->sa) || ike_sa_export(gsb->sa, &es, &d) != IKE_OK)
            return false;
        bool same = es.msgid_send_next == em.msgid_send_next &&
                    es.msgid_recv_next == em.msgid_recv_next &&
                    ike_sa_child_count(gsb->sa) == ike_sa_child_count(gm->sa);
        for (size_t i = 0; same && i < ike_sa_child_count(gm->sa); i++) {
            struct ike_child_export cm, cs;
            ike_sa_export_child(gm->sa, i, &cm, &d);
            same = false;
            for (size_t k = 0; k < ike_sa_child_count(gsb->sa); k++) {
                ike_sa_export_child(gsb->sa, k, &cs, &d);
                if (cs.spi_in == cm.spi_in && cs.spi_out == cm.spi_out &&
                    !memcmp(&cs.encr_in, &cm.encr_in, sizeof(cs.encr_in)) &&
                    !memcmp(&cs.encr_out, &cm.encr_out, sizeof(cs.encr_out))) {
                    struct dp_child *dc = dp_child_find(&c->s.dp, cs.spi_in);
                    same = dc && dc->owner == gsb;
                }
            }
        }
        ike_export_wipe(&em, sizeof(em));
        ike_export_wipe(&es, sizeof(es));
        if (!same)
            return false;
    }
    return n_m > 0 && n_passive(&c->s) == n_m;
}

static bool tunnel_up_mirrored(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    return ga && !TAILQ_EMPTY(&ga->children) && mirrored(c);
}

static int setup(void **state)
{
    if (dtest_private_netns() < 0) {
        print_message("skipped: needs root for a private network namespace\n");
        *state = NULL;
        return 0;
    }
    struct hat *c = hat_new();
    hat_write_nodes(c, &conf);
    hat_start(c, &c->m, "m", c->log_m, &c->m_up);
    hat_start(c, &c->s, "s", c->log_s, &c->s_up);
    assert_true(dtest_run_until(c->base, ha_joined, c, 2000));
    c->node_m = hasync_cpg_local_node(c->m.ha->cpg);
    c->node_s = hasync_cpg_local_node(c->s.ha->cpg);
    assert_int_not_equal(c->node_m, c->node_s);
    /* the election's outcome, as ha_role.c would set it */
    c->m.ha->vcs[0].role = HASYNC_ROLE_MASTER;
    c->m.ha->vcs[0].active = true;
    c->s.ha->vcs[0].role = HASYNC_ROLE_STANDBY;
    c->s.ha->vcs[0].sync = HA_SYNC_IN_SYNC;
    fcpg_wire_clear();
    hat_start(c, &c->a, "a", c->log_a, &c->a_up);
    assert_true(dtest_run_until(c->base, tunnel_up_mirrored, c, 5000));
    *state = c;
    return 0;
}

#define SKIP_IF_NO_NETNS(c)                                                                        \
    do {                                                                                           \
        if (!(c))                                                                                  \
            skip();                                                                                \
    } while (0)

/* One envelope of the wire: its body (acks skipped) appended to out. */
static void wire_body(uint32_t node, const uint8_t *data, size_t len,
                      Hasync__Envelope__BodyCase *out, size_t *n, size_t max)
{
    enum hasync_drop why;
    char err[160];
    Hasync__Envelope *e = hasync_codec_unpack(data, len, node, &why, err, sizeof(err));
    assert_non_null(e);
    if (e->body_case != HASYNC__ENVELOPE__BODY_ACK && *n < max) {
        assert_true(e->has_vcluster);
        assert_int_equal(e->vcluster, 1);
        out[(*n)++] = e->body_case;
    }
    hasync_codec_free(e);
}

/* The sequenced bodies node sent since the last fcpg_wire_clear(), in order.
 * A CPG message is one envelope or a batch of them (hasync_cpg.c: "\0HSB",
 * then a 4-octet big-endian length before each envelope). */
static size_t wire_bodies(uint32_t node, Hasync__Envelope__BodyCase *out, size_t max)
{
    static const uint8_t magic[4] = {0x00, 'H', 'S', 'B'};
    size_t n = 0;
    for (size_t i = 0; i < fcpg.n_wire && n < max; i++) {
        if (fcpg.wire[i].from != node)
            continue;
        const uint8_t *p = fcpg.wire[i].data;
        size_t len = fcpg.wire[i].len;
        if (len <= sizeof(magic) || memcmp(p, magic, sizeof(magic))) {
            wire_body(node, p, len, out, &n, max);
            continue;
        }
        for (size_t off = sizeof(magic); off < len;) {
            assert_true(len - off >= 4);
            size_t m = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 |
                       p[off + 3];
            off += 4;
            assert_true(m > 0 && m <= len - off);
            wire_body(node, p + off, m, out, &n, max);
            off += m;
        }
    }
    return n;
}

/* ---- tests ---------------------------------------------------------------- */

/* The tunnel A<->M came up: M streamed IKE SA add, CHILD SA add and its
 * IKE_AUTH response (the IKE_AUTH request's message-ID update precedes the
 * SA: not mirrored), held
 * its IKE_AUTH response for S's ack, and S holds a passive SA with M's SPIs,
 * keys and message IDs, findable by SPI, with the CHILD SA installed. */
static void test_established_mirrored(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    Hasync__Envelope__BodyCase b[16];
    size_t n = wire_bodies(c->node_m, b, 16);
    assert_int_equal(n, 3);
    assert_int_equal(b[0], HASYNC__ENVELOPE__BODY_IKE_SA_ADD);
    assert_int_equal(b[1], HASYNC__ENVELOPE__BODY_CHILD_SA_ADD);
    assert_int_equal(b[2], HASYNC__ENVELOPE__BODY_IKE_RESPONSE); /* IKE_AUTH's, for S's cache */
    assert_int_equal(c->m.ha->stats.sent[HASYNC__ENVELOPE__BODY_IKE_SA_ADD], 1);
    assert_int_equal(c->s.ha->stats.received[HASYNC__ENVELOPE__BODY_CHILD_SA_ADD], 1);
    assert_int_equal(c->m.ha->stats.held_datagrams, 1); /* the IKE_AUTH response */
    assert_true(c->m.ha->stats.held_max_us > 0);

    struct gw_sa *gm = live_sa(&c->m, "gwB");
    assert_non_null(gm);
    struct ike_sa_export em, es;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(gm->sa, &em, &d), IKE_OK);
    struct ike_hdr h = {.flags = IKE_FLAG_INITIATOR};
    memcpy(h.spi_i, em.spi_i, IKE_SPI_LEN);
    memcpy(h.spi_r, em.spi_r, IKE_SPI_LEN);
    struct gw_sa *gs = sat_lookup(&c->s.sat, &h);
    assert_non_null(gs);
    assert_true(ike_sa_is_passive(gs->sa));
    assert_false(ike_sa_is_passive(gm->sa));
    assert_int_equal(ike_sa_export(gs->sa, &es, &d), IKE_OK);
    assert_memory_equal(es.spi_i, em.spi_i, IKE_SPI_LEN);
    assert_memory_equal(es.spi_r, em.spi_r, IKE_SPI_LEN);
    assert_memory_equal(&es.sk_d, &em.sk_d, sizeof(em.sk_d));
    assert_memory_equal(&es.sk_ei, &em.sk_ei, sizeof(em.sk_ei));
    assert_memory_equal(&es.sk_er, &em.sk_er, sizeof(em.sk_er));
    assert_memory_equal(&es.sk_ai, &em.sk_ai, sizeof(em.sk_ai));
    assert_memory_equal(&es.sk_pr, &em.sk_pr, sizeof(em.sk_pr));
    assert_memory_equal(&es.remote_id, &em.remote_id, sizeof(em.remote_id));
    assert_true(ike_addr_equal(&es.local, &em.local));
    assert_true(ike_addr_equal(&es.remote, &em.remote));
    assert_int_equal(es.msgid_send_next, em.msgid_send_next);
    assert_int_equal(es.msgid_recv_next, em.msgid_recv_next);
    assert_int_equal(es.initiator, em.initiator);
    /* The standby files its passive copy under the peer's ID like any SA
     * (daemon/peer_index.c): INITIAL_CONTACT finds it as the walk did. */
    assert_int_equal(peer_index_count(&c->s.peer_ids, gs->gw, &es.remote_id), 1);
    assert_ptr_equal(peer_index_first(&c->s.peer_ids, gs->gw, &es.remote_id), gs);
    ike_export_wipe(&em, sizeof(em));
    ike_export_wipe(&es, sizeof(es));
    const struct dp_child *cm = gw_child_first(gm), *cs = gw_child_first(gs);
    assert_non_null(cm);
    assert_non_null(cs);
    assert_int_equal(cs->spi_in, cm->spi_in);
    assert_int_equal(cs->spi_out, cm->spi_out);
    assert_true(cs->passive); /* the standby's copy sends nothing */
    assert_false(cm->passive);
    assert_true(hat_log_has(c->log_m, "HA send IKE SA add"));
    assert_true(hat_log_has(c->log_s, "HA add IKE SA"));
    assert_true(hat_log_has(c->log_s, "HA add IPsec SA net (live) spi in="));
}

static bool a_got_answer(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    return ga && ga->gw->counters.dgrams_in >= 3; /* INIT, AUTH, the DPD answer */
}

/* Write-ahead: with S's deliveries held, M processes A's DPD request (its
 * message IDs move) but its answer waits; once S acknowledged the message-ID
 * update, it goes out and S's copy expects the same next message ID. */
static void test_write_ahead(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *ga = live_sa(&c->a, "gwA"), *gm = live_sa(&c->m, "gwB");
    uint64_t held0 = c->m.ha->stats.held_datagrams, a_in0 = ga->gw->counters.dgrams_in;
    uint32_t m_recv0 = gm->msgid_recv_next;
    fcpg_pause(c->node_s, true);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(ga->sa, &d), IKE_OK);
    gw_sa_after(ga);
    dtest_run_for(c->base, 200);
    assert_int_equal(gm->msgid_recv_next, m_recv0 + 1); /* M took the request */
    assert_int_equal(c->m.ha->stats.held_datagrams, held0 + 1);
    assert_int_equal(ga->gw->counters.dgrams_in, a_in0); /* no answer yet */
    assert_true(fcpg_queued(c->node_s) > 0);
    fcpg_pause(c->node_s, false);
    assert_true(dtest_run_until(c->base, a_got_answer, c, 2000));
    assert_true(mirrored(c));
    assert_true(c->m.ha->stats.held_max_us >= 150000); /* held while S was paused */
}

static bool m_alone(void *arg)
{
    struct hat *c = arg;
    return hasync_cpg_peer_count(c->m.ha->cpg) == 0;
}

/* Alone (S gone), M acknowledges its own messages at once: nothing waits. */
static void test_alone_no_hold(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    ha_stop(&c->s);
    daemon_free(&c->s);
    c->s_up = false;
    assert_true(dtest_run_until(c->base, m_alone, c, 2000)); /* M sees S leave */
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    uint64_t held0 = c->m.ha->stats.held_datagrams;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(ga->sa, &d), IKE_OK);
    gw_sa_after(ga);
    assert_true(dtest_run_until(c->base, a_got_answer, c, 2000));
    assert_int_equal(c->m.ha->stats.held_datagrams, held0);
    assert_int_equal(c->m.ha->stats.sent[HASYNC__ENVELOPE__BODY_MSGID_UPDATE], 1);
}

static bool child_rekeyed(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    return gm && ike_sa_child_count(gm->sa) == 1 &&
           c->m.ha->stats.sent[HASYNC__ENVELOPE__BODY_CHILD_SA_DEL] == 1 && mirrored(c);
}

static bool ike_rekeyed(void *arg)
{
    struct hat *c = arg;
    struct gateway *gw = gw_find(&c->m, "gwB");
    return gw->n_sas == 1 && c->m.ha->stats.sent[HASYNC__ENVELOPE__BODY_IKE_SA_DEL] == 1 &&
           mirrored(c);
}

/* A rekeys the CHILD SA, then the IKE SA: S follows each (new CHILD SA in,
 * old one out; the new IKE SA takes the CHILD SAs, the old one goes). */
static void test_rekeys_followed(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    struct ike_diag d = {0};
    uint32_t old_in = gw_child_first(live_sa(&c->m, "gwB"))->spi_in;
    assert_int_equal(ike_sa_child_rekey(ga->sa, gw_child_first(ga)->spi_in, &d), IKE_OK);
    gw_sa_after(ga);
    assert_true(dtest_run_until(c->base, child_rekeyed, c, 3000));
    assert_null(dp_child_find(&c->s.dp, old_in));
    assert_true(hat_log_has(c->log_s, "(rekey), passive"));

    struct gw_sa *gm = live_sa(&c->m, "gwB");
    uint8_t old_spi_i[IKE_SPI_LEN];
    memcpy(old_spi_i, ike_sa_spi_i(gm->sa), IKE_SPI_LEN);
    assert_int_equal(ike_sa_rekey(ga->sa, &d), IKE_OK);
    gw_sa_after(ga);
    assert_true(dtest_run_until(c->base, ike_rekeyed, c, 3000));
    gm = live_sa(&c->m, "gwB");
    assert_memory_not_equal(ike_sa_spi_i(gm->sa), old_spi_i, IKE_SPI_LEN);
    assert_int_equal(n_passive(&c->s), 1);
    /* The rekeyed copy is filed under the peer's ID, the old one no more. */
    size_t filed = 0;
    struct gw_sa *o = peer_index_first(&c->s.peer_ids, gw_find(&c->s, "gwB"),
                                       ike_sa_peer_id(gm->sa));
    for (; o; o = peer_index_next(o))
        filed += o->sa && !o->dying && ike_sa_is_passive(o->sa);
    assert_int_equal(filed, 1);
    assert_true(hat_log_has(c->log_s, "CHILD SA(s) moved, the old one dropped"));
    /* the old SA's last messages (its Delete) arrived after it was replaced */
    assert_int_equal(c->s.ha->stats.import_errors, 0);
    assert_int_equal(c->s.ha->stats.dropped[HASYNC__ENVELOPE__BODY_MSGID_UPDATE], 0);
}

static bool s_in_sync(void *arg)
{
    struct hat *c = arg;
    return c->s.ha->vcs[0].sync == HA_SYNC_IN_SYNC && mirrored(c);
}

static bool two_children_mirrored(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    return gm && ike_sa_child_count(gm->sa) == 2 && mirrored(c);
}

/* S lost its copies and holds a stale one M never had; a snapshot brings
 * back every SA (with its second CHILD SA and ESP counters) and drops the
 * stale one. */
static void test_snapshot_round_trip(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_create(ga->sa, 0, &d), IKE_OK); /* a second CHILD SA */
    gw_sa_after(ga);
    assert_true(dtest_run_until(c->base, two_children_mirrored, c, 3000));
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct dp_child *mc = TAILQ_FIRST(&gm->children);
    assert_int_equal(c->m.dp.ops->set_seq(&c->m.dp, mc, 777, 555), 0);

    /* S forgets everything, then gets a stale SA of its own */
    struct gateway *gs_gw = gw_find(&c->s, "gwB");
    struct gw_sa *x;
    while ((x = TAILQ_FIRST(&gs_gw->sas)))
        gw_sa_destroy(x);
    assert_int_equal(c->s.dp.n_children, 0);
    struct ike_sa_export ex;
    assert_int_equal(ike_sa_export(gm->sa, &ex, &d), IKE_OK);
    ex.spi_i[0] ^= 0x5a;
    ex.spi_r[0] ^= 0x5a;
    struct hasync_ike_msg im;
    hasync_ike_to_msg(&ex, &im);
    assert_int_equal(ha_apply_ike_add(c->s.ha, &c->s.ha->vcs[0], &im.m, "test"), 0);
    ike_export_wipe(&ex, sizeof(ex));
    assert_int_equal(n_passive(&c->s), 1);
    assert_false(mirrored(c));

    ha_bulk_request(c->s.ha, &c->s.ha->vcs[0]);
    assert_int_equal(c->s.ha->vcs[0].sync, HA_SYNC_SYNCING);
    unsigned changes = role_sync_changes;
    assert_true(dtest_run_until(c->base, s_in_sync, c, 3000));
    assert_int_equal(n_passive(&c->s), 1); /* the stale one dropped */
    assert_int_equal(c->s.dp.n_children, 2);
    assert_int_equal(c->m.ha->stats.bulk_syncs_served, 1);
    assert_int_equal(c->s.ha->stats.bulk_syncs_requested, 1);
    assert_int_equal(c->s.ha->vcs[0].snapshot_sas, 1);
    assert_true(role_sync_changes > changes);
    struct dp_child *sc = dp_child_find(&c->s.dp, mc->spi_in);
    assert_non_null(sc);
    assert_int_equal(sc->ctr.seq_out, 777);
    assert_int_equal(sc->ctr.replay_in_edge, 555);
    assert_true(hat_log_has(c->log_s, "complete: 1 IKE SA(s), 2 CHILD SA(s), 1 stale dropped"));
}

static bool s_seq_at(void *arg)
{
    struct hat *c = arg;
    struct dp_child *sc = dp_child_find(&c->s.dp, gw_child_first(live_sa(&c->m, "gwB"))->spi_in);
    return sc && sc->ctr.seq_out == 5000 && sc->ctr.replay_in_edge == 4000;
}

static bool s_got_2_esp(void *arg)
{
    struct hat *c = arg;
    return c->s.ha->stats.received[HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE] == 2;
}

static bool s_dropped_junk(void *arg)
{
    struct hat *c = arg;
    return hasync_cpg_get_stats(c->s.ha->cpg)->drops[HASYNC_DROP_MALFORMED] == 1;
}

/* ESP counters from M's data plane reach S's copy, and a lower (late)
 * update never rewinds it. */
static void test_esp_counters(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct dp_child *mc = TAILQ_FIRST(&gm->children);
    c->m.dp.ops->set_seq(&c->m.dp, mc, 5000, 4000);
    ha_child_counters(&c->m, mc);
    assert_true(dtest_run_until(c->base, s_seq_at, c, 2000));
    c->m.dp.ops->set_seq(&c->m.dp, mc, 100, 50);
    ha_child_counters(&c->m, mc);
    assert_true(dtest_run_until(c->base, s_got_2_esp, c, 2000));
    assert_true(s_seq_at(c));
    assert_int_equal(c->m.ha->stats.sent[HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE], 2);
    /* not gated: no datagram waits for these */
    assert_int_equal(c->m.ha->stats.held_datagrams, 1);
}

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    return (ProtobufCBinaryData){.len = n, .data = (uint8_t *)(uintptr_t)p};
}

static Hasync__Envelope env_of(struct hat *c, uint32_t vcluster)
{
    Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
    e.has_version = e.has_sender = e.has_vcluster = e.has_seq = true;
    e.version = HASYNC_PROTO_VERSION;
    e.sender = c->node_m;
    e.vcluster = vcluster;
    e.seq = 0; /* no gap bookkeeping for injected bodies */
    return e;
}

/* Bodies that passed the codec but make no sense here: each dropped and
 * counted, S's copy unchanged; garbage on the wire is dropped by hasync. */
static void test_bad_bodies(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct ha *ha = c->s.ha;
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    uint8_t bogus[IKE_SPI_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

    /* message IDs for an SA S does not have; then going back */
    Hasync__MsgidUpdate mu = HASYNC__MSGID_UPDATE__INIT;
    mu.has_spi_i = mu.has_spi_r = mu.has_send_next = mu.has_recv_next = true;
    mu.spi_i = bin(bogus, IKE_SPI_LEN);
    mu.spi_r = bin(bogus, IKE_SPI_LEN);
    Hasync__Envelope e = env_of(c, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
    e.msgid_update = &mu;
    ha_node_deliver(ha, &e);
    assert_int_equal(ha->stats.dropped[HASYNC__ENVELOPE__BODY_MSGID_UPDATE], 1);
    mu.spi_i = bin(ike_sa_spi_i(gm->sa), IKE_SPI_LEN);
    mu.spi_r = bin(ike_sa_spi_r(gm->sa), IKE_SPI_LEN);
    mu.send_next = 0;
    mu.recv_next = 0;
    ha_node_deliver(ha, &e);
    assert_int_equal(ha->stats.dropped[HASYNC__ENVELOPE__BODY_MSGID_UPDATE], 2);
    /* a vcluster not configured here */
    mu.send_next = 100;
    mu.recv_next = 100;
    Hasync__Envelope e99 = e;
    e99.vcluster = 99;
    ha_node_deliver(ha, &e99);
    assert_int_equal(ha->stats.dropped[HASYNC__ENVELOPE__BODY_MSGID_UPDATE], 3);
    assert_true(mirrored(c));

    /* an IKE SA for a gateway S does not have, and one whose keys do not fit
     * its algorithms */
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(gm->sa, &ex, &d), IKE_OK);
    ex.spi_i[1] ^= 1;
    snprintf(ex.cfg_name, sizeof(ex.cfg_name), "nope");
    struct hasync_ike_msg im;
    hasync_ike_to_msg(&ex, &im);
    Hasync__Envelope ea = env_of(c, 1);
    ea.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    ea.ike_sa_add = &im.m;
    ha_node_deliver(ha, &ea);
    assert_int_equal(ha->stats.import_errors, 1);
    snprintf(ex.cfg_name, sizeof(ex.cfg_name), "gwB");
    ex.sk_ei.len = 7;
    hasync_ike_to_msg(&ex, &im);
    ha_node_deliver(ha, &ea);
    assert_int_equal(ha->stats.import_errors, 2);
    assert_int_equal(ha->stats.dropped[HASYNC__ENVELOPE__BODY_IKE_SA_ADD], 2);
    ike_export_wipe(&ex, sizeof(ex));

    /* a CHILD SA of an unknown IKE SA, counters of an unknown CHILD SA */
    struct ike_child_export cx;
    assert_int_equal(ike_sa_export_child(gm->sa, 0, &cx, &d), IKE_OK);
    memcpy(cx.ike_spi_i, bogus, IKE_SPI_LEN);
    cx.spi_in ^= 0xffff;
    struct hasync_child_msg cm;
    hasync_child_to_msg(&cx, &cm);
    Hasync__Envelope ec = env_of(c, 1);
    ec.body_case = HASYNC__ENVELOPE__BODY_CHILD_SA_ADD;
    ec.child_sa_add = &cm.m;
    ha_node_deliver(ha, &ec);
    assert_int_equal(ha->stats.import_errors, 3);
    assert_null(dp_child_find(&c->s.dp, cx.spi_in));
    ike_export_wipe(&cx, sizeof(cx));
    Hasync__EspSeqUpdate eu = HASYNC__ESP_SEQ_UPDATE__INIT;
    eu.has_spi_in = eu.has_seq_out = true;
    eu.spi_in = 0xdeadbeef;
    eu.seq_out = 1;
    Hasync__Envelope ee = env_of(c, 1);
    ee.body_case = HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE;
    ee.esp_seq_update = &eu;
    ha_node_deliver(ha, &ee);
    assert_int_equal(ha->stats.dropped[HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE], 1);

    /* garbage from M's CPG handle: hasync refuses it before anyone looks */
    assert_int_equal(hasync_cpg_get_stats(ha->cpg)->drops[HASYNC_DROP_MALFORMED], 0);
    uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    struct iovec iov = {junk, sizeof(junk)};
    cpg_handle_t hm = (cpg_handle_t)(fcpg_by_node(c->node_m) - fcpg.h) + 1;
    assert_int_equal(cpg_mcast_joined(hm, CPG_TYPE_AGREED, &iov, 1), CS_OK);
    assert_true(dtest_run_until(c->base, s_dropped_junk, c, 2000));
    assert_true(mirrored(c));
    assert_true(hat_log_has(c->log_s, "HA drop msgid_update"));
}

/* A jump in the master's sequence numbers (a ring split lost messages):
 * S is BEHIND by the gap, asks for a snapshot once, and is in sync again
 * when it is in. While the snapshot is not complete, messages about SAs S
 * does not have are expected and not counted as drops. */
static void test_gap_resync(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct ha *ha = c->s.ha;
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    Hasync__MsgidUpdate mu = HASYNC__MSGID_UPDATE__INIT;
    mu.has_spi_i = mu.has_spi_r = mu.has_send_next = mu.has_recv_next = true;
    mu.spi_i = bin(ike_sa_spi_i(gm->sa), IKE_SPI_LEN);
    mu.spi_r = bin(ike_sa_spi_r(gm->sa), IKE_SPI_LEN);
    mu.send_next = gm->msgid_send_next;
    mu.recv_next = gm->msgid_recv_next;
    Hasync__Envelope e = env_of(c, 1);
    e.sender = 99; /* a sender of its own: hasync's order is per sender */
    e.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
    e.msgid_update = &mu;
    e.seq = 5;
    ha_node_deliver(ha, &e);
    assert_int_equal(ha->vcs[0].sync, HA_SYNC_IN_SYNC);
    e.seq = 9; /* 6, 7, 8 lost */
    ha_node_deliver(ha, &e);
    assert_int_equal(ha->vcs[0].sync, HA_SYNC_BEHIND);
    assert_int_equal(ha->vcs[0].behind, 3);
    assert_int_equal(ha->stats.bulk_syncs_requested, 1);
    e.seq = 10;
    ha_node_deliver(ha, &e); /* no gap: no second request */
    assert_int_equal(ha->stats.bulk_syncs_requested, 1);

    uint8_t bogus[IKE_SPI_LEN] = {9, 9, 9, 9, 9, 9, 9, 9};
    mu.spi_i = bin(bogus, IKE_SPI_LEN);
    e.seq = 0;
    ha_node_deliver(ha, &e);
    assert_int_equal(ha->stats.dropped[HASYNC__ENVELOPE__BODY_MSGID_UPDATE], 0);

    assert_true(dtest_run_until(c->base, s_in_sync, c, 3000));
    assert_int_equal(ha->vcs[0].behind, 0);
    assert_int_equal(c->m.ha->stats.bulk_syncs_served, 1);
    assert_true(hat_log_has(c->log_s, "HA gap in node 99's stream: 3 message(s) missed"));
}

static uint32_t qf_old_in;

/* M took A's CHILD SA rekey (its new CHILD SA is there) and S's copy of it
 * was refused. */
static bool m_rekeyed_unsynced(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    if (!gm || c->m.ha->stats.sync_refused < 2)
        return false;
    for (const struct dp_child *ch = gw_child_first(gm); ch; ch = gw_child_next(ch))
        if (ch->spi_in != qf_old_in)
            return true;
    return false;
}

/* A has the rekey's response: one CHILD SA left, the new one. */
static bool a_rekeyed(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    return ga && ike_sa_child_count(ga->sa) == 1 && gw_child_first(ga) &&
           gw_child_first(ga)->spi_out != qf_old_in;
}

static bool resynced(void *arg)
{
    struct hat *c = arg;
    return c->m.ha->stats.resyncs_sent == 1 && s_in_sync(c) &&
           !dp_child_find(&c->s.dp, qf_old_in);
}

/* S paused on the bus, M's hasync queue filled until it refuses: with bodies
 * S applies quietly (a master announcing itself to a standby: the election
 * double ignores it). */
static void fill_queue(struct hat *c)
{
    fcpg_pause(c->node_s, true);
    Hasync__RoleAnnounce ra = HASYNC__ROLE_ANNOUNCE__INIT;
    ra.has_role = ra.has_priority = true;
    ra.role = HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER;
    ra.priority = 200;
    size_t filled = 0;
    for (;;) {
        Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
        e.body_case = HASYNC__ENVELOPE__BODY_ROLE;
        e.role = &ra;
        e.has_vcluster = true;
        e.vcluster = 1;
        if (hasync_send(c->m.ha->cpg, &e, NULL, NULL, NULL) < 0)
            break;
        assert_true(++filled < 1000000);
    }
    assert_true(filled > 0);
    assert_int_equal(c->m.ha->stats.sync_refused, 0);
}

/* With hasync's queue full: A rekeys its CHILD SA and M installs the new
 * one without being able to sync it (qf_old_in = M's old inbound SPI).
 * Returns A's IKE SA; *a_in0 = A's datagrams in before the rekey. */
static struct gw_sa *rekey_unsynced(struct hat *c, uint64_t *a_in0)
{
    struct gw_sa *ga = live_sa(&c->a, "gwA");
    struct ike_diag d = {0};
    qf_old_in = gw_child_first(live_sa(&c->m, "gwB"))->spi_in;
    *a_in0 = ga->gw->counters.dgrams_in;
    assert_int_equal(ike_sa_child_rekey(ga->sa, gw_child_first(ga)->spi_in, &d), IKE_OK);
    gw_sa_after(ga);
    assert_true(dtest_run_until(c->base, m_rekeyed_unsynced, c, 5000));
    return ga;
}

/* S stops acknowledging (paused on the bus) until hasync's queue is full:
 * hasync_send refuses M's sync messages of a CHILD rekey, and a refused
 * message has no sequence number, so S could not see a gap. M marks the
 * vcluster; while the queue is full nothing is resent, and M's
 * CREATE_CHILD_SA response stays held (write-ahead: S does not know the new
 * CHILD SA; it used to go out unsynced); once S drains it, M sends an
 * unasked snapshot (S merges it, then asks for an exact one), the response
 * leaves once a snapshot is acknowledged, A completes the rekey and S
 * mirrors M again: new CHILD SA in, old one out. */
static void test_queue_full_resync(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    fill_queue(c);

    uint64_t a_in0, held0 = c->m.ha->stats.held_datagrams;
    struct gw_sa *ga = rekey_unsynced(c, &a_in0);
    dtest_run_for(c->base, 300); /* several polls: the queue is still full */
    assert_int_equal(c->m.ha->stats.resyncs_sent, 0);
    assert_non_null(dp_child_find(&c->s.dp, qf_old_in)); /* S missed the rekey */
    assert_true(
        hat_log_has(c->log_m, "missed a sync message: resync snapshot once the queue drains"));
    /* ... and so did A: M's response waits for a snapshot S acknowledged */
    assert_int_equal(ga->gw->counters.dgrams_in, a_in0);
    assert_true(c->m.ha->stats.held_datagrams > held0);
    assert_false(a_rekeyed(c));

    fcpg_pause(c->node_s, false);
    assert_true(dtest_run_until(c->base, a_rekeyed, c, 20000));
    assert_true(ga->gw->counters.dgrams_in > a_in0);
    assert_int_equal(c->m.ha->stats.resyncs_sent, 1); /* released by the resync */
    assert_true(dtest_run_until(c->base, resynced, c, 20000));
    assert_int_equal(c->m.ha->stats.resyncs_sent, 1);
    assert_true(hat_log_has(c->log_m, "the sync queue has drained: resync snapshot"));
    assert_true(hat_log_has(c->log_s, "HA merging node"));
    assert_int_equal(c->s.ha->stats.import_errors, 0);
}

/* As above, but S leaves the group instead of draining the queue: no
 * snapshot will come and there is no standby left to be ahead of, so the
 * held response goes out (from the resync poll) and A completes the rekey. */
static void test_queue_full_peer_leaves(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    fill_queue(c);
    uint64_t a_in0;
    struct gw_sa *ga = rekey_unsynced(c, &a_in0);
    dtest_run_for(c->base, 250);
    assert_int_equal(ga->gw->counters.dgrams_in, a_in0); /* held */

    ha_stop(&c->s);
    daemon_free(&c->s);
    c->s_up = false;
    assert_true(dtest_run_until(c->base, m_alone, c, 2000));
    assert_true(dtest_run_until(c->base, a_rekeyed, c, 5000));
    assert_int_equal(c->m.ha->stats.resyncs_sent, 0);
}

/* An address/NAT change of M's SA (IKE SA update) moves S's copy; one
 * with a malformed address is refused and changes nothing. */
static void test_update_applied(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct ike_hdr h = {.flags = IKE_FLAG_INITIATOR};
    memcpy(h.spi_i, ike_sa_spi_i(gm->sa), IKE_SPI_LEN);
    memcpy(h.spi_r, ike_sa_spi_r(gm->sa), IKE_SPI_LEN);
    struct gw_sa *gs = sat_lookup(&c->s.sat, &h);
    assert_non_null(gs);
    uint8_t ip[4] = {198, 51, 100, 7};
    Hasync__Addr remote = HASYNC__ADDR__INIT;
    remote.has_ip = remote.has_port = true;
    remote.ip = bin(ip, 4);
    remote.port = 4500;
    Hasync__IkeSaUpdate up = HASYNC__IKE_SA_UPDATE__INIT;
    up.has_spi_i = up.has_spi_r = up.has_nat_remote = true;
    up.spi_i = bin(h.spi_i, IKE_SPI_LEN);
    up.spi_r = bin(h.spi_r, IKE_SPI_LEN);
    up.remote = &remote;
    up.nat_remote = true;
    Hasync__Envelope e = env_of(c, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE;
    e.ike_sa_update = &up;
    ha_node_deliver(c->s.ha, &e);
    const struct ike_addr *r = ike_sa_remote_addr(gs->sa);
    assert_memory_equal(r->addr, ip, 4);
    assert_int_equal(r->port, 4500);
    assert_true(gs->nat_remote);
    assert_true(ike_sa_nat_detected(gs->sa));
    assert_true(ike_addr_equal(ike_sa_local_addr(gs->sa), ike_sa_local_addr(gm->sa)));
    remote.ip.len = 5; /* neither IPv4 nor IPv6 */
    remote.port = 1;
    ha_node_deliver(c->s.ha, &e);
    assert_int_equal(c->s.ha->stats.dropped[HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE], 1);
    assert_int_equal(ike_sa_remote_addr(gs->sa)->port, 4500);
    assert_true(hat_log_has(c->log_s, "HA update IKE SA 127.0.0.2:500->198.51.100.7:4500"));
}

static struct gw_sa *sa_by_spis(struct daemon *d, const uint8_t *spi_i, const uint8_t *spi_r)
{
    struct ike_hdr h = {.flags = IKE_FLAG_INITIATOR};
    memcpy(h.spi_i, spi_i, IKE_SPI_LEN);
    memcpy(h.spi_r, spi_r, IKE_SPI_LEN);
    return sat_lookup(&d->sat, &h);
}

static uint8_t split_spi_i[IKE_SPI_LEN], split_spi_r[IKE_SPI_LEN];
static uint32_t split_recv;

static bool m_merged(void *arg)
{
    struct hat *c = arg;
    struct gw_sa *gm = sa_by_spis(&c->m, split_spi_i, split_spi_r);
    return gm && gm->msgid_recv_next == split_recv && !ike_sa_is_passive(gm->sa) &&
           !TAILQ_EMPTY(&gm->children);
}

static void announce_master(struct hat *c, struct daemon *to, uint32_t from)
{
    Hasync__RoleAnnounce ra = HASYNC__ROLE_ANNOUNCE__INIT;
    ra.has_role = true;
    ra.role = HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER;
    Hasync__Envelope e = env_of(c, 1);
    e.sender = from;
    e.body_case = HASYNC__ENVELOPE__BODY_ROLE;
    e.role = &ra;
    ha_node_deliver(to->ha, &e);
}

/* A split: S became master too and the peer went on talking to it (two more
 * requests, ESP up to 5000). When the split heals, each master offers its
 * SAs and merges the other's, newest wins: M takes S's newer IKE SA (active,
 * ESP sequence numbers above anything S sent), S keeps its own. */
static void test_split_heal_merge(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    memcpy(split_spi_i, ike_sa_spi_i(gm->sa), IKE_SPI_LEN);
    memcpy(split_spi_r, ike_sa_spi_r(gm->sa), IKE_SPI_LEN);
    struct gw_sa *gs = sa_by_spis(&c->s, split_spi_i, split_spi_r);
    assert_non_null(gs);
    struct ike_diag d = {0};
    split_recv = gs->msgid_recv_next + 2;
    assert_int_equal(ike_sa_mirror_msgid(gs->sa, gs->msgid_send_next, split_recv, &d), IKE_OK);
    gs->msgid_recv_next = split_recv;
    struct dp_child *sc = TAILQ_FIRST(&gs->children);
    assert_int_equal(c->s.dp.ops->set_seq(&c->s.dp, sc, 5000, 4000), 0);
    c->s.ha->vcs[0].active = true;
    c->s.ha->vcs[0].role = HASYNC_ROLE_MASTER;
    ike_sa_activate(gs->sa);
    uint32_t spi_in = sc->spi_in;

    announce_master(c, &c->m, c->node_s);
    announce_master(c, &c->s, c->node_m);
    announce_master(c, &c->m, c->node_s); /* once per membership change */
    assert_true(dtest_run_until(c->base, m_merged, c, 3000));
    /* S kept its newer SA (and stayed master in this round) */
    gm = sa_by_spis(&c->m, split_spi_i, split_spi_r);
    struct dp_child *mc = dp_child_find(&c->m.dp, spi_in);
    assert_non_null(mc);
    assert_ptr_equal(mc->owner, gm);
    assert_true(mc->ctr.seq_out >= 5000 + c->m.cfg->ha.seq_jump);
    assert_int_equal(mc->ctr.replay_in_edge, 4000);
    assert_int_equal(c->m.ha->stats.bulk_syncs_served, 1);
    assert_int_equal(c->s.ha->stats.bulk_syncs_served, 1);
    assert_int_equal(c->m.ha->stats.import_errors, 0);
    assert_true(hat_log_has(c->log_m, "the peer's is newer"));
    assert_true(hat_log_has(c->log_m, "1 IKE SA(s) taken (newer there or unknown here), 0 kept, "
                                      "1 activated"));
    /* S's is the newer one: kept, and active as it was */
    gs = sa_by_spis(&c->s, split_spi_i, split_spi_r);
    assert_non_null(gs);
    assert_false(ike_sa_is_passive(gs->sa));
    assert_int_equal(gs->msgid_recv_next, split_recv);
    assert_true(hat_log_has(c->log_s, "ours kept"));

    /* the election then makes S release: after a split it asks M for the
     * merged state and ends a standby in sync with it */
    release_on_master = &c->s;
    announce_master(c, &c->s, c->node_m);
    release_on_master = NULL;
    assert_false(c->s.ha->vcs[0].active);
    assert_int_equal(c->s.ha->stats.bulk_syncs_requested, 1);
    assert_true(dtest_run_until(c->base, s_in_sync, c, 3000));
    assert_int_equal(c->m.ha->stats.bulk_syncs_served, 2);
    assert_true(
        hat_log_has(c->log_s, "released after a split: asking the master for its snapshot"));
}

/* Found by fuzz_ha_apply's review: a peer's offer naming one IKE SA twice
 * (each newer than ours) replaced the first import with the second, and the
 * merge's end then activated the freed first one (use after free under
 * ASan). Now the merge tracks its imports by SPIs: the later one is
 * activated, once. */
static void test_merge_offer_names_sa_twice(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct ike_sa_export ex[2];
    struct hasync_ike_msg msg[2];
    Hasync__IkeSaAdd *ike[2];
    struct ike_diag d = {0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ike_sa_export(gm->sa, &ex[i], &d), IKE_OK);
        ex[i].msgid_recv_next += (uint32_t)i + 1;
        hasync_ike_to_msg(&ex[i], &msg[i]);
        ike[i] = &msg[i].m;
    }
    uint32_t want_recv = ex[1].msgid_recv_next;
    uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
    memcpy(spi_i, ex[0].spi_i, IKE_SPI_LEN);
    memcpy(spi_r, ex[0].spi_r, IKE_SPI_LEN);
    Hasync__SnapshotChunk sc = HASYNC__SNAPSHOT_CHUNK__INIT;
    sc.has_snapshot_id = true;
    sc.snapshot_id = 7;
    sc.n_ike = 2;
    sc.ike = ike;
    Hasync__Envelope e = env_of(c, 1);
    e.sender = c->node_s;
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    e.snapshot_chunk = &sc;
    ha_node_deliver(c->m.ha, &e);
    Hasync__SnapshotDone dn = HASYNC__SNAPSHOT_DONE__INIT;
    dn.has_snapshot_id = dn.has_n_ike = true;
    dn.snapshot_id = 7;
    dn.n_ike = 2;
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE;
    e.snapshot_done = &dn;
    ha_node_deliver(c->m.ha, &e);
    ike_export_wipe(ex, sizeof(ex));
    gm = sa_by_spis(&c->m, spi_i, spi_r);
    assert_non_null(gm);
    assert_false(ike_sa_is_passive(gm->sa));
    assert_int_equal(gm->msgid_recv_next, want_recv);
    assert_int_equal(gw_find(&c->m, "gwB")->n_sas, 1);
    assert_true(hat_log_has(c->log_m, "2 IKE SA(s) taken (newer there or unknown here), 0 kept, "
                                      "1 activated"));
}

/* Found by fuzz_ha_apply: an IkeSaAdd naming its own SPIs as the SA it
 * replaces had its new copy destroyed by the CHILD SA hand-over, then used
 * (use after free). Now it is imported as a plain SA: S's other copy keeps
 * its CHILD SA. */
static void test_ike_add_replaces_itself(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(gm->sa, &ex, &d), IKE_OK);
    ex.spi_i[0] ^= 0x5a;
    ex.spi_r[0] ^= 0x5a;
    memcpy(ex.replaces_spi_i, ex.spi_i, IKE_SPI_LEN);
    memcpy(ex.replaces_spi_r, ex.spi_r, IKE_SPI_LEN);
    struct hasync_ike_msg msg;
    hasync_ike_to_msg(&ex, &msg);
    Hasync__Envelope e = env_of(c, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    e.ike_sa_add = &msg.m;
    ha_node_deliver(c->s.ha, &e);
    struct gw_sa *copy = sa_by_spis(&c->s, ex.spi_i, ex.spi_r);
    assert_non_null(copy);
    assert_true(ike_sa_is_passive(copy->sa));
    assert_int_equal(ike_sa_child_count(copy->sa), 0);
    assert_int_equal(n_passive(&c->s), 2);
    struct gw_sa *orig = sa_by_spis(&c->s, ike_sa_spi_i(gm->sa), ike_sa_spi_r(gm->sa));
    assert_non_null(orig);
    assert_int_equal(ike_sa_child_count(orig->sa), 1);
    assert_int_equal(c->s.ha->stats.import_errors, 0);
    ike_export_wipe(&ex, sizeof(ex));
}

/* Found by fuzz_ha_apply (corpus merge_zero_spi_r): a merged IKE SA with a
 * zero responder SPI was imported, and the SA table could not find it
 * again. Live or merged, a zero SPI is refused and counted. */
static void test_ike_add_zero_spi(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(gm->sa, &ex, &d), IKE_OK);
    ex.spi_i[0] ^= 0x33;
    memset(ex.spi_r, 0, IKE_SPI_LEN);
    struct hasync_ike_msg msg;
    hasync_ike_to_msg(&ex, &msg);
    Hasync__IkeSaAdd *ike[1] = {&msg.m};
    Hasync__Envelope e = env_of(c, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    e.ike_sa_add = &msg.m;
    ha_node_deliver(c->s.ha, &e); /* live */
    Hasync__SnapshotChunk sc = HASYNC__SNAPSHOT_CHUNK__INIT;
    sc.has_snapshot_id = true;
    sc.snapshot_id = 3;
    sc.n_ike = 1;
    sc.ike = ike;
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    e.snapshot_chunk = &sc;
    ha_node_deliver(c->s.ha, &e); /* an unasked offer: merged */
    assert_int_equal(c->s.ha->stats.import_errors, 2);
    assert_int_equal(n_passive(&c->s), 1);
    assert_true(hat_log_has(c->log_s, "a zero SPI"));
    ike_export_wipe(&ex, sizeof(ex));
}

/* M's SA cloned n times (fresh SPIs, each with a CHILD SA of fresh SPIs),
 * active like negotiated ones. */
static void clone_sas(struct hat *c, size_t n)
{
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    struct gateway *gw = gm->gw;
    struct ike_sa_export ex;
    struct ike_child_export cx;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(gm->sa, &ex, &d), IKE_OK);
    assert_int_equal(ike_sa_export_child(gm->sa, 0, &cx, &d), IKE_OK);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)i + 1;
        memcpy(ex.spi_i, "clone-i", 7);
        memcpy(ex.spi_r, "clone-r", 7);
        ex.spi_i[7] = ex.spi_r[7] = 0;
        memcpy(ex.spi_i + 4, &k, 4);
        memcpy(ex.spi_r + 4, &k, 4);
        struct ike_sa *sa = NULL;
        assert_int_equal(ike_sa_import(&c->m.ike_ctx, gw->ike_cfg, &ex, &sa, &d), IKE_OK);
        struct gw_sa *gs = gw_sa_new(gw, gm->vdom);
        assert_non_null(gs);
        assert_int_equal(gw_sa_attach(gs, sa), 0);
        memcpy(cx.ike_spi_i, ex.spi_i, IKE_SPI_LEN);
        memcpy(cx.ike_spi_r, ex.spi_r, IKE_SPI_LEN);
        cx.spi_in = 0x40000000u + k;
        cx.spi_out = 0x50000000u + k;
        assert_int_equal(ike_sa_import_child(sa, &cx, &d), IKE_OK);
        char err[128];
        assert_non_null(dp_child_install(&c->m.dp, gs, &cx, &ex.local, &ex.remote, false,
                                         daemon_now_ms(), err, sizeof(err)));
        ike_sa_activate(sa);
        gs->established_ms = daemon_now_ms();
    }
    ike_export_wipe(&ex, sizeof(ex));
    ike_export_wipe(&cx, sizeof(cx));
}

/* Bulk sync of many SAs (HA_BULK_N, default 1000; the benchmark is
 * 10,000): every one arrives, and the time is printed. */
static void test_bulk_many(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    const char *env = getenv("HA_BULK_N");
    size_t n = env ? (size_t)strtoul(env, NULL, 10) : 1000;
    clone_sas(c, n);
    struct gateway *gs_gw = gw_find(&c->s, "gwB");
    struct gw_sa *x;
    while ((x = TAILQ_FIRST(&gs_gw->sas)))
        gw_sa_destroy(x);
    uint64_t t0 = daemon_now_ms();
    ha_bulk_request(c->s.ha, &c->s.ha->vcs[0]);
    assert_true(dtest_run_until(c->base, s_in_sync, c, 60000));
    uint64_t ms = daemon_now_ms() - t0;
    assert_int_equal(n_passive(&c->s), n + 1);
    assert_int_equal(c->s.dp.n_children, n + 1);
    assert_int_equal(c->s.ha->stats.import_errors, 0);
    print_message("bulk sync of %zu IKE + %zu CHILD SAs: %llu ms (both nodes in this process)\n",
                  n + 1, n + 1, (unsigned long long)ms);
}

/* A reload that changes gwB on both nodes (gw_retire.c): the standby keeps
 * its passive copy (and its CHILD SA) while the master's Delete runs; the
 * master's IKE SA del removes it there and frees the retiring gateway; no
 * sync message is dropped. */
static bool both_retired(void *arg)
{
    struct hat *c = arg;
    return c->m.n_retiring == 0 && c->s.n_retiring == 0;
}

static void reload_node(struct hat *c, struct daemon *d, const char *name, const char *local,
                        int priority)
{
    char err[256], file[32];
    hat_write_node(c, &conf, name, "gwB", local, "127.0.0.1", "passive = true; keylife = 7200;",
                   "b", "a", "10.0.2.0/24", "10.0.1.0/24", priority);
    snprintf(file, sizeof(file), "%s.conf", name);
    assert_int_equal(daemon_reload(d, dtest_load(&c->dir, file), err, sizeof(err)), 0);
}

static void test_reload_retires_on_both_nodes(void **state)
{
    struct hat *c = *state;
    SKIP_IF_NO_NETNS(c);
    struct gw_sa *gm = live_sa(&c->m, "gwB");
    uint32_t spi_in = TAILQ_FIRST(&gm->children)->spi_in;
    uint64_t dropped = c->s.ha->stats.dropped[HASYNC__ENVELOPE__BODY_IKE_SA_DEL];
    reload_node(c, &c->s, "s", "127.0.0.3", 100);
    assert_int_equal(c->s.n_retiring, 1);
    struct gateway *old_s = TAILQ_FIRST(&c->s.retiring);
    assert_int_equal(old_s->n_sas, 1); /* the passive copy stays */
    assert_non_null(dp_child_find(&c->s.dp, spi_in));
    assert_true(hat_log_has(c->log_s, "passive IKE SA(s) kept until the master's deletes arrive"));
    dtest_run_for(c->base, 100);
    assert_int_equal(c->s.n_retiring, 1); /* nothing deletes it but the master */

    reload_node(c, &c->m, "m", "127.0.0.2", 200);
    assert_true(gm->deleting); /* the master sent the Delete */
    assert_true(dtest_run_until(c->base, both_retired, c, 3000));
    assert_null(dp_child_find(&c->s.dp, spi_in));
    assert_true(hat_log_has(c->log_s, "HA del IKE SA"));
    assert_int_equal(c->s.ha->stats.dropped[HASYNC__ENVELOPE__BODY_IKE_SA_DEL], dropped);
    /* A comes back to the new gwB, mirrored as before */
    assert_true(dtest_run_until(c->base, tunnel_up_mirrored, c, 8000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_established_mirrored, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_write_ahead, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_alone_no_hold, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_rekeys_followed, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_round_trip, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_esp_counters, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_gap_resync, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_resync, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_peer_leaves, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_update_applied, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_bulk_many, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_split_heal_merge, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_merge_offer_names_sa_twice, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_ike_add_replaces_itself, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_ike_add_zero_spi, setup, hat_teardown),
        cmocka_unit_test_setup_teardown(test_reload_retires_on_both_nodes, setup, hat_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
