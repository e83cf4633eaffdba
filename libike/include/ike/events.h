/*
 * The sync events of DESIGN.md §3: every change to an IKE or CHILD SA that a
 * standby needs, passed in order to ctx->ops->event (<ike/ctx.h>) before
 * the datagram that makes the change visible to the peer is sent.
 *
 * Emitted by this version (IKE_SA_INIT and IKE_AUTH):
 *   initiator: MSGID_UPDATE (IKE_AUTH request sent) ... on the response:
 *              IKE_SA_ADD, CHILD_SA_ADD (if a CHILD SA was created);
 *   responder: on the IKE_AUTH request: MSGID_UPDATE, then (if it
 *              authenticates) IKE_SA_ADD, CHILD_SA_ADD; then the response.
 * IKE_SA_INIT emits nothing: a half-open SA is not synced.
 * CREATE_CHILD_SA (on the IKE SA it runs on, "new" = the SA it creates):
 *   initiator: MSGID_UPDATE (request sent) ... on the response:
 *              CHILD_SA_ADD (new or rekeyed CHILD SA; replaces_spi_in names
 *              the SA it replaces) or, for an IKE rekey, IKE_SA_ADD of the
 *              new IKE SA (ev.sa = the new SA; replaces_spi_i/_r name the
 *              old one, whose CHILD SAs move to it);
 *   responder: MSGID_UPDATE (request received), then CHILD_SA_ADD or
 *              IKE_SA_ADD as above; then the response.
 *   An INVALID_KE_PAYLOAD retry is one more request: one more MSGID_UPDATE.
 *   Simultaneous IKE rekeys (RFC 7296 §2.8.2) add an IKE_SA_ADD for the
 *   redundant new SA with zero replaces_spi_*: no CHILD SAs, deleted soon.
 *   The replaced SA's CHILD_SA_DEL / IKE_SA_DEL come with its Delete.
 * IKE_SA_UPDATE, IKE_SA_DEL and CHILD_SA_DEL are emitted by the exchanges
 * that cause them (INFORMATIONAL, CREATE_CHILD_SA, NAT changes).
 *
 * INFORMATIONAL (exch_informational.c, exch_delete.c, exch_dpd.c):
 *   every request sent or received: MSGID_UPDATE first;
 *   a CHILD SA removed (Delete either way, hard lifetime): CHILD_SA_DEL,
 *     on the responder before its answer, on the initiator on the answer;
 *   the IKE SA ends (Delete either way, hard lifetime, retransmission
 *     give-up / DPD, ike_sa_drop): CHILD_SA_DEL for each CHILD SA, then
 *     IKE_SA_DEL (only for an SA that was established);
 *   RFC 6311 sync (message ID 0, consumes none): MSGID_UPDATE when sent,
 *     when received (before the answer) and when the answer arrives.
 *
 * RESPONSE (only with ctx.response_events set, <ike/ctx.h>): the response
 * an ESTABLISHED SA sends to a peer's request (IKE_AUTH, CREATE_CHILD_SA,
 * INFORMATIONAL), as its datagram, after that exchange's other events and
 * before it is sent: the responder cache a standby copy needs to answer
 * the request's retransmission (ike_sa_mirror_response(), <ike/mirror.h>).
 * Not for IKE_SA_INIT, an SA an IKE rekey replaced, an RFC 6311 sync
 * answer or after IKE_SA_DEL. The datagram is ciphertext (no keys).
 */
#ifndef IKE_EVENTS_H
#define IKE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/const.h>
#include <ike/ctx.h>
#include <ike/export.h>

enum ike_event_type {
    IKE_EV_IKE_SA_ADD = 1,
    IKE_EV_IKE_SA_UPDATE,
    IKE_EV_IKE_SA_DEL,
    IKE_EV_MSGID_UPDATE,
    IKE_EV_CHILD_SA_ADD,
    IKE_EV_CHILD_SA_DEL,
    IKE_EV_RESPONSE,
};

/* A SHA-256 of the request a cached response answers (libike's
 * responder cache matches retransmissions by it). */
#define IKE_RESPONSE_HASH_LEN 32
/* Largest response datagram (UDP payload). */
#define IKE_RESPONSE_MAX 65535u

struct ike_ev_msgid {
    uint32_t send_next; /* next request ID we send */
    uint32_t recv_next; /* next request ID we expect */
};

/* The last response an SA sent: libike sends a response as one datagram
 * (it does not fragment what it sends, RFC 7383 is receive-only). */
struct ike_ev_response {
    uint32_t message_id;     /* of the request it answers */
    const uint8_t *req_hash; /* IKE_RESPONSE_HASH_LEN octets */
    const uint8_t *data;     /* the datagram, without a non-ESP marker */
    size_t len;
};

struct ike_ev_ike_update { /* the fields that may change */
    struct ike_addr local, remote;
    bool nat_local, nat_remote;
};

struct ike_event {
    enum ike_event_type type;
    struct ike_sa *sa;
    uint8_t spi_i[IKE_SPI_LEN]; /* the IKE SA, for every type */
    uint8_t spi_r[IKE_SPI_LEN];
    union {
        const struct ike_sa_export *ike_add;      /* IKE_SA_ADD (keys!) */
        struct ike_ev_ike_update ike_update;      /* IKE_SA_UPDATE */
        struct ike_ev_msgid msgid;                /* MSGID_UPDATE */
        const struct ike_child_export *child_add; /* CHILD_SA_ADD (keys!) */
        uint32_t child_del_spi_in;                /* CHILD_SA_DEL */
        struct ike_ev_response response;          /* RESPONSE */
    };
};

/* "IKE_SA_ADD", ...; "UNKNOWN" otherwise. */
IKE_API const char *ike_event_type_name(enum ike_event_type type);

#endif
