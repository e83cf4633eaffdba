/* Receiving: header checks against the SA, message-ID window, responder
 * cache lookups, decryption and payload rules, then the exchange handler.
 * Every drop is counted and names its reason in diag. */
#include <string.h>

#include <ike/sk.h>

#include "sa_internal.h"

static enum ike_status drop(uint64_t *counter, enum ike_status st)
{
    (*counter)++;
    return st;
}

static enum ike_status check_header(const struct ike_sa *sa, const struct ike_msg *msg,
                                    struct ike_diag *diag)
{
    static const uint8_t zero[IKE_SPI_LEN];
    const struct ike_hdr *h = &msg->hdr;
    bool from_initiator = (h->flags & IKE_FLAG_INITIATOR) != 0;
    if (memcmp(h->spi_i, sa->spi_i, IKE_SPI_LEN) != 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "initiator SPI is not this SA's");
    if (from_initiator == sa->initiator)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "Initiator flag %s on a message from the %s",
                             from_initiator ? "set" : "clear",
                             sa->initiator ? "responder" : "initiator");
    bool init = h->exchange == IKE_EXCH_IKE_SA_INIT;
    bool learning = init && ike_msg_is_response(msg) && sa->state == IKE_SA_STATE_INIT_SENT;
    bool init_retransmit =
        init && !ike_msg_is_response(msg) && memcmp(h->spi_r, zero, IKE_SPI_LEN) == 0;
    if (!learning && !init_retransmit && memcmp(h->spi_r, sa->spi_r, IKE_SPI_LEN) != 0)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "responder SPI is not this SA's");
    return IKE_OK;
}

/* RFC 7383 §2.6: collects SKF fragments; *complete once msg holds the
 * whole reassembled message. */
static enum ike_status reassemble(struct ike_sa *sa, struct ike_msg *msg, bool *complete,
                                  struct ike_diag *diag)
{
    *complete = false;
    if (!sa->fragmentation)
        return drop(
            &sa->stats.dropped_malformed,
            ike_diag_fail(diag, IKE_E_RULES, "SKF fragment, but RFC 7383 was not negotiated"));
    struct ike_sk_reasm **r = &sa->reasm[ike_msg_is_response(msg) ? 1 : 0];
    uint32_t pending = 0;
    if (!*r && !(*r = ike_sk_reasm_new(0, 0)))
        return ike_diag_fail(diag, IKE_E_NOMEM, "fragment reassembly");
    /* the window let this message ID through: an older one is abandoned */
    if (ike_sk_reasm_pending(*r, &pending) && pending != msg->hdr.message_id)
        ike_sk_reasm_reset(*r);
    struct ike_msg whole = {0};
    enum ike_sk_reasm_result res = IKE_SK_REASM_NEED_MORE;
    enum ike_status st = ike_sk_reasm_add(*r, msg, ike_sa_cipher_in(sa), &whole, &res, diag);
    if (st == IKE_E_INTEGRITY)
        return drop(&sa->stats.dropped_integrity, st);
    if (st != IKE_OK)
        return drop(&sa->stats.dropped_malformed, st);
    if (res != IKE_SK_REASM_COMPLETE)
        return IKE_OK;
    ike_msg_clear(msg);
    *msg = whole; /* moved, not copied: whole is not cleared */
    *complete = true;
    return IKE_OK;
}

/* Decrypts (all but IKE_SA_INIT) and checks the payload rules. *complete
 * is false while a fragmented message is still being collected. */
static enum ike_status open_msg(struct ike_sa *sa, struct ike_msg *msg, bool *complete,
                                struct ike_diag *diag)
{
    enum ike_status st;
    *complete = true;
    if (msg->hdr.exchange != IKE_EXCH_IKE_SA_INIT) {
        if (!msg->sk)
            return drop(&sa->stats.dropped_malformed,
                        ike_diag_fail(diag, IKE_E_RULES, "%s without SK payload",
                                      ike_exchange_name(msg->hdr.exchange)));
        if (!ike_sa_cipher_in(sa))
            return drop(&sa->stats.dropped_malformed,
                        ike_diag_fail(diag, IKE_E_STATE, "no keys yet for %s",
                                      ike_exchange_name(msg->hdr.exchange)));
        if (msg->sk->type == IKE_PLD_SKF) {
            st = reassemble(sa, msg, complete, diag);
            if (st != IKE_OK || !*complete)
                return st;
        } else {
            st = ike_sk_unprotect(msg, ike_sa_cipher_in(sa), diag);
            if (st == IKE_E_INTEGRITY)
                return drop(&sa->stats.dropped_integrity, st);
            if (st != IKE_OK)
                return drop(&sa->stats.dropped_malformed, st);
        }
    }
    st = ike_msg_check_rules(msg, diag);
    if (st != IKE_OK)
        return drop(&sa->stats.dropped_malformed, st);
    ike_life_note_rx(sa); /* authentic: the peer is alive */
    return IKE_OK;
}

