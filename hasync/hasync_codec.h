/*
 * The sync stream's wire format (proto/hasync.proto): one Envelope per CPG
 * message. Everything unpacked here came from another node and is treated
 * as untrusted: hasync_codec_unpack() checks the envelope and every field of
 * its body (lengths, ranges, presence) before anyone looks at it, and says
 * why it refused. A refusal is for the caller to log and count; nothing here
 * aborts on bad input.
 */
#ifndef HASYNC_CODEC_H
#define HASYNC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "hasync.pb-c.h"

/* Envelope.version: bumped only for a change an old node cannot ignore. */
#define HASYNC_PROTO_VERSION 1
/* Largest envelope accepted or sent (CPG messages of this size are fine;
 * a snapshot is split into chunks below it). */
#define HASYNC_MSG_MAX (256u * 1024u)
/* Entries of one SnapshotChunk, each kind. */
#define HASYNC_CHUNK_MAX 512

/* Why a message was refused; also the index of the drop counters. */
enum hasync_drop {
    HASYNC_OK = 0,
    HASYNC_DROP_TOO_BIG,      /* over HASYNC_MSG_MAX */
    HASYNC_DROP_MALFORMED,    /* not a protobuf Envelope */
    HASYNC_DROP_VERSION,      /* version missing or not ours */
    HASYNC_DROP_SENDER,       /* sender missing or not the CPG source */
    HASYNC_DROP_UNKNOWN_BODY, /* no body, or one newer than us */
    HASYNC_DROP_INVALID,      /* a field missing or out of range */
    HASYNC_DROP_ORDER,        /* sequence number not after the last one */
    HASYNC_DROP__COUNT
};

const char *hasync_drop_name(enum hasync_drop why);

/* Packs env into a new malloc'd buffer (*out, *len); -1 if it would be over
 * HASYNC_MSG_MAX or on allocation failure. */
int hasync_codec_pack(const Hasync__Envelope *env, uint8_t **out, size_t *len);

/* Unpacks and validates one received message. cpg_nodeid: the node CPG
 * says sent it (Envelope.sender must match). NULL on refusal, with *why and
 * a one-line reason in err (never holding key material). Free the result
 * with hasync_codec_free() only: it wipes every block (keys) before freeing. */
Hasync__Envelope *hasync_codec_unpack(const uint8_t *buf, size_t len, uint32_t cpg_nodeid,
                                      enum hasync_drop *why, char *err, size_t errlen);
void hasync_codec_free(Hasync__Envelope *env);

/* The checks of hasync_codec_unpack() on an unpacked envelope (also used by
 * the sender on what it is about to send). */
enum hasync_drop hasync_codec_validate(const Hasync__Envelope *env, char *err, size_t errlen);

/* "ike_sa_add", ... for logs and counters; "none" when unset. */
const char *hasync_body_name(Hasync__Envelope__BodyCase body);

#endif
