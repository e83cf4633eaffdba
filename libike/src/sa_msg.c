/* Sending: message IDs (window 1), retransmission of our outstanding
 * request with exponential backoff, and the responder cache (RFC 7296
 * §2.1: a retransmitted request gets the identical response). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <ike/sk.h>

#include "sa_internal.h"

struct ike_sk_cipher *ike_sa_cipher_out(const struct ike_sa *sa)
{
    return sa->initiator ? sa->c_i : sa->c_r;
}

struct ike_sk_cipher *ike_sa_cipher_in(const struct ike_sa *sa)
{
    return sa->initiator ? sa->c_r : sa->c_i;
}

void ike_sa_hash_request(const uint8_t *data, size_t len, uint8_t out[IKE_SA_HASH_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != IKE_SA_HASH_LEN)
        memset(out, 0, IKE_SA_HASH_LEN); /* never matches a real digest in practice */
}

/* IKE_SA_INIT in the clear, everything else in SK; a failure is logged
 * (what: "request" or "response"). */
static enum ike_status encode(struct ike_sa *sa, const struct ike_msg *msg, const char *what,
                              uint8_t **out, size_t *out_len)
{
    struct ike_diag diag = {0};
    enum ike_status st = msg->hdr.exchange == IKE_EXCH_IKE_SA_INIT
                             ? ike_msg_encode(msg, out, out_len, &diag)
                             : ike_sk_protect(msg, ike_sa_cipher_out(sa), out, out_len, &diag);
    if (st != IKE_OK)
        ike_sa_log(sa, IKE_LOG_ERR, "cannot encode %s %s: %s", ike_exchange_name(msg->hdr.exchange),
                   what, diag.reason);
    return st;
}

static void log_sent(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_addr *local,
                     const struct ike_addr *remote, size_t len)
{
    char d[256], l[IKE_ADDR_STR_MAX], r[IKE_ADDR_STR_MAX];
    ike_sa_log(sa, IKE_LOG_DEBUG, "sent %s: %s->%s, len=%zu", ike_msg_describe(msg, d, sizeof(d)),
               ike_addr_str(local, l, sizeof(l)), ike_addr_str(remote, r, sizeof(r)), len);
}

static void arm_retransmit(struct ike_sa *sa)
{
    uint32_t ms = sa->ctx.retransmit_base_ms;
    for (unsigned i = 0; i < sa->req.tries && ms < UINT32_MAX / 2; i++)
        ms *= 2;
    sa->ctx.ops->timer_arm(sa->ctx.user, sa, IKE_TIMER_RETRANSMIT, ms);
}

enum ike_status ike_sa_send_request(struct ike_sa *sa, const struct ike_msg *req)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum ike_status st = encode(sa, req, "request", &buf, &len);
    if (st != IKE_OK)
        return st;
    ike_sa_request_done(sa);
    sa->req = (struct ike_sa_request){
        .active = true,
        .exchange = req->hdr.exchange,
        .message_id = req->hdr.message_id,
        .buf = buf,
        .len = len,
        .local = sa->local,
        .remote = sa->remote,
    };
    /* RFC 6311 §4.2: the message-ID sync (ID 0) consumes no message ID */
    bool msgid_sync = req->hdr.exchange == IKE_EXCH_INFORMATIONAL &&
                      ike_msg_find_notify(req, IKE_N_IKEV2_MESSAGE_ID_SYNC) != NULL;
    if (req->hdr.message_id == sa->send_next && !msgid_sync)
        sa->send_next++;
    if (req->hdr.exchange != IKE_EXCH_IKE_SA_INIT)
        ike_sa_emit_msgid(sa); /* write-ahead: before the peer can see it */
    log_sent(sa, req, &sa->local, &sa->remote, len);
    sa->ctx.ops->send(sa->ctx.user, sa, &sa->local, &sa->remote, buf, len);
    arm_retransmit(sa);
    return IKE_OK;
}

void ike_sa_request_done(struct ike_sa *sa)
{
    if (sa->req.buf)
        ike_msg_free_buf(sa->req.buf, sa->req.len);
    if (sa->req.active)
        sa->ctx.ops->timer_cancel(sa->ctx.user, sa, IKE_TIMER_RETRANSMIT);
    memset(&sa->req, 0, sizeof(sa->req));
}

void ike_sa_retransmit(struct ike_sa *sa)
{
    if (!sa->req.active)
        return;
    unsigned limit = sa->req.max_tries ? sa->req.max_tries : sa->ctx.retransmit_tries;
    if (sa->req.tries >= limit) {
        ike_sa_fail(sa, IKE_LOG_WARN,
                    "giving up on %s request %u after %u retransmissions%s",
                    ike_exchange_name(sa->req.exchange), sa->req.message_id, sa->req.tries,
                    sa->state == IKE_SA_STATE_ESTABLISHED ? ": peer declared dead" : "");
        ike_sa_request_done(sa);
        return;
    }
    sa->req.tries++;
    sa->stats.retransmits_sent++;
    ike_sa_log(sa, IKE_LOG_DEBUG, "retransmit %u of %s request %u", sa->req.tries,
               ike_exchange_name(sa->req.exchange), sa->req.message_id);
    sa->ctx.ops->send(sa->ctx.user, sa, &sa->req.local, &sa->req.remote, sa->req.buf, sa->req.len);
    arm_retransmit(sa);
}

enum ike_status ike_sa_send_response(struct ike_sa *sa, const struct ike_msg *resp,
                                     const uint8_t *req, size_t req_len,
                                     const struct ike_addr *local, const struct ike_addr *remote)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum ike_status st = encode(sa, resp, "response", &buf, &len);
    if (st != IKE_OK)
        return st;
    if (sa->cache.buf)
        ike_msg_free_buf(sa->cache.buf, sa->cache.len);
    sa->cache.valid = true;
    sa->cache.message_id = resp->hdr.message_id;
    sa->cache.buf = buf;
    sa->cache.len = len;
    ike_sa_hash_request(req, req_len, sa->cache.req_hash);
    ike_sa_emit_response(sa); /* write-ahead: a standby can answer its retransmission */
    log_sent(sa, resp, local, remote, len);
    sa->ctx.ops->send(sa->ctx.user, sa, local, remote, buf, len);
    return IKE_OK;
}

void ike_sa_timer(struct ike_sa *sa, enum ike_timer which)
{
    switch (which) {
    case IKE_TIMER_RETRANSMIT: ike_sa_retransmit(sa); break;
    case IKE_TIMER_HALF_OPEN:
        if (sa->state == IKE_SA_STATE_INIT_DONE)
            ike_sa_fail(sa, IKE_LOG_WARN, "no IKE_AUTH request within %u ms, half-open SA dropped",
                        sa->ctx.half_open_timeout_ms);
        break;
    case IKE_TIMER_DPD:
    case IKE_TIMER_IKE_LIFETIME:
    case IKE_TIMER_CHILD_LIFETIME: ike_life_timer(sa, which); break;
    case IKE_TIMER_COUNT: break;
    }
}
