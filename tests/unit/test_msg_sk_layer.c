/* The interface the SK layer builds on: outer decode stopping at SK,
 * decode_inner, encode_inner and encode_outer, with a fake "cipher"
 * (identity) standing in for encryption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_msg.h"
#include "msg_codec.h"

static const uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t SPI_R[8] = {9, 10, 11, 12, 13, 14, 15, 16};
#define IV_LEN 8
#define ICV_LEN 16

static void build_auth_request(struct ike_msg *msg)
{
    uint8_t auth[32];
    memset(auth, 0xa5, sizeof(auth));
    struct ike_ts ts = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535,
                        .end_addr = {255, 255, 255, 255}};
    struct ike_transform x[] = {{IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 256, false, {NULL, 0}},
                                {IKE_TRANS_ESN, IKE_ESN_NO, 0, false, {NULL, 0}}};
    struct ike_proposal prop = {1, IKE_PROTO_ESP, 4, {0xc0, 0, 0, 1}, 2, x};
    struct ike_pld_sa sa = {1, &prop};
    ike_msg_init(msg, SPI_I, SPI_R, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    assert_true(msg->add_inside_sk);
    ike_msg_add_id(msg, IKE_PLD_IDI, IKE_ID_FQDN, (const uint8_t *)"alice", 5);
    ike_msg_add_auth(msg, IKE_AUTH_SHARED_KEY_MIC, auth, sizeof(auth));
    ike_msg_add_notify(msg, IKE_N_INITIAL_CONTACT, NULL, 0);
    ike_msg_add_sa(msg, &sa);
    ike_msg_add_ts(msg, IKE_PLD_TSI, &ts, 1);
    ike_msg_add_ts(msg, IKE_PLD_TSR, &ts, 1);
}

/* Encrypt side: inner -> "ciphertext" (identity) -> outer with the body
 * reserved and filled in place, as the SK layer will do. */
static uint8_t *seal(const struct ike_msg *msg, size_t *len, uint8_t **pt, size_t *pt_len)
{
    struct ike_diag diag = {0};
    uint8_t first = 0;
    assert_int_equal(ike_msg_encode_inner(msg, pt, pt_len, &first, &diag), IKE_OK);
    assert_int_equal(first, IKE_PLD_IDI);
    struct ike_pld_sk sk = {.first_inner = first};
    sk.body.len = IV_LEN + *pt_len + ICV_LEN;
    uint8_t *out;
    size_t body_off;
    assert_int_equal(ike_msg_encode_outer(msg, IKE_PLD_SK, &sk, &out, len, &body_off, &diag),
                     IKE_OK);
    assert_int_equal(body_off, IKE_HDR_LEN + 4);
    assert_int_equal(*len, body_off + sk.body.len);
    /* every length is final already: header length and SK length */
    assert_int_equal(out[27], (uint8_t)*len);
    assert_int_equal(out[IKE_HDR_LEN], IKE_PLD_IDI); /* SK next = first inner */
    assert_int_equal(out[16], IKE_PLD_SK);
    assert_int_equal(out[IKE_HDR_LEN + 3], (uint8_t)(4 + sk.body.len));
    for (size_t i = 0; i < sk.body.len; i++)
        assert_int_equal(out[body_off + i], 0);
    memset(out + body_off, 0x1f, IV_LEN);
    memcpy(out + body_off + IV_LEN, *pt, *pt_len);
    memset(out + body_off + IV_LEN + *pt_len, 0x2e, ICV_LEN);
    return out;
}

