/*
 * IKE SA state machine (RFC 7296), one struct ike_sa per IKE SA. The daemon
 * passes a struct ike_ctx (<ike/ctx.h>) and calls: ike_sa_initiate() to
 * start a tunnel; for each datagram, after looking the SA up by the SPIs of
 * ike_hdr_decode(), ike_sa_process(), or ike_sa_respond() for an
 * IKE_SA_INIT request of no known SA (it may answer statelessly); and
 * ike_sa_timer() when a timer it armed for libike fires. libike answers
 * through the context (datagrams, timers, logs, CHILD SAs, sync events).
 * After any call an SA in IKE_SA_STATE_DEAD is finished: ike_sa_free() it.
 */
#ifndef IKE_SA_H
#define IKE_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/const.h>
#include <ike/ctx.h>
#include <ike/error.h>
#include <ike/message.h>
#include <ike/secret.h>

/* ---- configuration (borrowed: must outlive every SA using it) --------- */

#define IKE_CFG_MAX_TRANSFORMS 8
#define IKE_CFG_MAX_PROPOSALS  8
#define IKE_CFG_MAX_TS         8
#define IKE_CFG_MAX_ID         255

struct ike_cfg_encr {
    uint16_t id;       /* IKE_ENCR_* */
    uint16_t key_bits; /* Key Length attribute; 0 for fixed-size ciphers */
};

/* One proposal; each list in our order of preference. For IKE: encr, prf,
 * dh required, integ unless every encr is AEAD. For ESP: encr, integ
 * unless AEAD, esn (empty means "no ESN"); dh is the PFS group list used by
 * CREATE_CHILD_SA (ignored in IKE_AUTH, RFC 7296 §1.2). */
struct ike_cfg_proposal {
    struct ike_cfg_encr encr[IKE_CFG_MAX_TRANSFORMS];
    size_t n_encr;
    uint16_t integ[IKE_CFG_MAX_TRANSFORMS];
    size_t n_integ;
    uint16_t prf[IKE_CFG_MAX_TRANSFORMS];
    size_t n_prf;
    uint16_t dh[IKE_CFG_MAX_TRANSFORMS];
    size_t n_dh;
    uint16_t esn[2];
    size_t n_esn;
};

/* Lifetimes in seconds, 0 = none (RFC 7296 §2.8). The soft one (rekey, or
 * reauthentication for a gateway with reauth) fires at soft_s minus a
 * random 0..jitter_s, so both peers rarely rekey at once; the hard one
 * (expire: Delete) at hard_s. */
struct ike_cfg_lifetime {
    uint32_t soft_s, hard_s, jitter_s;
};

/* Dead peer detection (RFC 7296 §2.4): an empty INFORMATIONAL request. */
enum ike_dpd_mode {
    IKE_DPD_OFF = 0,
    IKE_DPD_ON_IDLE,   /* probe when nothing was received for dpd_interval_s */
    IKE_DPD_ON_DEMAND, /* probe only when we sent traffic (ike_sa_note_activity)
                        * but nothing was received for dpd_interval_s */
};

/* NAT traversal (RFC 7296 §2.23), per gateway. */
enum ike_natt_mode {
    IKE_NATT_ENABLE = 0, /* send NAT_DETECTION_*; move to 4500 when either side is NATed */
    IKE_NATT_DISABLE,    /* send no NAT_DETECTION_*, ignore the peer's: IKE stays on 500,
                          * ESP is never UDP-encapsulated */
    IKE_NATT_FORCED,     /* claim to be behind a NAT (our SOURCE hash covers no real
                          * address, §2.23 allows it) so IKE and ESP use 4500/UDP
                          * encapsulation; needs a peer that sends NAT_DETECTION_* */
};

struct ike_cfg_id {
    uint8_t type; /* IKE_ID_*; remote: 0 accepts any ID */
    uint8_t data[IKE_CFG_MAX_ID];
    size_t len;
};

/* A selector pair ("phase 2"): ESP proposals and traffic selectors, ours
 * and the peer's side. */
