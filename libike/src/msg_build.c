/* Message lifecycle and the builder helpers. Builders deep-copy their
 * arguments into the message arena; the first failure is kept in
 * msg->build_err and reported by every encoder (sticky). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "msg_codec.h"
#include "pld.h"

void ike_msg_init(struct ike_msg *msg, const uint8_t *spi_i, const uint8_t *spi_r,
                  uint8_t exchange, uint8_t flags, uint32_t message_id)
{
    memset(msg, 0, sizeof(*msg));
    if (spi_i)
        memcpy(msg->hdr.spi_i, spi_i, IKE_SPI_LEN);
    if (spi_r)
        memcpy(msg->hdr.spi_r, spi_r, IKE_SPI_LEN);
    msg->hdr.version = IKE_VERSION_2;
    msg->hdr.exchange = exchange;
    msg->hdr.flags = flags;
    msg->hdr.message_id = message_id;
    /* Everything after IKE_SA_INIT is protected (RFC 7296 §1.2). */
    msg->add_inside_sk = exchange != IKE_EXCH_IKE_SA_INIT;
}

void ike_msg_clear(struct ike_msg *msg)
{
    if (!msg)
        return;
    ike_arena_free(msg->arena);
    memset(msg, 0, sizeof(*msg));
}

bool ike_msg_is_response(const struct ike_msg *msg)
{
    return (msg->hdr.flags & IKE_FLAG_RESPONSE) != 0;
}

enum ike_status ike_msg_arena(struct ike_msg *msg)
{
    if (!msg->arena)
        msg->arena = ike_arena_new(IKE_MSG_ARENA_MAX);
    return msg->arena ? IKE_OK : IKE_E_NOMEM;
}

enum ike_status ike_msg_append(struct ike_msg *msg, struct ike_pld *pld, struct ike_diag *diag)
{
    if (msg->n_payloads >= IKE_MSG_MAX_PAYLOADS)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "more than %u payloads in one message",
                             IKE_MSG_MAX_PAYLOADS);
    pld->next = NULL;
    if (msg->last)
        msg->last->next = pld;
    else
        msg->first = pld;
    msg->last = pld;
    msg->n_payloads++;
    return IKE_OK;
}