static void test_seal_and_open(void **state)
{
    (void)state;
    struct ike_msg msg, dec = {0};
    struct ike_diag diag = {0};
    uint8_t *pt, *wire;
    size_t pt_len, len;
    build_auth_request(&msg);
    wire = seal(&msg, &len, &pt, &pt_len);

    assert_int_equal(ike_msg_decode(&dec, wire, len, &diag), IKE_OK);
    assert_int_equal(dec.n_payloads, 1);
    assert_non_null(dec.sk);
    assert_int_equal(dec.sk->sk.first_inner, IKE_PLD_IDI);
    assert_int_equal(dec.sk->sk.body_off, IKE_HDR_LEN + 4);
    assert_int_equal(ike_msg_check_rules(&dec, &diag), IKE_E_STATE);
    const struct ike_slice *b = &dec.sk->sk.body;
    assert_int_equal(b->len, IV_LEN + pt_len + ICV_LEN);
    assert_int_equal(ike_msg_decode_inner(&dec, b->ptr + IV_LEN, b->len - IV_LEN - ICV_LEN,
                                          dec.sk->sk.first_inner, &diag),
                     IKE_OK);
    assert_true(dec.inner_decoded);
    assert_int_equal(dec.n_payloads, 7);
    for (const struct ike_pld *p = dec.first->next; p; p = p->next)
        assert_true(p->inside_sk);
    assert_false(dec.first->inside_sk);
    assert_int_equal(ike_msg_check_rules(&dec, &diag), IKE_OK);
    const struct ike_pld *id = ike_msg_find(&dec, IKE_PLD_IDI);
    assert_memory_equal(id->id.data.ptr, "alice", 5);
    /* inner offsets point into msg->inner */
    assert_int_equal(id->offset, 0);
    assert_ptr_equal(id->raw.ptr, dec.inner.ptr + 4);
    char line[200];
    assert_string_equal(ike_msg_describe(&dec, line, sizeof(line)),
                        "IKE_AUTH request 1 [ SK { IDi AUTH N(INITIAL_CONTACT) SA TSi TSr } ]");

    /* The decoded message re-encodes to the same bytes (SK body as is),
     * and its inner payloads to the same plaintext. */
    uint8_t *again, *pt2, first;
    size_t again_len, pt2_len;
    assert_int_equal(ike_msg_encode(&dec, &again, &again_len, &diag), IKE_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, wire, len);
    assert_int_equal(ike_msg_encode_inner(&dec, &pt2, &pt2_len, &first, &diag), IKE_OK);
    assert_int_equal(pt2_len, pt_len);
    assert_memory_equal(pt2, pt, pt_len);
    ike_msg_free_buf(again, again_len);
    ike_msg_free_buf(pt2, pt2_len);
    ike_msg_free_buf(pt, pt_len);
    ike_msg_free_buf(wire, len);
    ike_msg_clear(&dec);
    ike_msg_clear(&msg);
}

static void test_writer_api_for_sk_layer(void **state)
{
    (void)state;
    struct ike_msg msg;
    struct ike_diag diag = {0};
    struct ike_wr wr;
    uint8_t first;
    build_auth_request(&msg);
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    ike_wr_u8(&wr, 0x77); /* the SK layer may have written before */
    assert_int_equal(ike_msg_write_inner(&msg, &wr, &first, &diag), IKE_OK);
    assert_int_equal(first, IKE_PLD_IDI);
    assert_int_equal(wr.buf[1], IKE_PLD_AUTH); /* IDi's next payload */
    ike_wr_release(&wr);

    struct ike_pld_sk skf = {.first_inner = IKE_PLD_IDI, .frag_num = 1, .frag_total = 2};
    const uint8_t body[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    skf.body = (struct ike_slice){body, sizeof(body)};
    size_t off;
    ike_wr_init(&wr, IKE_MSG_MAX_LEN);
    assert_int_equal(ike_msg_write_outer(&msg, IKE_PLD_SKF, &skf, &wr, &off, &diag), IKE_OK);
    assert_int_equal(off, IKE_HDR_LEN + 8);
    assert_int_equal(wr.len, off + sizeof(body));
    assert_memory_equal(wr.buf + off, body, sizeof(body));
    struct ike_msg dec = {0};
    assert_int_equal(ike_msg_decode(&dec, wr.buf, wr.len, &diag), IKE_OK);
    assert_int_equal(dec.sk->sk.frag_num, 1);
    assert_int_equal(dec.sk->sk.frag_total, 2);
    assert_int_equal(dec.sk->sk.first_inner, IKE_PLD_IDI);
    ike_msg_clear(&dec);
    ike_wr_release(&wr);
    ike_msg_clear(&msg);
}

static void test_empty_informational(void **state)
{
    (void)state;
    struct ike_msg msg, dec = {0};
    struct ike_diag diag = {0};
    uint8_t *pt, *wire, first = 99;
    size_t pt_len, len;
    ike_msg_init(&msg, SPI_I, SPI_R, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 5);
    assert_int_equal(ike_msg_encode_inner(&msg, &pt, &pt_len, &first, &diag), IKE_OK);
    assert_int_equal(first, IKE_PLD_NONE);
    assert_int_equal(pt_len, 0);
    struct ike_pld_sk sk = {.first_inner = first, .body = {NULL, 24}};
    assert_int_equal(ike_msg_encode_outer(&msg, IKE_PLD_SK, &sk, &wire, &len, NULL, &diag),
                     IKE_OK);
    assert_int_equal(ike_msg_decode(&dec, wire, len, &diag), IKE_OK);
    assert_int_equal(ike_msg_decode_inner(&dec, NULL, 0, IKE_PLD_NONE, &diag), IKE_OK);
    assert_int_equal(ike_msg_check_rules(&dec, &diag), IKE_OK);
    ike_msg_clear(&dec);
    ike_msg_free_buf(pt, pt_len);
    ike_msg_free_buf(wire, len);
    ike_msg_clear(&msg);
}

static void test_misuse(void **state)
{
    (void)state;
    struct ike_msg msg, dec = {0};
    struct ike_diag diag = {0};
    uint8_t *out;
    size_t len;
    build_auth_request(&msg);
    assert_int_equal(ike_msg_encode(&msg, &out, &len, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "6 payloads marked inside SK but no SK payload"));
    struct ike_pld_sk sk = {.body = {NULL, 4}};
    assert_int_equal(ike_msg_encode_outer(&msg, IKE_PLD_NONCE, &sk, &out, &len, NULL, &diag),
                     IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "payload type 40 is not SK/SKF"));
    sk.frag_num = 1;
    assert_int_equal(ike_msg_encode_outer(&msg, IKE_PLD_SK, &sk, &out, &len, NULL, &diag),
                     IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "SK payload with fragment number 1/0"));
    ike_msg_clear(&msg);

    /* decode_inner needs an SK payload, and runs once */
    uint8_t frame[64];
    size_t n = helper_msg_frame(frame, sizeof(frame), IKE_EXCH_IKE_SA_INIT, 0, false, 0, NULL, 0);
    assert_int_equal(ike_msg_decode(&dec, frame, n, &diag), IKE_OK);
    assert_int_equal(ike_msg_decode_inner(&dec, frame, 4, IKE_PLD_NONCE, &diag),
                     IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "no SK payload"));
    ike_msg_clear(&dec);
    uint8_t pld[32];
    const uint8_t body[16] = {0};
    size_t pl = helper_msg_pld(pld, IKE_PLD_NONE, 0, body, sizeof(body));
    n = helper_msg_frame(frame, sizeof(frame), IKE_EXCH_INFORMATIONAL, 0, true, IKE_PLD_SK, pld,
                         pl);
    assert_int_equal(ike_msg_decode(&dec, frame, n, &diag), IKE_OK);
    assert_int_equal(ike_msg_decode_inner(&dec, NULL, 0, IKE_PLD_NONE, &diag), IKE_OK);
    assert_int_equal(ike_msg_decode_inner(&dec, NULL, 0, IKE_PLD_NONE, &diag), IKE_E_INVALID_ARG);
    assert_non_null(strstr(diag.reason, "already called"));
    ike_msg_clear(&dec);
}

