/* RFC 6311 message-ID synchronisation, both roles.
 *
 *   HDR(ID 0), SK{N(IKEV2_MESSAGE_ID_SYNC: nonce, our send, our recv),
 *                 [N(IPSEC_REPLAY_COUNTER_SYNC: delta)]}
 *   HDR(ID 0), SK{N(IKEV2_MESSAGE_ID_SYNC: same nonce, their send, their recv)}
 *
 * A cluster member that took over an IKE SA may be behind the message IDs
 * the peer saw. It sends its view (synced counters plus a margin) in an
 * INFORMATIONAL with message ID 0, which the peer accepts outside its
 * window and which consumes no message ID (§4.2). Each side then uses the
 * larger of the two views for both counters, so a replayed (authentic,
 * old) sync request can never move a counter backwards and needs no
 * special replay state. The nonce ties the response to the request. The
 * answer is cached apart from the normal responder cache (ID 0 would
 * overwrite the entry of the last normal request) for retransmissions.
 * The exchange runs outside the request queue (sa_queue.h) and kicks it
 * when done.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ike/sk.h>

#include "sa_internal.h"

static uint32_t max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}

static bool negotiated(const struct ike_sa *sa)
{
    return sa->cfg->msgid_sync && sa->peer_msgid_sync;
}

bool ike_sa_peer_msgid_sync(const struct ike_sa *sa)
{
    return sa->peer_msgid_sync;
}

void ike_msgid_sync_free(struct ike_sa *sa)
{
    if (sa->sync.cache_buf)
        ike_msg_free_buf(sa->sync.cache_buf, sa->sync.cache_len);
    sa->sync.cache_buf = NULL;
    sa->sync.cache_valid = false;
}

static void message_init(const struct ike_sa *sa, struct ike_msg *msg, bool response)
{
    uint8_t flags =
        (uint8_t)((sa->initiator ? IKE_FLAG_INITIATOR : 0) | (response ? IKE_FLAG_RESPONSE : 0));
    ike_msg_init(msg, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL, flags, 0);
}

/* ---- initiator ----------------------------------------------------------- */

enum ike_status ike_sa_msgid_sync(struct ike_sa *sa, uint32_t send_next, uint32_t recv_next,
                                  uint64_t replay_delta, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_msgid_sync: NULL SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->req.active || sa->sync.outstanding)
        return ike_diag_fail(diag, IKE_E_STATE, "message-ID sync in state %s%s",
                             ike_sa_state_name(sa->state),
                             sa->req.active ? " with a request outstanding" : "");
    if (!negotiated(sa))
        return ike_diag_fail(
            diag, IKE_E_UNSUPPORTED, "message-ID sync: RFC 6311 not negotiated (ours %s, peer %s)",
            sa->cfg->msgid_sync ? "on" : "off", sa->peer_msgid_sync ? "on" : "off");
    if (RAND_bytes(sa->sync.nonce, sizeof(sa->sync.nonce)) != 1)
        return ike_diag_fail(diag, IKE_E_CRYPTO, "message-ID sync nonce");
    sa->send_next = max_u32(sa->send_next, send_next);
    sa->recv_next = max_u32(sa->recv_next, recv_next);
    struct ike_n_msgid_sync n = {.expected_send_req_message_id = sa->send_next,
                                 .expected_recv_req_message_id = sa->recv_next};
    memcpy(n.nonce, sa->sync.nonce, sizeof(n.nonce));
    struct ike_msg msg;
    message_init(sa, &msg, false);
    ike_msg_add_n_msgid_sync(&msg, &n);
    bool replay = replay_delta && sa->cfg->replay_counter_sync && sa->sync.peer_replay;
    if (replay)
        ike_msg_add_n_replay_sync(&msg, replay_delta);
    enum ike_status st = ike_sa_send_request(sa, &msg); /* ID 0: send_next unchanged */
    ike_msg_clear(&msg);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "message-ID sync request: %s", ike_status_str(st));
    sa->sync.outstanding = true;
    ike_sa_log(sa, IKE_LOG_INFO, "message-ID sync sent: send %u recv %u%s", sa->send_next,
               sa->recv_next, replay ? ", replay counter delta" : "");
    return IKE_OK;
}