struct ike_cfg_child {
    const char *name;
    struct ike_cfg_proposal proposals[IKE_CFG_MAX_PROPOSALS];
    size_t n_proposals;
    struct ike_ts local_ts[IKE_CFG_MAX_TS];
    size_t n_local_ts;
    struct ike_ts remote_ts[IKE_CFG_MAX_TS];
    size_t n_remote_ts;
    struct ike_cfg_lifetime lifetime; /* of each CHILD SA of this pair */
};

/* A gateway ("phase 1"). */
struct ike_sa_cfg {
    const char *name;
    struct ike_addr local, remote; /* initiator: where to send from/to */
    struct ike_cfg_proposal proposals[IKE_CFG_MAX_PROPOSALS];
    size_t n_proposals;
    const struct ike_secret *psk;
    struct ike_cfg_id local_id, remote_id;
    bool fragmentation; /* offer/accept RFC 7383 */
    bool msgid_sync;    /* send IKEV2_MESSAGE_ID_SYNC_SUPPORTED (RFC 6311) */
    /* Selector pairs: an initiator creates children[0] in IKE_AUTH (none:
     * childless, RFC 6023); a responder takes the first whose proposals
     * and selectors both match the request. */
    const struct ike_cfg_child *children;
    size_t n_children;
    bool initial_contact;     /* initiator: send INITIAL_CONTACT in IKE_AUTH */
    bool replay_counter_sync; /* send IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED (RFC 6311) */
    bool reauth; /* soft lifetime: reauthenticate (make-before-break) instead of rekey */
    struct ike_cfg_lifetime lifetime; /* of the IKE SA */
    enum ike_dpd_mode dpd;
    uint32_t dpd_interval_s; /* 0: IKE_DPD_INTERVAL_S */
    uint32_t dpd_retries;    /* retransmissions of a probe before the peer is
                              * declared dead; 0: the context's retransmit_tries */
    enum ike_natt_mode natt; /* 0 (zeroed config): IKE_NATT_ENABLE */
};

#define IKE_DPD_INTERVAL_S 30u

/* ---- the SA ----------------------------------------------------------- */

enum ike_sa_state {
    IKE_SA_STATE_NEW = 0,
    IKE_SA_STATE_INIT_SENT, /* initiator: IKE_SA_INIT request out */
    IKE_SA_STATE_INIT_DONE, /* responder: IKE_SA_INIT answered, awaiting IKE_AUTH */
    IKE_SA_STATE_AUTH_SENT, /* initiator: IKE_AUTH request out */
    IKE_SA_STATE_ESTABLISHED,
    IKE_SA_STATE_DEAD, /* finished: free it */
};

/* Drops of peer input and retransmissions, per SA. */
struct ike_sa_stats {
    uint64_t dropped_malformed; /* decode / payload rules / wrong SPI or flags */
    uint64_t dropped_integrity; /* ICV mismatch */
    uint64_t dropped_msgid;     /* duplicate, late, out-of-window */
    uint64_t dropped_unhandled; /* authentic, but an exchange not handled here */
    uint64_t retransmits_sent;  /* our requests sent again */
    uint64_t responses_resent;  /* peer's retransmissions answered from cache */
    uint64_t dpd_sent;          /* liveness checks started */
    uint64_t errors_received;   /* error notifies the peer sent us (logged) */
};

struct ike_sa;

IKE_API const char *ike_sa_state_name(enum ike_sa_state state);

/* Starts an IKE SA as initiator: sends the IKE_SA_INIT request. */
IKE_API enum ike_status ike_sa_initiate(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                                        struct ike_sa **out, struct ike_diag *diag);

/* An IKE_SA_INIT request for which no SA exists (local: the address it was
 * received on, remote: its source). On IKE_OK *out is the new responder SA,
 * or NULL when the request was answered without keeping state
 * (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD). On error *out is NULL and
 * nothing was sent. */
IKE_API enum ike_status ike_sa_respond(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                                       const uint8_t *data, size_t len,
                                       const struct ike_addr *local, const struct ike_addr *remote,
                                       struct ike_sa **out, struct ike_diag *diag);

/* A datagram for this SA. Peer input is never fatal: a drop returns its
 * status (diag names why) and is counted in the stats. */
IKE_API enum ike_status ike_sa_process(struct ike_sa *sa, const uint8_t *data, size_t len,
                                       const struct ike_addr *local, const struct ike_addr *remote,
                                       struct ike_diag *diag);

