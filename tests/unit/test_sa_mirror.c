/* <ike/mirror.h>: a standby's passive copy follows the master's message IDs,
 * addresses and CHILD SA deletes without any side effect, refuses to be
 * changed while active or to go back; an active SA made passive stops every
 * timer and exchange until it is activated again; a draining SA finishes
 * the exchange in flight and starts nothing new. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ike/mirror.h>
#include <ike/sk.h>

#include "helper_pair.h"
#include "sa_internal.h"

/* p->side[idx]'s SA imported into a second pair's side idx (its recorders). */
static struct ike_sa *import_copy(const struct pair *p, int idx, struct pair *into)
{
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    struct ike_sa *sa = NULL;
    assert_int_equal(ike_sa_export(p->side[idx].sa, &ex, &d), IKE_OK);
    assert_int_equal(ike_sa_import(&into->side[idx].ctx, &into->side[idx].cfg, &ex, &sa, &d),
                     IKE_OK);
    for (size_t i = 0; i < ike_sa_child_count(p->side[idx].sa); i++) {
        struct ike_child_export c;
        assert_int_equal(ike_sa_export_child(p->side[idx].sa, i, &c, &d), IKE_OK);
        assert_int_equal(ike_sa_import_child(sa, &c, &d), IKE_OK);
        ike_export_wipe(&c, sizeof(c));
    }
    ike_export_wipe(&ex, sizeof(ex));
    return sa;
}

/* An INFORMATIONAL request of `from` with its next message ID. */
static uint8_t *next_request(struct ike_sa *from, size_t *len)
{
    struct ike_msg m;
    uint8_t *buf = NULL;
    struct ike_diag d = {0};
    ike_msg_init(&m, from->spi_i, from->spi_r, IKE_EXCH_INFORMATIONAL,
                 from->initiator ? IKE_FLAG_INITIATOR : 0, from->send_next);
    assert_int_equal(ike_sk_protect(&m, ike_sa_cipher_out(from), &buf, len, &d), IKE_OK);
    ike_msg_clear(&m);
    return buf;
}

/* The last MSGID_UPDATE side s recorded. */
static struct ike_ev_msgid last_msgid(const struct pair_side *s)
{
    for (size_t i = s->n_events; i-- > 0;)
        if (s->events[i].type == IKE_EV_MSGID_UPDATE)
            return s->events[i].msgid;
    fail_msg("no MSGID_UPDATE recorded");
    return (struct ike_ev_msgid){0};
}

/* The responder's copy, after the master answered a DPD, is one request
 * behind; mirroring the master's MSGID_UPDATE lets it take the peer's next
 * request (without it, the window drops it). */
