#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_hex.h"
#include "helper_msg.h"

size_t helper_msg_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_true(helper_hex_decode(hex, out, cap, &n));
    return n;
}

size_t helper_msg_pld(uint8_t *out, uint8_t next, uint8_t flags, const uint8_t *body, size_t len)
{
    out[0] = next;
    out[1] = flags;
    out[2] = (uint8_t)((len + 4) >> 8);
    out[3] = (uint8_t)(len + 4);
    if (len)
        memcpy(out + 4, body, len);
    return len + 4;
}

size_t helper_msg_frame(uint8_t *out, size_t cap, uint8_t exchange, uint8_t flags, bool spi_r,
                        uint8_t first, const uint8_t *plds, size_t plds_len)
{
    size_t len = IKE_HDR_LEN + plds_len;
    assert_true(len <= cap);
    memset(out, 0, IKE_HDR_LEN);
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(i + 1);
        out[8 + i] = spi_r ? (uint8_t)(0x11 + i) : 0;
    }
    out[16] = first;
    out[17] = IKE_VERSION_2;
    out[18] = exchange;
    out[19] = flags;
    out[24] = (uint8_t)(len >> 24);
    out[25] = (uint8_t)(len >> 16);
    out[26] = (uint8_t)(len >> 8);
    out[27] = (uint8_t)len;
    if (plds_len)
        memcpy(out + IKE_HDR_LEN, plds, plds_len);
    return len;
}

void helper_msg_expect_fail(const uint8_t *data, size_t len, enum ike_status want,
                            const char *substr)
{
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_decode(&msg, data, len, &diag);
    if (st != want || !strstr(diag.reason, substr))
        print_error("status %s (want %s), reason \"%s\" (want \"%s\")\n", ike_status_str(st),
                    ike_status_str(want), diag.reason, substr);
    assert_int_equal(st, want);
    assert_int_equal(diag.status, want);
    assert_non_null(strstr(diag.reason, substr));
    ike_msg_clear(&msg);
}

static size_t pld_frame(uint8_t *buf, size_t cap, uint8_t type, bool response,
                        const uint8_t *body, size_t len)
{
    uint8_t *pld = malloc(len + 4);
    assert_non_null(pld);
    size_t plen = helper_msg_pld(pld, IKE_PLD_NONE, 0, body, len);
    size_t n = helper_msg_frame(buf, cap, IKE_EXCH_IKE_SA_INIT,
                                response ? IKE_FLAG_RESPONSE : IKE_FLAG_INITIATOR, response,
                                type, pld, plen);
    free(pld);
    return n;
}

void helper_msg_pld_fail(uint8_t type, bool response, const uint8_t *body, size_t len,
                         enum ike_status want, const char *substr)
{
    size_t cap = len + 64;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = pld_frame(buf, cap, type, response, body, len);
    helper_msg_expect_fail(buf, n, want, substr);
    free(buf);
}

const struct ike_pld *helper_msg_pld_ok(struct ike_msg *msg, uint8_t type, bool response,
                                        const uint8_t *body, size_t len)
{
    size_t cap = len + 64;
    uint8_t *buf = malloc(cap);
    struct ike_diag diag = {0};
    assert_non_null(buf);
    size_t n = pld_frame(buf, cap, type, response, body, len);
    enum ike_status st = ike_msg_decode(msg, buf, n, &diag);
    if (st != IKE_OK)
        print_error("decode: %s: %s\n", ike_status_str(st), diag.reason);
    assert_int_equal(st, IKE_OK);
    /* The decoded message owns a copy: the input may go. */
    memset(buf, 0xee, n);
    free(buf);
    assert_int_equal(msg->n_payloads, 1);
    assert_int_equal(msg->first->type, type);
    helper_msg_roundtrip(msg->raw.ptr, msg->raw.len);
    return msg->first;
}

void helper_msg_roundtrip(const uint8_t *data, size_t len)
{
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    uint8_t *out = NULL;
    size_t out_len = 0;
    enum ike_status st = ike_msg_decode(&msg, data, len, &diag);
    if (st != IKE_OK)
        print_error("decode: %s: %s\n", ike_status_str(st), diag.reason);
    assert_int_equal(st, IKE_OK);
    st = ike_msg_encode(&msg, &out, &out_len, &diag);
    if (st != IKE_OK)
        print_error("encode: %s: %s\n", ike_status_str(st), diag.reason);
    assert_int_equal(st, IKE_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, data, len);
    ike_msg_free_buf(out, out_len);
    ike_msg_clear(&msg);
}

void helper_msg_reencode(const struct ike_msg *msg, struct ike_msg *out)
{
    struct ike_diag diag = {0};
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    enum ike_status st = ike_msg_encode(msg, &b1, &l1, &diag);
    if (st != IKE_OK)
        print_error("encode: %s: %s\n", ike_status_str(st), diag.reason);
    assert_int_equal(st, IKE_OK);
    memset(out, 0, sizeof(*out));
    st = ike_msg_decode(out, b1, l1, &diag);
    if (st != IKE_OK)
        print_error("decode: %s: %s\n", ike_status_str(st), diag.reason);
    assert_int_equal(st, IKE_OK);
    st = ike_msg_encode(out, &b2, &l2, &diag);
    assert_int_equal(st, IKE_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    ike_msg_free_buf(b1, l1);
    ike_msg_free_buf(b2, l2);
}

void helper_bytes_raw(struct helper_bytes *v, const void *p, size_t n)
{
    assert_true(n <= sizeof(v->b) - v->n);
    if (n)
        memcpy(v->b + v->n, p, n);
    v->n += n;
}

void helper_bytes_u8(struct helper_bytes *v, uint8_t x)
{
    helper_bytes_raw(v, &x, 1);
}

void helper_bytes_u16(struct helper_bytes *v, uint16_t x)
{
    uint8_t b[2] = {(uint8_t)(x >> 8), (uint8_t)x};
    helper_bytes_raw(v, b, 2);
}

void helper_bytes_u32(struct helper_bytes *v, uint32_t x)
{
    helper_bytes_u16(v, (uint16_t)(x >> 16));
    helper_bytes_u16(v, (uint16_t)x);
}

void helper_bytes_hex(struct helper_bytes *v, const char *hex)
{
    v->n += helper_msg_hex(hex, v->b + v->n, sizeof(v->b) - v->n);
}

void helper_bytes_put16(struct helper_bytes *v, size_t off, uint16_t x)
{
    assert_true(off + 2 <= v->n);
    v->b[off] = (uint8_t)(x >> 8);
    v->b[off + 1] = (uint8_t)x;
}