/* Timer `which` armed through the context has fired. */
IKE_API void ike_sa_timer(struct ike_sa *sa, enum ike_timer which);

/* Cancels its timers and frees everything (keys wiped). NULL is fine. */
IKE_API void ike_sa_free(struct ike_sa *sa);

IKE_API enum ike_sa_state ike_sa_state(const struct ike_sa *sa);
IKE_API bool ike_sa_is_initiator(const struct ike_sa *sa);
IKE_API const uint8_t *ike_sa_spi_i(const struct ike_sa *sa);
IKE_API const uint8_t *ike_sa_spi_r(const struct ike_sa *sa);
IKE_API const struct ike_sa_stats *ike_sa_stats(const struct ike_sa *sa);
/* Current addresses and ports (they follow NAT-T and the peer's mapping). */
IKE_API const struct ike_addr *ike_sa_local_addr(const struct ike_sa *sa);
IKE_API const struct ike_addr *ike_sa_remote_addr(const struct ike_sa *sa);
/* A NAT was detected on either side (then IKE moved to port 4500). */
IKE_API bool ike_sa_nat_detected(const struct ike_sa *sa);
IKE_API const struct ike_sa_cfg *ike_sa_cfg(const struct ike_sa *sa);
IKE_API void ike_sa_set_user(struct ike_sa *sa, void *user);
IKE_API void *ike_sa_user(const struct ike_sa *sa);

/* ---- CREATE_CHILD_SA (exch_create_child_sa.c, exch_child_*.c) ------- */
/* Each queues an exchange on an ESTABLISHED SA; it starts when no other
 * request of ours is outstanding (window 1). The outcome arrives through
 * the context: child_install + CHILD_SA_ADD (with replaces_spi_in for a
 * rekey), ike_rekeyed + IKE_SA_ADD for an IKE rekey, log lines for
 * failures. The replaced SA is then deleted by an INFORMATIONAL Delete.
 * IKE_E_STATE unless ESTABLISHED and active (a passive import never sends;
 * nor does an SA already replaced by an IKE rekey), IKE_E_INVALID_ARG for an unknown index/SPI,
 * IKE_E_TOO_BIG when the queue is full. Queuing what is already queued
 * is IKE_OK and does nothing. */

/* A CHILD SA for the selector pair sa->cfg->children[child_cfg_index]
 * (the initiator queues children[1..] itself once IKE_AUTH is done). */
IKE_API enum ike_status ike_sa_child_create(struct ike_sa *sa, size_t child_cfg_index,
                                            struct ike_diag *diag);
/* The same for the selector pair called name (IKE_E_INVALID_ARG if none). */
IKE_API enum ike_status ike_sa_child_create_named(struct ike_sa *sa, const char *name,
                                                  struct ike_diag *diag);
/* Rekeys the CHILD SA with inbound SPI spi_in (PFS when its selector
 * pair's proposals list DH groups). */
IKE_API enum ike_status ike_sa_child_rekey(struct ike_sa *sa, uint32_t spi_in,
                                           struct ike_diag *diag);
/* Rekeys the IKE SA itself (needs ctx ops->ike_rekeyed: else
 * IKE_E_UNSUPPORTED). */
IKE_API enum ike_status ike_sa_rekey(struct ike_sa *sa, struct ike_diag *diag);

/* ---- INFORMATIONAL, lifetimes (exch_informational.c, sa_lifetime.c) --- */

/* Deletes the CHILD SA whose inbound SPI is spi_in: a Delete is queued;
 * when it is answered the pair leaves the data plane (child_delete) and
 * CHILD_SA_DEL is emitted. IKE_E_INVALID_ARG for an unknown SPI,
 * IKE_E_STATE unless ESTABLISHED. */
IKE_API enum ike_status ike_sa_delete_child(struct ike_sa *sa, uint32_t spi_in,
                                            struct ike_diag *diag);
/* Deletes the IKE SA (clean shutdown): a Delete is queued; on its answer
 * (or when its retransmissions give up) the CHILD SAs are removed
 * (CHILD_SA_DEL each), IKE_SA_DEL is emitted and the SA is DEAD. A SA not
 * yet established just dies. */
