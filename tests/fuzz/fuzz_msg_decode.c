/*
 * libFuzzer target: the IKEv2 header and payload-chain decoder.
 *
 * The input is one datagram (see LLVMFuzzerTestOneInput for the Length
 * field). Per datagram:
 *  - ike_hdr_decode() and ike_msg_decode() must agree on the header;
 *  - a rejection carries its status in the diag with a reason;
 *  - a decoded message goes through the per-exchange rule check, the
 *    read-only API and the re-encode invariant (inv_roundtrip);
 *  - when it ends in an SK payload, its opaque body is also parsed as if
 *    it were the decrypted inner chain (the SK target covers the real
 *    decryption; this reaches the inner decoder without a key), and the
 *    whole message, inner chain included, must re-encode to itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/message.h>

#include "inv_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Slice s lies inside range r (an empty one may sit at its end). */
static bool within(struct ike_slice s, struct ike_slice r)
{
    if (s.len == 0)
        return true;
    return s.ptr >= r.ptr && s.len <= r.len && (size_t)(s.ptr - r.ptr) <= r.len - s.len;
}

static void fuzz_inner(struct ike_msg *msg)
{
    const struct ike_pld *sk = msg->sk;
    if (!sk || sk->type != IKE_PLD_SK)
        return;
    struct ike_diag diag = {0};
    enum ike_status st =
        ike_msg_decode_inner(msg, sk->sk.body.ptr, sk->sk.body.len, sk->sk.first_inner, &diag);
    if (st != IKE_OK) {
        inv_peer_error(st, &diag, "ike_msg_decode_inner");
        return;
    }
    INV_REQUIRE(msg->inner_decoded, "decode_inner succeeded without inner_decoded");
    for (const struct ike_pld *p = msg->first; p; p = p->next)
        INV_REQUIRE(within(p->raw, p->inside_sk ? msg->inner : msg->raw),
                    "payload %s%s: body is not inside the buffer it was read from",
                    ike_payload_name(p->type), p->inside_sk ? " (SK)" : "");
    inv_walk(msg);
    struct ike_diag rd = {0};
    st = ike_msg_check_rules(msg, &rd);
    if (st != IKE_OK)
        inv_peer_error(st, &rd, "ike_msg_check_rules (inner)");
    inv_roundtrip(msg);
}

static void fuzz_datagram(const uint8_t *data, size_t size);

/*
 * The input as is, and, when its header's Length field is not its size, a
 * copy with the field corrected: a mutation almost always breaks that one
 * check first, and the payload parsers behind it would see few inputs.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_datagram(data, size);
    if (size < IKE_HDR_LEN || size > IKE_MSG_MAX_LEN)
        return 0;
    uint32_t want = (uint32_t)size;
    uint8_t len_be[4] = {(uint8_t)(want >> 24), (uint8_t)(want >> 16), (uint8_t)(want >> 8),
                         (uint8_t)want};
    if (memcmp(data + 24, len_be, 4) == 0)
        return 0;
    uint8_t *fixed = malloc(size);
    INV_REQUIRE(fixed != NULL, "out of memory");
    memcpy(fixed, data, size);
    memcpy(fixed + 24, len_be, 4);
    fuzz_datagram(fixed, size);
    free(fixed);
    return 0;
}

static void fuzz_datagram(const uint8_t *data, size_t size)
{
    struct ike_hdr hdr;
    struct ike_diag hdiag = {0}, diag = {0};
    enum ike_status hst = ike_hdr_decode(data, size, &hdr, &hdiag);
    if (hst != IKE_OK)
        inv_peer_error(hst, &hdiag, "ike_hdr_decode");

    struct ike_msg msg = {0};
    enum ike_status st = ike_msg_decode(&msg, data, size, &diag);
    if (hst != IKE_OK) {
        INV_REQUIRE(st == hst, "header decode %s but message decode %s", ike_status_str(hst),
                    ike_status_str(st));
    } else {
        INV_REQUIRE(memcmp(&hdr, &msg.hdr, sizeof(hdr)) == 0,
                    "ike_hdr_decode and ike_msg_decode read different headers");
    }
    if (st != IKE_OK) {
        inv_peer_error(st, &diag, "ike_msg_decode");
        ike_msg_clear(&msg);
        return;
    }
    INV_REQUIRE(msg.raw.len == size && memcmp(msg.raw.ptr, data, size) == 0,
                "msg->raw is not a copy of the datagram");
    if (msg.sk) {
        INV_REQUIRE(msg.sk == msg.last, "SK/SKF payload is not the last one");
        INV_REQUIRE(msg.sk->sk.body_off + msg.sk->sk.body.len == size,
                    "SK body [%zu, +%zu) does not end the %zu-octet datagram",
                    msg.sk->sk.body_off, msg.sk->sk.body.len, size);
    }
    inv_walk(&msg);
    struct ike_diag rd = {0};
    st = ike_msg_check_rules(&msg, &rd);
    if (st != IKE_OK)
        inv_peer_error(st, &rd, "ike_msg_check_rules");
    inv_roundtrip(&msg);
    fuzz_inner(&msg);
    ike_msg_clear(&msg);
}