enum ike_status ike_sa_open_msg(struct ike_sa *sa, struct ike_msg *msg, bool *complete,
                                struct ike_diag *diag)
{
    return open_msg(sa, msg, complete, diag);
}

static void log_received(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_addr *local,
                         const struct ike_addr *remote, size_t len)
{
    char d[256], l[IKE_ADDR_STR_MAX], r[IKE_ADDR_STR_MAX];
    ike_sa_log(sa, IKE_LOG_DEBUG, "received %s: %s->%s, len=%zu",
               ike_msg_describe(msg, d, sizeof(d)), ike_addr_str(remote, r, sizeof(r)),
               ike_addr_str(local, l, sizeof(l)), len);
}

/* A retransmission of the request we last answered gets the same bytes. */
static enum ike_status resend_cached(struct ike_sa *sa, const struct ike_msg *msg,
                                     const uint8_t *data, size_t len, const struct ike_addr *local,
                                     const struct ike_addr *remote, struct ike_diag *diag)
{
    uint32_t msgid = msg->hdr.message_id;
    uint8_t hash[IKE_SA_HASH_LEN];
    ike_sa_hash_request(data, len, hash);
    /* A fragmented request is answered again on its fragment 1 only
     * (RFC 7383 §2.6.1): its cache entry matches no single datagram's
     * hash (see process_request), fragment 1 is matched by number. */
    bool frag1 = msg->sk && msg->sk->type == IKE_PLD_SKF && msg->sk->sk.frag_num == 1;
    if (!sa->cache.valid || sa->cache.message_id != msgid ||
        (!frag1 && memcmp(hash, sa->cache.req_hash, IKE_SA_HASH_LEN) != 0))
        return drop(&sa->stats.dropped_msgid,
                    ike_diag_fail(diag, IKE_E_STATE,
                                  "request %u is not a retransmission of the last one answered",
                                  msgid));
    sa->stats.responses_resent++;
    ike_sa_log(sa, IKE_LOG_DEBUG, "request %u retransmitted by peer: resending response", msgid);
    sa->ctx.ops->send(sa->ctx.user, sa, local, remote, sa->cache.buf, sa->cache.len);
    return IKE_OK;
}

static enum ike_status process_request(struct ike_sa *sa, struct ike_msg *msg, const uint8_t *data,
                                       size_t len, const struct ike_addr *local,
                                       const struct ike_addr *remote, struct ike_diag *diag)
{
    uint32_t id = msg->hdr.message_id;
    if (id != sa->recv_next) {
        if (ike_msgid_sync_candidate(sa, msg)) /* RFC 6311: ID 0 outside the window */
            return ike_msgid_sync_request(sa, msg, data, len, local, remote, diag);
        if (sa->recv_next > 0 && id == sa->recv_next - 1)
            return resend_cached(sa, msg, data, len, local, remote, diag);
        return drop(&sa->stats.dropped_msgid,
                    ike_diag_fail(diag, IKE_E_STATE, "request message ID %u, expected %u", id,
                                  sa->recv_next));
    }
    bool complete = false;
    enum ike_status st = open_msg(sa, msg, &complete, diag);
    if (st != IKE_OK && st != IKE_E_INTEGRITY && sa->state == IKE_SA_STATE_ESTABLISHED)
        ike_info_answer_malformed(sa, msg, st, data, len, local, remote, diag);
    if (st != IKE_OK || !complete)
        return st;
    log_received(sa, msg, local, remote, len);
    if (msg->sk && msg->sk->type == IKE_PLD_SKF) {
        /* reassembled: the cache must not match any single fragment's
         * bytes (fragment 1 is matched by number in resend_cached) */
        data = (const uint8_t *)"";
        len = 0;
    }
    if (msg->hdr.exchange == IKE_EXCH_IKE_AUTH && sa->state == IKE_SA_STATE_INIT_DONE)
        return ike_exch_ike_auth_request(sa, msg, data, len, local, remote, diag);
    if (msg->hdr.exchange == IKE_EXCH_CREATE_CHILD_SA && sa->state == IKE_SA_STATE_ESTABLISHED)
        return ike_exch_create_child_sa_request(sa, msg, data, len, local, remote, diag);
    if (msg->hdr.exchange == IKE_EXCH_INFORMATIONAL && sa->state == IKE_SA_STATE_ESTABLISHED)
        ike_exch_ike_rekey_on_info(sa, msg); /* a pending IKE rekey collision first */
    if (msg->hdr.exchange == IKE_EXCH_INFORMATIONAL && sa->state == IKE_SA_STATE_ESTABLISHED)
        return ike_exch_info_request(sa, msg, data, len, local, remote, diag);
    ike_sa_log(sa, IKE_LOG_WARN, "%s request %u in state %s not handled, dropped",
               ike_exchange_name(msg->hdr.exchange), id, ike_sa_state_name(sa->state));
    return drop(&sa->stats.dropped_unhandled,
                ike_diag_fail(diag, IKE_E_UNSUPPORTED, "%s request in state %s",
                              ike_exchange_name(msg->hdr.exchange), ike_sa_state_name(sa->state)));
}

