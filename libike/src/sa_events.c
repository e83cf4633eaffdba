/* Emitting the sync events of <ike/events.h> through the context. */
#include <string.h>

#include <openssl/crypto.h>

#include "sa_internal.h"

const char *ike_event_type_name(enum ike_event_type type)
{
    switch (type) {
    case IKE_EV_IKE_SA_ADD: return "IKE_SA_ADD";
    case IKE_EV_IKE_SA_UPDATE: return "IKE_SA_UPDATE";
    case IKE_EV_IKE_SA_DEL: return "IKE_SA_DEL";
    case IKE_EV_MSGID_UPDATE: return "MSGID_UPDATE";
    case IKE_EV_CHILD_SA_ADD: return "CHILD_SA_ADD";
    case IKE_EV_CHILD_SA_DEL: return "CHILD_SA_DEL";
    case IKE_EV_RESPONSE: return "RESPONSE";
    }
    return "UNKNOWN";
}

static void emit(struct ike_sa *sa, struct ike_event *ev)
{
    if (!sa->ctx.ops->event)
        return;
    ev->sa = sa;
    memcpy(ev->spi_i, sa->spi_i, IKE_SPI_LEN);
    memcpy(ev->spi_r, sa->spi_r, IKE_SPI_LEN);
    sa->ctx.ops->event(sa->ctx.user, ev);
}

void ike_sa_emit_msgid(struct ike_sa *sa)
{
    struct ike_event ev = {.type = IKE_EV_MSGID_UPDATE};
    ev.msgid.send_next = sa->send_next;
    ev.msgid.recv_next = sa->recv_next;
    emit(sa, &ev);
}

void ike_sa_emit_ike_add(struct ike_sa *sa)
{
    struct ike_sa_export ex;
    if (ike_sa_export(sa, &ex, NULL) != IKE_OK) {
        ike_sa_log(sa, IKE_LOG_ERR, "cannot export the SA for IKE_SA_ADD");
        return;
    }
    struct ike_event ev = {.type = IKE_EV_IKE_SA_ADD, .ike_add = &ex};
    emit(sa, &ev);
    OPENSSL_cleanse(&ex, sizeof(ex));
}

void ike_sa_emit_child_add(struct ike_sa *sa, const struct ike_child_export *child)
{
    struct ike_event ev = {.type = IKE_EV_CHILD_SA_ADD, .child_add = child};
    emit(sa, &ev);
}

void ike_sa_emit_child_del(struct ike_sa *sa, uint32_t spi_in)
{
    struct ike_event ev = {.type = IKE_EV_CHILD_SA_DEL, .child_del_spi_in = spi_in};
    emit(sa, &ev);
}

void ike_sa_emit_ike_del(struct ike_sa *sa)
{
    struct ike_event ev = {.type = IKE_EV_IKE_SA_DEL};
    emit(sa, &ev);
    sa->del_emitted = true;
}

void ike_sa_emit_response(struct ike_sa *sa)
{
    /* A standby has no copy of a half-open SA, drops the copy an IKE rekey
     * replaced and the one the peer deleted: nothing to answer there. */
    if (!sa->ctx.response_events || !sa->cache.valid || sa->state != IKE_SA_STATE_ESTABLISHED ||
        sa->rekeyed || sa->del_emitted)
        return;
    struct ike_event ev = {.type = IKE_EV_RESPONSE};
    ev.response.message_id = sa->cache.message_id;
    ev.response.req_hash = sa->cache.req_hash;
    ev.response.data = sa->cache.buf;
    ev.response.len = sa->cache.len;
    emit(sa, &ev);
}
