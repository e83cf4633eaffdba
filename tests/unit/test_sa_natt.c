/*
 * NAT-T mode per gateway (struct ike_sa_cfg.natt, RFC 7296 §2.23) with two
 * libike instances: which NAT_DETECTION notifies are on the wire, which
 * ports IKE_AUTH and the established SA use, ike_sa_nat_detected, and what
 * a standby imports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "helper_ccs.h"
#include "helper_pair.h"

/* What one IKE_SA_INIT message in the trace carries. */
struct natd {
    bool src, dst;    /* the notifies are present */
    bool src_matches; /* SOURCE hash is over the address it was sent from */
    bool dst_matches; /* DESTINATION hash is over the address it was sent to */
};

static void hash_addr(const struct ike_hdr *h, const struct ike_addr *a, uint8_t out[20])
{
    uint8_t in[16 + 4 + 2];
    unsigned n = 0;
    memcpy(in, h->spi_i, 8);
    memcpy(in + 8, h->spi_r, 8);
    memcpy(in + 16, a->addr, 4);
    in[20] = (uint8_t)(a->port >> 8);
    in[21] = (uint8_t)a->port;
    assert_int_equal(EVP_Digest(in, sizeof(in), out, &n, EVP_sha1(), NULL), 1);
}

static bool notify_is(const struct ike_msg *m, uint16_t type, const struct ike_addr *a,
                      bool *present)
{
    const struct ike_pld *p = ike_msg_find_notify(m, type);
    *present = p != NULL;
    if (!p)
        return false;
    uint8_t want[20];
    hash_addr(&m->hdr, a, want);
    return p->notify.data.len == 20 && memcmp(p->notify.data.ptr, want, 20) == 0;
}

static struct natd trace_natd(const struct pair *p, size_t i)
{
    assert_true(i < p->n_trace);
    const struct pair_trace *t = &p->trace[i];
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, t->data, t->len, &d), IKE_OK);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_IKE_SA_INIT);
    struct natd r;
    r.src_matches = notify_is(&m, IKE_N_NAT_DETECTION_SOURCE_IP, &t->sent_from, &r.src);
    r.dst_matches = notify_is(&m, IKE_N_NAT_DETECTION_DESTINATION_IP, &t->sent_to, &r.dst);
    ike_msg_clear(&m);
    return r;
}

static const struct ike_sa_export *ike_add(const struct pair_side *s)
{
    for (size_t i = 0; i < s->n_events; i++)
        if (s->events[i].type == IKE_EV_IKE_SA_ADD)
            return &s->events[i].ike;
    fail_msg("no IKE_SA_ADD event");
    return NULL;
}

/* Runs IKE_SA_INIT, checks the ports IKE_AUTH leaves on, then finishes. */
static void run_exchange(struct pair *p, uint16_t auth_port)
{
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* request */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* response */
    assert_int_equal(p->n_queue, 1);              /* the IKE_AUTH request */
    assert_int_equal(p->queue[0].sent_from.port, auth_port);
    assert_int_equal(p->queue[0].sent_to.port, auth_port);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
}

static void test_enable_is_default(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    assert_int_equal(p->side[0].cfg.natt, IKE_NATT_ENABLE); /* zeroed config */
    assert_int_equal(IKE_NATT_ENABLE, 0);
    run_exchange(p, IKE_PORT);
    struct natd rq = trace_natd(p, 0), rs = trace_natd(p, 1);
    assert_true(rq.src && rq.dst && rq.src_matches && rq.dst_matches);
    assert_true(rs.src && rs.dst && rs.src_matches && rs.dst_matches);
    assert_false(ike_sa_nat_detected(p->side[0].sa));
    assert_false(ike_sa_nat_detected(p->side[1].sa));
    pair_free(p);
}

static void test_enable_behind_nat(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->nat = true;
    run_exchange(p, IKE_PORT_NATT);
    assert_true(ike_sa_nat_detected(p->side[0].sa));
    assert_true(ike_sa_nat_detected(p->side[1].sa));
    assert_int_equal(ike_sa_remote_addr(p->side[1].sa)->port, IKE_PORT_NATT + 10000);
    pair_free(p);
}

/* Initiator DISABLE behind a real NAT: it offers no NAT-D, ignores the
 * responder's, and both stay on 500 (the NAT maps 500 to 10500). */