static void test_msgid_follows_master(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct pair *sb = pair_new();
    struct ike_sa *copy = import_copy(p, 1, sb);
    struct ike_sa *stale = import_copy(p, 1, sb);
    assert_true(ike_sa_is_passive(copy));
    assert_false(ike_sa_is_passive(p->side[1].sa));

    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    pair_run(p);
    struct ike_ev_msgid m = last_msgid(&p->side[1]);
    assert_int_equal(m.recv_next, 3);
    assert_int_equal(ike_sa_mirror_msgid(copy, m.send_next, m.recv_next, &d), IKE_OK);
    /* no side effect: nothing sent, nothing emitted */
    assert_int_equal(sb->side[1].n_events, 0);
    assert_int_equal(sb->side[1].n_sent, 0);

    size_t len = 0;
    uint8_t *req = next_request(p->side[0].sa, &len); /* message ID 3 */
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), r = pair_addr4(10, 0, 0, 1, 500);
    assert_int_equal(ike_sa_process(copy, req, len, &l, &r, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(copy)->dropped_msgid, 0);
    assert_int_not_equal(ike_sa_process(stale, req, len, &l, &r, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(stale)->dropped_msgid, 1);
    ike_msg_free_buf(req, len);

    /* never back, never on an active SA; a refusal changes nothing */
    struct ike_sa_export ex;
    assert_int_equal(ike_sa_mirror_msgid(copy, m.send_next, m.recv_next - 1, &d),
                     IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_export(copy, &ex, &d), IKE_OK);
    assert_int_equal(ex.msgid_recv_next, 4);
    assert_int_equal(ike_sa_mirror_msgid(p->side[1].sa, 9, 9, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_export(p->side[1].sa, &ex, &d), IKE_OK);
    assert_int_equal(ex.msgid_send_next, m.send_next);
    ike_export_wipe(&ex, sizeof(ex));
    ike_sa_free(copy);
    ike_sa_free(stale);
    pair_free(sb);
    pair_free(p);
}

static void test_update_and_child_del(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct pair *sb = pair_new();
    struct ike_sa *copy = import_copy(p, 0, sb);
    struct ike_diag d = {0};

    struct ike_ev_ike_update u = {.local = pair_addr4(192, 0, 2, 7, 4500),
                                  .remote = pair_addr4(198, 51, 100, 9, 4500),
                                  .nat_local = true};
    assert_int_equal(ike_sa_mirror_update(copy, &u, &d), IKE_OK);
    assert_true(ike_addr_equal(ike_sa_local_addr(copy), &u.local));
    assert_true(ike_addr_equal(ike_sa_remote_addr(copy), &u.remote));
    assert_true(ike_sa_nat_detected(copy));
    struct ike_ev_ike_update bad = u;
    bad.remote.family = 0;
    assert_int_equal(ike_sa_mirror_update(copy, &bad, &d), IKE_E_INVALID_ARG);
    assert_true(ike_addr_equal(ike_sa_remote_addr(copy), &u.remote));
    assert_int_equal(ike_sa_mirror_update(p->side[0].sa, &u, &d), IKE_E_STATE);

    assert_int_equal(ike_sa_child_count(copy), 1);
    struct ike_child_export c;
    assert_int_equal(ike_sa_export_child(copy, 0, &c, &d), IKE_OK);
    assert_int_equal(ike_sa_mirror_child_del(copy, c.spi_in + 1, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_mirror_child_del(p->side[0].sa, c.spi_in, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_mirror_child_del(copy, c.spi_in, &d), IKE_OK);
    assert_int_equal(ike_sa_child_count(copy), 0);
    assert_int_equal(ike_sa_mirror_child_del(copy, c.spi_in, &d), IKE_E_INVALID_ARG);
    ike_export_wipe(&c, sizeof(c));
    /* silently: no child_delete callback, no event, nothing sent */
    assert_int_equal(sb->side[0].n_events, 0);
    assert_int_equal(sb->side[0].n_sent, 0);
    assert_int_equal(ike_sa_child_count(p->side[0].sa), 1);
    ike_sa_free(copy);
    pair_free(sb);
    pair_free(p);
}

/* An established pair whose initiator has lifetimes (soft 100 s, hard
 * 200 s) and DPD on idle every 10 s. */
static struct pair *pair_timed(void)
{
    struct pair *p = pair_new();
    p->side[0].cfg.lifetime = (struct ike_cfg_lifetime){.soft_s = 100, .hard_s = 200};
    p->side[0].cfg.dpd = IKE_DPD_ON_IDLE;
    p->side[0].cfg.dpd_interval_s = 10;
    pair_establish(p);
    return p;
}

/* The initiator with lifetimes and DPD, a CHILD SA request outstanding and
 * another queued, is deactivated: no timer stays armed, nothing is sent
 * however long the clock runs, no exchange can start; activation re-arms
 * the lifetimes and DPD. */
static void test_deactivate(void **state)
{
    (void)state;
    struct pair *p = pair_timed();
    struct pair_side *s = &p->side[0];
    struct ike_diag d = {0};
    assert_true(s->timer_armed[IKE_TIMER_IKE_LIFETIME]);
    assert_true(s->timer_armed[IKE_TIMER_DPD]);
    assert_int_equal(ike_sa_child_create(s->sa, 0, &d), IKE_OK);
    assert_int_equal(ike_sa_dpd(s->sa, &d), IKE_OK);
    assert_true(s->timer_armed[IKE_TIMER_RETRANSMIT]);
    size_t sent = s->n_sent;

    assert_int_equal(ike_sa_deactivate(s->sa, &d), IKE_OK);
    assert_true(ike_sa_is_passive(s->sa));
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        assert_false(s->timer_armed[t]);
    assert_int_equal(ike_sa_deactivate(s->sa, &d), IKE_OK); /* idempotent */
    while (p->n_queue) /* the request already out is lost with the old master */
        pair_drop(p, 0);
    pair_advance(p, 300 * 1000);
    assert_int_equal(s->n_sent, sent);
    assert_int_equal(ike_sa_state(s->sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_child_create(s->sa, 0, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_dpd(s->sa, &d), IKE_E_STATE);
    /* passive now: mirror calls accepted */
    assert_int_equal(ike_sa_mirror_msgid(s->sa, s->sa->send_next, s->sa->recv_next, &d), IKE_OK);

    ike_sa_activate(s->sa);
    assert_false(ike_sa_is_passive(s->sa));
    assert_true(s->timer_armed[IKE_TIMER_IKE_LIFETIME]);
    assert_true(s->timer_armed[IKE_TIMER_DPD]);
    assert_false(s->timer_armed[IKE_TIMER_RETRANSMIT]);
    pair_free(p);
}

static void test_deactivate_refused(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_deactivate(NULL, &d), IKE_E_INVALID_ARG);
    pair_start(p); /* INIT_SENT */
    assert_int_equal(ike_sa_deactivate(p->side[0].sa, &d), IKE_E_STATE);
    assert_false(ike_sa_is_passive(p->side[0].sa));
    assert_int_equal(ike_sa_mirror_msgid(NULL, 1, 1, &d), IKE_E_INVALID_ARG);
    pair_free(p);
}

/* A graceful handover drains first: the CHILD rekey in flight completes,
 * with the Delete of the pair it replaced (queued by the reply), while a
 * DPD queued meanwhile and the lifetime/DPD timers wait; deactivation then
 * drops the held DPD. */
static void test_drain_finishes_rekey(void **state)
{
    (void)state;
    struct pair *p = pair_timed();
    struct pair_side *s = &p->side[0];
    struct ike_diag d = {0};
    uint32_t old_in = s->sa->children[0].spi_in;
    assert_int_equal(ike_sa_child_rekey(s->sa, old_in, &d), IKE_OK);
    uint32_t id;
    uint8_t exch;
    assert_true(ike_sa_outstanding(s->sa, &id, &exch));
    assert_int_equal(exch, IKE_EXCH_CREATE_CHILD_SA);

    assert_int_equal(ike_sa_drain(s->sa, &d), IKE_OK);
    assert_true(ike_sa_is_draining(s->sa));
    assert_int_equal(ike_sa_drain(s->sa, &d), IKE_OK); /* idempotent */
    assert_false(s->timer_armed[IKE_TIMER_IKE_LIFETIME]);
    assert_false(s->timer_armed[IKE_TIMER_DPD]);
    assert_false(s->timer_armed[IKE_TIMER_CHILD_LIFETIME]);
    assert_true(s->timer_armed[IKE_TIMER_RETRANSMIT]);
    assert_int_equal(ike_sa_dpd(s->sa, &d), IKE_OK); /* queued, held */

    pair_run(p);
    assert_false(ike_sa_outstanding(s->sa, NULL, NULL));
    assert_int_equal(ike_sa_child_count(s->sa), 1);
    assert_int_equal(ike_sa_child_count(p->side[1].sa), 1);
    assert_true(s->sa->children[0].spi_in != old_in);
    assert_int_equal(s->sa->children[0].spi_out, p->side[1].sa->children[0].spi_in);
    assert_int_equal(s->sa->send_next, id + 2); /* the rekey and the Delete */
    assert_int_equal(ike_sa_stats(s->sa)->dpd_sent, 0);
    assert_int_equal(s->sa->queue.n, 1);
    /* still nothing new however long the clock runs, but for retransmits */
    size_t sent = s->n_sent;
    pair_advance(p, 60 * 1000);
    assert_int_equal(s->n_sent, sent);

    assert_int_equal(ike_sa_deactivate(s->sa, &d), IKE_OK);
    assert_false(ike_sa_is_draining(s->sa));
    assert_true(pair_log_has(s, "passive: DPD task dropped"));
    assert_false(pair_log_has(s, "abandoned unanswered"));
    assert_int_equal(s->sa->queue.n, 0);
    pair_free(p);
}

/* A drain that times out: the request is abandoned, and says so. */
static void test_drain_abandoned(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct pair_side *s = &p->side[0];
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_dpd(s->sa, &d), IKE_OK);
    assert_int_equal(ike_sa_drain(s->sa, &d), IKE_OK);
    while (p->n_queue) /* the peer never answers */
        pair_drop(p, 0);
    assert_true(ike_sa_outstanding(s->sa, NULL, NULL));
    assert_int_equal(ike_sa_deactivate(s->sa, &d), IKE_OK);
    assert_true(pair_log_has(s, "passive: our INFORMATIONAL request 2 abandoned unanswered"));
    assert_false(ike_sa_outstanding(s->sa, NULL, NULL));
    pair_free(p);
}

/* The handover is called off: timers re-armed, the held task starts. */
static void test_drain_cancel(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].cfg.lifetime = (struct ike_cfg_lifetime){.soft_s = 100, .hard_s = 200};
    pair_establish(p);
    struct pair_side *s = &p->side[0];
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_drain(s->sa, &d), IKE_OK);
    assert_int_equal(ike_sa_dpd(s->sa, &d), IKE_OK);
    assert_false(ike_sa_outstanding(s->sa, NULL, NULL));
    assert_int_equal(ike_sa_stats(s->sa)->dpd_sent, 0);
    ike_sa_drain_cancel(s->sa);
    assert_false(ike_sa_is_draining(s->sa));
    assert_true(s->timer_armed[IKE_TIMER_IKE_LIFETIME]);
    assert_int_equal(ike_sa_stats(s->sa)->dpd_sent, 1);
    pair_run(p);
    assert_false(ike_sa_outstanding(s->sa, NULL, NULL));
    /* a passive SA or one not established cannot drain */
    struct pair *sb = pair_new();
    struct ike_sa *copy = import_copy(p, 1, sb);
    assert_int_equal(ike_sa_drain(copy, &d), IKE_E_STATE);
    assert_int_equal(ike_sa_drain(NULL, &d), IKE_E_INVALID_ARG);
    ike_sa_free(copy);
    pair_free(sb);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msgid_follows_master),
        cmocka_unit_test(test_update_and_child_del),
        cmocka_unit_test(test_deactivate),
        cmocka_unit_test(test_deactivate_refused),
        cmocka_unit_test(test_drain_finishes_rekey),
        cmocka_unit_test(test_drain_abandoned),
        cmocka_unit_test(test_drain_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
