/*
 * The SK payload layer: protect -> decode -> unprotect round trips for
 * every suite, tampering anywhere in the datagram, malformed bodies (with
 * their reasons), padding rules, the empty INFORMATIONAL, and the real
 * strongSwan captures decrypted with their logged keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/sk.h>

#include "helper_msg.h"
#include "helper_sk.h"

/* Protects msg with a fresh cipher (seed 1) of s; returns the datagram. */
static uint8_t *protect(const struct ike_msg *msg, struct ike_sk_cipher *c, size_t *len)
{
    uint8_t *out = NULL;
    struct ike_diag diag = {0};
    enum ike_status st = ike_sk_protect(msg, c, &out, len, &diag);
    if (st != IKE_OK)
        fail_msg("protect: %s (%s)", ike_status_str(st), diag.reason);
    return out;
}

static void decode_ok(struct ike_msg *msg, const uint8_t *data, size_t len)
{
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_decode(msg, data, len, &diag);
    if (st != IKE_OK)
        fail_msg("decode: %s (%s)", ike_status_str(st), diag.reason);
}

static enum ike_status unprotect(const uint8_t *data, size_t len, struct ike_sk_cipher *c,
                                 struct ike_msg *msg, struct ike_diag *diag)
{
    decode_ok(msg, data, len);
    return ike_sk_unprotect(msg, c, diag);
}

static void roundtrip_suite(const struct helper_sk_suite *s)
{
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 1);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 1);
    struct ike_msg msg, got = {0};
    struct ike_diag diag = {0};
    helper_sk_auth_request(&msg, 1, 100);
    size_t len = 0;
    uint8_t *wire = protect(&msg, tx, &len);

    enum ike_status st = unprotect(wire, len, rx, &got, &diag);
    if (st != IKE_OK)
        fail_msg("%s: unprotect: %s (%s)", s->name, ike_status_str(st), diag.reason);
    assert_true(got.inner_decoded);
    assert_int_equal(got.hdr.exchange, IKE_EXCH_IKE_AUTH);
    assert_int_equal(got.hdr.message_id, 1);
    assert_int_equal(got.hdr.length, len);
    assert_int_equal(got.sk->type, IKE_PLD_SK);
    assert_int_equal(got.sk->sk.first_inner, IKE_PLD_IDI);
    assert_int_equal(ike_msg_check_rules(&got, &diag), IKE_OK);
    helper_sk_assert_same_inner(&msg, &got);

    /* Layout: IV | whole blocks | ICV with the minimum padding. */
    size_t iv = ike_sk_cipher_iv_len(rx), icv = ike_sk_cipher_icv_len(rx);
    size_t block = ike_sk_cipher_block_len(rx);
    size_t ct = got.sk->sk.body.len - iv - icv;
    assert_int_equal(ct % block, 0);
    assert_true(ct >= got.inner.len + 1 && ct - got.inner.len - 1 < block);

    ike_msg_clear(&got);
    ike_msg_clear(&msg);
    ike_msg_free_buf(wire, len);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

static void test_roundtrip_all_suites(void **state)
{
    (void)state;
    for (size_t i = 0; i < helper_sk_n_suites; i++)
        roundtrip_suite(&helper_sk_suites[i]);
}

/* Every inner size 0..40 to cross block boundaries for every padding length. */
static void test_roundtrip_every_pad_length(void **state)
{
    (void)state;
    const struct helper_sk_suite *s = helper_sk_suite("aes128-sha256");
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 3);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 3);
    uint8_t data[40];
    memset(data, 0x5a, sizeof(data));
    for (size_t n = 0; n <= sizeof(data); n++) {
        struct ike_msg msg, got = {0};
        struct ike_diag diag = {0};
        ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", (const uint8_t *)"IJKLMNOP",
                     IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 7);
        if (n)
            assert_non_null(ike_msg_add_vendor(&msg, data, n));
        size_t len = 0;
        uint8_t *wire = protect(&msg, tx, &len);
        assert_int_equal(unprotect(wire, len, rx, &got, &diag), IKE_OK);
        assert_int_equal(got.inner.len, n ? n + 4 : 0);
        helper_sk_assert_same_inner(&msg, &got);
        ike_msg_clear(&got);
        ike_msg_clear(&msg);
        ike_msg_free_buf(wire, len);
    }
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

