/* Envelope pack/unpack and the checks every received message goes through. */
#include "hasync_codec.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/events.h>
#include <ike/export.h>

#include "hasync_export.h"

static const char *const drop_names[HASYNC_DROP__COUNT] = {
    [HASYNC_OK] = "ok",
    [HASYNC_DROP_TOO_BIG] = "too-big",
    [HASYNC_DROP_MALFORMED] = "malformed",
    [HASYNC_DROP_VERSION] = "version",
    [HASYNC_DROP_SENDER] = "sender",
    [HASYNC_DROP_UNKNOWN_BODY] = "unknown-body",
    [HASYNC_DROP_INVALID] = "invalid",
    [HASYNC_DROP_ORDER] = "order",
};

const char *hasync_drop_name(enum hasync_drop why)
{
    return (unsigned)why < HASYNC_DROP__COUNT ? drop_names[why] : "unknown";
}

const char *hasync_body_name(Hasync__Envelope__BodyCase body)
{
    switch (body) {
    case HASYNC__ENVELOPE__BODY_IKE_SA_ADD: return "ike_sa_add";
    case HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE: return "ike_sa_update";
    case HASYNC__ENVELOPE__BODY_IKE_SA_DEL: return "ike_sa_del";
    case HASYNC__ENVELOPE__BODY_CHILD_SA_ADD: return "child_sa_add";
    case HASYNC__ENVELOPE__BODY_CHILD_SA_DEL: return "child_sa_del";
    case HASYNC__ENVELOPE__BODY_MSGID_UPDATE: return "msgid_update";
    case HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE: return "esp_seq_update";
    case HASYNC__ENVELOPE__BODY_ACK: return "ack";
    case HASYNC__ENVELOPE__BODY_BULK_REQUEST: return "bulk_request";
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK: return "snapshot_chunk";
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE: return "snapshot_done";
    case HASYNC__ENVELOPE__BODY_ROLE: return "role";
    case HASYNC__ENVELOPE__BODY_IKE_RESPONSE: return "ike_response";
    default: return "none";
    }
}

