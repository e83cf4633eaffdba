/* <ike/mirror.h> responder cache: with ctx.response_events the responder
 * emits RESPONSE (its datagram) for a peer's request; a passive copy given
 * it answers the request's retransmission, once activated, with the same
 * bytes from the addresses the retransmission arrived on, and takes the
 * next request as usual. Without it the copy drops the retransmission
 * (the HA failover gap this closes). Refusals leave the copy as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ike/mirror.h>

#include "helper_pair.h"
#include "sa_internal.h"

/* p->side[1]'s SA (the responder) imported into sb's side 1, passive. */
static struct ike_sa *import_copy(const struct pair *p, struct pair *sb)
{
    struct ike_sa_export ex;
    struct ike_diag d = {0};
    struct ike_sa *sa = NULL;
    assert_int_equal(ike_sa_export(p->side[1].sa, &ex, &d), IKE_OK);
    assert_int_equal(ike_sa_import(&sb->side[1].ctx, &sb->side[1].cfg, &ex, &sa, &d), IKE_OK);
    ike_export_wipe(&ex, sizeof(ex));
    return sa;
}

static size_t count(const struct pair_side *s, enum ike_event_type t)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_events; i++)
        n += s->events[i].type == t;
    return n;
}

/* The master (side 1) answered a DPD of side 0 whose response was lost:
 * what the standby mirrors (message IDs, then the response) is in copy. */
struct lost {
    struct pair *p, *sb;
    struct ike_sa *copy, *bare; /* bare: message IDs only, as before */
    uint8_t *resp;              /* the master's response as it sent it */
    size_t resp_len;
};

static void lose_dpd_response(struct lost *l)
{
    l->p = pair_new();
    l->p->side[1].ctx.response_events = true;
    pair_establish(l->p);
    struct pair *p = l->p;
    /* IKE_AUTH's response is mirrored too: after its other events */
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD RESPONSE");
    assert_int_equal(count(&p->side[0], IKE_EV_RESPONSE), 0); /* not asked for */
    l->sb = pair_new();
    l->copy = import_copy(p, l->sb);
    l->bare = import_copy(p, l->sb);

    struct ike_diag d = {0};
    p->side[1].n_events = 0;
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* the master answers */
    assert_int_equal(p->n_queue, 1);
    l->resp = pair_copy(&p->queue[0]);
    l->resp_len = p->queue[0].len;
    pair_drop(p, 0); /* ... and the answer is lost */
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE RESPONSE");

    struct ike_ev_msgid m = p->side[1].events[0].msgid;
    struct ike_ev_response r;
    assert_true(ike_sa_last_response(p->side[1].sa, &r));
    assert_int_equal(r.message_id, 2);
    assert_int_equal(r.len, l->resp_len);
    assert_memory_equal(r.data, l->resp, r.len);
    assert_int_equal(ike_sa_mirror_msgid(l->copy, m.send_next, m.recv_next, &d), IKE_OK);
    assert_int_equal(ike_sa_mirror_msgid(l->bare, m.send_next, m.recv_next, &d), IKE_OK);
    assert_int_equal(ike_sa_mirror_response(l->copy, &r, &d), IKE_OK);
    /* no side effect: nothing sent, nothing emitted */
    assert_int_equal(l->sb->side[1].n_sent, 0);
    assert_int_equal(l->sb->side[1].n_events, 0);
}

static void lost_free(struct lost *l)
{
    ike_sa_free(l->copy);
    ike_sa_free(l->bare);
    pair_bytes_free(l->resp);
    pair_free(l->sb);
    pair_free(l->p);
}

/* Side 0's retransmission of its DPD request (it arrives at the VIP on
 * 4500 after the takeover: the copy answers from there). */
static uint8_t *retransmission(struct pair *p, size_t *len)
{
    pair_advance(p, 600);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(p->queue[0].to, 1);
    uint8_t *req = pair_copy(&p->queue[0]);
    *len = p->queue[0].len;
    pair_drop(p, 0);
    return req;
}