__attribute__((format(printf, 3, 4))) static struct ike_pld *
build_fail(struct ike_msg *msg, enum ike_status st, const char *fmt, ...)
{
    if (msg->build_err.status == IKE_OK) {
        va_list ap;
        va_start(ap, fmt);
        msg->build_err.status = st;
        vsnprintf(msg->build_err.reason, sizeof(msg->build_err.reason), fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* Appends a deep copy of src (its type-specific part) as a new payload. */
static struct ike_pld *add_typed(struct ike_msg *msg, const struct ike_pld *src)
{
    const char *name = ike_payload_name(src->type);
    if (msg->build_err.status != IKE_OK)
        return NULL;
    const struct ike_pld_ops *ops = src->unknown ? ike_pld_ops_unknown()
                                                 : ike_pld_ops_find(src->type);
    if (!ops)
        return build_fail(msg, IKE_E_INVALID_ARG, "add: payload type %u unknown", src->type);
    if (ike_msg_arena(msg) != IKE_OK)
        return build_fail(msg, IKE_E_NOMEM, "add %s: no memory", name);
    if (msg->n_payloads >= IKE_MSG_MAX_PAYLOADS)
        return build_fail(msg, IKE_E_TOO_BIG, "add %s: more than %u payloads", name,
                          IKE_MSG_MAX_PAYLOADS);
    struct ike_pld *p = ike_arena_alloc(msg->arena, sizeof(*p));
    if (!p || ops->copy(msg->arena, p, src) != IKE_OK)
        return build_fail(msg, IKE_E_NOMEM, "add %s: no memory", name);
    p->type = src->type;
    p->inside_sk = msg->add_inside_sk;
    if (ike_msg_append(msg, p, NULL) != IKE_OK)
        return build_fail(msg, IKE_E_TOO_BIG, "add %s: too many payloads", name);
    return p;
}

static struct ike_slice slice(const uint8_t *data, size_t len)
{
    return (struct ike_slice){data, data ? len : 0};
}

struct ike_pld *ike_msg_add_copy(struct ike_msg *msg, const struct ike_pld *src)
{
    return add_typed(msg, src);
}

struct ike_pld *ike_msg_add_sa(struct ike_msg *msg, const struct ike_pld_sa *sa)
{
    struct ike_pld p = {.type = IKE_PLD_SA, .sa = *sa};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_ke(struct ike_msg *msg, uint16_t group, const uint8_t *data,
                               size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_KE, .ke = {group, slice(data, len)}};
    return add_typed(msg, &p);
}

static bool type_is(struct ike_msg *msg, uint8_t type, uint8_t a, uint8_t b)
{
    if (type == a || type == b)
        return true;
    build_fail(msg, IKE_E_INVALID_ARG, "add: payload type %u is neither %s nor %s", type,
               ike_payload_name(a), ike_payload_name(b));
    return false;
}

struct ike_pld *ike_msg_add_id(struct ike_msg *msg, uint8_t pld_type, uint8_t id_type,
                               const uint8_t *data, size_t len)
{
    if (!type_is(msg, pld_type, IKE_PLD_IDI, IKE_PLD_IDR))
        return NULL;
    struct ike_pld p = {.type = pld_type, .id = {id_type, slice(data, len)}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_cert(struct ike_msg *msg, uint8_t pld_type, uint8_t encoding,
                                 const uint8_t *data, size_t len)
{
    if (!type_is(msg, pld_type, IKE_PLD_CERT, IKE_PLD_CERTREQ))
        return NULL;
    struct ike_pld p = {.type = pld_type, .cert = {encoding, slice(data, len)}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_auth(struct ike_msg *msg, uint8_t method, const uint8_t *data,
                                 size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_AUTH, .auth = {method, slice(data, len)}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_nonce(struct ike_msg *msg, const uint8_t *data, size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_NONCE, .nonce = {slice(data, len)}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_notify(struct ike_msg *msg, uint16_t type, const uint8_t *data,
                                   size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_NOTIFY, .notify = {.type = type}};
    p.notify.data = slice(data, len);
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_notify_spi(struct ike_msg *msg, uint16_t type, uint8_t protocol,
                                       uint32_t spi, const uint8_t *data, size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_NOTIFY,
                        .notify = {.protocol = protocol, .spi_len = 4, .type = type}};
    ike_put_u32(p.notify.spi, spi);
    p.notify.data = slice(data, len);
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_delete(struct ike_msg *msg, uint8_t protocol, const uint32_t *spis,
                                   size_t n_spis)
{
    struct ike_pld p = {.type = IKE_PLD_DELETE, .del = {protocol, spis ? n_spis : 0, NULL}};
    p.del.spis = (uint32_t *)spis; /* only read by the copy */
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_vendor(struct ike_msg *msg, const uint8_t *data, size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_VENDOR, .vendor = {slice(data, len)}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_ts(struct ike_msg *msg, uint8_t pld_type, const struct ike_ts *ts,
                               size_t n_ts)
{
    if (!type_is(msg, pld_type, IKE_PLD_TSI, IKE_PLD_TSR))
        return NULL;
    struct ike_pld p = {.type = pld_type, .ts = {ts ? n_ts : 0, (struct ike_ts *)ts}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_cp(struct ike_msg *msg, uint8_t cfg_type,
                               const struct ike_cp_attr *attrs, size_t n_attrs)
{
    struct ike_pld p = {.type = IKE_PLD_CP,
                        .cp = {cfg_type, attrs ? n_attrs : 0, (struct ike_cp_attr *)attrs}};
    return add_typed(msg, &p);
}

struct ike_pld *ike_msg_add_eap(struct ike_msg *msg, const uint8_t *data, size_t len)
{
    struct ike_pld p = {.type = IKE_PLD_EAP, .eap = {slice(data, len)}};
    return add_typed(msg, &p);
}
