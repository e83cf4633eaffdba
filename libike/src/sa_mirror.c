/* A standby's passive copy of an IKE SA kept current from the master's sync
 * stream, and an active SA made passive again (<ike/mirror.h>). Nothing here
 * sends, arms a timer or calls the context back: a passive SA is data. */
#include <ike/mirror.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sa_internal.h"

bool ike_sa_is_passive(const struct ike_sa *sa)
{
    return sa && sa->live.passive;
}

/* Only a passive, ESTABLISHED copy may be changed from outside. */
static enum ike_status need_passive(const struct ike_sa *sa, const char *what,
                                    struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s: no SA", what);
    if (!sa->live.passive || sa->state != IKE_SA_STATE_ESTABLISHED)
        return ike_diag_fail(diag, IKE_E_STATE, "%s: SA is %s%s", what,
                             sa->live.passive ? "passive but " : "active, ",
                             ike_sa_state_name(sa->state));
    return IKE_OK;
}

enum ike_status ike_sa_mirror_msgid(struct ike_sa *sa, uint32_t send_next, uint32_t recv_next,
                                    struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror message IDs", diag);
    if (st != IKE_OK)
        return st;
    if (send_next < sa->send_next || recv_next < sa->recv_next)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "mirror message IDs: send/recv %u/%u would go back from %u/%u",
                             send_next, recv_next, sa->send_next, sa->recv_next);
    sa->send_next = send_next;
    sa->recv_next = recv_next;
    return IKE_OK;
}

static bool family_ok(uint8_t f)
{
    return f == IKE_AF_INET || f == IKE_AF_INET6;
}

enum ike_status ike_sa_mirror_update(struct ike_sa *sa, const struct ike_ev_ike_update *u,
                                     struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror addresses", diag);
    if (st != IKE_OK)
        return st;
    if (!u || !family_ok(u->local.family) || u->local.family != u->remote.family)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "mirror addresses: families %u/%u",
                             u ? u->local.family : 0, u ? u->remote.family : 0);
    sa->local = u->local;
    sa->remote = u->remote;
    sa->nat_local = u->nat_local;
    sa->nat_remote = u->nat_remote;
    return IKE_OK;
}

enum ike_status ike_sa_mirror_child_del(struct ike_sa *sa, uint32_t spi_in, struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror CHILD SA delete", diag);
    if (st != IKE_OK)
        return st;
    size_t i = ike_child_find_in(sa, spi_in);
    if (i == SIZE_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "mirror CHILD SA delete: no SPI %08x",
                             spi_in);
    struct ike_child_export *c = &sa->children[i];
    memmove(c, c + 1, (sa->n_children - i - 1) * sizeof(*c));
    sa->n_children--;
    OPENSSL_cleanse(&sa->children[sa->n_children], sizeof(*c)); /* keys */
    return IKE_OK;
}

/* The header of a response datagram of sa to request msgid (RFC 7296
 * §3.1: SPIs, then next payload, version, exchange, flags, message ID). */
static bool response_hdr_ok(const struct ike_sa *sa, const uint8_t *d, uint32_t msgid)
{
    uint32_t id = (uint32_t)d[20] << 24 | (uint32_t)d[21] << 16 | (uint32_t)d[22] << 8 | d[23];
    return !memcmp(d, sa->spi_i, IKE_SPI_LEN) && !memcmp(d + 8, sa->spi_r, IKE_SPI_LEN) &&
           (d[19] & IKE_FLAG_RESPONSE) && id == msgid;
}

enum ike_status ike_sa_mirror_response(struct ike_sa *sa, const struct ike_ev_response *r,
                                       struct ike_diag *diag)
{
    enum ike_status st = need_passive(sa, "mirror response", diag);
    if (st != IKE_OK)
        return st;
    if (!r || !r->data || !r->req_hash || r->len < IKE_HDR_LEN || r->len > IKE_RESPONSE_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "mirror response: %zu octets",
                             r && r->data ? r->len : 0);
    if (sa->recv_next == 0 || r->message_id != sa->recv_next - 1)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "mirror response: to request %u, but the copy expects %u next",
                             r->message_id, sa->recv_next);
    if (!response_hdr_ok(sa, r->data, r->message_id))
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "mirror response: not a response of this SA to request %u",
                             r->message_id);
    uint8_t *buf = malloc(r->len);
    if (!buf)
        return ike_diag_fail(diag, IKE_E_NOMEM, "mirror response: %zu octets", r->len);
    memcpy(buf, r->data, r->len);
    if (sa->cache.buf)
        ike_msg_free_buf(sa->cache.buf, sa->cache.len);
    sa->cache.valid = true;
    sa->cache.message_id = r->message_id;
    sa->cache.buf = buf;
    sa->cache.len = r->len;
    memcpy(sa->cache.req_hash, r->req_hash, IKE_SA_HASH_LEN);
    return IKE_OK;
}

bool ike_sa_last_response(const struct ike_sa *sa, struct ike_ev_response *out)
{
    /* only the answer to the last request taken is ever resent */
    if (!sa || !out || !sa->cache.valid || !sa->cache.buf ||
        sa->state != IKE_SA_STATE_ESTABLISHED || sa->cache.message_id + 1 != sa->recv_next)
        return false;
    *out = (struct ike_ev_response){
        .message_id = sa->cache.message_id,
        .req_hash = sa->cache.req_hash,
        .data = sa->cache.buf,
        .len = sa->cache.len,
    };
    return true;
}

enum ike_status ike_sa_deactivate(struct ike_sa *sa, struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "deactivate: no SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->rekeyed)
        return ike_diag_fail(diag, IKE_E_STATE, "deactivate: SA is %s%s",
                             ike_sa_state_name(sa->state), sa->rekeyed ? " and replaced" : "");
    if (sa->live.passive)
        return IKE_OK;
    /* The new master drives it now: nothing of ours may fire or retransmit.
     * Order: the outstanding request first (its retransmit timer), then
     * the queue (a task's release() may look at the request), then the
     * remaining timers. */
    if (sa->req.active) /* the drain timed out, or there was none */
        ike_sa_log(sa, IKE_LOG_WARN,
                   "passive: our %s request %u abandoned unanswered (the new master "
                   "continues from message ID %u)",
                   ike_exchange_name(sa->req.exchange), sa->req.message_id, sa->send_next);
    ike_sa_request_done(sa);
    for (size_t i = sa->queue.n; i-- > 0;)
        ike_sa_log(sa, IKE_LOG_INFO, "passive: %s task dropped (%s)",
                   ike_task_kind_name(sa->queue.tasks[i].kind),
                   sa->queue.tasks[i].started ? "its request was abandoned"
                                              : "the new master's own timers decide");
    ike_sa_queue_clear(sa);
    sa->sync.outstanding = false;
    sa->live.draining = false;
    for (int t = 0; t < IKE_TIMER_COUNT; t++)
        sa->ctx.ops->timer_cancel(sa->ctx.user, sa, (enum ike_timer)t);
    sa->live.passive = true;
    ike_sa_log(sa, IKE_LOG_INFO, "passive: timers cancelled, %s", "mirroring the new master");
    return IKE_OK;
}