static void test_copy_answers_retransmission(void **state)
{
    (void)state;
    struct lost l;
    lose_dpd_response(&l);
    struct pair *p = l.p, *sb = l.sb;
    size_t req_len = 0;
    uint8_t *req = retransmission(p, &req_len);
    struct ike_addr vip = pair_addr4(192, 0, 2, 1, 4500), peer = pair_addr4(198, 51, 100, 7, 4500);
    struct ike_diag d = {0};

    /* before the change: the copy drops it, the peer would give up */
    ike_sa_activate(l.bare);
    assert_int_not_equal(ike_sa_process(l.bare, req, req_len, &vip, &peer, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(l.bare)->dropped_msgid, 1);
    assert_int_equal(sb->side[1].n_sent, 0);

    /* passive: a standby never sends */
    ike_sa_activate(l.copy);
    assert_int_equal(ike_sa_process(l.copy, req, req_len, &vip, &peer, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(l.copy)->responses_resent, 1);
    assert_int_equal(sb->n_trace, 1);
    assert_int_equal(sb->trace[0].len, l.resp_len);
    assert_memory_equal(sb->trace[0].data, l.resp, l.resp_len); /* byte-identical */
    assert_true(ike_addr_equal(&sb->trace[0].sent_from, &vip));
    assert_true(ike_addr_equal(&sb->trace[0].sent_to, &peer));
    pair_bytes_free(req);

    /* the peer takes it: its DPD is answered */
    assert_true(ike_sa_outstanding(p->side[0].sa, NULL, NULL));
    assert_int_equal(
        ike_sa_process(p->side[0].sa, sb->queue[0].data, sb->queue[0].len, &peer, &vip, &d),
        IKE_OK);
    assert_false(ike_sa_outstanding(p->side[0].sa, NULL, NULL));
    pair_drop(sb, 0);

    /* a newer message ID: answered normally by the new master */
    assert_int_equal(ike_sa_dpd(p->side[0].sa, &d), IKE_OK);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(ike_sa_process(l.copy, p->queue[0].data, p->queue[0].len, &vip, &peer, &d),
                     IKE_OK);
    pair_drop(p, 0);
    assert_int_equal(sb->n_queue, 1);
    assert_int_equal(
        ike_sa_process(p->side[0].sa, sb->queue[0].data, sb->queue[0].len, &peer, &vip, &d),
        IKE_OK);
    assert_false(ike_sa_outstanding(p->side[0].sa, NULL, NULL));
    pair_drop(sb, 0);
    struct ike_ev_response r;
    assert_true(ike_sa_last_response(l.copy, &r));
    assert_int_equal(r.message_id, 3);
    lost_free(&l);
}

/* What a copy refuses, and that a refusal keeps its cache. */
static void test_refusals(void **state)
{
    (void)state;
    struct lost l;
    lose_dpd_response(&l);
    struct ike_diag d = {0};
    struct ike_ev_response r;
    assert_true(ike_sa_last_response(l.p->side[1].sa, &r));
    uint8_t bad[512];
    assert_true(r.len <= sizeof(bad));

    struct ike_ev_response x = r;
    x.message_id = 3; /* not the request the copy answered last */
    assert_int_equal(ike_sa_mirror_response(l.copy, &x, &d), IKE_E_INVALID_ARG);
    x.message_id = 1;
    assert_int_equal(ike_sa_mirror_response(l.copy, &x, &d), IKE_E_INVALID_ARG);
    x = r;
    x.len = IKE_HDR_LEN - 1;
    assert_int_equal(ike_sa_mirror_response(l.copy, &x, &d), IKE_E_INVALID_ARG);
    memcpy(bad, r.data, r.len);
    bad[3] ^= 1; /* another SA's SPI */
    x = r;
    x.data = bad;
    assert_int_equal(ike_sa_mirror_response(l.copy, &x, &d), IKE_E_INVALID_ARG);
    memcpy(bad, r.data, r.len);
    bad[19] &= (uint8_t)~IKE_FLAG_RESPONSE; /* a request */
    assert_int_equal(ike_sa_mirror_response(l.copy, &x, &d), IKE_E_INVALID_ARG);
    memcpy(bad, r.data, r.len);
    bad[23] ^= 1; /* another message ID in the header */
    assert_int_equal(ike_sa_mirror_response(l.copy, &x, &d), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sa_mirror_response(l.copy, NULL, &d), IKE_E_INVALID_ARG);
    /* an active SA changes only through its own exchanges */
    assert_int_equal(ike_sa_mirror_response(l.p->side[1].sa, &r, &d), IKE_E_STATE);

    /* the copy still holds the mirrored response */
    struct ike_ev_response c;
    assert_true(ike_sa_last_response(l.copy, &c));
    assert_int_equal(c.message_id, 2);
    assert_int_equal(c.len, l.resp_len);
    assert_memory_equal(c.data, l.resp, l.resp_len);
    assert_memory_equal(c.req_hash, r.req_hash, IKE_RESPONSE_HASH_LEN);
    assert_false(ike_sa_last_response(l.bare, &c)); /* an import has no cache */
    /* once the copy's receive ID moves on, the cache answers nothing: a
     * snapshot does not carry it */
    assert_int_equal(ike_sa_mirror_msgid(l.copy, l.copy->send_next, 4, &d), IKE_OK);
    assert_false(ike_sa_last_response(l.copy, &c));
    lost_free(&l);
}

/* A request that is not the retransmission (other bytes, same ID) is not
 * answered from the mirrored cache. */
static void test_other_request_same_id(void **state)
{
    (void)state;
    struct lost l;
    lose_dpd_response(&l);
    size_t len = 0;
    uint8_t *req = retransmission(l.p, &len);
    req[len - 1] ^= 1; /* same header, other bytes */
    struct ike_addr vip = pair_addr4(192, 0, 2, 1, 4500), peer = pair_addr4(198, 51, 100, 7, 4500);
    struct ike_diag d = {0};
    ike_sa_activate(l.copy);
    assert_int_not_equal(ike_sa_process(l.copy, req, len, &vip, &peer, &d), IKE_OK);
    assert_int_equal(l.sb->side[1].n_sent, 0);
    pair_bytes_free(req);
    lost_free(&l);
}

/* IKE_AUTH itself: the responder's answer is lost, the copy (imported from
 * the IKE_SA_ADD, given the RESPONSE) answers the initiator's retransmission
 * and the initiator's SA comes up. */
static void test_ike_auth_answer_lost(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[1].ctx.response_events = true;
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* IKE_SA_INIT request */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* its response */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* IKE_AUTH request */
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->n_queue, 1);
    uint8_t *resp = pair_copy(&p->queue[0]);
    size_t resp_len = p->queue[0].len;
    pair_drop(p, 0);
    /* IKE_SA_INIT has no RESPONSE: a half-open SA is not mirrored */
    assert_string_equal(pair_events(&p->side[1]), "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD RESPONSE");

    struct pair *sb = pair_new();
    struct ike_sa *copy = import_copy(p, sb);
    struct ike_ev_response r;
    struct ike_diag d = {0};
    assert_true(ike_sa_last_response(p->side[1].sa, &r));
    assert_int_equal(r.message_id, 1);
    assert_int_equal(ike_sa_mirror_response(copy, &r, &d), IKE_OK);
    ike_sa_activate(copy);

    pair_advance(p, 600); /* the initiator retransmits IKE_AUTH */
    assert_int_equal(p->n_queue, 1);
    struct pair_dgram *q = &p->queue[0];
    assert_int_equal(ike_sa_process(copy, q->data, q->len, &q->local, &q->remote, &d), IKE_OK);
    pair_drop(p, 0);
    assert_int_equal(sb->n_queue, 1);
    assert_int_equal(sb->queue[0].len, resp_len);
    assert_memory_equal(sb->queue[0].data, resp, resp_len);
    assert_int_equal(ike_sa_process(p->side[0].sa, sb->queue[0].data, sb->queue[0].len,
                                    &sb->queue[0].local, &sb->queue[0].remote, &d),
                     IKE_OK);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    pair_drop(sb, 0);
    pair_bytes_free(resp);
    ike_sa_free(copy);
    pair_free(sb);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_answers_retransmission),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_other_request_same_id),
        cmocka_unit_test(test_ike_auth_answer_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
