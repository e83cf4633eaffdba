/* Telling a peer about SPIs we do not know (RFC 7296 §1.5, §2.21.4):
 *
 *   ESP/AH with an unknown SPI from a peer we share an IKE SA with:
 *     HDR, SK{N(INVALID_SPI, spi)}  ->  HDR, SK{}      (queued task)
 *   an IKE request for an IKE SA we do not have:
 *     HDR(same SPIs, exchange, ID), N(INVALID_IKE_SPI)  (unprotected, no state)
 *
 * Both only as the RFC allows: INVALID_SPI only inside an authenticated
 * INFORMATIONAL, rate-limited; INVALID_IKE_SPI never in answer to a
 * response. The receiving side only logs them (exch_informational.c):
 * an unauthenticated notify must not tear anything down.
 */
#include <string.h>

#include "sa_internal.h"

#define INVALID_SPI_INTERVAL_MS 1000u

static enum ike_status invalid_spi_start(struct ike_sa *sa, struct ike_task *t)
{
    uint8_t data[4];
    ike_child_put_spi(data, t->spi);
    struct ike_msg msg;
    ike_msg_init(&msg, sa->spi_i, sa->spi_r, IKE_EXCH_INFORMATIONAL,
                 sa->initiator ? IKE_FLAG_INITIATOR : 0, sa->send_next);
    ike_msg_add_notify(&msg, IKE_N_INVALID_SPI, data, sizeof(data));
    enum ike_status st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st == IKE_OK)
        ike_sa_log(sa, IKE_LOG_INFO, "told the peer that ESP/AH SPI %08x is unknown here", t->spi);
    return st;
}

static enum ike_task_result invalid_spi_reply(struct ike_sa *sa, struct ike_task *t,
                                              const struct ike_msg *resp)
{
    (void)t;
    ike_info_log_errors(sa, resp, "answer to our INVALID_SPI");
    return IKE_TASK_DONE;
}

const struct ike_task_ops ike_task_invalid_spi = {
    .name = "INVALID_SPI",
    .exchange = IKE_EXCH_INFORMATIONAL,
    .start = invalid_spi_start,
    .reply = invalid_spi_reply,
};

enum ike_status ike_sa_report_invalid_spi(struct ike_sa *sa, uint32_t spi, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_report_invalid_spi: NULL SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->live.deleting)
        return ike_diag_fail(diag, IKE_E_STATE, "INVALID_SPI report in state %s",
                             ike_sa_state_name(sa->state));
    uint64_t now = sa->ctx.ops->now_ms(sa->ctx.user);
    if (sa->live.invalid_spi_sent && now - sa->live.invalid_spi_at < INVALID_SPI_INTERVAL_MS)
        return ike_diag_fail(diag, IKE_E_STATE, "INVALID_SPI reports rate-limited (1/s)");
    if (ike_child_find_in(sa, spi) != SIZE_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "SPI %08x is one of our CHILD SAs", spi);
    enum ike_status st = ike_sa_queue_add(sa, IKE_TASK_INVALID_SPI, spi, 0);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "INVALID_SPI report not queued");
    sa->live.invalid_spi_sent = true;
    sa->live.invalid_spi_at = now;
    return IKE_OK;
}

enum ike_status ike_answer_invalid_ike_spi(const struct ike_ctx *ctx, const uint8_t *data,
                                           size_t len, const struct ike_addr *local,
                                           const struct ike_addr *remote, struct ike_diag *diag)
{
    struct ike_hdr h;
    if (ike_ctx_check(ctx, diag) != IKE_OK || !data || !local || !remote)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_answer_invalid_ike_spi: argument");
    enum ike_status st = ike_hdr_decode(data, len, &h, diag);
    if (st != IKE_OK)
        return st;
    if ((h.flags & IKE_FLAG_RESPONSE) || h.exchange == IKE_EXCH_IKE_SA_INIT)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "no INVALID_IKE_SPI for a %s",
                             (h.flags & IKE_FLAG_RESPONSE) ? "response" : "IKE_SA_INIT");
    struct ike_msg msg;
    uint8_t flags =
        (uint8_t)(IKE_FLAG_RESPONSE | ((h.flags & IKE_FLAG_INITIATOR) ? 0 : IKE_FLAG_INITIATOR));
    ike_msg_init(&msg, h.spi_i, h.spi_r, h.exchange, flags, h.message_id);
    msg.add_inside_sk = false; /* we have no keys: must not be protected */
    ike_msg_add_notify(&msg, IKE_N_INVALID_IKE_SPI, NULL, 0);
    uint8_t *buf = NULL;
    size_t blen = 0;
    st = ike_msg_encode(&msg, &buf, &blen, diag);
    ike_msg_clear(&msg);
    if (st != IKE_OK)
        return st;
    char r[IKE_ADDR_STR_MAX];
    ike_ctx_log(ctx, IKE_LOG_INFO,
                "%s request %u from %s for an unknown IKE SA: answered "
                "INVALID_IKE_SPI",
                ike_exchange_name(h.exchange), h.message_id, ike_addr_str(remote, r, sizeof(r)));
    ctx->ops->send(ctx->user, NULL, local, remote, buf, blen);
    ike_msg_free_buf(buf, blen);
    return IKE_OK;
}

void ike_info_note_unprotected(struct ike_sa *sa, const struct ike_msg *msg)
{
    if (msg->hdr.exchange == IKE_EXCH_IKE_SA_INIT ||
        !ike_msg_find_notify(msg, IKE_N_INVALID_IKE_SPI))
        return;
    ike_sa_log(sa, IKE_LOG_WARN,
               "unauthenticated INVALID_IKE_SPI answers our %s request %u: the peer may have "
               "lost this IKE SA (ignored; retransmissions decide)",
               ike_exchange_name(msg->hdr.exchange), msg->hdr.message_id);
}
