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

#include "sa_info.h"
#include "sa_queue.h"

#define IKE_SA_HASH_LEN 32 /* SHA-256 of a request, for the responder cache */
_Static_assert(IKE_SA_HASH_LEN == IKE_RESPONSE_HASH_LEN, "<ike/events.h> names the same hash");

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
    unsigned max_tries; /* give up after this many; 0: ctx retransmit_tries */
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
    unsigned cookie_retries;
    uint8_t cookie[IKE_COOKIE_MAX]; /* initiator: the responder's COOKIE to echo */
    size_t cookie_len;
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
    struct ike_sa_queue queue;     /* our exchanges once ESTABLISHED (sa_queue.h) */
    struct ike_sa_live live;       /* lifetimes, DPD (sa_info.h) */
    struct ike_sa_sync sync;       /* RFC 6311 (sa_info.h) */
    bool rekeyed; /* an IKE rekey moved everything to a new SA: this one only
                   * waits for its Delete (exch_ike_rekey.c) */
    bool del_emitted; /* IKE_SA_DEL went out: no event of this SA after it */
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
/* A random inbound CHILD SPI >= 256 that ctx.ops->child_spi_taken (if
 * set) does not report in use; IKE_E_STATE (logged) after
 * IKE_CHILD_SPI_TRIES draws in use, IKE_E_CRYPTO if RAND fails. */
enum ike_status ike_sa_random_child_spi(struct ike_sa *sa, uint32_t *spi);
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
void ike_sa_emit_child_del(struct ike_sa *sa, uint32_t spi_in);
void ike_sa_emit_ike_del(struct ike_sa *sa);
/* RESPONSE for the response just cached (sa->cache), when the ctx asks for
 * it and a standby can use it (<ike/events.h>). */
void ike_sa_emit_response(struct ike_sa *sa);

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
/* Adds NAT_DETECTION_SOURCE_IP (local) and _DESTINATION_IP (remote) as
 * the gateway's mode says: nothing for IKE_NATT_DISABLE, a SOURCE hash
 * over no real address for IKE_NATT_FORCED. */
enum ike_status ike_nat_add_notifies(enum ike_natt_mode mode, struct ike_msg *msg,
                                     const struct ike_addr *local, const struct ike_addr *remote);
/* From a received IKE_SA_INIT message that arrived on local from remote:
 * *nat_local when no DESTINATION hash matches local, *nat_remote when no
 * SOURCE hash matches remote. Both false when the peer sent none or the
 * mode is IKE_NATT_DISABLE; IKE_NATT_FORCED sets *nat_local whenever the
 * peer sent them (it supports NAT-T). */
void ike_nat_detect(enum ike_natt_mode mode, const struct ike_msg *msg,
                    const struct ike_addr *local, const struct ike_addr *remote, bool *nat_local,
                    bool *nat_remote);

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
/* A CHILD SA request's TSi narrowed to the selector pair's remote
 * selectors and its TSr to the local ones, at most IKE_EXPORT_TS_MAX
 * each; true when both keep something. */
bool ike_ts_narrow_child(const struct ike_cfg_child *c, const struct ike_pld_ts *tsi,
                         const struct ike_pld_ts *tsr, struct ike_ts *out_i, size_t *n_i,
                         struct ike_ts *out_r, size_t *n_r);
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
/* The same for any exchange: exch_initiator is our role in the exchange
 * that created it, n its nonces, g_ir the PFS secret or NULL. */
enum ike_status ike_child_derive_keys(struct ike_sa *sa, struct ike_child_export *child,
                                      bool exch_initiator, const struct ike_secret *g_ir,
                                      const struct ike_keys_nonces *n, struct ike_diag *diag);
/* Fills everything but SPIs, selectors and keys (version, IKE SPIs, cfg
 * name, algorithms). */
void ike_child_init(const struct ike_sa *sa, const struct ike_cfg_child *cfg,
                    const struct ike_sa_algs *a, struct ike_child_export *c);