bool ike_msgid_sync_is_reply(const struct ike_sa *sa, const struct ike_msg *msg)
{
    return sa->sync.outstanding && ike_msg_is_response(msg) && msg->hdr.message_id == 0 &&
           msg->hdr.exchange == IKE_EXCH_INFORMATIONAL && sa->req.active && sa->req.message_id == 0;
}

static void finish(struct ike_sa *sa)
{
    ike_sa_request_done(sa);
    sa->sync.outstanding = false;
    ike_sa_queue_kick(sa); /* tasks waited for us */
}

enum ike_status ike_msgid_sync_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                     struct ike_diag *diag)
{
    const struct ike_pld *p = ike_msg_find_notify(resp, IKE_N_IKEV2_MESSAGE_ID_SYNC);
    if (!p) {
        ike_info_log_errors(sa, resp, "answer to our message-ID sync");
        ike_sa_log(sa, IKE_LOG_WARN,
                   "peer answered the message-ID sync without its values: "
                   "keeping send %u recv %u",
                   sa->send_next, sa->recv_next);
        finish(sa);
        return IKE_OK;
    }
    struct ike_n_msgid_sync n;
    enum ike_status st = ike_notify_get_msgid_sync(&p->notify, &n, diag);
    if (st == IKE_OK && memcmp(n.nonce, sa->sync.nonce, sizeof(n.nonce)) != 0)
        st = ike_diag_fail(diag, IKE_E_STATE, "message-ID sync answer echoes another nonce");
    if (st != IKE_OK) { /* keep waiting: the real answer may still come */
        sa->stats.dropped_malformed++;
        return st;
    }
    sa->send_next = max_u32(sa->send_next, n.expected_recv_req_message_id);
    sa->recv_next = max_u32(sa->recv_next, n.expected_send_req_message_id);
    ike_sa_emit_msgid(sa);
    ike_sa_log(sa, IKE_LOG_INFO, "message IDs synced: send %u recv %u (peer sent %u, expects %u)",
               sa->send_next, sa->recv_next, n.expected_send_req_message_id,
               n.expected_recv_req_message_id);
    finish(sa);
    return IKE_OK;
}

/* ---- responder ----------------------------------------------------------- */

bool ike_msgid_sync_candidate(const struct ike_sa *sa, const struct ike_msg *msg)
{
    if (msg->hdr.message_id != 0 || msg->hdr.exchange != IKE_EXCH_INFORMATIONAL ||
        ike_msg_is_response(msg) || sa->state != IKE_SA_STATE_ESTABLISHED || !negotiated(sa))
        return false;
    if (sa->cache.valid && sa->cache.message_id == 0) { /* a normal request 0 again? */
        uint8_t h[IKE_SA_HASH_LEN];
        ike_sa_hash_request(msg->raw.ptr, msg->raw.len, h);
        if (memcmp(h, sa->cache.req_hash, sizeof(h)) == 0)
            return false;
    }
    return true;
}

static void send_cached(struct ike_sa *sa, const struct ike_addr *local,
                        const struct ike_addr *remote)
{
    sa->stats.responses_resent++;
    ike_sa_log(sa, IKE_LOG_DEBUG, "message-ID sync retransmitted by peer: resending answer");
    sa->ctx.ops->send(sa->ctx.user, sa, local, remote, sa->sync.cache_buf, sa->sync.cache_len);
}

static void replay_sync(struct ike_sa *sa, const struct ike_msg *req)
{
    const struct ike_pld *p = ike_msg_find_notify(req, IKE_N_IPSEC_REPLAY_COUNTER_SYNC);
    uint64_t delta = 0;
    struct ike_diag d = {0};
    if (!p)
        return;
    if (!sa->cfg->replay_counter_sync) {
        ike_sa_log(sa, IKE_LOG_WARN, "IPSEC_REPLAY_COUNTER_SYNC ignored: not offered by us");
        return;
    }
    if (ike_notify_get_replay_sync(&p->notify, &delta, &d) != IKE_OK) {
        ike_sa_log(sa, IKE_LOG_WARN, "IPSEC_REPLAY_COUNTER_SYNC ignored: %s", d.reason);
        return;
    }
    ike_sa_log(sa, IKE_LOG_INFO, "peer asks to advance outbound ESP sequence numbers by %llu",
               (unsigned long long)delta);
    if (sa->ctx.ops->replay_sync)
        sa->ctx.ops->replay_sync(sa->ctx.user, sa, delta);
}