static void test_inner_chain_errors(void **state)
{
    (void)state;
    uint8_t frame[64], pld[32], inner[64];
    const uint8_t body[16] = {0};
    struct ike_diag diag = {0};
    size_t pl = helper_msg_pld(pld, IKE_PLD_NOTIFY, 0, body, sizeof(body));
    size_t n = helper_msg_frame(frame, sizeof(frame), IKE_EXCH_INFORMATIONAL, 0, true,
                                IKE_PLD_SK, pld, pl);
    struct {
        const char *hex;
        uint8_t first;
        enum ike_status st;
        const char *reason;
    } cases[] = {
        {"00 00 0008 00000000", IKE_PLD_SK, IKE_E_MALFORMED, "SK payload inside SK"},
        {"00 00 0008 00004000 00", IKE_PLD_NOTIFY, IKE_E_MALFORMED,
         "1 octets after the last payload (N)"},
        {"2a 00 0008 00004000", IKE_PLD_NOTIFY, IKE_E_MALFORMED,
         "D payload (type 42): 0 octets left < generic header 4"},
        {"00 80 0005 00", 200, IKE_E_CRITICAL, "unknown payload type 200 with critical bit"},
        {"00 00 0009 00004000", IKE_PLD_NOTIFY, IKE_E_MALFORMED,
         "N payload length 9 > 8 octets remaining"},
        {"00", IKE_PLD_NONE, IKE_E_MALFORMED, "1 octets after the last payload (none)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ike_msg dec = {0};
        size_t il = helper_msg_hex(cases[i].hex, inner, sizeof(inner));
        assert_int_equal(ike_msg_decode(&dec, frame, n, &diag), IKE_OK);
        enum ike_status st = ike_msg_decode_inner(&dec, inner, il, cases[i].first, &diag);
        if (st != cases[i].st || !strstr(diag.reason, cases[i].reason))
            print_error("case %zu: %s \"%s\"\n", i, ike_status_str(st), diag.reason);
        assert_int_equal(st, cases[i].st);
        assert_non_null(strstr(diag.reason, cases[i].reason));
        if (st == IKE_E_CRITICAL)
            assert_int_equal(diag.payload_type, 200);
        ike_msg_clear(&dec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_and_open),
        cmocka_unit_test(test_writer_api_for_sk_layer),
        cmocka_unit_test(test_empty_informational),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_inner_chain_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
