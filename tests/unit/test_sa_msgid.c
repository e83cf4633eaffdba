/* Message IDs (window 1), retransmission with exponential backoff and a
 * give-up limit, the responder cache, and lost / duplicated / reordered /
 * forged datagrams during IKE_SA_INIT and IKE_AUTH. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sk.h>

#include "helper_pair.h"
#include "sa_internal.h"

static void assert_same_dgram(const uint8_t *a, size_t alen, const struct pair_dgram *b)
{
    assert_int_equal(alen, b->len);
    assert_memory_equal(a, b->data, alen);
}

static void test_lost_init_request(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    uint8_t *first = pair_copy(&p->queue[0]);
    size_t len = p->queue[0].len;
    pair_drop(p, 0);
    pair_advance(p, IKE_RETRANSMIT_BASE_MS - 1);
    assert_int_equal(p->n_queue, 0);
    pair_advance(p, 1);
    assert_int_equal(p->n_queue, 1);
    assert_same_dgram(first, len, &p->queue[0]);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->retransmits_sent, 1);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    assert_true(pair_log_has(&p->side[0], ", in 500 ms"));
    assert_true(pair_log_has(&p->side[1], ", in 0 ms"));
    pair_bytes_free(first);
    pair_free(p);
}

/* The IKE_SA_INIT response is lost: the retransmitted request reaches the
 * existing responder SA, which resends the identical response. */
static void test_lost_init_response(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    uint8_t *resp = pair_copy(&p->queue[0]);
    size_t len = p->queue[0].len;
    pair_drop(p, 0);
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_same_dgram(resp, len, &p->queue[0]);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    pair_bytes_free(resp);
    pair_free(p);
}

/* The IKE_AUTH response is lost: the retransmission gets the cached bytes
 * and nothing is established, installed or emitted twice. */
static void test_lost_auth_response(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    char ev[256];
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* IKE_AUTH request */
    uint8_t *resp = pair_copy(&p->queue[0]);
    size_t len = p->queue[0].len;
    pair_drop(p, 0);
    pair_advance(p, IKE_RETRANSMIT_BASE_MS);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_same_dgram(resp, len, &p->queue[0]);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_string_equal(pair_event_names(&p->side[1], ev, sizeof(ev)),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD");
    assert_string_equal(pair_event_names(&p->side[0], ev, sizeof(ev)),
                        "MSGID_UPDATE IKE_SA_ADD CHILD_SA_ADD");
    assert_int_equal(p->side[1].n_installed, 1);
    pair_bytes_free(resp);
    pair_free(p);
}

static void test_duplicated_responses(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    pair_deliver(p, 0);
    pair_dup(p, 0); /* IKE_SA_INIT response twice */
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE); /* the copy: nothing outstanding */
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 1);
    pair_dup(p, 0); /* IKE_AUTH request twice */
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* answered from the cache */
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 2);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->side[0].n_installed, 1);
    pair_free(p);
}

/* Old messages arriving late, after the exchange moved on. */
static void test_reordered_late_messages(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    uint8_t *init_req = pair_copy(&p->queue[0]);
    size_t init_req_len = p->queue[0].len;
    struct ike_addr l = p->queue[0].local, r = p->queue[0].remote;
    pair_deliver(p, 0);
    pair_dup(p, 0); /* a copy of the IKE_SA_INIT response, delayed */
    pair_deliver(p, 0);
    /* queue: [late INIT response, IKE_AUTH request] -> deliver AUTH first */
    assert_int_equal(pair_deliver(p, 1), IKE_OK);
    assert_int_equal(pair_deliver(p, 1), IKE_OK);      /* IKE_AUTH response */
    assert_int_equal(pair_deliver(p, 0), IKE_E_STATE); /* the late INIT response */
    assert_int_equal(ike_sa_stats(p->side[0].sa)->dropped_msgid, 1);
    /* the first IKE_SA_INIT request again: message ID 0 < 1 = window edge */
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_process(p->side[1].sa, init_req, init_req_len, &l, &r, &d),
                     IKE_E_STATE);
    assert_non_null(strstr(d.reason, "request message ID 0, expected 2"));
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_msgid, 1);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    pair_bytes_free(init_req);
    pair_free(p);
}

