/* Shared by the CREATE_CHILD_SA files: exch_create_child_sa.c (request
 * dispatch, public calls, nonces and KE), exch_child_create.c (new CHILD
 * SAs, both roles), exch_child_rekey.c (REKEY_SA) and exch_ike_rekey.c. */
#ifndef IKE_EXCH_CCS_H
#define IKE_EXCH_CCS_H

#include "sa_internal.h"

#define IKE_CCS_INVALID_KE_MAX 2

/* The initiator's side of one CREATE_CHILD_SA exchange: the task's data. */
struct ike_ccs {
    uint8_t ni[IKE_NONCE_MAX];
    size_t ni_len;
    uint8_t nr[IKE_NONCE_MAX]; /* from the response */
    size_t nr_len;
    struct ike_dh *dh; /* our KE (PFS, IKE rekey) or NULL */
    unsigned invalid_ke_retries;
    uint32_t child_spi;              /* CHILD kinds: offered, our inbound SPI */
    uint8_t ike_spi[IKE_SPI_LEN];    /* IKE rekey: our SPI of the new IKE SA */
    uint32_t created_spi;            /* CHILD kinds: inbound SPI of what we created */
    const struct ike_cfg_child *cfg; /* CHILD kinds: the selector pair */
    /* RFC 7296 §2.8.1: while our rekey was outstanding the peer rekeyed the
     * same SA and we answered: the lowest nonce of its exchange, and what
     * it created (inbound SPI of the CHILD SA, or the new IKE SA held back
     * until ours completes). */
    bool collision;
    uint8_t peer_low[IKE_NONCE_MAX];
    size_t peer_low_len;
    uint32_t peer_child_spi;
    struct ike_sa *peer_sa;
};

/* A fresh nonce of nonce_len; KE of group unless 0. NULL on failure
 * (logged). */
struct ike_ccs *ike_ccs_new(struct ike_sa *sa, size_t nonce_len, uint16_t group);
void ike_ccs_free(struct ike_ccs *x);
/* The task's release(): frees t->data. */
void ike_ccs_release(struct ike_sa *sa, struct ike_task *t);
/* INVALID_KE_PAYLOAD in a response: a new KE of the group the peer names
 * if it is one of `allowed` and retries are left (true: send again). */
bool ike_ccs_retry_ke(struct ike_sa *sa, struct ike_ccs *x, const struct ike_pld *n,
                      const struct ike_cfg_proposal *allowed, size_t n_allowed);
/* g^ir from our key and the KE payload of the peer. */
enum ike_status ike_ccs_shared(struct ike_sa *sa, struct ike_dh *dh, const struct ike_pld *ke,
                               struct ike_secret **g_ir);
/* The response's Nr into x. */
bool ike_ccs_take_nr(struct ike_ccs *x, const struct ike_msg *resp);
/* The lower of two nonces, compared as unsigned big numbers of the same
 * length first, then the shorter lower (RFC 7296 §2.8.1). */
int ike_nonce_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
void ike_nonce_low(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out,
                   size_t *out_len);
/* Message header of our request / response on sa. */
void ike_ccs_msg_init(const struct ike_sa *sa, struct ike_msg *msg, bool response,
                      uint32_t message_id);
/* Queues the Delete of a replaced or redundant SA; logs when INFORMATIONAL
 * Delete is not available. */
void ike_ccs_queue_delete(struct ike_sa *sa, enum ike_task_kind kind, uint32_t spi,
                          const char *what);

/* ---- exch_child_create.c -------------------------------------------------- */
/* Responder, new CHILD SA or (old non-NULL) its rekey: adds SA, Nr, [KEr],
 * TSi, TSr to resp after installing the CHILD SA, or returns the error
 * notify type (with resp untouched: the caller adds it, except
 * INVALID_KE_PAYLOAD which is added here with its group). On success
 * *spi_in is the new SA's inbound SPI and nr/nr_len our nonce. */
uint16_t ike_ccs_child_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp,
                               const struct ike_child_export *old, uint32_t *spi_in, uint8_t *nr,
                               size_t *nr_len);
enum ike_ccs_outcome {
    IKE_CCS_CREATED,
    IKE_CCS_RETRY, /* INVALID_KE_PAYLOAD: x has a new KE, send again */
    IKE_CCS_FAILED,
};
/* Initiator: the response to our CHILD request for cfg; installs the new
 * CHILD SA (replacing `replaces` when non-zero). */
enum ike_ccs_outcome ike_ccs_child_reply(struct ike_sa *sa, struct ike_ccs *x,
                                         const struct ike_cfg_child *cfg, uint32_t replaces,
                                         const struct ike_msg *resp);
/* Initiator: SA (our SPI, PFS groups), Ni, [KEi], TSi, TSr. */
enum ike_status ike_ccs_child_build(struct ike_sa *sa, const struct ike_ccs *x,
                                    const struct ike_cfg_child *cfg, const struct ike_ts *tsi,
                                    size_t n_tsi, const struct ike_ts *tsr, size_t n_tsr,
                                    struct ike_msg *msg);
/* The PFS group we offer first for cfg (0: no PFS). */
uint16_t ike_ccs_pfs_group(const struct ike_cfg_child *cfg);

/* ---- exch_child_rekey.c ----------------------------------------------- */
/* Responder: a request with N(REKEY_SA). */
void ike_ccs_child_rekey_respond(struct ike_sa *sa, const struct ike_msg *req,
                                 const struct ike_pld *rekey, struct ike_msg *resp);

/* ---- exch_ike_rekey.c --------------------------------------------------- */
/* Responder: a request whose SA payload proposes protocol IKE. The new
 * SA is in *successor when it took over at once (the caller kicks its
 * queue after sending the response). */
void ike_ccs_ike_rekey_respond(struct ike_sa *sa, const struct ike_msg *req, struct ike_msg *resp,
                               struct ike_sa **successor);

#endif
