/*
 * RFC 7383 fragmentation: ike_sk_protect_fragments at several sizes, and
 * the reassembler with fragments in order, reversed, shuffled, duplicated,
 * missing, forged, re-fragmented smaller (higher total), stale, of another
 * message, and over its caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/sk.h>

#include "helper_sk.h"

#define CERT_LEN 3000 /* makes the IKE_AUTH request ~3.2 kB */

struct frag_set {
    struct ike_sk_frag *f;
    size_t n;
    struct ike_msg *msgs; /* each fragment decoded */
};

static void frag_set_make(const struct ike_msg *msg, struct ike_sk_cipher *c, size_t max_len,
                          struct frag_set *set)
{
    struct ike_diag diag = {0};
    enum ike_status st = ike_sk_protect_fragments(msg, c, max_len, &set->f, &set->n, &diag);
    if (st != IKE_OK)
        fail_msg("fragments at %zu: %s (%s)", max_len, ike_status_str(st), diag.reason);
    set->msgs = calloc(set->n, sizeof(*set->msgs));
    assert_non_null(set->msgs);
    for (size_t i = 0; i < set->n; i++) {
        st = ike_msg_decode(&set->msgs[i], set->f[i].buf, set->f[i].len, &diag);
        if (st != IKE_OK)
            fail_msg("fragment %zu decode: %s", i + 1, diag.reason);
    }
}

static void frag_set_free(struct frag_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        ike_msg_clear(&set->msgs[i]);
    free(set->msgs);
    ike_sk_frags_free(set->f, set->n);
    memset(set, 0, sizeof(*set));
}

/* The RFC 7383 §2.5 layout of every fragment. */
static void check_layout(const struct ike_msg *msg, const struct frag_set *set, size_t max_len)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct ike_msg *m = &set->msgs[i];
        assert_true(set->f[i].len <= max_len);
        assert_memory_equal(m->hdr.spi_i, msg->hdr.spi_i, IKE_SPI_LEN);
        assert_int_equal(m->hdr.message_id, msg->hdr.message_id);
        assert_int_equal(m->hdr.exchange, msg->hdr.exchange);
        assert_int_equal(m->hdr.flags, msg->hdr.flags);
        assert_int_equal(m->hdr.next_payload, IKE_PLD_SKF);
        assert_non_null(m->sk);
        assert_int_equal(m->sk->type, IKE_PLD_SKF);
        assert_int_equal(m->sk->sk.frag_num, i + 1);
        assert_int_equal(m->sk->sk.frag_total, set->n);
        assert_int_equal(m->sk->sk.first_inner, i == 0 ? IKE_PLD_IDI : IKE_PLD_NONE);
    }
}

static enum ike_status add(struct ike_sk_reasm *r, const struct frag_set *set, size_t i,
                           struct ike_sk_cipher *c, struct ike_msg *out,
                           enum ike_sk_reasm_result *res, struct ike_diag *diag)
{
    *res = (enum ike_sk_reasm_result) - 1;
    return ike_sk_reasm_add(r, &set->msgs[i], c, out, res, diag);
}

static void expect_add(struct ike_sk_reasm *r, const struct frag_set *set, size_t i,
                       struct ike_sk_cipher *c, struct ike_msg *out, enum ike_sk_reasm_result want)
{
    enum ike_sk_reasm_result res;
    struct ike_diag diag = {0};
    enum ike_status st = add(r, set, i, c, out, &res, &diag);
    if (st != IKE_OK)
        fail_msg("fragment %zu/%zu: %s (%s)", i + 1, set->n, ike_status_str(st), diag.reason);
    if (res != want)
        fail_msg("fragment %zu/%zu: result %d, want %d", i + 1, set->n, (int)res, (int)want);
}