/* By inbound (or outbound) SPI; NULL if none. */
struct ike_child_export *ike_child_find(struct ike_sa *sa, bool inbound, uint32_t spi);
/* The selector config a CHILD SA was made from; NULL if gone. */
const struct ike_cfg_child *ike_child_cfg_by_name(const struct ike_sa *sa, const char *name);
void ike_child_put_spi(uint8_t *b, uint32_t spi);
/* Logs a CHILD SA request of ours that came to nothing, with what we
 * offered: "<head><name><tail>: <why>; we offered <proposals>, TSi .., TSr ..". */
void ike_child_log_failed(struct ike_sa *sa, const struct ike_cfg_child *c, const char *head,
                          const char *tail, const char *why);
uint32_t ike_child_get_spi(const uint8_t *b);
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
/* CREATE_CHILD_SA request on an ESTABLISHED SA (exch_create_child_sa.c):
 * new CHILD SA, CHILD rekey or IKE rekey, answered or refused. */
enum ike_status ike_exch_create_child_sa_request(struct ike_sa *sa, const struct ike_msg *req,
                                                 const uint8_t *data, size_t len,
                                                 const struct ike_addr *local,
                                                 const struct ike_addr *remote,
                                                 struct ike_diag *diag);
/* An INFORMATIONAL request arrived: if it deletes this IKE SA while we
 * hold the new SA of the peer's rekey that collided with ours
 * (exch_ike_rekey.c), that SA takes over now (§2.25.2: the peer's rekey
 * won, ours is forgotten). */
void ike_exch_ike_rekey_on_info(struct ike_sa *sa, const struct ike_msg *req);
/* Initiator, once IKE_AUTH established the SA: queues one CHILD_CREATE
 * per further selector pair (cfg->children[1..]). */
void ike_exch_child_create_more(struct ike_sa *sa);

/* ---- exch_informational.c, exch_delete.c, exch_dpd.c ------------------- */
/* An INFORMATIONAL request of an ESTABLISHED SA (window already checked). */
enum ike_status ike_exch_info_request(struct ike_sa *sa, const struct ike_msg *req,
                                      const uint8_t *data, size_t len,
                                      const struct ike_addr *local,
                                      const struct ike_addr *remote, struct ike_diag *diag);
/* An authentic request (ICV good, expected message ID) that failed to
 * parse or broke the payload rules: answered with INVALID_SYNTAX (RFC
 * 7296 §3.10.1; only now, so forged messages get no answer), or
 * UNSUPPORTED_CRITICAL_PAYLOAD. Consumes the message ID. */
void ike_info_answer_malformed(struct ike_sa *sa, const struct ike_msg *req, enum ike_status why,
                               const uint8_t *data, size_t len, const struct ike_addr *local,
                               const struct ike_addr *remote, const struct ike_diag *diag);
/* RFC 7296 §2.21.2: we (initiator) could not authenticate the responder
 * after IKE_AUTH: tell it in a protected INFORMATIONAL, sent once (the SA
 * dies right after), so it does not keep an SA we will never use. */
void ike_info_send_auth_failed(struct ike_sa *sa);
/* An unprotected answer to our protected request (dropped by the caller):
 * logs an INVALID_IKE_SPI in it as the hint it is (RFC 7296 §2.21.4: the
 * peer may have lost the SA), without acting on it. */
void ike_info_note_unprotected(struct ike_sa *sa, const struct ike_msg *msg);
/* The peer's error notifies (< 16384) in an INFORMATIONAL: one log line
 * each, counted. */
void ike_info_log_errors(struct ike_sa *sa, const struct ike_msg *msg, const char *what);
/* Removes sa->children[i]: out of the data plane, CHILD_SA_DEL, logged. */
void ike_child_remove(struct ike_sa *sa, size_t i, const char *why);
/* Index of the CHILD SA with this inbound / outbound SPI, or SIZE_MAX. */
size_t ike_child_find_in(const struct ike_sa *sa, uint32_t spi_in);
size_t ike_child_find_out(const struct ike_sa *sa, uint32_t spi_out);
/* An ESTABLISHED SA ends: every CHILD SA removed, IKE_SA_DEL. The caller
 * then moves it to DEAD (ike_sa_fail does both). */