static void test_disable_initiator(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->nat = true;
    p->side[0].cfg.natt = IKE_NATT_DISABLE;
    run_exchange(p, IKE_PORT);
    struct natd rq = trace_natd(p, 0), rs = trace_natd(p, 1);
    assert_false(rq.src || rq.dst);
    assert_true(rs.src && rs.dst); /* an ENABLE responder answers with its own */
    assert_false(ike_sa_nat_detected(p->side[0].sa));
    assert_false(ike_sa_nat_detected(p->side[1].sa));
    assert_false(pair_log_has(&p->side[0], "NAT detected"));
    assert_int_equal(ike_sa_local_addr(p->side[0].sa)->port, IKE_PORT);
    assert_int_equal(ike_sa_remote_addr(p->side[0].sa)->port, IKE_PORT);
    assert_int_equal(ike_sa_local_addr(p->side[1].sa)->port, IKE_PORT);
    assert_int_equal(ike_sa_remote_addr(p->side[1].sa)->port, IKE_PORT + 10000);
    const struct ike_sa_export *i = ike_add(&p->side[0]), *r = ike_add(&p->side[1]);
    assert_false(i->nat_local || i->nat_remote || r->nat_local || r->nat_remote);
    pair_free(p);
}

/* Responder DISABLE: the initiator's NAT-D (which would show the NAT) is
 * ignored, the response carries none, so the initiator stays on 500. */
static void test_disable_responder(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->nat = true;
    p->side[1].cfg.natt = IKE_NATT_DISABLE;
    run_exchange(p, IKE_PORT);
    struct natd rq = trace_natd(p, 0), rs = trace_natd(p, 1);
    assert_true(rq.src && rq.dst);
    assert_false(rs.src || rs.dst);
    assert_false(ike_sa_nat_detected(p->side[0].sa));
    assert_false(ike_sa_nat_detected(p->side[1].sa));
    assert_false(pair_log_has(&p->side[1], "NAT detected"));
    assert_int_equal(ike_sa_local_addr(p->side[1].sa)->port, IKE_PORT);
    pair_free(p);
}

/* Initiator FORCED without any NAT: its SOURCE hash covers no real
 * address, the responder sees "peer is behind it", IKE and the SA move to
 * 4500 on both sides. */
static void test_forced_initiator(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.natt = IKE_NATT_FORCED;
    run_exchange(p, IKE_PORT_NATT);
    struct natd rq = trace_natd(p, 0), rs = trace_natd(p, 1);
    assert_true(rq.src && rq.dst);
    assert_false(rq.src_matches); /* faked */
    assert_true(rq.dst_matches);  /* the real responder address */
    assert_true(rs.src_matches && rs.dst_matches);
    assert_true(ike_sa_nat_detected(p->side[0].sa));
    assert_true(ike_sa_nat_detected(p->side[1].sa));
    assert_true(pair_log_has(&p->side[0], "NAT-T forced by configuration"));
    assert_true(pair_log_has(&p->side[1], "NAT detected (peer is behind it)"));
    const struct ike_sa_export *i = ike_add(&p->side[0]), *r = ike_add(&p->side[1]);
    assert_true(i->nat_local);
    assert_false(i->nat_remote);
    assert_false(r->nat_local);
    assert_true(r->nat_remote);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(ike_sa_local_addr(p->side[s].sa)->port, IKE_PORT_NATT);
        assert_int_equal(ike_sa_remote_addr(p->side[s].sa)->port, IKE_PORT_NATT);
    }
    /* later exchanges stay on 4500 */
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(p->side[1].sa, &d), IKE_OK);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(p->queue[0].sent_from.port, IKE_PORT_NATT);
    assert_int_equal(p->queue[0].sent_to.port, IKE_PORT_NATT);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
}

/* Responder FORCED: the response's SOURCE hash is faked, the initiator
 * (ENABLE) sees the peer behind a NAT and moves to 4500; the responder
 * follows when IKE_AUTH arrives there. */
