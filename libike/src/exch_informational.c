/* The INFORMATIONAL exchange as responder (RFC 7296 §1.4, §1.5, §2.21):
 *
 *   request:  HDR, SK{[N+], [D+], [CP], [V+]}     (empty: liveness check)
 *   response: HDR, SK{[D+]}  the Deletes of the paired CHILD SAs, or empty
 *
 * Delete of the IKE SA: empty answer, every CHILD SA and the IKE SA gone.
 * Delete of CHILD SAs: each one the peer names (by its inbound SPI, our
 * outbound one) is removed and our inbound SPI answered, except when our
 * own Delete of it is running (crossed Deletes, §1.4.1: not answered).
 * Error notifies are logged and counted, unknown status notifies ignored.
 * Also INVALID_SYNTAX for an authentic but malformed request (§3.10.1).
 * The initiator side is exch_delete.c and exch_dpd.c (queued tasks).
 */
#include <stdio.h>
#include <string.h>

#include <ike/sk.h>

#include "sa_internal.h"
#include "sk_layer.h"

#define INFO_MAX_SPIS 64 /* SPIs we answer in one Delete payload */

void ike_info_log_errors(struct ike_sa *sa, const struct ike_msg *msg, const char *what)
{
    for (const struct ike_pld *p = ike_msg_find(msg, IKE_PLD_NOTIFY); p;
         p = ike_msg_find_next(p, IKE_PLD_NOTIFY)) {
        uint16_t t = p->notify.type;
        if (t > IKE_N_ERROR_MAX) {
            if (t != IKE_N_IKEV2_MESSAGE_ID_SYNC && t != IKE_N_IPSEC_REPLAY_COUNTER_SYNC)
                ike_sa_log(sa, IKE_LOG_DEBUG, "%s: status notify %s (%u) ignored", what,
                           ike_notify_name(t), t);
            continue;
        }
        sa->stats.errors_received++;
        uint32_t spi = 0;
        if (t == IKE_N_INVALID_SPI && p->notify.data.len == 4) {
            const uint8_t *d = p->notify.data.ptr;
            spi = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
            ike_sa_log(sa, IKE_LOG_WARN,
                       "%s: peer reports INVALID_SPI: ESP/AH with SPI %08x it does not know "
                       "(our outbound SA%s)",
                       what, spi,
                       ike_child_find_out(sa, spi) != SIZE_MAX ? "" : ", not one we hold");
            continue;
        }
        ike_sa_log(sa, IKE_LOG_WARN, "%s: peer sent error notify %s (%u)%s%s", what,
                   ike_notify_name(t), t, p->notify.spi_len ? " for " : "",
                   p->notify.spi_len ? ike_protocol_name(p->notify.protocol) : "");
    }
}

/* Crossed Deletes: our own Delete of this CHILD SA is out. */
static bool deleting_ourselves(struct ike_sa *sa, uint32_t spi_in)
{
    struct ike_task *t = ike_sa_queue_running(sa);
    return t && t->kind == IKE_TASK_CHILD_DELETE && t->spi == spi_in;
}

/* One Delete payload of CHILD SAs: removes ours, collects the SPIs to
 * answer. */
static void delete_children(struct ike_sa *sa, const struct ike_pld_delete *d, uint32_t *answer,
                            size_t *n_answer)
{
    for (size_t i = 0; i < d->n_spis; i++) {
        size_t k = ike_child_find_out(sa, d->spis[i]);
        if (k == SIZE_MAX || sa->children[k].protocol != d->protocol) {
            ike_sa_log(sa, IKE_LOG_INFO, "peer deletes %s SA %08x, which we do not have: ignored",
                       ike_protocol_name(d->protocol), d->spis[i]);
            continue;
        }
        uint32_t spi_in = sa->children[k].spi_in;
        if (deleting_ourselves(sa, spi_in))
            ike_sa_log(sa, IKE_LOG_INFO, "crossed Deletes of CHILD SA %08x: not answered", spi_in);
        else if (*n_answer < INFO_MAX_SPIS)
            answer[(*n_answer)++] = spi_in;
        ike_child_remove(sa, k, "deleted by peer");
    }
}