/* A forged IKE_AUTH request (bad ICV) is dropped and counted; the real one
 * still works. A changed retransmission is not answered from the cache. */
static void test_forged_auth_request(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    struct pair_dgram *d = &p->queue[0];
    uint8_t *real = pair_copy(d);
    size_t len = d->len;
    struct ike_addr l = d->local, r = d->remote;
    real[len - 1] ^= 1;
    struct ike_diag diag = {0};
    assert_int_equal(ike_sa_process(p->side[1].sa, real, len, &l, &r, &diag), IKE_E_INTEGRITY);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_integrity, 1);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_INIT_DONE);
    assert_int_equal(p->side[1].n_events, 0);
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    /* the tampered copy as a "retransmission" of request 1 */
    assert_int_equal(ike_sa_process(p->side[1].sa, real, len, &l, &r, &diag), IKE_E_STATE);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 0);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_msgid, 1);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    pair_bytes_free(real);
    pair_free(p);
}

static void test_garbage_and_wrong_spi(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_establish(p);
    struct ike_addr l = pair_addr4(10, 0, 0, 2, 500), r = pair_addr4(10, 0, 0, 1, 500);
    struct ike_diag d = {0};
    static const uint8_t junk[40] = {1, 2, 3};
    assert_int_not_equal(ike_sa_process(p->side[1].sa, junk, sizeof(junk), &l, &r, &d), IKE_OK);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_malformed, 1);
    /* a valid-looking header with another SPIi */
    uint8_t hdr[28] = {9, 9, 9, 9, 9, 9, 9, 9};
    memcpy(hdr + 8, ike_sa_spi_r(p->side[1].sa), 8);
    hdr[17] = IKE_VERSION_2;
    hdr[18] = IKE_EXCH_INFORMATIONAL;
    hdr[19] = IKE_FLAG_INITIATOR;
    hdr[27] = 28;
    assert_int_equal(ike_sa_process(p->side[1].sa, hdr, sizeof(hdr), &l, &r, &d), IKE_E_MALFORMED);
    assert_non_null(strstr(d.reason, "initiator SPI is not this SA's"));
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_malformed, 2);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
}

/* Nobody answers: 500, 1000, 2000... ms, then the SA gives up. */
static void test_give_up(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    for (unsigned i = 0; i <= IKE_RETRANSMIT_TRIES; i++) {
        assert_int_equal(p->n_queue, 1);
        pair_drop(p, 0);
        pair_advance(p, (uint64_t)IKE_RETRANSMIT_BASE_MS << i);
    }
    assert_int_equal(p->n_queue, 0);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_int_equal(ike_sa_stats(p->side[0].sa)->retransmits_sent, IKE_RETRANSMIT_TRIES);
    assert_int_equal(p->side[0].n_timer_ms[IKE_TIMER_RETRANSMIT], IKE_RETRANSMIT_TRIES + 1);
    for (unsigned i = 0; i <= IKE_RETRANSMIT_TRIES; i++)
        assert_int_equal(p->side[0].timer_ms[IKE_TIMER_RETRANSMIT][i], IKE_RETRANSMIT_BASE_MS << i);
    assert_true(pair_log_has(&p->side[0], "giving up on IKE_SA_INIT request 0 after 5 "
                                          "retransmissions"));
    assert_true(pair_log_has(&p->side[0], "state INIT_SENT -> DEAD"));
    pair_free(p);
}

/* Custom limits from the context; IKE_AUTH is retransmitted too. */
static void test_give_up_auth_custom(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    p->side[0].ctx.retransmit_base_ms = 100;
    p->side[0].ctx.retransmit_tries = 2;
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    pair_drop(p, 0);
    pair_advance(p, 100);
    pair_drop(p, 0);
    pair_advance(p, 200);
    pair_drop(p, 0);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_AUTH_SENT);
    pair_advance(p, 400);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[0], "giving up on IKE_AUTH request 1 after 2"));
    pair_free(p);
}

