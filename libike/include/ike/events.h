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
 * IKE_SA_UPDATE, IKE_SA_DEL and CHILD_SA_DEL are emitted by the exchanges
 * that cause them (INFORMATIONAL, CREATE_CHILD_SA, NAT changes).
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
};

struct ike_ev_msgid {
    uint32_t send_next; /* next request ID we send */
    uint32_t recv_next; /* next request ID we expect */
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
    };
};

/* "IKE_SA_ADD", ...; "UNKNOWN" otherwise. */
IKE_API const char *ike_event_type_name(enum ike_event_type type);

#endif