static enum ike_status process_response(struct ike_sa *sa, struct ike_msg *msg, const uint8_t *data,
                                        size_t len, const struct ike_addr *local,
                                        const struct ike_addr *remote, struct ike_diag *diag)
{
    if (!sa->req.active || msg->hdr.message_id != sa->req.message_id ||
        msg->hdr.exchange != sa->req.exchange)
        return drop(&sa->stats.dropped_msgid,
                    ike_diag_fail(diag, IKE_E_STATE,
                                  "%s response %u does not answer an outstanding request",
                                  ike_exchange_name(msg->hdr.exchange), msg->hdr.message_id));
    bool complete = false;
    enum ike_status st = open_msg(sa, msg, &complete, diag);
    if (st != IKE_OK && !msg->sk)
        ike_info_note_unprotected(sa, msg); /* e.g. INVALID_IKE_SPI: say so, act on nothing */
    if (st != IKE_OK || !complete)
        return st;
    log_received(sa, msg, local, remote, len);
    if (msg->hdr.exchange == IKE_EXCH_IKE_SA_INIT)
        return ike_exch_ike_sa_init_reply(sa, msg, data, len, diag);
    if (ike_msgid_sync_is_reply(sa, msg)) /* RFC 6311, outside the queue */
        return ike_msgid_sync_reply(sa, msg, diag);
    if (sa->state == IKE_SA_STATE_ESTABLISHED) /* our queued exchanges (sa_queue.h) */
        return ike_sa_queue_reply(sa, msg, diag);
    return ike_exch_ike_auth_reply(sa, msg, diag);
}

enum ike_status ike_sa_process(struct ike_sa *sa, const uint8_t *data, size_t len,
                               const struct ike_addr *local, const struct ike_addr *remote,
                               struct ike_diag *diag)
{
    struct ike_diag scratch;
    if (!diag)
        diag = &scratch;
    ike_diag_clear(diag);
    if (!sa || !data || !local || !remote)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_process: NULL argument");
    if (sa->state == IKE_SA_STATE_DEAD)
        return ike_diag_fail(diag, IKE_E_STATE, "SA is dead");
    struct ike_msg msg = {0};
    enum ike_status st = ike_msg_decode(&msg, data, len, diag);
    if (st != IKE_OK) {
        sa->stats.dropped_malformed++;
    } else if ((st = check_header(sa, &msg, diag)) != IKE_OK) {
        sa->stats.dropped_malformed++;
    } else if (ike_msg_is_response(&msg)) {
        st = process_response(sa, &msg, data, len, local, remote, diag);
    } else {
        st = process_request(sa, &msg, data, len, local, remote, diag);
    }
    if (st != IKE_OK && sa->state != IKE_SA_STATE_DEAD)
        ike_sa_log(sa, IKE_LOG_DEBUG, "dropped datagram of %zu octets: %s", len, diag->reason);
    ike_msg_clear(&msg);
    return st;
}