static enum hasync_drop bad(enum hasync_drop why, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum hasync_drop bad(enum hasync_drop why, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return why;
}

/* Unpacked messages hold SA keys: an allocator that remembers each block's
 * size so it can wipe it before freeing. */
struct wipe_hdr {
    size_t size;
    max_align_t align;
};

static void *wipe_alloc(void *data, size_t size)
{
    struct wipe_hdr *h;

    (void)data;
    if (size > SIZE_MAX - sizeof(*h))
        return NULL;
    h = malloc(sizeof(*h) + size);
    if (!h)
        return NULL;
    h->size = size;
    return h + 1;
}

static void wipe_free(void *data, void *p)
{
    struct wipe_hdr *h;

    (void)data;
    if (!p)
        return;
    h = (struct wipe_hdr *)p - 1;
    explicit_bzero(p, h->size);
    free(h);
}

static ProtobufCAllocator wipe_allocator = {
    .alloc = wipe_alloc,
    .free = wipe_free,
};

int hasync_codec_pack(const Hasync__Envelope *env, uint8_t **out, size_t *len)
{
    size_t n = hasync__envelope__get_packed_size(env);
    uint8_t *buf;

    if (n > HASYNC_MSG_MAX)
        return -1;
    buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    *len = hasync__envelope__pack(env, buf);
    *out = buf;
    return 0;
}

static bool spi_ok(protobuf_c_boolean has, ProtobufCBinaryData b)
{
    return has && b.len == IKE_SPI_LEN;
}

static bool addr_ok(const Hasync__Addr *a)
{
    return !a || (a->has_ip && (a->ip.len == 4 || a->ip.len == 16) && a->port <= 65535);
}

static enum hasync_drop check_response(const Hasync__IkeResponse *m, char *err, size_t errlen)
{
    if (!spi_ok(m->has_spi_i, m->spi_i) || !spi_ok(m->has_spi_r, m->spi_r) || !m->has_message_id ||
        !m->has_request_hash || m->request_hash.len != IKE_RESPONSE_HASH_LEN || !m->has_datagram ||
        m->datagram.len < IKE_HDR_LEN || m->datagram.len > IKE_RESPONSE_MAX)
        return bad(HASYNC_DROP_INVALID, err, errlen,
                   "ike_response: SPIs, ID, hash or datagram (%zu octets) missing or bad",
                   m->has_datagram ? m->datagram.len : 0);
    return HASYNC_OK;
}

/* Checked through the conversion to libike's struct, then wiped: it may
 * hold keys. A snapshot's responder cache must be the SA's own. */
static enum hasync_drop check_ike_add(const Hasync__IkeSaAdd *m, char *err, size_t errlen)
{
    struct ike_sa_export ex;
    int rc = hasync_ike_from_msg(m, &ex, err, errlen);
    enum hasync_drop why = rc == 0 ? HASYNC_OK : HASYNC_DROP_INVALID;

    if (why == HASYNC_OK && m->last_response) {
        why = check_response(m->last_response, err, errlen);
        if (why == HASYNC_OK && (memcmp(m->last_response->spi_i.data, ex.spi_i, IKE_SPI_LEN) ||
                                 memcmp(m->last_response->spi_r.data, ex.spi_r, IKE_SPI_LEN)))
            why = bad(HASYNC_DROP_INVALID, err, errlen,
                      "ike_sa_add: last_response of another IKE SA");
    }
    ike_export_wipe(&ex, sizeof(ex));
    return why;
}

static enum hasync_drop check_child_add(const Hasync__ChildSaAdd *m, char *err, size_t errlen)
{
    struct ike_child_export ex;
    int rc = hasync_child_from_msg(m, &ex, err, errlen);

    ike_export_wipe(&ex, sizeof(ex));
    return rc == 0 ? HASYNC_OK : HASYNC_DROP_INVALID;
}

static enum hasync_drop check_esp(const Hasync__EspSeqUpdate *m, char *err, size_t errlen)
{
    if (!m->has_spi_in || m->spi_in == 0 || !m->has_seq_out)
        return bad(HASYNC_DROP_INVALID, err, errlen, "esp_seq_update: SPI or seq_out missing");
    return HASYNC_OK;
}

static enum hasync_drop check_chunk(const Hasync__SnapshotChunk *m, char *err, size_t errlen)
{
    enum hasync_drop why = HASYNC_OK;

    if (!m->has_snapshot_id)
        return bad(HASYNC_DROP_INVALID, err, errlen, "snapshot_chunk: no snapshot_id");
    if (m->n_ike > HASYNC_CHUNK_MAX || m->n_child > HASYNC_CHUNK_MAX || m->n_esp > HASYNC_CHUNK_MAX)
        return bad(HASYNC_DROP_INVALID, err, errlen,
                   "snapshot_chunk: %zu/%zu/%zu entries (max %d each)", m->n_ike, m->n_child,
                   m->n_esp, HASYNC_CHUNK_MAX);
    for (size_t i = 0; i < m->n_ike && why == HASYNC_OK; i++)
        why = check_ike_add(m->ike[i], err, errlen);
    for (size_t i = 0; i < m->n_child && why == HASYNC_OK; i++)
        why = check_child_add(m->child[i], err, errlen);
    for (size_t i = 0; i < m->n_esp && why == HASYNC_OK; i++)
        why = check_esp(m->esp[i], err, errlen);
    return why;
}

static enum hasync_drop check_body(const Hasync__Envelope *e, char *err, size_t errlen)
{
    switch (e->body_case) {
    case HASYNC__ENVELOPE__BODY_IKE_SA_ADD: return check_ike_add(e->ike_sa_add, err, errlen);
    case HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE:
        if (!spi_ok(e->ike_sa_update->has_spi_i, e->ike_sa_update->spi_i) ||
            !spi_ok(e->ike_sa_update->has_spi_r, e->ike_sa_update->spi_r) ||
            !addr_ok(e->ike_sa_update->local) || !addr_ok(e->ike_sa_update->remote))
            return bad(HASYNC_DROP_INVALID, err, errlen, "ike_sa_update: bad SPIs/addresses");
        return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_IKE_SA_DEL:
        if (!spi_ok(e->ike_sa_del->has_spi_i, e->ike_sa_del->spi_i) ||
            !spi_ok(e->ike_sa_del->has_spi_r, e->ike_sa_del->spi_r))
            return bad(HASYNC_DROP_INVALID, err, errlen, "ike_sa_del: bad SPIs");
        return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_CHILD_SA_ADD: return check_child_add(e->child_sa_add, err, errlen);
    case HASYNC__ENVELOPE__BODY_CHILD_SA_DEL:
        if (!e->child_sa_del->has_spi_in || e->child_sa_del->spi_in == 0 ||
            !spi_ok(e->child_sa_del->has_ike_spi_i, e->child_sa_del->ike_spi_i) ||
            !spi_ok(e->child_sa_del->has_ike_spi_r, e->child_sa_del->ike_spi_r))
            return bad(HASYNC_DROP_INVALID, err, errlen, "child_sa_del: bad SPIs");
        return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_MSGID_UPDATE:
        if (!spi_ok(e->msgid_update->has_spi_i, e->msgid_update->spi_i) ||
            !spi_ok(e->msgid_update->has_spi_r, e->msgid_update->spi_r) ||
            !e->msgid_update->has_send_next || !e->msgid_update->has_recv_next)
            return bad(HASYNC_DROP_INVALID, err, errlen, "msgid_update: SPIs or IDs missing");
        return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE: return check_esp(e->esp_seq_update, err, errlen);
    case HASYNC__ENVELOPE__BODY_IKE_RESPONSE: return check_response(e->ike_response, err, errlen);
    case HASYNC__ENVELOPE__BODY_ACK:
        if (!e->ack->has_to_node || !e->ack->has_to_pid || !e->ack->has_seq || e->ack->seq == 0)
            return bad(HASYNC_DROP_INVALID, err, errlen, "ack: target or seq missing");
        return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_BULK_REQUEST: return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK: return check_chunk(e->snapshot_chunk, err, errlen);
    case HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE:
        if (!e->snapshot_done->has_snapshot_id)
            return bad(HASYNC_DROP_INVALID, err, errlen, "snapshot_done: no snapshot_id");
        return HASYNC_OK;
    case HASYNC__ENVELOPE__BODY_ROLE:
        if (!e->role->has_role || e->role->role > HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_SYNCING)
            return bad(HASYNC_DROP_INVALID, err, errlen, "role: missing or unknown");
        return HASYNC_OK;
    default: return bad(HASYNC_DROP_UNKNOWN_BODY, err, errlen, "no body this node knows");
    }
}

/* Unknown fields are fine (a newer node's additions), but field number 0
 * does not exist: protobuf-c keeps one written with a padded tag varint as
 * "unknown", and would then pack it into something it cannot unpack. */
static bool unknown_fields_ok(const ProtobufCMessage *m, unsigned depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    if (depth > 8)
        return false; /* our schema nests 4 deep */
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return false;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;

        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);

            for (size_t k = 0; k < n; k++)
                if (!unknown_fields_ok(v[k], depth + 1))
                    return false;
        } else {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);

            /* a oneof member that is not the chosen one shares the slot */
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            if (sub && !unknown_fields_ok(sub, depth + 1))
                return false;
        }
    }
    return true;
}

