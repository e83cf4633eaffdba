/*
 * Private core shared by the SK (sk.c) and SKF (sk_frag.c) code: sealing
 * one Encrypted (Fragment) payload into a message being written, and
 * verifying + decrypting one from a decoded message. See <ike/sk.h>.
 */
#ifndef IKE_SK_LAYER_H
#define IKE_SK_LAYER_H

#include <ike/message.h>
#include <ike/sk_cipher.h>

#include "buf.h"

/*
 * Writes into the empty wr: outer's header and unencrypted payloads, then
 * a payload of sk_type (IKE_PLD_SK or IKE_PLD_SKF) with frame's
 * first_inner / frag_num / frag_total, whose body is a fresh IV, the
 * encryption of pt | zero padding | pad length, and the ICV over
 * everything before the IV. frame->body is ignored.
 */
enum ike_status ike_sk_seal_msg(const struct ike_msg *outer, uint8_t sk_type,
                                const struct ike_pld_sk *frame, const uint8_t *pt, size_t pt_len,
                                struct ike_sk_cipher *c, struct ike_wr *wr, struct ike_diag *diag);

/*
 * Checks the body of msg->sk (decoded), verifies it and decrypts it. On
 * IKE_OK *pt is a malloc()ed buffer of *pt_cap octets whose first *pt_len
 * are the content without padding (free with ike_msg_free_buf(*pt,
 * *pt_cap)); on failure *pt is NULL.
 */
enum ike_status ike_sk_open_msg(const struct ike_msg *msg, struct ike_sk_cipher *c, uint8_t **pt,
                                size_t *pt_cap, size_t *pt_len, struct ike_diag *diag);

#endif