static void test_half_open_timeout(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    pair_start(p);
    pair_deliver(p, 0);
    pair_drop(p, 0); /* the initiator never hears back */
    p->side[0].timer_armed[IKE_TIMER_RETRANSMIT] = false;
    pair_advance(p, IKE_HALF_OPEN_TIMEOUT_MS - 1);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_INIT_DONE);
    pair_advance(p, 1);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[1], "no IKE_AUTH request within 30000 ms"));
    pair_free(p);
}

/* The queued IKE_AUTH request re-protected as RFC 7383 fragments of at
 * most max_len octets with the initiator's keys. */
static struct ike_sk_frag *fragment_auth(struct pair *p, size_t max_len, size_t *n)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    struct ike_sk_frag *frags = NULL;
    struct ike_sa *i = p->side[0].sa;
    assert_int_equal(ike_msg_decode(&m, p->queue[0].data, p->queue[0].len, &d), IKE_OK);
    assert_int_equal(ike_sk_unprotect(&m, i->c_i, &d), IKE_OK);
    assert_int_equal(ike_sk_protect_fragments(&m, i->c_i, max_len, &frags, n, &d), IKE_OK);
    ike_msg_clear(&m);
    return frags;
}

static enum ike_status to_responder(struct pair *p, const struct ike_sk_frag *f,
                                    const struct ike_addr *l, const struct ike_addr *r)
{
    struct ike_diag d = {0};
    return ike_sa_process(p->side[1].sa, f->buf, f->len, l, r, &d);
}

static void test_fragmented_auth_request(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    size_t n = 0;
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    struct ike_addr l = p->queue[0].local, r = p->queue[0].remote;
    struct ike_sk_frag *f = fragment_auth(p, 120, &n);
    assert_true(n >= 3);
    pair_drop(p, 0);
    /* out of order, with a duplicate: collected, nothing answered yet */
    for (size_t k = n; k-- > 1;)
        assert_int_equal(to_responder(p, &f[k], &l, &r), IKE_OK);
    assert_int_equal(to_responder(p, &f[n - 1], &l, &r), IKE_OK);
    assert_int_equal(p->n_queue, 0);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_INIT_DONE);
    assert_int_equal(to_responder(p, &f[0], &l, &r), IKE_OK);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(p->side[1].n_installed, 1);
    /* retransmitted fragments: only fragment 1 gets the response again */
    assert_int_equal(to_responder(p, &f[1], &l, &r), IKE_E_STATE);
    assert_int_equal(to_responder(p, &f[0], &l, &r), IKE_OK);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->responses_resent, 1);
    assert_int_equal(p->n_queue, 2);
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    ike_sk_frags_free(f, n);
    pair_free(p);
}

/* Without RFC 7383 negotiated, fragments are refused. */
static void test_fragments_not_negotiated(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    size_t n = 0;
    p->side[1].cfg.fragmentation = false;
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    struct ike_addr l = p->queue[0].local, r = p->queue[0].remote;
    struct ike_sk_frag *f = fragment_auth(p, 120, &n);
    assert_int_equal(to_responder(p, &f[0], &l, &r), IKE_E_RULES);
    assert_int_equal(ike_sa_stats(p->side[1].sa)->dropped_malformed, 1);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* the unfragmented one works */
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    ike_sk_frags_free(f, n);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_init_request),
        cmocka_unit_test(test_lost_init_response),
        cmocka_unit_test(test_lost_auth_response),
        cmocka_unit_test(test_duplicated_responses),
        cmocka_unit_test(test_reordered_late_messages),
        cmocka_unit_test(test_forged_auth_request),
        cmocka_unit_test(test_garbage_and_wrong_spi),
        cmocka_unit_test(test_give_up),
        cmocka_unit_test(test_give_up_auth_custom),
        cmocka_unit_test(test_half_open_timeout),
        cmocka_unit_test(test_fragmented_auth_request),
        cmocka_unit_test(test_fragments_not_negotiated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
