/*
 * Private parts of the IKE SA state machine shared by sa_*.c, exch_*.c,
 * child_sa.c, proposal_select.c and ts_narrow.c. See <ike/sa.h>.
 */
#ifndef IKE_SA_INTERNAL_H
#define IKE_SA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/dh.h>
#include <ike/events.h>
#include <ike/export.h>
#include <ike/keys.h>
#include <ike/message.h>
#include <ike/prf.h>
#include <ike/sa.h>
#include <ike/sk.h>
#include <ike/sk_cipher.h>

#define IKE_SA_HASH_LEN 32 /* SHA-256 of a request, for the responder cache */

/* Algorithms chosen from one proposal; 0 = transform type absent. */
struct ike_sa_algs {
    uint16_t encr_id, encr_key_bits, integ_id, prf_id, dh_group;
    bool esn;
};

/* Our outstanding request (window 1). */
struct ike_sa_request {
    bool active;
    uint8_t exchange;
    uint32_t message_id;
    uint8_t *buf;
    size_t len;
    unsigned tries; /* retransmissions so far */
    struct ike_addr local, remote;
};

/* The last response we sent, for the peer's retransmissions (§2.1). */
struct ike_sa_cache {
    bool valid;
    uint32_t message_id;
    uint8_t req_hash[IKE_SA_HASH_LEN];
    uint8_t *buf;
    size_t len;
};

/* What IKE_SA_INIT leaves for IKE_AUTH; freed once established. */
struct ike_sa_init_data {
    struct ike_dh *dh;
    uint8_t ni[IKE_NONCE_MAX], nr[IKE_NONCE_MAX];
    size_t ni_len, nr_len;
    uint8_t *req; /* IKE_SA_INIT request as sent/received */
    size_t req_len;
    uint8_t *resp; /* IKE_SA_INIT response as sent/received */
    size_t resp_len;
    unsigned invalid_ke_retries;
    uint32_t child_spi; /* initiator: SPI offered for the first CHILD SA */
};

struct ike_sa {
    struct ike_ctx ctx; /* copied */
    const struct ike_sa_cfg *cfg;
    void *user;
    enum ike_sa_state state;
    bool initiator;
    uint8_t spi_i[IKE_SPI_LEN], spi_r[IKE_SPI_LEN];
    struct ike_addr local, remote;
    bool nat_local, nat_remote, fragmentation, peer_msgid_sync, peer_initial_contact;
    struct ike_sa_algs algs;
    struct ike_prf *prf;
    struct ike_keys_sa keys;
    struct ike_sk_cipher *c_i, *c_r; /* protect messages the initiator / responder sends */
    struct ike_id_export local_id, remote_id;
    uint32_t send_next, recv_next;
    struct ike_sa_request req;
    struct ike_sa_cache cache;
    struct ike_sa_init_data *init;
    struct ike_child_export *children;
    size_t n_children;
    struct ike_sa_stats stats;
    uint64_t created_ms;           /* ctx now_ms() at creation */
    struct ike_sk_reasm *reasm[2]; /* RFC 7383: [0] requests, [1] responses */
};

