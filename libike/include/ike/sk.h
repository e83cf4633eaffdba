/*
 * The protection layer of IKEv2 messages: the Encrypted payload SK
 * (RFC 7296 §3.14; AEAD per RFC 5282 / RFC 7634) and the Encrypted
 * Fragment payload SKF (RFC 7383). It sits between the codec
 * (<ike/message.h>) and the cipher core (<ike/sk_cipher.h>): it lays out
 *
 *     IV | ciphertext(inner payloads | padding | pad length) | ICV
 *
 * authenticates everything before the IV (IKE header .. end of the SK/SKF
 * payload header, which for SKF includes Fragment Number and Total
 * Fragments) and checks every length of a peer's body before any crypto.
 *
 * OWNERSHIP.
 *  - A struct ike_sk_cipher is borrowed by every call (one per direction of
 *    an IKE SA: SK_ei/SK_ai for messages the original initiator sends,
 *    SK_er/SK_ar for the other direction); the caller keeps and frees it.
 *  - Output datagrams are malloc()ed and belong to the caller: free a
 *    single one with ike_msg_free_buf(), a fragment set with
 *    ike_sk_frags_free().
 *  - struct ike_sk_reasm owns copies of what it keeps (the first
 *    fragment's datagram and every verified plaintext chunk, wiped on
 *    release); the fragments passed in stay the caller's.
 *
 * PADDING. The sender pads with zero octets to the cipher's block length
 * with the minimum Pad Length (0 for the AEADs, whose block length is 1).
 * The receiver accepts any padding content and any Pad Length that fits
 * (RFC 7296 §3.14: "The recipient MUST accept any length that results in
 * proper alignment").
 *
 * Errors: IKE_E_INTEGRITY (ICV/tag mismatch; nothing was decoded or kept),
 * IKE_E_MALFORMED (body lengths, pad length, inner payload syntax; the
 * reason names the numbers), IKE_E_STATE (fragment for another message
 * than the one being reassembled), IKE_E_TOO_BIG (a cap exceeded),
 * IKE_E_CRYPTO, IKE_E_NOMEM, IKE_E_INVALID_ARG (caller misuse), plus what
 * the codec returns for the inner payloads (IKE_E_CRITICAL...).
 */
#ifndef IKE_SK_H
#define IKE_SK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>
#include <ike/message.h>
#include <ike/sk_cipher.h>

/* ---- one SK payload ---------------------------------------------------- */

/*
 * Encodes msg as header + unencrypted payloads + SK, the SK payload
 * carrying every payload marked inside_sk (none: an empty INFORMATIONAL),
 * with a fresh IV from c. Any SK/SKF payload in msg's list is ignored.
 * *out (free with ike_msg_free_buf) holds the whole datagram.
 */
IKE_API enum ike_status ike_sk_protect(const struct ike_msg *msg, struct ike_sk_cipher *c,
                                       uint8_t **out, size_t *out_len, struct ike_diag *diag);

/*
 * msg comes from ike_msg_decode() with msg->sk an SK payload (IKE_PLD_SK;
 * for SKF use the reassembler). Checks the body lengths, verifies the ICV
 * and decrypts, strips the padding and parses the inner payloads with
 * ike_msg_decode_inner() (so they appear in msg with inside_sk = true).
 * On IKE_E_INTEGRITY nothing is decoded; the caller drops the message.
 */
IKE_API enum ike_status ike_sk_unprotect(struct ike_msg *msg, struct ike_sk_cipher *c,
                                         struct ike_diag *diag);

/* ---- RFC 7383 fragmentation: sending ----------------------------------- */

struct ike_sk_frag {
    uint8_t *buf; /* one whole IKE message (header .. ICV) */
    size_t len;
};

/* Most octets an IKE message may have so that its UDP datagram fits
 * path_mtu: minus the IPv4 (20) or IPv6 (40) header, UDP (8) and, on port
 * 4500, the non-ESP marker (4). 0 if path_mtu is smaller than that.
 * RFC 7383 §2.5.1 suggests path_mtu 1280 for IPv6 and 576 for IPv4 when
 * nothing better is known. */
IKE_API size_t ike_sk_frag_max_len(size_t path_mtu, bool ipv6, bool non_esp_marker);

/*
 * Splits the inner payloads of msg into chunks and protects each as one
 * SKF message: the same header (Message ID included) for all,
 * Fragment Number 1..N, Total Fragments N, Next Payload = the first inner
 * payload type in fragment 1 and 0 in the others, unencrypted payloads (if
 * any) in fragment 1 only, a fresh IV for each. Every fragment is at most
 * max_len octets (see ike_sk_frag_max_len); IKE_E_TOO_BIG when max_len
 * leaves no room for one octet of content or N would exceed 65535.
 * A message that fits in one fragment still becomes one SKF (1 of 1); the
 * caller decides whether to fragment at all (RFC 7383 §2.5.1).
 * *frags is an array of *n_frags datagrams; free with ike_sk_frags_free().
 */