enum hasync_drop hasync_codec_validate(const Hasync__Envelope *e, char *err, size_t errlen)
{
    bool is_ack = e->body_case == HASYNC__ENVELOPE__BODY_ACK;

    if (!e->has_version || e->version != HASYNC_PROTO_VERSION)
        return bad(HASYNC_DROP_VERSION, err, errlen, "format version %u, want %d",
                   e->has_version ? e->version : 0, HASYNC_PROTO_VERSION);
    if (!e->has_sender || e->sender == 0)
        return bad(HASYNC_DROP_SENDER, err, errlen, "no sender node id");
    if (is_ack ? e->seq != 0 : (!e->has_seq || e->seq == 0))
        return bad(HASYNC_DROP_INVALID, err, errlen, "sequence number %llu not valid for %s",
                   (unsigned long long)e->seq, hasync_body_name(e->body_case));
    if (!unknown_fields_ok(&e->base, 0))
        return bad(HASYNC_DROP_MALFORMED, err, errlen, "field number 0");
    return check_body(e, err, errlen);
}

Hasync__Envelope *hasync_codec_unpack(const uint8_t *buf, size_t len, uint32_t cpg_nodeid,
                                      enum hasync_drop *why, char *err, size_t errlen)
{
    Hasync__Envelope *e;

    if (len > HASYNC_MSG_MAX) {
        *why = bad(HASYNC_DROP_TOO_BIG, err, errlen, "%zu octets > %u", len, HASYNC_MSG_MAX);
        return NULL;
    }
    e = hasync__envelope__unpack(&wipe_allocator, len, buf);
    if (!e) {
        *why = bad(HASYNC_DROP_MALFORMED, err, errlen, "not an Envelope (%zu octets)", len);
        return NULL;
    }
    *why = hasync_codec_validate(e, err, errlen);
    if (*why == HASYNC_OK && e->sender != cpg_nodeid)
        *why = bad(HASYNC_DROP_SENDER, err, errlen, "sender %u but CPG source %u", e->sender,
                   cpg_nodeid);
    if (*why != HASYNC_OK) {
        hasync_codec_free(e);
        return NULL;
    }
    return e;
}

void hasync_codec_free(Hasync__Envelope *env)
{
    if (env)
        hasync__envelope__free_unpacked(env, &wipe_allocator);
}
