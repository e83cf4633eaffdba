/* COOKIE challenge (RFC 7296 §2.6): a loaded responder answers IKE_SA_INIT
 * statelessly with N(COOKIE), the initiator repeats the request with the
 * cookie first, and the exchange completes; forged and stale cookies,
 * secret rotation, the retry limit and the INVALID_KE_PAYLOAD interplay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ike/cookie.h>

#include "helper_pair.h"
#include "sa_internal.h"

static struct ike_cookie_jar *loaded(struct pair *p)
{
    struct ike_cookie_jar *jar = NULL;
    assert_int_equal(ike_cookie_jar_new(&jar), IKE_OK);
    p->side[1].ctx.cookies = jar;
    p->side[1].ctx.require_cookie = true;
    return jar;
}

/* The COOKIE notify of queue[i] (its first payload), or NULL; the offset
 * of its data in the datagram in *off. */
static bool first_is_cookie(const struct pair *p, size_t i, size_t *off)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, p->queue[i].data, p->queue[i].len, &d), IKE_OK);
    bool yes = m.first && m.first->type == IKE_PLD_NOTIFY && m.first->notify.type == IKE_N_COOKIE;
    if (yes && off)
        *off = (size_t)(m.first->notify.data.ptr - m.raw.ptr);
    ike_msg_clear(&m);
    return yes;
}

static void test_cookie_round_trip(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cookie_jar *jar = loaded(p);
    pair_start(p);
    assert_false(first_is_cookie(p, 0, NULL));
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_null(p->side[1].sa); /* no state kept */
    assert_int_equal(p->side[1].n_stateless, 1);
    assert_true(pair_log_has(&p->side[1], "without cookie under load: answering N(COOKIE)"));
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* initiator retries */
    assert_true(pair_log_has(&p->side[0], "peer demands a COOKIE (33 octets)"));
    assert_int_equal(p->n_queue, 1);
    assert_true(first_is_cookie(p, 0, NULL));
    pair_run(p);
    assert_non_null(p->side[1].sa);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->side[1].n_stateless, 1);
    pair_free(p);
    ike_cookie_jar_free(jar);
}

/* A cookie altered on the way is refused and a fresh one is sent. */
static void test_cookie_forged(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cookie_jar *jar = loaded(p);
    pair_start(p);
    pair_deliver(p, 0);
    pair_deliver(p, 0);
    size_t off = 0;
    assert_true(first_is_cookie(p, 0, &off));
    p->queue[0].data[off + 5] ^= 1;
    assert_int_equal(pair_deliver(p, 0), IKE_OK);
    assert_null(p->side[1].sa);
    assert_int_equal(p->side[1].n_stateless, 2);
    assert_true(pair_log_has(&p->side[1], "with a stale or invalid cookie"));
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    pair_free(p);
    ike_cookie_jar_free(jar);
}

static void test_cookie_rotation(void **state)
{
    (void)state;
    struct ike_cookie_jar *jar = NULL;
    uint8_t ni[32], spi[8], c[IKE_COOKIE_LEN];
    memset(ni, 7, sizeof(ni));
    memset(spi, 9, sizeof(spi));
    struct ike_addr ip = pair_addr4(192, 0, 2, 1, 500), other = pair_addr4(192, 0, 2, 2, 500);
    assert_int_equal(ike_cookie_jar_new(&jar), IKE_OK);
    assert_int_equal(ike_cookie_make(jar, ni, sizeof(ni), &ip, spi, c), IKE_OK);
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &ip, spi, c, sizeof(c)), IKE_OK);
    /* bound to the address, the SPI and the nonce */
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &other, spi, c, sizeof(c)), IKE_E_AUTH);
    spi[0] ^= 1;
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &ip, spi, c, sizeof(c)), IKE_E_AUTH);
    spi[0] ^= 1;
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni) - 1, &ip, spi, c, sizeof(c)),
                     IKE_E_AUTH);
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &ip, spi, c, sizeof(c) - 1),
                     IKE_E_AUTH);
    /* one rotation: still valid; two: stale */
    assert_int_equal(ike_cookie_jar_rotate(jar), IKE_OK);
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &ip, spi, c, sizeof(c)), IKE_OK);
    uint8_t c2[IKE_COOKIE_LEN];
    assert_int_equal(ike_cookie_make(jar, ni, sizeof(ni), &ip, spi, c2), IKE_OK);
    assert_memory_not_equal(c, c2, sizeof(c));
    assert_int_equal(ike_cookie_jar_rotate(jar), IKE_OK);
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &ip, spi, c, sizeof(c)), IKE_E_AUTH);
    assert_int_equal(ike_cookie_verify(jar, ni, sizeof(ni), &ip, spi, c2, sizeof(c2)), IKE_OK);
    ike_cookie_jar_free(jar);
    ike_cookie_jar_free(NULL);
}

/* A responder whose cookies never verify: the initiator gives up after
 * three retries instead of looping. */
static void test_cookie_retry_limit(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cookie_jar *jar = loaded(p);
    pair_start(p);
    for (int i = 0; i < 10 && p->n_queue; i++) {
        assert_int_equal(ike_cookie_jar_rotate(jar), IKE_OK); /* make the last one stale */
        assert_int_equal(ike_cookie_jar_rotate(jar), IKE_OK);
        pair_deliver(p, 0);
    }
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_DEAD);
    assert_true(pair_log_has(&p->side[0], "peer demanded a COOKIE 4 times: giving up"));
    assert_int_equal(p->side[1].n_stateless, 4);
    assert_null(p->side[1].sa);
    pair_free(p);
    ike_cookie_jar_free(jar);
}

/* COOKIE, then INVALID_KE_PAYLOAD: the KE retry still carries the cookie
 * (same SPIi and nonce, so it still verifies). */
static void test_cookie_then_invalid_ke(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cookie_jar *jar = loaded(p);
    struct ike_cfg_proposal *i = &p->side[0].cfg.proposals[0];
    i->dh[i->n_dh++] = IKE_DH_MODP_2048;
    p->side[1].cfg.proposals[0].dh[0] = IKE_DH_MODP_2048;
    pair_start(p);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* -> COOKIE */
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* retry with cookie */
    assert_true(first_is_cookie(p, 0, NULL));
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* -> INVALID_KE_PAYLOAD */
    assert_null(p->side[1].sa);
    assert_int_equal(p->side[1].n_stateless, 2);
    assert_int_equal(pair_deliver(p, 0), IKE_OK); /* retry with the right group */
    assert_true(first_is_cookie(p, 0, NULL));
    pair_run(p);
    assert_int_equal(ike_sa_state(p->side[0].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(ike_sa_state(p->side[1].sa), IKE_SA_STATE_ESTABLISHED);
    assert_int_equal(p->side[1].n_stateless, 2);
    pair_free(p);
    ike_cookie_jar_free(jar);
}

/* The caller's switch: without require_cookie the jar is not consulted. */
static void test_cookie_not_required(void **state)
{
    (void)state;
    struct pair *p = pair_new();
    struct ike_cookie_jar *jar = loaded(p);
    p->side[1].ctx.require_cookie = false;
    pair_establish(p);
    assert_int_equal(p->side[1].n_stateless, 0);
    pair_free(p);
    ike_cookie_jar_free(jar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_round_trip),      cmocka_unit_test(test_cookie_forged),
        cmocka_unit_test(test_cookie_rotation),        cmocka_unit_test(test_cookie_retry_limit),
        cmocka_unit_test(test_cookie_then_invalid_ke), cmocka_unit_test(test_cookie_not_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