IKE_API enum ike_status ike_sk_protect_fragments(const struct ike_msg *msg, struct ike_sk_cipher *c,
                                                 size_t max_len, struct ike_sk_frag **frags,
                                                 size_t *n_frags, struct ike_diag *diag);
/* Wipes and frees every datagram and the array; NULL is fine. */
IKE_API void ike_sk_frags_free(struct ike_sk_frag *frags, size_t n_frags);

/* ---- RFC 7383 fragmentation: receiving ----------------------------------- */

/*
 * A reassembler holds the fragments of ONE message at a time. Keep one per
 * IKE SA and direction of exchange (one for incoming requests, one for
 * incoming responses). It binds to the first verified fragment's SPIs,
 * exchange type, Initiator/Response flags and Message ID; a fragment of any
 * other message is refused with IKE_E_STATE and changes nothing (call
 * ike_sk_reasm_reset() first if the caller decides that message replaces
 * the pending one, e.g. after a timeout).
 *
 * Per fragment, in this order (RFC 7383 §2.6):
 *  1. total > max_frags: IKE_E_TOO_BIG;
 *  2. other message: IKE_E_STATE;
 *  3. Total Fragments lower than the pending one: IKE_SK_REASM_STALE
 *     (an older transmission; dropped without crypto);
 *  4. same total and number already held: IKE_SK_REASM_DUPLICATE;
 *  5. ICV verified and decrypted (IKE_E_INTEGRITY / IKE_E_MALFORMED
 *     otherwise: nothing changes, so a forged fragment cannot disturb a
 *     reassembly in progress);
 *  6. a higher Total Fragments discards what was held and starts anew
 *     with this fragment (the sender re-fragmented smaller);
 *  7. kept; more than max_bytes held (plaintext + the first fragment's
 *     datagram): IKE_E_TOO_BIG and the reassembly is discarded;
 *  8. all 1..N held: the message is rebuilt into *out as if it had come in
 *     one SK payload: decoded from fragment 1 (header, unencrypted payloads,
 *     msg->sk = its SKF payload) and ike_msg_decode_inner() of the chunks
 *     concatenated in order, with fragment 1's Next Payload as first type.
 *     IKE_SK_REASM_COMPLETE; the reassembler is then empty again.
 * The Next Payload of fragments 2..N and their unencrypted payloads (if
 * any) are ignored. A fragment arriving after its message completed (a
 * retransmission) starts a new reassembly: recognising a retransmitted
 * request by its Message ID (RFC 7383 §2.6.1) is the exchange layer's job,
 * which also decides when to give up on a pending one (reset).
 */

#define IKE_SK_REASM_MAX_FRAGS 128u
/* Plaintext is capped at IKE_MSG_MAX_LEN by the codec; leave room for the
 * first fragment's datagram. */
#define IKE_SK_REASM_MAX_BYTES (2u * IKE_MSG_MAX_LEN)

struct ike_sk_reasm;

enum ike_sk_reasm_result {
    IKE_SK_REASM_NEED_MORE = 0, /* fragment kept */
    IKE_SK_REASM_DUPLICATE,     /* already held: ignored */
    IKE_SK_REASM_STALE,         /* lower Total Fragments: ignored */
    IKE_SK_REASM_COMPLETE,      /* *out holds the whole message */
};

/* max_frags / max_bytes: 0 for the defaults above. NULL on no memory. */
IKE_API struct ike_sk_reasm *ike_sk_reasm_new(size_t max_frags, size_t max_bytes);
/* Wipes and frees everything held; NULL is fine. */
IKE_API void ike_sk_reasm_free(struct ike_sk_reasm *r);
/* Discards the pending message, if any. */
IKE_API void ike_sk_reasm_reset(struct ike_sk_reasm *r);
/* true while fragments of a message are held; *message_id (may be NULL)
 * then receives its Message ID. */
IKE_API bool ike_sk_reasm_pending(const struct ike_sk_reasm *r, uint32_t *message_id);

/*
 * frag: decoded by ike_msg_decode() with msg->sk an SKF payload (not
 * modified). out: zeroed or cleared; written only on IKE_SK_REASM_COMPLETE
 * (then the caller ike_msg_clear()s it), and cleared again by this function
 * if rebuilding fails. *result is set whenever IKE_OK is returned.
 */
IKE_API enum ike_status ike_sk_reasm_add(struct ike_sk_reasm *r, const struct ike_msg *frag,
                                         struct ike_sk_cipher *c, struct ike_msg *out,
                                         enum ike_sk_reasm_result *result, struct ike_diag *diag);

#endif