static void test_fresh_iv_per_message(void **state)
{
    (void)state;
    const char *names[] = {"aes256-sha256", "aes256gcm16", "chacha20poly1305"};
    for (size_t i = 0; i < 3; i++) {
        struct ike_sk_cipher *tx = helper_sk_cipher(helper_sk_suite(names[i]), 9);
        struct ike_msg msg;
        helper_sk_auth_request(&msg, 1, 0);
        size_t l1 = 0, l2 = 0;
        uint8_t *a = protect(&msg, tx, &l1);
        uint8_t *b = protect(&msg, tx, &l2);
        assert_int_equal(l1, l2);
        /* Same plaintext, so the bodies must differ from the IV on. */
        assert_memory_not_equal(a + 32, b + 32, ike_sk_cipher_iv_len(tx));
        assert_memory_not_equal(a + 32 + ike_sk_cipher_iv_len(tx),
                                b + 32 + ike_sk_cipher_iv_len(tx), 16);
        ike_msg_free_buf(a, l1);
        ike_msg_free_buf(b, l2);
        ike_msg_clear(&msg);
        ike_sk_cipher_free(tx);
    }
}

/* Flips each bit position 0x01 and 0x80 of every octet in turn: the result
 * is either refused by the decoder or fails integrity, never decrypts. */
static void tamper_suite(const struct helper_sk_suite *s)
{
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 5);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 5);
    struct ike_msg msg;
    helper_sk_auth_request(&msg, 3, 0);
    size_t len = 0;
    uint8_t *wire = protect(&msg, tx, &len);
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    size_t integrity = 0;
    for (size_t off = 0; off < len; off++) {
        for (unsigned bit = 0x01; bit <= 0x80; bit <<= 7) {
            struct ike_msg got = {0};
            struct ike_diag diag = {0};
            memcpy(bad, wire, len);
            bad[off] ^= (uint8_t)bit;
            if (ike_msg_decode(&got, bad, len, &diag) == IKE_OK && got.sk) {
                enum ike_status st = ike_sk_unprotect(&got, rx, &diag);
                if (st != IKE_E_INTEGRITY)
                    fail_msg("%s: flip 0x%02x at %zu gave %s (%s)", s->name, bit, off,
                             ike_status_str(st), diag.reason);
                assert_false(got.inner_decoded);
                assert_int_equal(got.n_payloads, 1);
                integrity++;
            }
            ike_msg_clear(&got);
        }
    }
    /* Flips the decoder accepts must include header (message ID), the SK
     * header's Next Payload, IV, ciphertext and ICV: most positions. */
    assert_true(integrity > len);
    ike_msg_free_buf(wire, len);
    free(bad);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

static void expect_integrity_at(const struct helper_sk_suite *s, const char *what,
                                size_t (*where)(size_t len, size_t body_off, size_t iv, size_t icv))
{
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 6);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 6);
    struct ike_msg msg, got = {0};
    struct ike_diag diag = {0};
    helper_sk_auth_request(&msg, 4, 0);
    size_t len = 0;
    uint8_t *wire = protect(&msg, tx, &len);
    size_t body_off = IKE_HDR_LEN + IKE_GENERIC_HDR_LEN;
    size_t off = where(len, body_off, ike_sk_cipher_iv_len(rx), ike_sk_cipher_icv_len(rx));
    wire[off] ^= 0x01;
    enum ike_status st = unprotect(wire, len, rx, &got, &diag);
    if (st != IKE_E_INTEGRITY)
        fail_msg("%s: tampered %s (octet %zu): %s", s->name, what, off, ike_status_str(st));
    assert_non_null(strstr(diag.reason, "ICV"));
    ike_msg_clear(&got);
    ike_msg_clear(&msg);
    ike_msg_free_buf(wire, len);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

static size_t at_msgid(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)len, (void)body_off, (void)iv, (void)icv;
    return 23; /* last octet of the Message ID */
}
static size_t at_spi(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)len, (void)body_off, (void)iv, (void)icv;
    return 3;
}
static size_t at_sk_next(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)len, (void)iv, (void)icv;
    return body_off - IKE_GENERIC_HDR_LEN; /* IDi -> 34 (KE) */
}
static size_t at_iv(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)len, (void)iv, (void)icv;
    return body_off + 1;
}
static size_t at_ct(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)len, (void)icv;
    return body_off + iv + 2;
}
static size_t at_ct_last(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)body_off, (void)iv;
    return len - icv - 1;
}
static size_t at_icv(size_t len, size_t body_off, size_t iv, size_t icv)
{
    (void)body_off, (void)iv, (void)icv;
    return len - 1;
}