static void test_forced_responder(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[1].cfg.natt = IKE_NATT_FORCED;
    run_exchange(p, IKE_PORT_NATT);
    struct natd rq = trace_natd(p, 0), rs = trace_natd(p, 1);
    assert_true(rq.src_matches && rq.dst_matches);
    assert_true(rs.src && rs.dst);
    assert_false(rs.src_matches);
    assert_true(rs.dst_matches);
    assert_true(pair_log_has(&p->side[0], "NAT detected (peer is behind it)"));
    assert_true(pair_log_has(&p->side[1], "NAT-T forced by configuration"));
    const struct ike_sa_export *i = ike_add(&p->side[0]), *r = ike_add(&p->side[1]);
    assert_false(i->nat_local);
    assert_true(i->nat_remote);
    assert_true(r->nat_local);
    assert_false(r->nat_remote);
    assert_int_equal(r->local.port, IKE_PORT_NATT);
    assert_int_equal(r->remote.port, IKE_PORT_NATT);
    assert_true(ike_sa_nat_detected(p->side[1].sa));
    pair_free(p);
}

/* FORCED cannot force a peer that does not do NAT-T (sent no NAT-D). */
static void test_forced_against_disable(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.natt = IKE_NATT_FORCED;
    p->side[1].cfg.natt = IKE_NATT_DISABLE;
    run_exchange(p, IKE_PORT);
    struct natd rs = trace_natd(p, 1);
    assert_false(rs.src || rs.dst);
    assert_false(ike_sa_nat_detected(p->side[0].sa));
    assert_false(ike_sa_nat_detected(p->side[1].sa));
    pair_free(p);
}

/* The mode only matters in IKE_SA_INIT; its outcome (NAT flags, 4500)
 * travels in the export, so a standby with any mode continues on 4500. */
static void test_forced_export_import(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.natt = IKE_NATT_FORCED;
    run_exchange(p, IKE_PORT_NATT);
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export(p->side[1].sa, &ex, &d), IKE_OK);
    assert_true(ex.nat_remote);
    struct ike_sa_cfg standby = p->side[1].cfg; /* ENABLE */
    struct ike_sa *sa = NULL;
    assert_int_equal(ike_sa_import(&p->side[1].ctx, &standby, &ex, &sa, &d), IKE_OK);
    ike_export_wipe(&ex, sizeof(ex));
    assert_true(ike_sa_nat_detected(sa));
    assert_int_equal(ike_sa_local_addr(sa)->port, IKE_PORT_NATT);
    assert_int_equal(ike_sa_remote_addr(sa)->port, IKE_PORT_NATT);
    ike_sa_free(sa);
    pair_free(p);
}

/* An IKE rekey keeps the forced NAT state (no new NAT-D exchange): the
 * new SAs of both sides stay on 4500 with the same NAT flags. */
static void test_forced_survives_ike_rekey(void **state)
{
    (void)state;
    struct ccs *c = ccs_new();
    c->p->side[1].cfg.natt = IKE_NATT_FORCED;
    ccs_establish(c, true);
    struct ike_diag d = {0};
    struct ike_sa *old0 = c->p->side[0].sa, *old1 = c->p->side[1].sa;
    assert_int_equal(ike_sa_rekey(old0, &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(c->side[0].n_rekeyed, 1);
    assert_int_equal(c->side[1].n_rekeyed, 1);
    struct ike_sa *n0 = c->p->side[0].sa, *n1 = c->p->side[1].sa;
    assert_ptr_not_equal(n0, old0);
    assert_ptr_not_equal(n1, old1);
    assert_true(ike_sa_nat_detected(n0));
    assert_true(ike_sa_nat_detected(n1));
    for (int s = 0; s < 2; s++) {
        struct ike_sa *sa = c->p->side[s].sa;
        assert_int_equal(ike_sa_local_addr(sa)->port, IKE_PORT_NATT);
        assert_int_equal(ike_sa_remote_addr(sa)->port, IKE_PORT_NATT);
    }
    struct ike_sa_export ex;
    assert_int_equal(ike_sa_export(n1, &ex, &d), IKE_OK);
    assert_true(ex.nat_local);
    assert_false(ex.nat_remote);
    ike_export_wipe(&ex, sizeof(ex));
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enable_is_default),
        cmocka_unit_test(test_enable_behind_nat),
        cmocka_unit_test(test_disable_initiator),
        cmocka_unit_test(test_disable_responder),
        cmocka_unit_test(test_forced_initiator),
        cmocka_unit_test(test_forced_responder),
        cmocka_unit_test(test_forced_against_disable),
        cmocka_unit_test(test_forced_export_import),
        cmocka_unit_test(test_forced_survives_ike_rekey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
