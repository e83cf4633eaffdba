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
};

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

#endif
