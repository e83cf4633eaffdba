/*
 * Private message codec interface, shared by the msg_*.c files and used by
 * the SK layer inside libike, which encrypts straight into a writer
 * instead of going through the malloc()ed buffers of the public API.
 */
#ifndef IKE_MSG_CODEC_H
#define IKE_MSG_CODEC_H

#include <ike/message.h>

#include "arena.h"
#include "buf.h"

/* Appends the inner payload chain (payloads marked inside_sk) to wr; the
 * SK layer then appends padding and the pad length. *first_type is
 * IKE_PLD_NONE when there is no inner payload. */
enum ike_status ike_msg_write_inner(const struct ike_msg *msg, struct ike_wr *wr,
                                    uint8_t *first_type, struct ike_diag *diag);

/* Writes header + unencrypted payloads + the SK/SKF payload described by
 * sk (body copied, or zero-filled when sk->body.ptr is NULL) into an empty
 * wr. *body_off receives the body's offset, i.e. the AAD length. */
enum ike_status ike_msg_write_outer(const struct ike_msg *msg, uint8_t sk_type,
                                    const struct ike_pld_sk *sk, struct ike_wr *wr,
                                    size_t *body_off, struct ike_diag *diag);

/* Creates the message's arena on first use. */
enum ike_status ike_msg_arena(struct ike_msg *msg);
/* Appends a filled payload, enforcing IKE_MSG_MAX_PAYLOADS. */
enum ike_status ike_msg_append(struct ike_msg *msg, struct ike_pld *pld, struct ike_diag *diag);

/* Writes the 28-octet header with the given first payload type; the length
 * field is patched by the caller at offset IKE_HDR_LENGTH_OFF. */
#define IKE_HDR_LENGTH_OFF 24
void ike_hdr_write(struct ike_wr *wr, const struct ike_hdr *hdr, uint8_t first_payload);

#endif