static void test_tampering(void **state)
{
    (void)state;
    const char *names[] = {"aes128-sha1", "aes256-sha512", "aes128gcm16", "chacha20poly1305"};
    for (size_t i = 0; i < 4; i++) {
        const struct helper_sk_suite *s = helper_sk_suite(names[i]);
        expect_integrity_at(s, "message ID", at_msgid);
        expect_integrity_at(s, "SPI", at_spi);
        expect_integrity_at(s, "SK next payload", at_sk_next);
        expect_integrity_at(s, "IV", at_iv);
        expect_integrity_at(s, "ciphertext", at_ct);
        expect_integrity_at(s, "last ciphertext octet", at_ct_last);
        expect_integrity_at(s, "ICV", at_icv);
        tamper_suite(s);
    }
}

/* The wrong key (the other direction's) must fail integrity too. */
static void test_wrong_key(void **state)
{
    (void)state;
    const struct helper_sk_suite *s = helper_sk_suite("aes256gcm16");
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 1);
    struct ike_sk_cipher *other = helper_sk_cipher(s, 2);
    struct ike_msg msg, got = {0};
    struct ike_diag diag = {0};
    helper_sk_auth_request(&msg, 1, 0);
    size_t len = 0;
    uint8_t *wire = protect(&msg, tx, &len);
    assert_int_equal(unprotect(wire, len, other, &got, &diag), IKE_E_INTEGRITY);
    assert_false(got.inner_decoded);
    ike_msg_clear(&got);
    ike_msg_clear(&msg);
    ike_msg_free_buf(wire, len);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(other);
}

/* A datagram whose SK body is given octet by octet (not sealed). */
static uint8_t *frame_body(const uint8_t *body, size_t body_len, size_t *len, size_t *body_off)
{
    struct ike_msg msg;
    struct ike_diag diag = {0};
    uint8_t *out = NULL;
    ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", (const uint8_t *)"IJKLMNOP",
                 IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 2);
    struct ike_pld_sk sk = {.first_inner = IKE_PLD_NONE, .body = {body, body_len}};
    enum ike_status st = ike_msg_encode_outer(&msg, IKE_PLD_SK, &sk, &out, len, body_off, &diag);
    if (st != IKE_OK)
        fail_msg("encode_outer: %s", diag.reason);
    ike_msg_clear(&msg);
    return out;
}

static void expect_malformed_body(const char *suite, size_t body_len, const char *reason)
{
    struct ike_sk_cipher *rx = helper_sk_cipher(helper_sk_suite(suite), 1);
    uint8_t body[256];
    memset(body, 0x33, sizeof(body));
    assert_true(body_len <= sizeof(body));
    size_t len = 0, off = 0;
    uint8_t *wire = frame_body(body, body_len, &len, &off);
    struct ike_msg got = {0};
    struct ike_diag diag = {0};
    enum ike_status st = unprotect(wire, len, rx, &got, &diag);
    if (st != IKE_E_MALFORMED || !strstr(diag.reason, reason))
        fail_msg("%s body %zu: %s (%s), want \"%s\"", suite, body_len, ike_status_str(st),
                 diag.reason, reason);
    assert_false(got.inner_decoded);
    ike_msg_clear(&got);
    ike_msg_free_buf(wire, len);
    ike_sk_cipher_free(rx);
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    /* CBC: IV 16 + ICV 16 + one block 16 = 48 at least. */
    expect_malformed_body("aes128-sha256", 1, "SK body 1 octets < IV 16 + ICV 16 + one block 16");
    expect_malformed_body("aes128-sha256", 47, "SK body 47 octets < IV 16 + ICV 16 + one block 16");
    expect_malformed_body("aes128-sha256", 49,
                          "encrypted data 17 octets not a multiple of block "
                          "length 16");
    expect_malformed_body("aes256-sha512", 16 + 32 + 24, "encrypted data 24 octets");
    /* AEAD: IV 8 + ICV 16 + at least the Pad Length octet. */
    expect_malformed_body("aes256gcm16", 24, "SK body 24 octets < IV 8 + ICV 16 + one block 1");
    expect_malformed_body("chacha20poly1305", 10, "SK body 10 octets < IV 8 + ICV 16");
}

