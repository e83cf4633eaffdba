/* The captured datagrams of one fixture as ike_kat_check holds them
 * (kat_messages.c loads, decodes and decrypts; kat_contents.c compares
 * what they carry with charon's log). */
#ifndef KAT_MSGS_H
#define KAT_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/message.h>
#include <ike/sk_cipher.h>

#include "kat.h"

#define KAT_MAX_MSGS 32

struct kat_msg {
    char file[96];
    bool from_initiator;
    uint32_t message_id; /* from messages/index.txt */
    uint8_t *raw;
    size_t len;
    struct ike_msg msg;
    bool decoded; /* decoded, and decrypted unless IKE_SA_INIT */
};

struct kat_msgs {
    struct kat_msg m[KAT_MAX_MSGS];
    size_t n;
    struct ike_sk_cipher *i2r, *r2i;
};

/* Headers, identities, traffic selectors, Child SA proposals and Delete
 * payloads of the decoded messages against index.txt, values.txt and the
 * initiator's log (kat_log.h). */
void kat_check_details(struct kat_ctx *k, const struct kat_msgs *ms);

#endif