/* Feeds the fragments in the given order; the last one must complete. */
static void reassemble(const struct ike_msg *msg, const struct frag_set *set, const size_t *order,
                       struct ike_sk_cipher *rx)
{
    struct ike_sk_reasm *r = ike_sk_reasm_new(0, 0);
    struct ike_msg out = {0};
    struct ike_diag diag = {0};
    assert_non_null(r);
    for (size_t k = 0; k + 1 < set->n; k++) {
        expect_add(r, set, order[k], rx, &out, IKE_SK_REASM_NEED_MORE);
        uint32_t id = 0;
        assert_true(ike_sk_reasm_pending(r, &id));
        assert_int_equal(id, msg->hdr.message_id);
        assert_null(out.first);
    }
    expect_add(r, set, order[set->n - 1], rx, &out, IKE_SK_REASM_COMPLETE);
    assert_false(ike_sk_reasm_pending(r, NULL));
    assert_true(out.inner_decoded);
    assert_int_equal(out.sk->type, IKE_PLD_SKF);
    assert_int_equal(out.hdr.message_id, msg->hdr.message_id);
    assert_int_equal(ike_msg_check_rules(&out, &diag), IKE_OK);
    helper_sk_assert_same_inner(msg, &out);
    const struct ike_pld *cert = ike_msg_find(&out, IKE_PLD_CERT);
    assert_non_null(cert);
    assert_int_equal(cert->cert.data.len, CERT_LEN);
    ike_msg_clear(&out);
    ike_sk_reasm_free(r);
}

static void shuffle(size_t *order, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        seed = seed * 1103515245u + 12345u;
        size_t j = (seed >> 8) % i;
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

static void roundtrip_at(const char *suite, size_t max_len, size_t min_frags)
{
    const struct helper_sk_suite *s = helper_sk_suite(suite);
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 11);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 11);
    struct ike_msg msg;
    struct frag_set set = {0};
    helper_sk_auth_request(&msg, 1, CERT_LEN);
    frag_set_make(&msg, tx, max_len, &set);
    if (set.n < min_frags)
        fail_msg("%s at %zu: %zu fragments < %zu", suite, max_len, set.n, min_frags);
    check_layout(&msg, &set, max_len);
    size_t order[256];
    assert_true(set.n <= 256);
    for (size_t i = 0; i < set.n; i++)
        order[i] = i;
    reassemble(&msg, &set, order, rx);
    for (size_t i = 0; i < set.n; i++)
        order[i] = set.n - 1 - i;
    reassemble(&msg, &set, order, rx);
    shuffle(order, set.n, (unsigned)max_len);
    reassemble(&msg, &set, order, rx);
    frag_set_free(&set);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

static void test_roundtrip_sizes(void **state)
{
    (void)state;
    const char *suites[] = {"aes256-sha256", "aes128-sha1", "aes256gcm16", "chacha20poly1305"};
    for (size_t i = 0; i < 4; i++) {
        roundtrip_at(suites[i], ike_sk_frag_max_len(1280, true, true), 3);
        roundtrip_at(suites[i], ike_sk_frag_max_len(576, false, false), 6);
        roundtrip_at(suites[i], 300, 12);
        roundtrip_at(suites[i], 120, 40);
        roundtrip_at(suites[i], 4000, 1); /* fits: one SKF, 1 of 1 */
    }
}

/* Every fragment uses the room it has: all but the last are within one
 * cipher block of max_len. */
static void test_fragments_are_full(void **state)
{
    (void)state;
    const struct helper_sk_suite *s = helper_sk_suite("aes128-sha256");
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 1);
    struct ike_msg msg;
    struct frag_set set = {0};
    helper_sk_auth_request(&msg, 1, CERT_LEN);
    frag_set_make(&msg, tx, 500, &set);
    for (size_t i = 0; i + 1 < set.n; i++)
        assert_true(set.f[i].len > 500 - 16 && set.f[i].len <= 500);
    frag_set_free(&set);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(tx);
}

static void test_max_len(void **state)
{
    (void)state;
    assert_int_equal(ike_sk_frag_max_len(1280, true, true), 1280 - 40 - 8 - 4);
    assert_int_equal(ike_sk_frag_max_len(576, false, false), 576 - 20 - 8);
    assert_int_equal(ike_sk_frag_max_len(20, false, false), 0);

    const struct helper_sk_suite *s = helper_sk_suite("aes128-sha256");
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 1);
    struct ike_msg msg;
    struct ike_sk_frag *f = NULL;
    size_t n = 7;
    struct ike_diag diag = {0};
    helper_sk_auth_request(&msg, 1, 0);
    /* 28 + 8 + IV 16 + ICV 16 + one block 16 = 84: room for 15 octets. */
    assert_int_equal(ike_sk_protect_fragments(&msg, tx, 83, &f, &n, &diag), IKE_E_TOO_BIG);
    assert_null(f);
    assert_int_equal(n, 0);
    assert_non_null(strstr(diag.reason, "fragment size 83 leaves no room"));
    assert_int_equal(ike_sk_protect_fragments(&msg, tx, 84, &f, &n, &diag), IKE_OK);
    assert_true(n > 10);
    ike_sk_frags_free(f, n);
    ike_msg_clear(&msg);

    ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR,
                 0);
    assert_int_equal(ike_sk_protect_fragments(&msg, tx, 1000, &f, &n, &diag), IKE_E_INVALID_ARG);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(tx);
}

