/*
 * Keeping a standby's passive copy of an IKE SA current (DESIGN.md §3), and
 * making an active SA passive again (graceful failover).
 *
 * A standby builds its copy with ike_sa_import() (<ike/export.h>); the
 * master then streams what changes: message IDs after every request,
 * addresses after a NAT change, deleted CHILD SAs. These calls apply such a
 * change to the copy without any side effect: nothing is sent, no timer is
 * armed, no ctx callback (child_delete, event) runs. Each refuses an SA that
 * is not passive and ESTABLISHED with IKE_E_STATE: an active SA changes only
 * through its own exchanges.
 *
 * ike_sa_deactivate() is the reverse of ike_sa_activate() (<ike/sa.h>): the
 * node that hands a virtual cluster over stops driving the SA (no timers, no
 * queued or outstanding exchange) and from then on mirrors the new master.
 * A graceful handover drains first (ike_sa_drain()): the exchange in flight
 * is finished here instead of being abandoned.
 */
#ifndef IKE_MIRROR_H
#define IKE_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/ctx.h>
#include <ike/error.h>
#include <ike/events.h>

struct ike_sa;

/* Imported (or deactivated) and not yet activated. */
IKE_API bool ike_sa_is_passive(const struct ike_sa *sa);

/* The master's next request ID to send / expected to receive (a
 * MSGID_UPDATE event). Message IDs never go back: a value below the copy's
 * is refused with IKE_E_INVALID_ARG (a stale or reordered update) and the
 * copy is left as it was. */
IKE_API enum ike_status ike_sa_mirror_msgid(struct ike_sa *sa, uint32_t send_next,
                                            uint32_t recv_next, struct ike_diag *diag);

/* Current addresses, ports and NAT flags (an IKE_SA_UPDATE event). Both
 * addresses must be of one family (IKE_E_INVALID_ARG otherwise). */
IKE_API enum ike_status ike_sa_mirror_update(struct ike_sa *sa, const struct ike_ev_ike_update *u,
                                             struct ike_diag *diag);

/* Forgets the CHILD SA with inbound SPI spi_in (a CHILD_SA_DEL event): no
 * child_delete callback, the caller removes its own data-plane copy.
 * IKE_E_INVALID_ARG for an unknown SPI. */
IKE_API enum ike_status ike_sa_mirror_child_del(struct ike_sa *sa, uint32_t spi_in,
                                                struct ike_diag *diag);

/* The response the master sent to the peer's request r->message_id (a
 * RESPONSE event): stored as the copy's responder cache exactly as if the
 * copy had sent it, so once activated it answers that request's
 * retransmission with these bytes (RFC 7296 §2.1), from the addresses the
 * retransmission arrived on. r->message_id must be the copy's receive ID
 * minus one (its MSGID_UPDATE comes first; the cache answers only that
 * request), and the datagram an IKE response of this SA with that ID
 * (IKE_HDR_LEN..IKE_RESPONSE_MAX octets): IKE_E_INVALID_ARG otherwise,
 * the copy left as it was. */
IKE_API enum ike_status ike_sa_mirror_response(struct ike_sa *sa, const struct ike_ev_response *r,
                                               struct ike_diag *diag);

/* The SA's responder cache (the last response it sent, or one mirrored):
 * false when there is none, the SA is not ESTABLISHED, or its receive ID
 * moved on without a response (mirrored IDs, an RFC 6311 sync): it would
 * answer nothing. The pointers in
 * *out point into sa: valid until it answers another request or is freed.
 * For a bulk sync: a snapshot carries it with the SA. */
IKE_API bool ike_sa_last_response(const struct ike_sa *sa, struct ike_ev_response *out);

/* An active ESTABLISHED SA becomes passive: every timer cancelled
 * (retransmission, DPD, lifetimes), queued exchanges dropped, an
 * outstanding request abandoned (its message ID stays consumed: the
 * new master continues from the synced IDs). Lifetimes left are kept and
 * re-armed by a later ike_sa_activate(). IKE_OK when already passive,
 * IKE_E_STATE unless ESTABLISHED or when an IKE rekey already replaced it. */
IKE_API enum ike_status ike_sa_deactivate(struct ike_sa *sa, struct ike_diag *diag);

/* Before a graceful handover: the SA starts no exchange of its own any
 * more. Lifetime and DPD timers are cancelled (the next master's timers,
 * armed from its copy, decide); tasks queued now or later wait and are
 * dropped by ike_sa_deactivate(), except one queued while a response is
 * handled (the Delete of what a rekey replaced: it completes that
 * exchange). The outstanding request is still retransmitted and its answer
 * handled; the peer's requests are answered. A new SA made by an IKE rekey
 * of a draining SA drains too. IKE_OK when already draining, IKE_E_STATE
 * unless active and ESTABLISHED. */
IKE_API enum ike_status ike_sa_drain(struct ike_sa *sa, struct ike_diag *diag);
/* The handover is called off: timers re-armed, waiting tasks start. */
IKE_API void ike_sa_drain_cancel(struct ike_sa *sa);
IKE_API bool ike_sa_is_draining(const struct ike_sa *sa);
/* A request of ours awaits its answer (what a drain waits for): its
 * message ID and exchange type (either pointer may be NULL). */
IKE_API bool ike_sa_outstanding(const struct ike_sa *sa, uint32_t *message_id,
                                uint8_t *exchange);

#endif