/* Seals pt (already padded by the caller) as the SK body of a message. */
static uint8_t *seal_raw(struct ike_sk_cipher *c, uint8_t first, const uint8_t *pt, size_t pt_len,
                         size_t *len)
{
    size_t iv = ike_sk_cipher_iv_len(c), icv = ike_sk_cipher_icv_len(c);
    size_t off = 0;
    struct ike_msg msg;
    struct ike_diag diag = {0};
    uint8_t *out = NULL;
    ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", (const uint8_t *)"IJKLMNOP",
                 IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 2);
    struct ike_pld_sk sk = {.first_inner = first, .body = {NULL, iv + pt_len + icv}};
    assert_int_equal(ike_msg_encode_outer(&msg, IKE_PLD_SK, &sk, &out, len, &off, &diag), IKE_OK);
    assert_int_equal(ike_sk_cipher_next_iv(c, out + off), IKE_OK);
    assert_int_equal(ike_sk_cipher_seal(c, out, off, out + off, pt, pt_len, out + off + iv,
                                        out + off + iv + pt_len),
                     IKE_OK);
    ike_msg_clear(&msg);
    return out;
}

static void expect_pad(const char *suite, const uint8_t *pt, size_t pt_len, uint8_t first,
                       enum ike_status want, const char *reason)
{
    const struct helper_sk_suite *s = helper_sk_suite(suite);
    struct ike_sk_cipher *tx = helper_sk_cipher(s, 4);
    struct ike_sk_cipher *rx = helper_sk_cipher(s, 4);
    size_t len = 0;
    uint8_t *wire = seal_raw(tx, first, pt, pt_len, &len);
    struct ike_msg got = {0};
    struct ike_diag diag = {0};
    enum ike_status st = unprotect(wire, len, rx, &got, &diag);
    if (st != want || (reason && !strstr(diag.reason, reason)))
        fail_msg("%s: %s (%s), want %s \"%s\"", suite, ike_status_str(st), diag.reason,
                 ike_status_str(want), reason ? reason : "");
    if (want == IKE_OK && first == IKE_PLD_VENDOR) {
        assert_true(got.inner_decoded);
        assert_int_equal(ike_msg_count(&got, IKE_PLD_VENDOR), 1);
    }
    ike_msg_clear(&got);
    ike_msg_free_buf(wire, len);
    ike_sk_cipher_free(tx);
    ike_sk_cipher_free(rx);
}

static void test_pad_length(void **state)
{
    (void)state;
    uint8_t pt[64];
    /* Pad Length 16 in a 16-octet CBC plaintext: only 15 octets precede it. */
    memset(pt, 0, sizeof(pt));
    pt[15] = 16;
    expect_pad("aes128-sha256", pt, 16, IKE_PLD_NONE, IKE_E_MALFORMED,
               "SK pad length 16 > 15 octets before it");
    pt[15] = 255;
    expect_pad("aes128-sha256", pt, 16, IKE_PLD_NONE, IKE_E_MALFORMED, "SK pad length 255 > 15");
    /* AEAD: 5 octets, Pad Length 9. */
    memset(pt, 0, sizeof(pt));
    pt[4] = 9;
    expect_pad("aes256gcm16", pt, 5, IKE_PLD_NONE, IKE_E_MALFORMED,
               "SK pad length 9 > 4 octets before it");
    /* Pad Length 15 with nothing before the padding: an empty message. */
    memset(pt, 0xee, sizeof(pt));
    pt[15] = 15;
    expect_pad("aes128-sha1", pt, 16, IKE_PLD_NONE, IKE_OK, NULL);

    /* More padding than needed, arbitrary content: V (8 octets) + 39
     * octets of padding + Pad Length 39 = three CBC blocks. */
    static const uint8_t vendor[] = {0, 0, 0, 8, 'a', 'b', 'c', 'd'};
    memset(pt, 0xc3, sizeof(pt));
    memcpy(pt, vendor, sizeof(vendor));
    pt[47] = 39;
    expect_pad("aes256-sha256", pt, 48, IKE_PLD_VENDOR, IKE_OK, NULL);
    /* AEAD with padding although the block length is 1. */
    pt[20] = 12;
    expect_pad("chacha20poly1305", pt, 21, IKE_PLD_VENDOR, IKE_OK, NULL);
    /* Padding eating into the payload: the inner chain is then cut short. */
    pt[20] = 13;
    expect_pad("chacha20poly1305", pt, 21, IKE_PLD_VENDOR, IKE_E_MALFORMED, "V payload");
}