struct fixture {
    struct ike_sk_cipher *tx, *rx;
    struct ike_msg msg;
    struct frag_set set;
    struct ike_sk_reasm *r;
    struct ike_msg out;
};

static void fixture_make(struct fixture *fx, const char *suite, size_t max_len)
{
    memset(fx, 0, sizeof(*fx));
    const struct helper_sk_suite *s = helper_sk_suite(suite);
    fx->tx = helper_sk_cipher(s, 21);
    fx->rx = helper_sk_cipher(s, 21);
    helper_sk_auth_request(&fx->msg, 1, CERT_LEN);
    frag_set_make(&fx->msg, fx->tx, max_len, &fx->set);
    fx->r = ike_sk_reasm_new(0, 0);
    assert_non_null(fx->r);
}

static void fixture_free(struct fixture *fx)
{
    ike_msg_clear(&fx->out);
    ike_sk_reasm_free(fx->r);
    frag_set_free(&fx->set);
    ike_msg_clear(&fx->msg);
    ike_sk_cipher_free(fx->tx);
    ike_sk_cipher_free(fx->rx);
}

static void test_duplicates_and_missing(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_make(&fx, "aes256gcm16", 700);
    size_t n = fx.set.n;
    assert_true(n >= 5);
    /* Fragment 2 missing: everything else, some twice, never completes. */
    for (size_t i = 0; i < n; i++) {
        if (i == 1)
            continue;
        expect_add(fx.r, &fx.set, i, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
        expect_add(fx.r, &fx.set, i, fx.rx, &fx.out, IKE_SK_REASM_DUPLICATE);
    }
    expect_add(fx.r, &fx.set, 0, fx.rx, &fx.out, IKE_SK_REASM_DUPLICATE);
    assert_true(ike_sk_reasm_pending(fx.r, NULL));
    assert_null(fx.out.first);
    /* The missing one arrives (retransmitted): complete. */
    expect_add(fx.r, &fx.set, 1, fx.rx, &fx.out, IKE_SK_REASM_COMPLETE);
    helper_sk_assert_same_inner(&fx.msg, &fx.out);
    ike_msg_clear(&fx.out);
    /* A late duplicate after completion starts a new (pending) reassembly;
     * recognising the retransmitted request is the exchange layer's job. */
    expect_add(fx.r, &fx.set, 2, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
    ike_sk_reasm_reset(fx.r);
    assert_false(ike_sk_reasm_pending(fx.r, NULL));
    fixture_free(&fx);
}

/* A forged fragment (bad ICV, or the wrong key) is refused and leaves the
 * reassembly as it was, even when it claims a higher total. */
static void test_forged_fragment(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_make(&fx, "aes256-sha256", 900);
    size_t n = fx.set.n;
    assert_true(n >= 4);
    enum ike_sk_reasm_result res;
    struct ike_diag diag = {0};
    expect_add(fx.r, &fx.set, 0, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);

    /* Fragment 2 with one ciphertext bit flipped. */
    struct ike_msg bad = {0};
    uint8_t *copy = malloc(fx.set.f[1].len);
    assert_non_null(copy);
    memcpy(copy, fx.set.f[1].buf, fx.set.f[1].len);
    copy[fx.set.f[1].len - 40] ^= 0x10;
    assert_int_equal(ike_msg_decode(&bad, copy, fx.set.f[1].len, &diag), IKE_OK);
    assert_int_equal(ike_sk_reasm_add(fx.r, &bad, fx.rx, &fx.out, &res, &diag), IKE_E_INTEGRITY);
    ike_msg_clear(&bad);
    free(copy);

    /* A fragment claiming more fragments, sealed with another key. */
    struct ike_sk_cipher *evil = helper_sk_cipher(helper_sk_suite("aes256-sha256"), 99);
    struct frag_set more = {0};
    frag_set_make(&fx.msg, evil, 300, &more);
    assert_true(more.n > n);
    assert_int_equal(add(fx.r, &more, 0, fx.rx, &fx.out, &res, &diag), IKE_E_INTEGRITY);
    assert_null(fx.out.first);
    frag_set_free(&more);
    ike_sk_cipher_free(evil);

    /* Untouched: the genuine rest completes the message. */
    for (size_t i = 1; i + 1 < n; i++)
        expect_add(fx.r, &fx.set, i, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
    expect_add(fx.r, &fx.set, n - 1, fx.rx, &fx.out, IKE_SK_REASM_COMPLETE);
    helper_sk_assert_same_inner(&fx.msg, &fx.out);
    fixture_free(&fx);
}

/* RFC 7383 §2.6: a higher Total Fragments restarts, a lower one is stale. */
static void test_total_fragments_change(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_make(&fx, "chacha20poly1305", 1200);
    struct frag_set small = {0};
    frag_set_make(&fx.msg, fx.tx, 400, &small);
    assert_true(small.n > fx.set.n);

    expect_add(fx.r, &fx.set, 0, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
    expect_add(fx.r, &fx.set, 1, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
    /* The sender re-fragmented smaller: start over with the new set. */
    expect_add(fx.r, &small, 3, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
    /* Old, larger fragments are now stale, even ones never seen. */
    for (size_t i = 0; i < fx.set.n; i++)
        expect_add(fx.r, &fx.set, i, fx.rx, &fx.out, IKE_SK_REASM_STALE);
    for (size_t i = 0; i < small.n; i++) {
        if (i == 3)
            continue;
        expect_add(fx.r, &small, i, fx.rx, &fx.out,
                   i + 1 == small.n ? IKE_SK_REASM_COMPLETE : IKE_SK_REASM_NEED_MORE);
    }
    helper_sk_assert_same_inner(&fx.msg, &fx.out);
    frag_set_free(&small);
    fixture_free(&fx);
}

/* Fragments of another message are refused until the caller resets. */
static void test_message_binding(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_make(&fx, "aes128gcm16", 800);
    struct ike_msg next;
    struct frag_set other = {0};
    helper_sk_auth_request(&next, 2, CERT_LEN);
    frag_set_make(&next, fx.tx, 800, &other);
    enum ike_sk_reasm_result res;
    struct ike_diag diag = {0};

    expect_add(fx.r, &fx.set, 0, fx.rx, &fx.out, IKE_SK_REASM_NEED_MORE);
    assert_int_equal(add(fx.r, &other, 1, fx.rx, &fx.out, &res, &diag), IKE_E_STATE);
    assert_non_null(strstr(diag.reason, "message ID 2 while reassembling IKE_AUTH message ID 1"));
    /* A response with the same Message ID is another message too. */
    struct ike_msg resp;
    struct frag_set rset = {0};
    helper_sk_auth_request(&resp, 1, CERT_LEN);
    resp.hdr.flags = IKE_FLAG_RESPONSE;
    frag_set_make(&resp, fx.tx, 800, &rset);
    assert_int_equal(add(fx.r, &rset, 1, fx.rx, &fx.out, &res, &diag), IKE_E_STATE);

    uint32_t id = 0;
    assert_true(ike_sk_reasm_pending(fx.r, &id));
    assert_int_equal(id, 1);
    ike_sk_reasm_reset(fx.r);
    for (size_t i = 0; i < other.n; i++)
        expect_add(fx.r, &other, i, fx.rx, &fx.out,
                   i + 1 == other.n ? IKE_SK_REASM_COMPLETE : IKE_SK_REASM_NEED_MORE);
    assert_int_equal(fx.out.hdr.message_id, 2);
    frag_set_free(&rset);
    ike_msg_clear(&resp);
    frag_set_free(&other);
    ike_msg_clear(&next);
    fixture_free(&fx);
}

static void test_caps(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_make(&fx, "aes256-sha512", 600);
    enum ike_sk_reasm_result res;
    struct ike_diag diag = {0};
    size_t n = fx.set.n;

    /* Too many fragments announced. */
    struct ike_sk_reasm *few = ike_sk_reasm_new(n - 1, 0);
    assert_int_equal(add(few, &fx.set, 0, fx.rx, &fx.out, &res, &diag), IKE_E_TOO_BIG);
    assert_non_null(strstr(diag.reason, "total fragments"));
    assert_false(ike_sk_reasm_pending(few, NULL));
    ike_sk_reasm_free(few);

    /* Too many bytes: the reassembly is dropped at the fragment that
     * overflows. */
    struct ike_sk_reasm *tiny = ike_sk_reasm_new(0, 2000);
    size_t i = 0;
    enum ike_status st = IKE_OK;
    for (; i < n && st == IKE_OK; i++)
        st = add(tiny, &fx.set, i, fx.rx, &fx.out, &res, &diag);
    assert_int_equal(st, IKE_E_TOO_BIG);
    assert_true(i > 1 && i < n);
    assert_non_null(strstr(diag.reason, "limit 2000"));
    assert_false(ike_sk_reasm_pending(tiny, NULL));
    assert_null(fx.out.first);
    ike_sk_reasm_free(tiny);
    fixture_free(&fx);
}

/* An SK message is not for the reassembler; an SKF is not for unprotect. */
static void test_misuse(void **state)
{
    (void)state;
    struct fixture fx;
    fixture_make(&fx, "aes128-sha256", 500);
    enum ike_sk_reasm_result res;
    struct ike_diag diag = {0};
    struct ike_msg m = {0};
    uint8_t *wire = NULL;
    size_t len = 0;
    assert_int_equal(ike_sk_protect(&fx.msg, fx.tx, &wire, &len, &diag), IKE_OK);
    assert_int_equal(ike_msg_decode(&m, wire, len, &diag), IKE_OK);
    assert_int_equal(ike_sk_reasm_add(fx.r, &m, fx.rx, &fx.out, &res, &diag), IKE_E_INVALID_ARG);
    assert_int_equal(ike_sk_unprotect(&fx.set.msgs[0], fx.rx, &diag), IKE_E_INVALID_ARG);
    ike_msg_clear(&m);
    ike_msg_free_buf(wire, len);
    fixture_free(&fx);
}

/* Unencrypted payloads travel in fragment 1 only and come back outside. */
static void test_outer_payloads_in_first_only(void **state)
{
    (void)state;
    const struct helper_sk_suite *s = helper_sk_suite("aes256gcm16");
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 2);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 2);
    struct ike_msg msg, out = {0};
    struct frag_set set = {0};
    uint8_t big[1500];
    memset(big, 0x42, sizeof(big));
    ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", (const uint8_t *)"IJKLMNOP",
                 IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 9);
    msg.add_inside_sk = false;
    assert_non_null(ike_msg_add_vendor(&msg, (const uint8_t *)"outside", 7));
    msg.add_inside_sk = true;
    assert_non_null(ike_msg_add_vendor(&msg, big, sizeof(big)));
    frag_set_make(&msg, tx, 500, &set);
    assert_true(set.n >= 4);
    assert_int_equal(set.msgs[0].hdr.next_payload, IKE_PLD_VENDOR);
    assert_int_equal(set.msgs[0].n_payloads, 2);
    assert_int_equal(set.msgs[0].sk->sk.first_inner, IKE_PLD_VENDOR);
    for (size_t i = 1; i < set.n; i++)
        assert_int_equal(set.msgs[i].n_payloads, 1);
    struct ike_sk_reasm *r = ike_sk_reasm_new(0, 0);
    for (size_t i = set.n; i-- > 0;)
        expect_add(r, &set, i, rx, &out, i == 0 ? IKE_SK_REASM_COMPLETE : IKE_SK_REASM_NEED_MORE);
    const struct ike_pld *v = ike_msg_find(&out, IKE_PLD_VENDOR);
    assert_non_null(v);
    assert_false(v->inside_sk);
    assert_int_equal(v->vendor.data.len, 7);
    v = ike_msg_find_next(v, IKE_PLD_VENDOR);
    assert_non_null(v);
    assert_true(v->inside_sk);
    assert_int_equal(v->vendor.data.len, sizeof(big));
    ike_msg_clear(&out);
    ike_sk_reasm_free(r);
    frag_set_free(&set);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes), cmocka_unit_test(test_fragments_are_full),
        cmocka_unit_test(test_max_len),         cmocka_unit_test(test_duplicates_and_missing),
        cmocka_unit_test(test_forged_fragment), cmocka_unit_test(test_total_fragments_change),
        cmocka_unit_test(test_message_binding), cmocka_unit_test(test_caps),
        cmocka_unit_test(test_misuse),          cmocka_unit_test(test_outer_payloads_in_first_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
