/*
 * Control-socket framing, shared by haiked (daemon/ctl/) and the client
 * library (cli/ctlclient/). Pure functions over buffers, no I/O.
 *
 * A frame is an 8-octet header followed by `len` octets of one protobuf
 * message (ctl.Request from the client, ctl.Response from the daemon,
 * proto/control.proto):
 *
 *   0      1      2         3       4 ........ 7
 *   'H'    'C'    version   flags   len (big-endian, body octets)
 *
 * The version only changes if the framing itself changes; the messages
 * evolve by protobuf field rules under the same version. flags are sent
 * as 0 and ignored on receipt (reserved for the next framing feature).
 * Both sides bound the body: CTL_REQUEST_MAX for requests (they are tiny),
 * CTL_RESPONSE_MAX for responses (a listing of thousands of tunnels).
 */
#ifndef CTL_FRAME_H
#define CTL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"

#define CTL_FRAME_MAGIC0  0x48 /* 'H' */
#define CTL_FRAME_MAGIC1  0x43 /* 'C' */
#define CTL_FRAME_VERSION 1
#define CTL_FRAME_HDR_LEN 8
#define CTL_REQUEST_MAX   (64u * 1024u)
#define CTL_RESPONSE_MAX  (32u * 1024u * 1024u)

/* Where haiked listens unless its config says otherwise, and where hactl
 * looks unless --socket says otherwise. */
#define CTL_DEFAULT_SOCKET "/run/haiked/haiked.sock" /* = CFG_DEFAULT_CTL_SOCKET */

enum ctl_frame_status {
    CTL_FRAME_OK = 0,
    CTL_FRAME_NEED_MORE,   /* not a whole header / frame yet */
    CTL_FRAME_E_MAGIC,     /* not our framing at all */
    CTL_FRAME_E_VERSION,   /* a framing version we do not speak */
    CTL_FRAME_E_TOO_LARGE, /* body longer than the receiver's bound */
};

struct ctl_frame_hdr {
    uint8_t version;
    uint8_t flags;
    uint32_t len;
};

const char *ctl_frame_status_str(enum ctl_frame_status st);

/* The project version this library was built from ("0.1.0"). */
const char *ctl_build_version(void);

/* Writes a version-CTL_FRAME_VERSION header for a body of len octets. */
void ctl_frame_hdr_encode(uint8_t out[CTL_FRAME_HDR_LEN], uint32_t len);

/* Checks the first avail octets of a stream. Garbage is reported as soon
 * as the octets that show it have arrived (a wrong magic after 1 octet),
 * so a receiver never waits for a "length" that is really text. On
 * CTL_FRAME_OK *hdr is filled and the whole frame is
 * CTL_FRAME_HDR_LEN + hdr->len octets; on CTL_FRAME_E_TOO_LARGE and
 * CTL_FRAME_E_VERSION *hdr is filled too (for the error reply). */
enum ctl_frame_status ctl_frame_hdr_decode(const uint8_t *data, size_t avail, size_t max_len,
                                           struct ctl_frame_hdr *hdr);

/* Header + packed message in one malloc'd buffer (*out, *out_len); -1 if
 * the message packs larger than max_len or on allocation failure. */
int ctl_frame_pack(const ProtobufCMessage *msg, size_t max_len, uint8_t **out, size_t *out_len);

#endif