static enum ike_status respond(struct ike_sa *sa, struct ike_msg *resp, const uint8_t *data,
                               size_t len, const struct ike_addr *local,
                               const struct ike_addr *remote, struct ike_diag *diag)
{
    enum ike_status st = ike_sa_send_response(sa, resp, data, len, local, remote);
    ike_msg_clear(resp);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "INFORMATIONAL response: %s", ike_status_str(st));
    return IKE_OK;
}

/* The peer deletes the IKE SA: answer empty, after the events. */
static enum ike_status ike_deleted(struct ike_sa *sa, struct ike_msg *resp, const uint8_t *data,
                                   size_t len, const struct ike_addr *local,
                                   const struct ike_addr *remote, struct ike_diag *diag)
{
    ike_sa_log(sa, IKE_LOG_INFO, "peer deletes the IKE SA (%zu CHILD SAs)", sa->n_children);
    ike_sa_remove_all(sa);
    enum ike_status st = respond(sa, resp, data, len, local, remote, diag);
    (void)ike_sa_transition(sa, IKE_SA_STATE_DEAD);
    return st;
}

/* RFC 7296 §2.21.2: the initiator could not authenticate us after IKE_AUTH
 * and says so in a protected INFORMATIONAL: the IKE SA is unusable. */
static enum ike_status auth_rejected(struct ike_sa *sa, struct ike_msg *resp, const uint8_t *data,
                                     size_t len, const struct ike_addr *local,
                                     const struct ike_addr *remote, struct ike_diag *diag)
{
    char me[320];
    ike_sa_log(sa, IKE_LOG_ERR,
               "peer could not authenticate us (AUTHENTICATION_FAILED after IKE_AUTH, we sent "
               "ID %s): check PSK and IDs; IKE SA removed",
               ike_sa_id_str(&sa->local_id, me, sizeof(me)));
    ike_sa_remove_all(sa);
    enum ike_status st = respond(sa, resp, data, len, local, remote, diag);
    (void)ike_sa_transition(sa, IKE_SA_STATE_DEAD);
    return st;
}