void ike_sa_remove_all(struct ike_sa *sa);
extern const struct ike_task_ops ike_task_child_delete;
extern const struct ike_task_ops ike_task_ike_delete;
extern const struct ike_task_ops ike_task_dpd;
extern const struct ike_task_ops ike_task_invalid_spi;

/* ---- sa_lifetime.c ------------------------------------------------------ */
/* Lifetimes (soft below hard) and DPD mode of a gateway config. */
enum ike_status ike_life_cfg_check(const struct ike_sa_cfg *cfg, struct ike_diag *diag);
/* The SA became ESTABLISHED: lifetimes and DPD armed (not when passive). */
void ike_life_start(struct ike_sa *sa);
/* A new CHILD SA: its lifetimes from its selector config (by cfg_name). */
void ike_life_child_init(struct ike_sa *sa, struct ike_child_export *c);
/* Re-arms IKE_TIMER_CHILD_LIFETIME for the earliest child deadline. */
void ike_life_child_rearm(struct ike_sa *sa);
/* An authentic message arrived from the peer. */
void ike_life_note_rx(struct ike_sa *sa);
void ike_life_timer(struct ike_sa *sa, enum ike_timer which);
/* Import: lifetimes left from the export, no timer armed (passive). */
void ike_life_import(struct ike_sa *sa, const struct ike_sa_export *ex);
/* (Re)arms the DPD timer by mode; its expiry. */
void ike_dpd_arm(struct ike_sa *sa);
void ike_dpd_timer(struct ike_sa *sa);
/* Lifetimes left / age for export; import of a CHILD SA's age. */
void ike_life_export(const struct ike_sa *sa, struct ike_sa_export *ex);
void ike_life_export_child(const struct ike_sa *sa, struct ike_child_export *c);
void ike_life_import_child(struct ike_sa *sa, struct ike_child_export *c);
/* Lifetime, DPD and CHILD lifetime timers armed from the SA's deadlines
 * (nothing while passive or draining). */
void ike_life_rearm_all(struct ike_sa *sa);

/* ---- sa_cookie.c -------------------------------------------------------- */
/* Responder: with ctx->require_cookie, false when the request was answered
 * with N(COOKIE) (or dropped) instead of being processed. */
bool ike_cookie_admit(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                      const struct ike_msg *req, const struct ike_addr *local,
                      const struct ike_addr *remote);
/* Initiator: an IKE_SA_INIT response carrying N(COOKIE): retry with it. */
enum ike_status ike_cookie_retry(struct ike_sa *sa, const struct ike_pld *n,
                                 struct ike_diag *diag);

/* ---- sa_msgid_sync.c ---------------------------------------------------- */
/* A request with message ID 0 may be an RFC 6311 sync (checked before the
 * window, as ID 0 is always accepted for it). */
bool ike_msgid_sync_candidate(const struct ike_sa *sa, const struct ike_msg *msg);
enum ike_status ike_msgid_sync_request(struct ike_sa *sa, struct ike_msg *msg, const uint8_t *data,
                                       size_t len, const struct ike_addr *local,
                                       const struct ike_addr *remote, struct ike_diag *diag);
/* Our sync request is outstanding and msg answers it. */
bool ike_msgid_sync_is_reply(const struct ike_sa *sa, const struct ike_msg *msg);
enum ike_status ike_msgid_sync_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                     struct ike_diag *diag);
void ike_msgid_sync_free(struct ike_sa *sa);

/* ---- sa_process.c ------------------------------------------------------- */
/* Decrypts (all but IKE_SA_INIT) and checks the payload rules, counting
 * drops; *complete false while fragments are being collected. */
enum ike_status ike_sa_open_msg(struct ike_sa *sa, struct ike_msg *msg, bool *complete,
                                struct ike_diag *diag);

#endif
