/* Formats of the notification data we use, as one table (RFC 7296
 * §3.10.1, RFC 7383 §2.3, RFC 6311 §5, RFC 7427 §4), the typed readers,
 * and builders for the non-trivial formats. */
#include <string.h>

#include "buf.h"
#include "pld.h"

enum notify_fmt_kind {
    NFMT_LEN,        /* data length within [min, max] */
    NFMT_CHILD_SPI,  /* AH/ESP 4-octet SPI, data length within [min, max] */
    NFMT_EVEN,       /* list of 2-octet values, length >= min */
};

struct notify_fmt {
    uint16_t type;
    enum notify_fmt_kind kind;
    size_t min, max;
};

#define ANY_LEN 65535u

static const struct notify_fmt notify_fmts[] = {
    {IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, NFMT_LEN, 1, 1},
    {IKE_N_INVALID_KE_PAYLOAD, NFMT_LEN, 2, 2},
    {IKE_N_INVALID_SELECTORS, NFMT_CHILD_SPI, 0, ANY_LEN},
    {IKE_N_CHILD_SA_NOT_FOUND, NFMT_CHILD_SPI, 0, 0},
    {IKE_N_REKEY_SA, NFMT_CHILD_SPI, 0, 0},
    {IKE_N_INITIAL_CONTACT, NFMT_LEN, 0, 0},
    {IKE_N_SET_WINDOW_SIZE, NFMT_LEN, 4, 4},
    {IKE_N_NAT_DETECTION_SOURCE_IP, NFMT_LEN, IKE_NAT_DETECTION_LEN, IKE_NAT_DETECTION_LEN},
    {IKE_N_NAT_DETECTION_DESTINATION_IP, NFMT_LEN, IKE_NAT_DETECTION_LEN,
     IKE_NAT_DETECTION_LEN},
    {IKE_N_COOKIE, NFMT_LEN, IKE_COOKIE_MIN, IKE_COOKIE_MAX},
    {IKE_N_USE_TRANSPORT_MODE, NFMT_LEN, 0, 0},
    {IKE_N_HTTP_CERT_LOOKUP_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_NON_FIRST_FRAGMENTS_ALSO, NFMT_LEN, 0, 0},
    {IKE_N_MOBIKE_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_MULTIPLE_AUTH_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_IKEV2_MESSAGE_ID_SYNC, NFMT_LEN, IKE_N_MSGID_SYNC_LEN, IKE_N_MSGID_SYNC_LEN},
    {IKE_N_IPSEC_REPLAY_COUNTER_SYNC, NFMT_LEN, IKE_N_REPLAY_SYNC_LEN, IKE_N_REPLAY_SYNC_LEN},
    {IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NFMT_LEN, 0, 0},
    {IKE_N_SIGNATURE_HASH_ALGORITHMS, NFMT_EVEN, 2, ANY_LEN},
};

static const struct notify_fmt *notify_fmt_find(uint16_t type)
{
    for (size_t i = 0; i < sizeof(notify_fmts) / sizeof(notify_fmts[0]); i++)
        if (notify_fmts[i].type == type)
            return &notify_fmts[i];
    return NULL;
}

static enum ike_status notify_len_check(const struct ike_pld_notify *n,
                                        const struct notify_fmt *f, struct ike_diag *diag)
{
    const char *name = ike_notify_name(n->type);
    if (n->data.len < f->min)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "N(%s) data length %zu < %zu", name,
                             n->data.len, f->min);
    if (n->data.len > f->max)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "N(%s) data length %zu > %zu", name,
                             n->data.len, f->max);
    if (f->kind == NFMT_EVEN && n->data.len % 2)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "N(%s) data length %zu is odd", name,
                             n->data.len);
    return IKE_OK;
}

enum ike_status ike_notify_check(const struct ike_pld_notify *n, struct ike_diag *diag)
{
    const struct notify_fmt *f = notify_fmt_find(n->type);
    if (!f)
        return IKE_OK;
    if (f->kind == NFMT_CHILD_SPI &&
        !(n->spi_len == 4 && (n->protocol == IKE_PROTO_AH || n->protocol == IKE_PROTO_ESP)))
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "N(%s) needs an AH/ESP SPI of 4 octets, has protocol %u SPI "
                             "size %u",
                             ike_notify_name(n->type), n->protocol, n->spi_len);
    return notify_len_check(n, f, diag);
}

