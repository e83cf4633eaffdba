/* IkeSaAdd / ChildSaAdd <-> <ike/export.h> structs; see hasync_export.h. */
#include "hasync_export.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <ike/const.h>
#include <ike/ctx.h>

#define U16_MAX 65535u

static ProtobufCBinaryData bin(const void *p, size_t len)
{
    ProtobufCBinaryData b = {.len = len, .data = (uint8_t *)(uintptr_t)p};
    return b;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void addr_to_msg(const struct ike_addr *a, Hasync__Addr *m)
{
    hasync__addr__init(m);
    m->has_ip = true;
    m->ip = bin(a->addr, a->family == IKE_AF_INET ? 4 : 16);
    m->has_port = true;
    m->port = a->port;
}

static void id_to_msg(const struct ike_id_export *id, Hasync__Identity *m)
{
    hasync__identity__init(m);
    m->has_type = true;
    m->type = id->type;
    m->has_data = true;
    m->data = bin(id->data, id->len);
}

#define KEY(field)                                                                                 \
    do {                                                                                           \
        out->m.has_##field = true;                                                                 \
        out->m.field = bin(ex->field.data, ex->field.len);                                         \
    } while (0)

void hasync_ike_to_msg(const struct ike_sa_export *ex, struct hasync_ike_msg *out)
{
    Hasync__IkeSaAdd *m = &out->m;
    static const uint8_t zero_spi[IKE_SPI_LEN];

    hasync__ike_sa_add__init(m);
    m->has_export_version = true;
    m->export_version = ex->version;
    m->cfg_name = (char *)(uintptr_t)ex->cfg_name;
    m->has_spi_i = m->has_spi_r = true;
    m->spi_i = bin(ex->spi_i, IKE_SPI_LEN);
    m->spi_r = bin(ex->spi_r, IKE_SPI_LEN);
    m->has_initiator = true;
    m->initiator = ex->initiator;
    addr_to_msg(&ex->local, &out->local);
    addr_to_msg(&ex->remote, &out->remote);
    m->local = &out->local;
    m->remote = &out->remote;
    m->has_nat_local = m->has_nat_remote = m->has_fragmentation = true;
    m->nat_local = ex->nat_local;
    m->nat_remote = ex->nat_remote;
    m->fragmentation = ex->fragmentation;
    m->has_peer_msgid_sync = m->has_peer_initial_contact = m->has_peer_replay_sync = true;
    m->peer_msgid_sync = ex->peer_msgid_sync;
    m->peer_initial_contact = ex->peer_initial_contact;
    m->peer_replay_sync = ex->peer_replay_sync;
    m->has_encr_id = m->has_encr_key_bits = m->has_integ_id = true;
    m->has_prf_id = m->has_dh_group = true;
    m->encr_id = ex->encr_id;
    m->encr_key_bits = ex->encr_key_bits;
    m->integ_id = ex->integ_id;
    m->prf_id = ex->prf_id;
    m->dh_group = ex->dh_group;
    KEY(sk_d);
    KEY(sk_ai);
    KEY(sk_ar);
    KEY(sk_ei);
    KEY(sk_er);
    KEY(sk_pi);
    KEY(sk_pr);
    id_to_msg(&ex->local_id, &out->local_id);
    id_to_msg(&ex->remote_id, &out->remote_id);
    m->local_id = &out->local_id;
    m->remote_id = &out->remote_id;
    m->has_msgid_send_next = m->has_msgid_recv_next = true;
    m->msgid_send_next = ex->msgid_send_next;
    m->msgid_recv_next = ex->msgid_recv_next;
    m->has_soft_left_ms = m->has_hard_left_ms = true;
    m->soft_left_ms = ex->soft_left_ms;
    m->hard_left_ms = ex->hard_left_ms;
    if (memcmp(ex->replaces_spi_i, zero_spi, IKE_SPI_LEN) != 0 ||
        memcmp(ex->replaces_spi_r, zero_spi, IKE_SPI_LEN) != 0) {
        m->has_replaces_spi_i = m->has_replaces_spi_r = true;
        m->replaces_spi_i = bin(ex->replaces_spi_i, IKE_SPI_LEN);
        m->replaces_spi_r = bin(ex->replaces_spi_r, IKE_SPI_LEN);
    }
}

static void ts_to_msg(const struct ike_ts_export *ts, Hasync__TrafficSelector *m)
{
    size_t alen = ts->type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;

    hasync__traffic_selector__init(m);
    m->has_type = m->has_ip_proto = m->has_start_port = m->has_end_port = true;
    m->type = ts->type;
    m->ip_proto = ts->ip_proto;
    m->start_port = ts->start_port;
    m->end_port = ts->end_port;
    m->has_start_addr = m->has_end_addr = true;
    m->start_addr = bin(ts->start_addr, alen);
    m->end_addr = bin(ts->end_addr, alen);
}

void hasync_child_to_msg(const struct ike_child_export *ex, struct hasync_child_msg *out)
{
    Hasync__ChildSaAdd *m = &out->m;
    size_t nl = ex->n_ts_local < IKE_EXPORT_TS_MAX ? ex->n_ts_local : IKE_EXPORT_TS_MAX;
    size_t nr = ex->n_ts_remote < IKE_EXPORT_TS_MAX ? ex->n_ts_remote : IKE_EXPORT_TS_MAX;

    hasync__child_sa_add__init(m);
    m->has_export_version = true;
    m->export_version = ex->version;
    m->has_ike_spi_i = m->has_ike_spi_r = true;
    m->ike_spi_i = bin(ex->ike_spi_i, IKE_SPI_LEN);
    m->ike_spi_r = bin(ex->ike_spi_r, IKE_SPI_LEN);
    m->cfg_name = (char *)(uintptr_t)ex->cfg_name;
    m->has_protocol = m->has_tunnel = m->has_spi_in = m->has_spi_out = true;
    m->protocol = ex->protocol;
    m->tunnel = ex->tunnel;
    m->spi_in = ex->spi_in;
    m->spi_out = ex->spi_out;
    m->has_encr_id = m->has_encr_key_bits = m->has_integ_id = m->has_esn = true;
    m->encr_id = ex->encr_id;
    m->encr_key_bits = ex->encr_key_bits;
    m->integ_id = ex->integ_id;
    m->esn = ex->esn;
    KEY(encr_in);
    KEY(integ_in);
    KEY(encr_out);
    KEY(integ_out);
    for (size_t i = 0; i < nl; i++) {
        ts_to_msg(&ex->ts_local[i], &out->ts[i]);
        out->ts_local[i] = &out->ts[i];
    }
    for (size_t i = 0; i < nr; i++) {
        ts_to_msg(&ex->ts_remote[i], &out->ts[IKE_EXPORT_TS_MAX + i]);
        out->ts_remote[i] = &out->ts[IKE_EXPORT_TS_MAX + i];
    }
    m->n_ts_local = nl;
    m->ts_local = out->ts_local;
    m->n_ts_remote = nr;
    m->ts_remote = out->ts_remote;
    m->has_soft_ms = m->has_hard_ms = m->has_age_ms = m->has_rekey_due = true;
    m->soft_ms = ex->soft_ms;
    m->hard_ms = ex->hard_ms;
    m->age_ms = ex->age_ms;
    m->rekey_due = ex->rekey_due;
    m->has_replaces_spi_in = m->has_pfs_group = true;
    m->replaces_spi_in = ex->replaces_spi_in;
    m->pfs_group = ex->pfs_group;
}
#undef KEY

/* ---- message -> struct, with every check -------------------------------- */

static int get_fixed(protobuf_c_boolean has, ProtobufCBinaryData b, uint8_t *dst, size_t len,
                     const char *what, char *err, size_t errlen)
{
    if (!has)
        return fail(err, errlen, "%s missing", what);
    if (b.len != len)
        return fail(err, errlen, "%s is %zu octets, not %zu", what, b.len, len);
    memcpy(dst, b.data, len);
    return 0;
}

static int get_key(protobuf_c_boolean has, ProtobufCBinaryData b, struct ike_key_export *k,
                   const char *what, char *err, size_t errlen)
{
    if (!has)
        return 0; /* e.g. no SK_a* with an AEAD */
    if (b.len > IKE_EXPORT_KEY_MAX)
        return fail(err, errlen, "%s too long (%zu > %d)", what, b.len, IKE_EXPORT_KEY_MAX);
    k->len = (uint16_t)b.len;
    if (b.len) /* an empty bytes field has data NULL */
        memcpy(k->data, b.data, b.len);
    return 0;
}

static int get_u16(protobuf_c_boolean has, uint32_t v, uint16_t *dst, const char *what, char *err,
                   size_t errlen)
{
    if (has && v > U16_MAX)
        return fail(err, errlen, "%s out of range (%u)", what, v);
    *dst = has ? (uint16_t)v : 0;
    return 0;
}

static int get_name(const char *s, char *dst, size_t size, const char *what, char *err,
                    size_t errlen)
{
    size_t n;

    if (!s || !*s)
        return fail(err, errlen, "%s missing", what);
    n = strlen(s);
    if (n >= size)
        return fail(err, errlen, "%s too long (%zu >= %zu)", what, n, size);
    memcpy(dst, s, n + 1);
    return 0;
}

static int get_addr(const Hasync__Addr *m, struct ike_addr *a, const char *what, char *err,
                    size_t errlen)
{
    if (!m || !m->has_ip)
        return fail(err, errlen, "%s missing", what);
    if (m->ip.len != 4 && m->ip.len != 16)
        return fail(err, errlen, "%s is %zu octets, not 4 or 16", what, m->ip.len);
    if (!m->has_port || m->port > U16_MAX)
        return fail(err, errlen, "%s port missing or out of range", what);
    a->family = m->ip.len == 4 ? IKE_AF_INET : IKE_AF_INET6;
    memcpy(a->addr, m->ip.data, m->ip.len);
    a->port = (uint16_t)m->port;
    return 0;
}

static int get_id(const Hasync__Identity *m, struct ike_id_export *id, const char *what, char *err,
                  size_t errlen)
{
    if (!m)
        return 0; /* none */
    if (m->has_type && m->type > 255)
        return fail(err, errlen, "%s type out of range (%u)", what, m->type);
    if (m->has_data && m->data.len > IKE_EXPORT_ID_MAX)
        return fail(err, errlen, "%s too long (%zu > %d)", what, m->data.len, IKE_EXPORT_ID_MAX);
    id->type = m->has_type ? (uint8_t)m->type : 0;
    id->len = m->has_data ? (uint16_t)m->data.len : 0;
    if (id->len)
        memcpy(id->data, m->data.data, id->len);
    return 0;
}

static int get_version(protobuf_c_boolean has, uint32_t v, uint32_t *dst, char *err, size_t errlen)
{
    if (!has || v != IKE_EXPORT_VERSION)
        return fail(err, errlen, "export version %u not supported (want %d)", has ? v : 0,
                    IKE_EXPORT_VERSION);
    *dst = v;
    return 0;
}

#define CHK(expr)                                                                                  \
    do {                                                                                           \
        if ((expr) != 0)                                                                           \
            return -1;                                                                             \
    } while (0)
#define U16(f)   CHK(get_u16(m->has_##f, m->f, &ex->f, #f, err, errlen))
#define KEYIN(f) CHK(get_key(m->has_##f, m->f, &ex->f, #f, err, errlen))

int hasync_ike_from_msg(const Hasync__IkeSaAdd *m, struct ike_sa_export *ex, char *err,
                        size_t errlen)
{
    memset(ex, 0, sizeof(*ex));
    CHK(get_version(m->has_export_version, m->export_version, &ex->version, err, errlen));
    CHK(get_name(m->cfg_name, ex->cfg_name, sizeof(ex->cfg_name), "cfg_name", err, errlen));
    CHK(get_fixed(m->has_spi_i, m->spi_i, ex->spi_i, IKE_SPI_LEN, "spi_i", err, errlen));
    CHK(get_fixed(m->has_spi_r, m->spi_r, ex->spi_r, IKE_SPI_LEN, "spi_r", err, errlen));
    CHK(get_addr(m->local, &ex->local, "local address", err, errlen));
    CHK(get_addr(m->remote, &ex->remote, "remote address", err, errlen));
    ex->initiator = m->initiator;
    ex->nat_local = m->nat_local;
    ex->nat_remote = m->nat_remote;
    ex->fragmentation = m->fragmentation;
    ex->peer_msgid_sync = m->peer_msgid_sync;
    ex->peer_initial_contact = m->peer_initial_contact;
    ex->peer_replay_sync = m->peer_replay_sync;
    U16(encr_id);
    U16(encr_key_bits);
    U16(integ_id);
    U16(prf_id);
    U16(dh_group);
    KEYIN(sk_d);
    KEYIN(sk_ai);
    KEYIN(sk_ar);
    KEYIN(sk_ei);
    KEYIN(sk_er);
    KEYIN(sk_pi);
    KEYIN(sk_pr);
    CHK(get_id(m->local_id, &ex->local_id, "local_id", err, errlen));
    CHK(get_id(m->remote_id, &ex->remote_id, "remote_id", err, errlen));
    if (!m->has_msgid_send_next || !m->has_msgid_recv_next)
        return fail(err, errlen, "message IDs missing");
    ex->msgid_send_next = m->msgid_send_next;
    ex->msgid_recv_next = m->msgid_recv_next;
    ex->soft_left_ms = m->soft_left_ms;
    ex->hard_left_ms = m->hard_left_ms;
    if (m->has_replaces_spi_i || m->has_replaces_spi_r) {
        CHK(get_fixed(m->has_replaces_spi_i, m->replaces_spi_i, ex->replaces_spi_i, IKE_SPI_LEN,
                      "replaces_spi_i", err, errlen));
        CHK(get_fixed(m->has_replaces_spi_r, m->replaces_spi_r, ex->replaces_spi_r, IKE_SPI_LEN,
                      "replaces_spi_r", err, errlen));
    }
    return 0;
}

static int get_ts(const Hasync__TrafficSelector *m, struct ike_ts_export *ts, char *err,
                  size_t errlen)
{
    size_t alen;

    if (!m || !m->has_type ||
        (m->type != IKE_TS_IPV4_ADDR_RANGE && m->type != IKE_TS_IPV6_ADDR_RANGE))
        return fail(err, errlen, "traffic selector type missing or unknown");
    alen = m->type == IKE_TS_IPV4_ADDR_RANGE ? 4 : 16;
    if (m->ip_proto > 255 || m->start_port > U16_MAX || m->end_port > U16_MAX)
        return fail(err, errlen, "traffic selector protocol/port out of range");
    if (!m->has_start_addr || !m->has_end_addr || m->start_addr.len != alen ||
        m->end_addr.len != alen)
        return fail(err, errlen, "traffic selector addresses not %zu octets", alen);
    ts->type = (uint8_t)m->type;
    ts->ip_proto = (uint8_t)m->ip_proto;
    ts->start_port = (uint16_t)m->start_port;
    ts->end_port = (uint16_t)m->end_port;
    memcpy(ts->start_addr, m->start_addr.data, alen);
    memcpy(ts->end_addr, m->end_addr.data, alen);
    return 0;
}

static int get_ts_list(size_t n, Hasync__TrafficSelector *const *list, struct ike_ts_export *out,
                       size_t *n_out, const char *what, char *err, size_t errlen)
{
    if (n == 0 || n > IKE_EXPORT_TS_MAX)
        return fail(err, errlen, "%s: %zu selectors (want 1..%d)", what, n, IKE_EXPORT_TS_MAX);
    for (size_t i = 0; i < n; i++)
        CHK(get_ts(list[i], &out[i], err, errlen));
    *n_out = n;
    return 0;
}

int hasync_child_from_msg(const Hasync__ChildSaAdd *m, struct ike_child_export *ex, char *err,
                          size_t errlen)
{
    memset(ex, 0, sizeof(*ex));
    CHK(get_version(m->has_export_version, m->export_version, &ex->version, err, errlen));
    CHK(get_fixed(m->has_ike_spi_i, m->ike_spi_i, ex->ike_spi_i, IKE_SPI_LEN, "ike_spi_i", err,
                  errlen));
    CHK(get_fixed(m->has_ike_spi_r, m->ike_spi_r, ex->ike_spi_r, IKE_SPI_LEN, "ike_spi_r", err,
                  errlen));
    CHK(get_name(m->cfg_name, ex->cfg_name, sizeof(ex->cfg_name), "cfg_name", err, errlen));
    if (!m->has_protocol || m->protocol != IKE_PROTO_ESP)
        return fail(err, errlen, "protocol missing or not ESP");
    ex->protocol = IKE_PROTO_ESP;
    ex->tunnel = m->tunnel;
    if (!m->has_spi_in || !m->has_spi_out || m->spi_in == 0 || m->spi_out == 0)
        return fail(err, errlen, "ESP SPIs missing or zero");
    ex->spi_in = m->spi_in;
    ex->spi_out = m->spi_out;
    U16(encr_id);
    U16(encr_key_bits);
    U16(integ_id);
    U16(pfs_group);
    ex->esn = m->esn;
    KEYIN(encr_in);
    KEYIN(integ_in);
    KEYIN(encr_out);
    KEYIN(integ_out);
    CHK(get_ts_list(m->n_ts_local, m->ts_local, ex->ts_local, &ex->n_ts_local, "ts_local", err,
                    errlen));
    CHK(get_ts_list(m->n_ts_remote, m->ts_remote, ex->ts_remote, &ex->n_ts_remote, "ts_remote", err,
                    errlen));
    ex->soft_ms = m->soft_ms;
    ex->hard_ms = m->hard_ms;
    ex->age_ms = m->age_ms;
    ex->rekey_due = m->rekey_due;
    ex->replaces_spi_in = m->replaces_spi_in;
    return 0;
}