static enum ike_status answer(struct ike_sa *sa, const uint8_t nonce[4], const uint8_t *data,
                              size_t len, const struct ike_addr *local,
                              const struct ike_addr *remote, struct ike_diag *diag)
{
    struct ike_n_msgid_sync n = {.expected_send_req_message_id = sa->send_next,
                                 .expected_recv_req_message_id = sa->recv_next};
    memcpy(n.nonce, nonce, sizeof(n.nonce));
    struct ike_msg resp;
    message_init(sa, &resp, true);
    ike_msg_add_n_msgid_sync(&resp, &n);
    uint8_t *buf = NULL;
    size_t blen = 0;
    enum ike_status st = ike_sk_protect(&resp, ike_sa_cipher_out(sa), &buf, &blen, diag);
    ike_msg_clear(&resp);
    if (st != IKE_OK)
        return st;
    ike_msgid_sync_free(sa);
    sa->sync.cache_valid = true;
    sa->sync.cache_buf = buf;
    sa->sync.cache_len = blen;
    ike_sa_hash_request(data, len, sa->sync.cache_hash);
    ike_sa_log(sa, IKE_LOG_DEBUG, "sent INFORMATIONAL response 0 [ N(IKEV2_MESSAGE_ID_SYNC) ]");
    sa->ctx.ops->send(sa->ctx.user, sa, local, remote, buf, blen);
    return IKE_OK;
}

enum ike_status ike_msgid_sync_request(struct ike_sa *sa, struct ike_msg *msg, const uint8_t *data,
                                       size_t len, const struct ike_addr *local,
                                       const struct ike_addr *remote, struct ike_diag *diag)
{
    uint8_t h[IKE_SA_HASH_LEN];
    ike_sa_hash_request(data, len, h);
    if (sa->sync.cache_valid && memcmp(h, sa->sync.cache_hash, sizeof(h)) == 0) {
        send_cached(sa, local, remote);
        return IKE_OK;
    }
    bool complete = true;
    enum ike_status st = IKE_OK;
    if (!msg->inner_decoded)
        st = ike_sa_open_msg(sa, msg, &complete, diag);
    if (st != IKE_OK || !complete)
        return st;
    const struct ike_pld *p = ike_msg_find_notify(msg, IKE_N_IKEV2_MESSAGE_ID_SYNC);
    struct ike_n_msgid_sync n;
    if (!p) {
        sa->stats.dropped_msgid++;
        return ike_diag_fail(diag, IKE_E_STATE, "request message ID 0, expected %u", sa->recv_next);
    }
    if ((st = ike_notify_get_msgid_sync(&p->notify, &n, diag)) != IKE_OK) {
        sa->stats.dropped_malformed++;
        return st;
    }
    uint32_t old_send = sa->send_next, old_recv = sa->recv_next;
    sa->recv_next = max_u32(sa->recv_next, n.expected_send_req_message_id);
    sa->send_next = max_u32(sa->send_next, n.expected_recv_req_message_id);
    ike_sa_emit_msgid(sa); /* write-ahead: before the answer */
    ike_sa_log(sa, IKE_LOG_INFO,
               "peer syncs message IDs (sends %u, expects %u): send %u->%u, recv %u->%u",
               n.expected_send_req_message_id, n.expected_recv_req_message_id, old_send,
               sa->send_next, old_recv, sa->recv_next);
    if (sa->req.active && sa->req.message_id < sa->send_next - 1)
        ike_sa_log(sa, IKE_LOG_WARN,
                   "our outstanding request %u predates the sync: the peer "
                   "may not answer it",
                   sa->req.message_id);
    replay_sync(sa, msg);
    st = answer(sa, n.nonce, data, len, local, remote, diag);
    if (st != IKE_OK)
        ike_sa_log(sa, IKE_LOG_ERR, "cannot answer the message-ID sync: %s", diag->reason);
    return st;
}