/* ---- sa_core.c ----------------------------------------------------------- */
/* IKE_E_INVALID_ARG unless every required callback is set. */
enum ike_status ike_ctx_check(const struct ike_ctx *ctx, struct ike_diag *diag);
struct ike_sa *ike_sa_alloc(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                            bool initiator);
void ike_sa_log(const struct ike_sa *sa, enum ike_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ike_ctx_log(const struct ike_ctx *ctx, enum ike_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum ike_status ike_sa_random_spi(uint8_t spi[IKE_SPI_LEN]);
enum ike_status ike_sa_random_child_spi(uint32_t *spi);
void ike_sa_init_data_free(struct ike_sa *sa);
void ike_sa_id_from_cfg(const struct ike_cfg_id *id, struct ike_id_export *out);
/* "IDi"-style body: type | 3 reserved | data, into buf (>= 4 + len). */
size_t ike_sa_id_body(const struct ike_id_export *id, uint8_t *buf, size_t size);
const char *ike_sa_id_str(const struct ike_id_export *id, char *buf, size_t size);

/* ---- sa_state.c --------------------------------------------------------- */
/* The one place the state changes: refuses moves not in the table
 * (IKE_E_STATE, logged), logs "state A -> B" otherwise. */
enum ike_status ike_sa_transition(struct ike_sa *sa, enum ike_sa_state to);
bool ike_sa_transition_allowed(enum ike_sa_state from, enum ike_sa_state to);
/* Moves to DEAD, cancelling timers; logs why at level. */
void ike_sa_fail(struct ike_sa *sa, enum ike_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- sa_msg.c: message IDs, retransmission, responder cache ----------- */
/* Encodes (IKE_SA_INIT) or protects req, sends it to sa->remote from
 * sa->local, keeps it for retransmission, advances send_next. */
enum ike_status ike_sa_send_request(struct ike_sa *sa, const struct ike_msg *req);
/* The outstanding request is answered: stop retransmitting it. */
void ike_sa_request_done(struct ike_sa *sa);
/* Encodes/protects resp, sends it to the request's source, caches it
 * keyed by the request bytes. */
enum ike_status ike_sa_send_response(struct ike_sa *sa, const struct ike_msg *resp,
                                     const uint8_t *req, size_t req_len,
                                     const struct ike_addr *local, const struct ike_addr *remote);
void ike_sa_hash_request(const uint8_t *data, size_t len, uint8_t out[IKE_SA_HASH_LEN]);
/* Our cipher (send) and the peer's (receive). */
struct ike_sk_cipher *ike_sa_cipher_out(const struct ike_sa *sa);
struct ike_sk_cipher *ike_sa_cipher_in(const struct ike_sa *sa);
void ike_sa_retransmit(struct ike_sa *sa);

/* ---- sa_events.c -------------------------------------------------------- */
void ike_sa_emit_msgid(struct ike_sa *sa);
void ike_sa_emit_ike_add(struct ike_sa *sa);
void ike_sa_emit_child_add(struct ike_sa *sa, const struct ike_child_export *child);

/* ---- sa_keys.c ---------------------------------------------------------- */
/* SKEYSEED and SK_* from g^ir and the nonces (sa->init), SPIs and algs;
 * creates sa->prf and both SK ciphers. */
enum ike_status ike_sa_derive_keys(struct ike_sa *sa, const struct ike_secret *g_ir,
                                   struct ike_diag *diag);
/* Builds the SK ciphers from sa->keys and sa->algs (also for import). */
enum ike_status ike_sa_make_ciphers(struct ike_sa *sa, struct ike_diag *diag);

/* ---- sa_nat.c ----------------------------------------------------------- */
/* SHA-1(SPIi | SPIr | IP | port), RFC 7296 §2.23. */
enum ike_status ike_nat_hash(const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN],
                             const struct ike_addr *a, uint8_t out[IKE_NAT_DETECTION_LEN]);
/* Adds NAT_DETECTION_SOURCE_IP (local) and _DESTINATION_IP (remote). */
enum ike_status ike_nat_add_notifies(struct ike_msg *msg, const struct ike_addr *local,
                                     const struct ike_addr *remote);
/* From a received IKE_SA_INIT message that arrived on local from remote:
 * *nat_local when no DESTINATION hash matches local, *nat_remote when no
 * SOURCE hash matches remote. Both false when the peer sent none. */
void ike_nat_detect(const struct ike_msg *msg, const struct ike_addr *local,
                    const struct ike_addr *remote, bool *nat_local, bool *nat_remote);

/* ---- proposal_select.c -------------------------------------------------- */
/* The responder's choice (RFC 7296 §2.7): our proposals in our order, each
 * against the peer's proposals in theirs, each transform type taking our
 * most preferred one the peer offers. For IKE, when the chosen proposal
 * also allows ke_group (the group of the peer's KE), that group is taken
 * so no INVALID_KE_PAYLOAD round trip is needed (ke_group 0: ignore).
 * *chosen_num is the peer's proposal number. IKE_E_UNSUPPORTED if nothing
 * matches. protocol IKE_PROTO_IKE or IKE_PROTO_ESP (DH ignored for ESP:
 * only IKE_AUTH is handled here). */
enum ike_status ike_proposal_select(uint8_t protocol, const struct ike_cfg_proposal *ours,
                                    size_t n_ours, const struct ike_pld_sa *theirs,
                                    uint16_t ke_group, struct ike_sa_algs *algs,
                                    uint8_t *chosen_num);
/* A configured proposal list is usable: counts, every algorithm known to
 * libike, PRF and DH for IKE, integrity exactly when the cipher is not
 * AEAD (AEAD and non-AEAD ciphers need separate proposals, RFC 5282 §8). */
enum ike_status ike_proposal_cfg_check(uint8_t protocol, const struct ike_cfg_proposal *p, size_t n,
                                       struct ike_diag *diag);
/* The SA payload for our offer (proposal numbers 1..n; SPI as given). */
enum ike_status ike_proposal_build(uint8_t protocol, const struct ike_cfg_proposal *ours,
                                   size_t n_ours, const uint8_t *spi, uint8_t spi_len, bool with_dh,
                                   struct ike_msg *msg);
/* Adds an SA payload with one proposal holding exactly algs. */
struct ike_pld *ike_proposal_add_chosen(struct ike_msg *msg, uint8_t protocol, uint8_t num,
                                        const uint8_t *spi, uint8_t spi_len,
                                        const struct ike_sa_algs *algs);
/* Checks a response's SA payload: one proposal, one transform per type,
 * all from our proposal of that number. Fills algs. */
enum ike_status ike_proposal_check_reply(uint8_t protocol, const struct ike_cfg_proposal *ours,
                                         size_t n_ours, const struct ike_pld_sa *reply,
                                         struct ike_sa_algs *algs, struct ike_diag *diag);
/* "aes256-sha256-prfsha256-ecp256/..." for log lines. */
void ike_proposal_describe_cfg(const struct ike_cfg_proposal *p, size_t n, char *buf, size_t size);
void ike_proposal_describe_pld(const struct ike_pld_sa *sa, char *buf, size_t size);
void ike_proposal_describe_algs(const struct ike_sa_algs *a, char *buf, size_t size);

/* ---- ts_narrow.c -------------------------------------------------------- */
/* RFC 7296 §2.9: the intersections of every offered selector with every
 * configured one (empty ones dropped), at most cap. 0 = unacceptable. */
size_t ike_ts_narrow(const struct ike_ts *offered, size_t n_offered, const struct ike_ts *cfg,
                     size_t n_cfg, struct ike_ts *out, size_t cap);
/* Every selector of sub lies inside one of sup. */
bool ike_ts_subset(const struct ike_ts *sub, size_t n_sub, const struct ike_ts *sup, size_t n_sup);
void ike_ts_describe(const struct ike_ts *ts, size_t n, char *buf, size_t size);
void ike_ts_to_export(const struct ike_ts *in, size_t n, struct ike_ts_export *out);
void ike_ts_from_export(const struct ike_ts_export *in, size_t n, struct ike_ts *out);

/* ---- child_sa.c --------------------------------------------------------- */
/* Keys for a CHILD SA from SK_d and the IKE_SA_INIT nonces; fills the key
 * fields of child (in/out by our role). */
enum ike_status ike_child_derive(struct ike_sa *sa, struct ike_child_export *child,
                                 struct ike_diag *diag);
/* Installs it through the context, records it, emits CHILD_SA_ADD. */
enum ike_status ike_child_add(struct ike_sa *sa, const struct ike_child_export *child);
/* Initiator: SA + TSi + TSr for children[0] into msg. */
enum ike_status ike_child_build_request(struct ike_sa *sa, struct ike_msg *msg);
/* Responder: the request's SA/TSi/TSr (present) -> response payloads, or an
 * error notify; the CHILD SA is added on success. */
void ike_child_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp);
/* Initiator: the response's SA/TSi/TSr or error notify. */
void ike_child_handle_reply(struct ike_sa *sa, const struct ike_msg *resp);

/* ---- exchanges ---------------------------------------------------------- */
enum ike_status ike_exch_ike_sa_init_start(struct ike_sa *sa, struct ike_diag *diag);
enum ike_status ike_exch_ike_sa_init_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                           const uint8_t *data, size_t len, struct ike_diag *diag);
enum ike_status ike_exch_ike_sa_init_respond(const struct ike_ctx *ctx,
                                             const struct ike_sa_cfg *cfg,
                                             const struct ike_msg *req, const uint8_t *data,
                                             size_t len, const struct ike_addr *local,
                                             const struct ike_addr *remote, struct ike_sa **out,
                                             struct ike_diag *diag);
enum ike_status ike_exch_ike_auth_start(struct ike_sa *sa, struct ike_diag *diag);
enum ike_status ike_exch_ike_auth_request(struct ike_sa *sa, const struct ike_msg *req,
                                          const uint8_t *data, size_t len,
                                          const struct ike_addr *local,
                                          const struct ike_addr *remote, struct ike_diag *diag);
enum ike_status ike_exch_ike_auth_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                        struct ike_diag *diag);

#endif