static void test_empty_informational(void **state)
{
    (void)state;
    const char *names[] = {"aes128-sha256", "aes256gcm16", "chacha20poly1305"};
    for (size_t i = 0; i < 3; i++) {
        const struct helper_sk_suite *s = helper_sk_suite(names[i]);
        struct ike_sk_cipher *tx = helper_sk_cipher(s, 8);
        struct ike_sk_cipher *rx = helper_sk_cipher(s, 8);
        struct ike_msg msg, got = {0};
        struct ike_diag diag = {0};
        ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", (const uint8_t *)"IJKLMNOP",
                     IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 12);
        size_t len = 0;
        uint8_t *wire = protect(&msg, tx, &len);
        size_t block = ike_sk_cipher_block_len(tx);
        assert_int_equal(len, IKE_HDR_LEN + IKE_GENERIC_HDR_LEN + ike_sk_cipher_iv_len(tx) + block +
                                  ike_sk_cipher_icv_len(tx));
        assert_int_equal(unprotect(wire, len, rx, &got, &diag), IKE_OK);
        assert_true(got.inner_decoded);
        assert_int_equal(got.sk->sk.first_inner, IKE_PLD_NONE);
        assert_int_equal(got.n_payloads, 1);
        assert_int_equal(got.inner.len, 0);
        assert_int_equal(ike_msg_check_rules(&got, &diag), IKE_OK);
        ike_msg_clear(&got);
        ike_msg_clear(&msg);
        ike_msg_free_buf(wire, len);
        ike_sk_cipher_free(tx);
        ike_sk_cipher_free(rx);
    }
}

static void test_misuse(void **state)
{
    (void)state;
    const struct helper_sk_suite *s = helper_sk_suite("aes128gcm16");
    struct ike_sk_cipher *c = helper_sk_cipher(s, 1);
    struct ike_msg msg, got = {0};
    struct ike_diag diag = {0};
    uint8_t *out = NULL;
    size_t len = 0;

    ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR,
                 0);
    assert_int_equal(ike_sk_protect(&msg, c, &out, &len, &diag), IKE_E_INVALID_ARG);
    assert_null(out);
    ike_msg_clear(&msg);

    /* Unprotect twice, and on a message without SK. */
    helper_sk_auth_request(&msg, 1, 0);
    out = protect(&msg, c, &len);
    assert_int_equal(unprotect(out, len, c, &got, &diag), IKE_OK);
    assert_int_equal(ike_sk_unprotect(&got, c, &diag), IKE_E_INVALID_ARG);
    ike_msg_clear(&got);
    ike_msg_free_buf(out, len);
    ike_msg_clear(&msg);

    ike_msg_init(&msg, (const uint8_t *)"ABCDEFGH", NULL, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR,
                 0);
    assert_non_null(ike_msg_add_notify(&msg, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0));
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_OK);
    decode_ok(&got, out, len);
    assert_int_equal(ike_sk_unprotect(&got, c, &diag), IKE_E_INVALID_ARG);
    ike_msg_clear(&got);
    ike_msg_free_buf(out, len);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(c);
}

/* ---- strongSwan captures ------------------------------------------------ */

struct sw_suite {
    const char *dir;
    uint16_t encr, bits, integ;
};

static bool read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    *len = fread(buf, 1, cap, f);
    bool ok = !ferror(f) && *len < cap;
    fclose(f);
    return ok;
}

/* Hex value of `key = ...` in values.txt; returns its length in octets. */
static size_t sw_value(const char *dir, const char *key, uint8_t *out, size_t cap)
{
    char path[512], line[1024];
    snprintf(path, sizeof(path), "%s/strongswan/%s/values.txt", IKE_FIXTURES_DIR, dir);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    size_t klen = strlen(key), n = 0;
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) != 0 || strncmp(line + klen, " =", 2) != 0)
            continue;
        n = helper_msg_hex(line + klen + 2, out, cap);
        found = true;
    }
    fclose(f);
    if (!found)
        fail_msg("%s: no %s", path, key);
    return n;
}

static struct ike_sk_cipher *sw_cipher(const struct sw_suite *s, bool from_initiator)
{
    uint8_t ek[64], ak[64];
    size_t el = sw_value(s->dir, from_initiator ? "sk_ei" : "sk_er", ek, sizeof(ek));
    size_t al = sw_value(s->dir, from_initiator ? "sk_ai" : "sk_ar", ak, sizeof(ak));
    struct ike_sk_cipher *c = NULL;
    struct ike_diag diag = {0};
    enum ike_status st =
        ike_sk_cipher_new(s->encr, s->bits, s->integ, ek, el, al ? ak : NULL, al, &c, &diag);
    if (st != IKE_OK)
        fail_msg("%s cipher: %s", s->dir, diag.reason);
    return c;
}