IKE_API enum ike_status ike_sa_delete(struct ike_sa *sa, struct ike_diag *diag);
/* Tears the SA down locally without telling the peer (it has no state:
 * INITIAL_CONTACT, see ike_ctx_ops.initial_contact): CHILD_SA_DEL for
 * each CHILD SA, IKE_SA_DEL if it was established, then DEAD. */
IKE_API void ike_sa_drop(struct ike_sa *sa, const char *why);
/* A liveness check now (queued; nothing if one is pending). The peer is
 * declared dead when its retransmissions give up. */
IKE_API enum ike_status ike_sa_dpd(struct ike_sa *sa, struct ike_diag *diag);

/* The data plane received ESP/AH from this SA's peer with SPI spi (host
 * order) that matches none of our CHILD SAs: tell the peer with
 * N(INVALID_SPI) in a protected INFORMATIONAL (RFC 7296 §1.5, §3.10.1;
 * never unprotected, so it cannot be forged into a Delete), at most once
 * per second per IKE SA (IKE_E_STATE when rate-limited). */
IKE_API enum ike_status ike_sa_report_invalid_spi(struct ike_sa *sa, uint32_t spi,
                                                  struct ike_diag *diag);
/* A request (not IKE_SA_INIT) for an IKE SA we do not have (RFC 7296
 * §2.21.4): answer N(INVALID_IKE_SPI) unprotected, SPIs, exchange type
 * and message ID copied, back to where it came from. Responses and
 * IKE_SA_INIT get nothing (IKE_E_INVALID_ARG). The caller rate-limits. */
IKE_API enum ike_status ike_answer_invalid_ike_spi(const struct ike_ctx *ctx, const uint8_t *data,
                                                   size_t len, const struct ike_addr *local,
                                                   const struct ike_addr *remote,
                                                   struct ike_diag *diag);

/* The data plane saw ESP traffic of this SA's CHILD SAs: inbound traffic
 * proves the peer alive (no probe needed); outbound traffic without
 * inbound for dpd_interval_s triggers a probe in IKE_DPD_ON_DEMAND. */
#define IKE_ACTIVITY_INBOUND  1u
#define IKE_ACTIVITY_OUTBOUND 2u
IKE_API void ike_sa_note_activity(struct ike_sa *sa, unsigned what);

/* An imported SA (<ike/export.h>) is passive: no lifetime or DPD timer
 * until the caller takes it over and calls this (then they are armed). */
IKE_API void ike_sa_activate(struct ike_sa *sa);

/* The data plane reports that the CHILD SA with inbound SPI spi_in
 * reached a byte or packet limit (libike sees no traffic): soft queues
 * its rekey, hard its Delete, as the time lifetimes do. IKE_E_INVALID_ARG
 * for an unknown SPI; a repeated report is harmless. */
IKE_API enum ike_status ike_sa_child_limit(struct ike_sa *sa, uint32_t spi_in, bool hard,
                                           struct ike_diag *diag);

/* Time of the last authentic message or inbound traffic (ctx clock). */
IKE_API uint64_t ike_sa_last_rx_ms(const struct ike_sa *sa);
/* Milliseconds until the IKE SA's soft / hard lifetime (UINT64_MAX: none). */
IKE_API uint64_t ike_sa_rekey_in_ms(const struct ike_sa *sa);
IKE_API uint64_t ike_sa_expire_in_ms(const struct ike_sa *sa);

/* RFC 6311 §4: after a takeover, tell the peer the message IDs we use:
 * an INFORMATIONAL with message ID 0 carrying IKEV2_MESSAGE_ID_SYNC (and
 * IPSEC_REPLAY_COUNTER_SYNC with replay_delta when both sides support it
 * and replay_delta > 0). send_next/recv_next are the synced counters plus
 * the caller's margin; both peers then take the larger of the two views.
 * IKE_E_UNSUPPORTED unless both sides sent MESSAGE_ID_SYNC_SUPPORTED,
 * IKE_E_STATE unless ESTABLISHED with no request outstanding. Queued
 * tasks wait until it is answered. */
IKE_API enum ike_status ike_sa_msgid_sync(struct ike_sa *sa, uint32_t send_next,
                                          uint32_t recv_next, uint64_t replay_delta,
                                          struct ike_diag *diag);
IKE_API bool ike_sa_peer_msgid_sync(const struct ike_sa *sa);

#endif