static enum ike_status notify_expect(const struct ike_pld_notify *n, uint16_t type,
                                     struct ike_diag *diag)
{
    if (n->type != type)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "N(%s) read as N(%s)",
                             ike_notify_name(n->type), ike_notify_name(type));
    return ike_notify_check(n, diag);
}

enum ike_status ike_notify_get_group(const struct ike_pld_notify *n, uint16_t *group,
                                     struct ike_diag *diag)
{
    enum ike_status st = notify_expect(n, IKE_N_INVALID_KE_PAYLOAD, diag);
    if (st == IKE_OK)
        *group = ike_get_u16(n->data.ptr);
    return st;
}

enum ike_status ike_notify_get_critical_type(const struct ike_pld_notify *n, uint8_t *pld_type,
                                             struct ike_diag *diag)
{
    enum ike_status st = notify_expect(n, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, diag);
    if (st == IKE_OK)
        *pld_type = n->data.ptr[0];
    return st;
}

enum ike_status ike_notify_get_spi(const struct ike_pld_notify *n, uint32_t *spi,
                                   struct ike_diag *diag)
{
    const struct notify_fmt *f = notify_fmt_find(n->type);
    if (!f || f->kind != NFMT_CHILD_SPI)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "N(%s) carries no Child SA SPI",
                             ike_notify_name(n->type));
    enum ike_status st = ike_notify_check(n, diag);
    if (st == IKE_OK)
        *spi = ike_get_u32(n->spi);
    return st;
}

enum ike_status ike_notify_get_msgid_sync(const struct ike_pld_notify *n,
                                          struct ike_n_msgid_sync *sync, struct ike_diag *diag)
{
    enum ike_status st = notify_expect(n, IKE_N_IKEV2_MESSAGE_ID_SYNC, diag);
    if (st != IKE_OK)
        return st;
    memcpy(sync->nonce, n->data.ptr, sizeof(sync->nonce));
    sync->expected_send_req_message_id = ike_get_u32(n->data.ptr + 4);
    sync->expected_recv_req_message_id = ike_get_u32(n->data.ptr + 8);
    return IKE_OK;
}

enum ike_status ike_notify_get_replay_sync(const struct ike_pld_notify *n, uint64_t *delta,
                                           struct ike_diag *diag)
{
    enum ike_status st = notify_expect(n, IKE_N_IPSEC_REPLAY_COUNTER_SYNC, diag);
    if (st == IKE_OK)
        *delta = ike_get_u64(n->data.ptr);
    return st;
}

struct ike_pld *ike_msg_add_n_invalid_ke(struct ike_msg *msg, uint16_t group)
{
    uint8_t d[2];
    ike_put_u16(d, group);
    return ike_msg_add_notify(msg, IKE_N_INVALID_KE_PAYLOAD, d, sizeof(d));
}

struct ike_pld *ike_msg_add_n_unsupported_critical(struct ike_msg *msg, uint8_t pld_type)
{
    return ike_msg_add_notify(msg, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &pld_type, 1);
}

struct ike_pld *ike_msg_add_n_rekey_sa(struct ike_msg *msg, uint8_t protocol, uint32_t spi)
{
    return ike_msg_add_notify_spi(msg, IKE_N_REKEY_SA, protocol, spi, NULL, 0);
}

struct ike_pld *ike_msg_add_n_msgid_sync(struct ike_msg *msg,
                                         const struct ike_n_msgid_sync *sync)
{
    uint8_t d[IKE_N_MSGID_SYNC_LEN];
    memcpy(d, sync->nonce, sizeof(sync->nonce));
    ike_put_u32(d + 4, sync->expected_send_req_message_id);
    ike_put_u32(d + 8, sync->expected_recv_req_message_id);
    return ike_msg_add_notify(msg, IKE_N_IKEV2_MESSAGE_ID_SYNC, d, sizeof(d));
}

struct ike_pld *ike_msg_add_n_replay_sync(struct ike_msg *msg, uint64_t delta)
{
    uint8_t d[IKE_N_REPLAY_SYNC_LEN];
    ike_put_u64(d, delta);
    return ike_msg_add_notify(msg, IKE_N_IPSEC_REPLAY_COUNTER_SYNC, d, sizeof(d));
}