static const char *const sw_messages[] = {
    "02_IKE_AUTH_req",         "03_IKE_AUTH_resp",      "04_CREATE_CHILD_SA_req",
    "05_CREATE_CHILD_SA_resp", "06_INFORMATIONAL_req",  "07_INFORMATIONAL_resp",
    "08_INFORMATIONAL_req",    "09_INFORMATIONAL_resp",
};

/* Decrypts, checks the rules, and re-protects + decrypts again with our
 * own padding to show the inner chain survives our encoder. */
static void sw_message(const struct sw_suite *s, const char *name, struct ike_sk_cipher *ci,
                       struct ike_sk_cipher *cr)
{
    char path[512];
    uint8_t buf[4096];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/strongswan/%s/messages/%s.bin", IKE_FIXTURES_DIR, s->dir,
             name);
    if (!read_file(path, buf, sizeof(buf), &len))
        fail_msg("cannot read %s", path);
    struct ike_msg msg = {0}, again = {0};
    struct ike_diag diag = {0};
    decode_ok(&msg, buf, len);
    struct ike_sk_cipher *c = (msg.hdr.flags & IKE_FLAG_INITIATOR) ? ci : cr;
    enum ike_status st = ike_sk_unprotect(&msg, c, &diag);
    if (st != IKE_OK)
        fail_msg("%s/%s: %s (%s)", s->dir, name, ike_status_str(st), diag.reason);
    st = ike_msg_check_rules(&msg, &diag);
    if (st != IKE_OK)
        fail_msg("%s/%s rules: %s", s->dir, name, diag.reason);
    char desc[256];
    print_message("%s: %s\n", name, ike_msg_describe(&msg, desc, sizeof(desc)));

    uint8_t *wire = NULL;
    size_t wlen = 0;
    assert_int_equal(ike_sk_protect(&msg, c, &wire, &wlen, &diag), IKE_OK);
    decode_ok(&again, wire, wlen);
    assert_int_equal(ike_sk_unprotect(&again, c, &diag), IKE_OK);
    helper_sk_assert_same_inner(&msg, &again);
    ike_msg_clear(&again);
    ike_msg_free_buf(wire, wlen);
    ike_msg_clear(&msg);
}

static void sw_suite_run(const struct sw_suite *s)
{
    struct ike_sk_cipher *ci = sw_cipher(s, true);
    struct ike_sk_cipher *cr = sw_cipher(s, false);
    for (size_t i = 0; i < sizeof(sw_messages) / sizeof(sw_messages[0]); i++)
        sw_message(s, sw_messages[i], ci, cr);
    ike_sk_cipher_free(ci);
    ike_sk_cipher_free(cr);
}

static void test_strongswan_cbc(void **state)
{
    (void)state;
    static const struct sw_suite s = {"aes256-sha512-ecp521", IKE_ENCR_AES_CBC, 256,
                                      IKE_INTEG_HMAC_SHA2_512_256};
    sw_suite_run(&s);
}

static void test_strongswan_gcm(void **state)
{
    (void)state;
    static const struct sw_suite s = {"aes256gcm16-prfsha512-ecp521", IKE_ENCR_AES_GCM_16, 256,
                                      IKE_INTEG_NONE};
    sw_suite_run(&s);
}

/* The responder's message decrypted with the initiator's key fails. */
static void test_strongswan_wrong_direction(void **state)
{
    (void)state;
    static const struct sw_suite s = {"aes256gcm16-prfsha512-ecp521", IKE_ENCR_AES_GCM_16, 256,
                                      IKE_INTEG_NONE};
    struct ike_sk_cipher *ci = sw_cipher(&s, true);
    char path[512];
    uint8_t buf[4096];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/strongswan/%s/messages/03_IKE_AUTH_resp.bin", IKE_FIXTURES_DIR,
             s.dir);
    assert_true(read_file(path, buf, sizeof(buf), &len));
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    decode_ok(&msg, buf, len);
    assert_int_equal(ike_sk_unprotect(&msg, ci, &diag), IKE_E_INTEGRITY);
    ike_msg_clear(&msg);
    ike_sk_cipher_free(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_suites),
        cmocka_unit_test(test_roundtrip_every_pad_length),
        cmocka_unit_test(test_fresh_iv_per_message),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_pad_length),
        cmocka_unit_test(test_empty_informational),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_strongswan_cbc),
        cmocka_unit_test(test_strongswan_gcm),
        cmocka_unit_test(test_strongswan_wrong_direction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