void ike_info_send_auth_failed(struct ike_sa *sa)
{
    struct ike_msg msg;
    struct ike_diag d = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    ike_msg_init(&msg, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL,
                 sa->initiator ? IKE_FLAG_INITIATOR : 0, sa->send_next);
    ike_msg_add_notify(&msg, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
    if (ike_sa_cipher_out(sa) &&
        ike_sk_protect(&msg, ike_sa_cipher_out(sa), &buf, &len, &d) == IKE_OK) {
        ike_sa_log(sa, IKE_LOG_DEBUG,
                   "sent INFORMATIONAL request %u [ SK { "
                   "N(AUTHENTICATION_FAILED) } ] (not retransmitted)",
                   msg.hdr.message_id);
        sa->ctx.ops->send(sa->ctx.user, sa, &sa->local, &sa->remote, buf, len);
        ike_msg_free_buf(buf, len);
    }
    ike_msg_clear(&msg);
}

enum ike_status ike_exch_info_request(struct ike_sa *sa, const struct ike_msg *req,
                                      const uint8_t *data, size_t len, const struct ike_addr *local,
                                      const struct ike_addr *remote, struct ike_diag *diag)
{
    if (req->hdr.message_id == 0 && ike_msg_find_notify(req, IKE_N_IKEV2_MESSAGE_ID_SYNC) &&
        ike_msgid_sync_candidate(sa, req))
        return ike_msgid_sync_request(sa, (struct ike_msg *)req, data, len, local, remote, diag);
    sa->recv_next++;
    ike_sa_emit_msgid(sa);
    ike_info_log_errors(sa, req, "INFORMATIONAL request");
    struct ike_msg resp;
    ike_msg_init(&resp, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE,
                 req->hdr.message_id);
    if (sa->initiator)
        resp.hdr.flags |= IKE_FLAG_INITIATOR;
    if (ike_msg_find_notify(req, IKE_N_AUTHENTICATION_FAILED))
        return auth_rejected(sa, &resp, data, len, local, remote, diag);
    for (const struct ike_pld *p = ike_msg_find(req, IKE_PLD_DELETE); p;
         p = ike_msg_find_next(p, IKE_PLD_DELETE))
        if (p->del.protocol == IKE_PROTO_IKE)
            return ike_deleted(sa, &resp, data, len, local, remote, diag);
    uint32_t answer[INFO_MAX_SPIS];
    size_t n_answer = 0;
    for (const struct ike_pld *p = ike_msg_find(req, IKE_PLD_DELETE); p;
         p = ike_msg_find_next(p, IKE_PLD_DELETE)) {
        size_t before = n_answer;
        delete_children(sa, &p->del, answer, &n_answer);
        if (n_answer > before)
            ike_msg_add_delete(&resp, p->del.protocol, answer + before, n_answer - before);
    }
    if (!ike_msg_find(req, IKE_PLD_DELETE) && !ike_msg_find(req, IKE_PLD_NOTIFY))
        ike_sa_log(sa, IKE_LOG_DEBUG, "liveness check %u answered", req->hdr.message_id);
    return respond(sa, &resp, data, len, local, remote, diag);
}

/* The ICV verifies: the request is the peer's, only its content is bad. */
static bool authentic(struct ike_sa *sa, const struct ike_msg *req)
{
    if (!req->sk || req->sk->type != IKE_PLD_SK || !ike_sa_cipher_in(sa))
        return false; /* fragments: the reassembler already told */
    uint8_t *pt = NULL;
    size_t cap = 0, len = 0;
    struct ike_diag d = {0};
    if (ike_sk_open_msg(req, ike_sa_cipher_in(sa), &pt, &cap, &len, &d) != IKE_OK)
        return false;
    ike_msg_free_buf(pt, cap);
    return true;
}

void ike_info_answer_malformed(struct ike_sa *sa, const struct ike_msg *req, enum ike_status why,
                               const uint8_t *data, size_t len, const struct ike_addr *local,
                               const struct ike_addr *remote, const struct ike_diag *diag)
{
    bool syntax = why == IKE_E_MALFORMED || why == IKE_E_RULES || why == IKE_E_CRITICAL ||
                  why == IKE_E_UNSUPPORTED; /* not our own trouble (memory) */
    if (!syntax || req->hdr.message_id != sa->recv_next || !authentic(sa, req))
        return;
    sa->recv_next++;
    ike_sa_emit_msgid(sa);
    struct ike_msg resp;
    ike_msg_init(&resp, sa->spi_i, sa->spi_r, req->hdr.exchange, IKE_FLAG_RESPONSE,
                 req->hdr.message_id);
    if (sa->initiator)
        resp.hdr.flags |= IKE_FLAG_INITIATOR;
    if (why == IKE_E_CRITICAL)
        ike_msg_add_n_unsupported_critical(&resp, diag->payload_type);
    else
        ike_msg_add_notify(&resp, IKE_N_INVALID_SYNTAX, NULL, 0);
    ike_sa_log(sa, IKE_LOG_WARN, "authentic %s request %u is malformed (%s): answered %s",
               ike_exchange_name(req->hdr.exchange), req->hdr.message_id, diag->reason,
               why == IKE_E_CRITICAL ? "UNSUPPORTED_CRITICAL_PAYLOAD" : "INVALID_SYNTAX");
    (void)ike_sa_send_response(sa, &resp, data, len, local, remote);
    ike_msg_clear(&resp);
}
