/* The sync wire format (hasync_codec.c, hasync_export.c): every body round
 * trips; malformed, truncated, invalid and unknown input is refused with the
 * right reason and never crashes; unknown fields are accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/events.h>

#include "hasync_codec.h"
#include "hasync_export.h"

#define NODE 7

static void fill(uint8_t *p, size_t n, uint8_t base)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(base + i);
}

static void make_ike(struct ike_sa_export *ex)
{
    memset(ex, 0, sizeof(*ex));
    ex->version = IKE_EXPORT_VERSION;
    strcpy(ex->cfg_name, "FWEXT-VPN");
    fill(ex->spi_i, IKE_SPI_LEN, 0x10);
    fill(ex->spi_r, IKE_SPI_LEN, 0x20);
    ex->initiator = true;
    ex->local.family = IKE_AF_INET;
    fill(ex->local.addr, 4, 203);
    ex->local.port = 4500;
    ex->remote.family = IKE_AF_INET6;
    fill(ex->remote.addr, 16, 0x20);
    ex->remote.port = 500;
    ex->nat_remote = true;
    ex->fragmentation = true;
    ex->peer_msgid_sync = true;
    ex->peer_replay_sync = true;
    ex->encr_id = 20;
    ex->encr_key_bits = 256;
    ex->prf_id = 5;
    ex->dh_group = 19;
    ex->sk_d.len = 32;
    fill(ex->sk_d.data, 32, 1);
    ex->sk_ei.len = ex->sk_er.len = 36;
    fill(ex->sk_ei.data, 36, 2);
    fill(ex->sk_er.data, 36, 3);
    ex->sk_pi.len = ex->sk_pr.len = 64;
    fill(ex->sk_pi.data, 64, 4);
    fill(ex->sk_pr.data, 64, 5);
    ex->local_id.type = 2;
    ex->local_id.len = 11;
    memcpy(ex->local_id.data, "gw.test.org", 11);
    ex->remote_id.type = 1;
    ex->remote_id.len = 4;
    fill(ex->remote_id.data, 4, 9);
    ex->msgid_send_next = 5;
    ex->msgid_recv_next = 0xfffffff0u;
    ex->soft_left_ms = 3600000;
    ex->hard_left_ms = 4000000;
    fill(ex->replaces_spi_i, IKE_SPI_LEN, 0x30);
    fill(ex->replaces_spi_r, IKE_SPI_LEN, 0x40);
}

static void make_child(struct ike_child_export *ex)
{
    memset(ex, 0, sizeof(*ex));
    ex->version = IKE_EXPORT_VERSION;
    fill(ex->ike_spi_i, IKE_SPI_LEN, 0x10);
    fill(ex->ike_spi_r, IKE_SPI_LEN, 0x20);
    strcpy(ex->cfg_name, "lan-to-lan");
    ex->protocol = IKE_PROTO_ESP;
    ex->tunnel = true;
    ex->spi_in = 0xc0ffee01u;
    ex->spi_out = 0x0badf00du;
    ex->encr_id = 12;
    ex->encr_key_bits = 128;
    ex->integ_id = 12;
    ex->esn = true;
    ex->encr_in.len = ex->encr_out.len = 16;
    fill(ex->encr_in.data, 16, 0x50);
    fill(ex->encr_out.data, 16, 0x60);
    ex->integ_in.len = ex->integ_out.len = 32;
    fill(ex->integ_in.data, 32, 0x70);
    fill(ex->integ_out.data, 32, 0x80);
    ex->n_ts_local = 2;
    ex->ts_local[0].type = IKE_TS_IPV4_ADDR_RANGE;
    fill(ex->ts_local[0].start_addr, 4, 192);
    fill(ex->ts_local[0].end_addr, 4, 193);
    ex->ts_local[0].end_port = 65535;
    ex->ts_local[1].type = IKE_TS_IPV6_ADDR_RANGE;
    ex->ts_local[1].ip_proto = 17;
    ex->ts_local[1].start_port = ex->ts_local[1].end_port = 53;
    fill(ex->ts_local[1].start_addr, 16, 0x20);
    fill(ex->ts_local[1].end_addr, 16, 0x21);
    ex->n_ts_remote = 1;
    ex->ts_remote[0] = ex->ts_local[0];
    ex->soft_ms = 1000;
    ex->hard_ms = 2000;
    ex->age_ms = 17;
    ex->rekey_due = true;
    ex->replaces_spi_in = 0xc0ffee00u;
    ex->pfs_group = 31;
}

static void envelope(Hasync__Envelope *e, uint64_t seq)
{
    hasync__envelope__init(e);
    e->has_version = e->has_sender = e->has_vcluster = e->has_seq = true;
    e->version = HASYNC_PROTO_VERSION;
    e->sender = NODE;
    e->vcluster = 3;
    e->seq = seq;
}

/* Packs e, unpacks it as if from NODE; asserts it was accepted. */
static Hasync__Envelope *round_trip(const Hasync__Envelope *e)
{
    uint8_t *buf;
    size_t len;
    enum hasync_drop why = HASYNC_DROP__COUNT;
    char err[160] = "";
    Hasync__Envelope *out;

    assert_int_equal(hasync_codec_pack(e, &buf, &len), 0);
    out = hasync_codec_unpack(buf, len, NODE, &why, err, sizeof(err));
    free(buf);
    if (!out)
        fail_msg("refused: %s (%s)", hasync_drop_name(why), err);
    assert_int_equal(why, HASYNC_OK);
    assert_int_equal(out->version, HASYNC_PROTO_VERSION);
    assert_int_equal(out->sender, NODE);
    assert_int_equal(out->vcluster, 3);
    assert_int_equal(out->seq, e->seq);
    assert_int_equal(out->body_case, e->body_case);
    return out;
}

/* Packs e and returns the verdict of unpacking it from cpg_node. */
static enum hasync_drop verdict_from(const Hasync__Envelope *e, uint32_t cpg_node)
{
    uint8_t *buf;
    size_t len;
    enum hasync_drop why = HASYNC_OK;
    char err[160];
    Hasync__Envelope *out;

    assert_int_equal(hasync_codec_pack(e, &buf, &len), 0);
    out = hasync_codec_unpack(buf, len, cpg_node, &why, err, sizeof(err));
    free(buf);
    if (out) {
        hasync_codec_free(out);
        return HASYNC_OK;
    }
    assert_int_not_equal(why, HASYNC_OK);
    assert_true(err[0] != '\0');
    return why;
}

static enum hasync_drop verdict(const Hasync__Envelope *e)
{
    return verdict_from(e, NODE);
}

static void test_ike_sa_add(void **state)
{
    struct ike_sa_export ex, back;
    struct hasync_ike_msg m;
    Hasync__Envelope e, *out;

    (void)state;
    make_ike(&ex);
    hasync_ike_to_msg(&ex, &m);
    envelope(&e, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    e.ike_sa_add = &m.m;
    out = round_trip(&e);
    assert_int_equal(hasync_ike_from_msg(out->ike_sa_add, &back, NULL, 0), 0);
    assert_memory_equal(&ex, &back, sizeof(ex));
    hasync_codec_free(out);

    /* no rekey: no replaces_* on the wire, zeros back */
    memset(ex.replaces_spi_i, 0, IKE_SPI_LEN);
    memset(ex.replaces_spi_r, 0, IKE_SPI_LEN);
    hasync_ike_to_msg(&ex, &m);
    assert_false(m.m.has_replaces_spi_i);
    out = round_trip(&e);
    assert_int_equal(hasync_ike_from_msg(out->ike_sa_add, &back, NULL, 0), 0);
    assert_memory_equal(&ex, &back, sizeof(ex));
    hasync_codec_free(out);
}

static void test_child_sa_add(void **state)
{
    struct ike_child_export ex, back;
    struct hasync_child_msg m;
    Hasync__Envelope e, *out;

    (void)state;
    make_child(&ex);
    hasync_child_to_msg(&ex, &m);
    envelope(&e, 2);
    e.body_case = HASYNC__ENVELOPE__BODY_CHILD_SA_ADD;
    e.child_sa_add = &m.m;
    out = round_trip(&e);
    assert_int_equal(hasync_child_from_msg(out->child_sa_add, &back, NULL, 0), 0);
    assert_memory_equal(&ex, &back, sizeof(ex)); /* installed_ms is 0: not carried */
    hasync_codec_free(out);
}

static uint8_t SPI_I[8] = {1, 2, 3, 4, 5, 6, 7, 8}, SPI_R[8] = {9, 9, 9, 9, 9, 9, 9, 9};
#define SPI(p) ((ProtobufCBinaryData){.len = 8, .data = (p)})

static void test_small_bodies(void **state)
{
    Hasync__Envelope e, *out;
    uint8_t v4[4] = {198, 51, 100, 1};
    Hasync__Addr addr = HASYNC__ADDR__INIT;
    Hasync__IkeSaUpdate upd = HASYNC__IKE_SA_UPDATE__INIT;
    Hasync__IkeSaDel del = HASYNC__IKE_SA_DEL__INIT;
    Hasync__ChildSaDel cdel = HASYNC__CHILD_SA_DEL__INIT;
    Hasync__MsgidUpdate mid = HASYNC__MSGID_UPDATE__INIT;
    Hasync__EspSeqUpdate esp = HASYNC__ESP_SEQ_UPDATE__INIT;
    Hasync__Ack ack = HASYNC__ACK__INIT;
    Hasync__BulkRequest bulk = HASYNC__BULK_REQUEST__INIT;
    Hasync__SnapshotDone done = HASYNC__SNAPSHOT_DONE__INIT;
    Hasync__RoleAnnounce role = HASYNC__ROLE_ANNOUNCE__INIT;

    (void)state;
    addr.has_ip = addr.has_port = true;
    addr.ip = (ProtobufCBinaryData){.len = 4, .data = v4};
    addr.port = 4500;
    upd.has_spi_i = upd.has_spi_r = upd.has_nat_local = true;
    upd.spi_i = SPI(SPI_I);
    upd.spi_r = SPI(SPI_R);
    upd.remote = &addr;
    upd.nat_local = true;
    envelope(&e, 10);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_UPDATE;
    e.ike_sa_update = &upd;
    out = round_trip(&e);
    assert_memory_equal(out->ike_sa_update->spi_i.data, SPI_I, 8);
    assert_int_equal(out->ike_sa_update->remote->port, 4500);
    assert_memory_equal(out->ike_sa_update->remote->ip.data, v4, 4);
    assert_true(out->ike_sa_update->nat_local);
    assert_null(out->ike_sa_update->local);
    hasync_codec_free(out);

    del.has_spi_i = del.has_spi_r = true;
    del.spi_i = SPI(SPI_I);
    del.spi_r = SPI(SPI_R);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_DEL;
    e.ike_sa_del = &del;
    out = round_trip(&e);
    assert_memory_equal(out->ike_sa_del->spi_r.data, SPI_R, 8);
    hasync_codec_free(out);

    cdel.has_ike_spi_i = cdel.has_ike_spi_r = cdel.has_spi_in = true;
    cdel.ike_spi_i = SPI(SPI_I);
    cdel.ike_spi_r = SPI(SPI_R);
    cdel.spi_in = 0xc0ffee01u;
    e.body_case = HASYNC__ENVELOPE__BODY_CHILD_SA_DEL;
    e.child_sa_del = &cdel;
    out = round_trip(&e);
    assert_int_equal(out->child_sa_del->spi_in, 0xc0ffee01u);
    hasync_codec_free(out);

    mid.has_spi_i = mid.has_spi_r = mid.has_send_next = mid.has_recv_next = true;
    mid.spi_i = SPI(SPI_I);
    mid.spi_r = SPI(SPI_R);
    mid.send_next = 2;
    mid.recv_next = 0;
    e.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
    e.msgid_update = &mid;
    out = round_trip(&e);
    assert_int_equal(out->msgid_update->send_next, 2);
    assert_true(out->msgid_update->has_recv_next);
    assert_int_equal(out->msgid_update->recv_next, 0);
    hasync_codec_free(out);

    esp.has_spi_in = esp.has_seq_out = esp.has_replay_edge = true;
    esp.spi_in = 0xc0ffee01u;
    esp.seq_out = 0x100000000ull;
    esp.replay_edge = 77;
    e.body_case = HASYNC__ENVELOPE__BODY_ESP_SEQ_UPDATE;
    e.esp_seq_update = &esp;
    out = round_trip(&e);
    assert_int_equal(out->esp_seq_update->seq_out, 0x100000000ull);
    assert_int_equal(out->esp_seq_update->replay_edge, 77);
    hasync_codec_free(out);

    ack.has_to_node = ack.has_to_pid = ack.has_seq = true;
    ack.to_node = 2;
    ack.to_pid = 4242;
    ack.seq = 99;
    envelope(&e, 0); /* acks are not sequenced */
    e.body_case = HASYNC__ENVELOPE__BODY_ACK;
    e.ack = &ack;
    out = round_trip(&e);
    assert_int_equal(out->ack->to_pid, 4242);
    assert_int_equal(out->ack->seq, 99);
    hasync_codec_free(out);

    envelope(&e, 11);
    bulk.has_to_node = true;
    bulk.to_node = 1;
    e.body_case = HASYNC__ENVELOPE__BODY_BULK_REQUEST;
    e.bulk_request = &bulk;
    out = round_trip(&e);
    assert_int_equal(out->bulk_request->to_node, 1);
    hasync_codec_free(out);

    done.has_snapshot_id = done.has_n_ike = done.has_n_child = true;
    done.snapshot_id = 5;
    done.n_ike = 10000;
    done.n_child = 10001;
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_DONE;
    e.snapshot_done = &done;
    out = round_trip(&e);
    assert_int_equal(out->snapshot_done->n_child, 10001);
    hasync_codec_free(out);

    role.has_role = role.has_priority = role.has_override = true;
    role.role = HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER;
    role.priority = 200;
    role.override = true;
    role.node_name = "node-a";
    e.body_case = HASYNC__ENVELOPE__BODY_ROLE;
    e.role = &role;
    out = round_trip(&e);
    assert_int_equal(out->role->role, HASYNC__ROLE_ANNOUNCE__ROLE__ROLE_MASTER);
    assert_int_equal(out->role->priority, 200);
    assert_string_equal(out->role->node_name, "node-a");
    hasync_codec_free(out);
}

static void test_snapshot_chunk(void **state)
{
    struct ike_sa_export ike;
    struct ike_child_export child, back;
    struct hasync_ike_msg im;
    struct hasync_child_msg cm;
    Hasync__EspSeqUpdate esp = HASYNC__ESP_SEQ_UPDATE__INIT;
    Hasync__IkeSaAdd *ikes[2];
    Hasync__ChildSaAdd *children[1];
    Hasync__EspSeqUpdate *esps[1] = {&esp};
    Hasync__SnapshotChunk chunk = HASYNC__SNAPSHOT_CHUNK__INIT;
    Hasync__Envelope e, *out;

    (void)state;
    make_ike(&ike);
    make_child(&child);
    hasync_ike_to_msg(&ike, &im);
    hasync_child_to_msg(&child, &cm);
    ikes[0] = ikes[1] = &im.m;
    children[0] = &cm.m;
    esp.has_spi_in = esp.has_seq_out = true;
    esp.spi_in = 5;
    esp.seq_out = 6;
    chunk.has_snapshot_id = true;
    chunk.snapshot_id = 1;
    chunk.n_ike = 2;
    chunk.ike = ikes;
    chunk.n_child = 1;
    chunk.child = children;
    chunk.n_esp = 1;
    chunk.esp = esps;
    envelope(&e, 3);
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    e.snapshot_chunk = &chunk;
    out = round_trip(&e);
    assert_int_equal(out->snapshot_chunk->n_ike, 2);
    assert_int_equal(hasync_child_from_msg(out->snapshot_chunk->child[0], &back, NULL, 0), 0);
    assert_memory_equal(&child, &back, sizeof(child));
    hasync_codec_free(out);

    /* one bad entry spoils the chunk */
    im.m.spi_r.len = 7;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
}

static void test_envelope_checks(void **state)
{
    Hasync__Envelope e;
    Hasync__BulkRequest bulk = HASYNC__BULK_REQUEST__INIT;
    Hasync__Ack ack = HASYNC__ACK__INIT;

    (void)state;
    envelope(&e, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_BULK_REQUEST;
    e.bulk_request = &bulk;
    assert_int_equal(verdict(&e), HASYNC_OK);
    assert_int_equal(verdict_from(&e, NODE + 1), HASYNC_DROP_SENDER); /* spoofed sender */
    e.version = 2;
    assert_int_equal(verdict(&e), HASYNC_DROP_VERSION);
    e.has_version = false;
    assert_int_equal(verdict(&e), HASYNC_DROP_VERSION);
    envelope(&e, 0);
    e.body_case = HASYNC__ENVELOPE__BODY_BULK_REQUEST;
    e.bulk_request = &bulk;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID); /* state needs a sequence number */
    envelope(&e, 1);
    e.has_sender = false;
    e.body_case = HASYNC__ENVELOPE__BODY_BULK_REQUEST;
    e.bulk_request = &bulk;
    assert_int_equal(verdict(&e), HASYNC_DROP_SENDER);
    envelope(&e, 1);
    assert_int_equal(verdict(&e), HASYNC_DROP_UNKNOWN_BODY); /* no body */
    /* an ack must not be sequenced, and must name its target */
    ack.has_to_node = ack.has_to_pid = ack.has_seq = true;
    ack.to_node = 1;
    ack.to_pid = 1;
    ack.seq = 1;
    e.body_case = HASYNC__ENVELOPE__BODY_ACK;
    e.ack = &ack;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    e.seq = 0;
    assert_int_equal(verdict(&e), HASYNC_OK);
    ack.has_to_pid = false;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
}

static void test_invalid_sa_fields(void **state)
{
    struct ike_sa_export ike;
    struct ike_child_export child;
    struct hasync_ike_msg im;
    struct hasync_child_msg cm;
    Hasync__Envelope e;
    uint8_t big[IKE_EXPORT_KEY_MAX + 1] = {0};
    char long_name[IKE_EXPORT_NAME_MAX + 1];

    (void)state;
    make_ike(&ike);
    envelope(&e, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    e.ike_sa_add = &im.m;
#define IKE_CASE(mutation)                                                                         \
    do {                                                                                           \
        hasync_ike_to_msg(&ike, &im);                                                              \
        mutation;                                                                                  \
        assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);                                        \
    } while (0)
    hasync_ike_to_msg(&ike, &im);
    assert_int_equal(verdict(&e), HASYNC_OK);
    IKE_CASE(im.m.spi_i.len = 7);
    IKE_CASE(im.m.has_spi_r = false);
    IKE_CASE(im.m.sk_d = ((ProtobufCBinaryData){.len = sizeof(big), .data = big}));
    IKE_CASE(im.local.port = 65536);
    IKE_CASE(im.remote.ip.len = 5);
    IKE_CASE(im.m.remote = NULL);
    IKE_CASE(im.m.encr_id = 70000);
    IKE_CASE(im.m.export_version = IKE_EXPORT_VERSION + 1);
    IKE_CASE(im.m.cfg_name = NULL);
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    IKE_CASE(im.m.cfg_name = long_name);
    IKE_CASE(im.local_id.type = 256);
    IKE_CASE(im.m.has_msgid_recv_next = false);
    IKE_CASE(im.m.replaces_spi_r.len = 4);
#undef IKE_CASE

    make_child(&child);
    e.body_case = HASYNC__ENVELOPE__BODY_CHILD_SA_ADD;
    e.child_sa_add = &cm.m;
#define CHILD_CASE(mutation)                                                                       \
    do {                                                                                           \
        hasync_child_to_msg(&child, &cm);                                                          \
        mutation;                                                                                  \
        assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);                                        \
    } while (0)
    hasync_child_to_msg(&child, &cm);
    assert_int_equal(verdict(&e), HASYNC_OK);
    CHILD_CASE(cm.m.protocol = 2);
    CHILD_CASE(cm.m.spi_in = 0);
    CHILD_CASE(cm.m.n_ts_remote = 0);
    CHILD_CASE(cm.ts[0].start_addr.len = 16); /* IPv4 selector with 16 octets */
    CHILD_CASE(cm.ts[0].type = 9);
    CHILD_CASE(cm.ts[0].end_port = 65536);
    CHILD_CASE(cm.m.integ_out = ((ProtobufCBinaryData){.len = sizeof(big), .data = big}));
#undef CHILD_CASE
}

static void test_chunk_limit(void **state)
{
    static Hasync__EspSeqUpdate *many[HASYNC_CHUNK_MAX + 1];
    Hasync__EspSeqUpdate esp = HASYNC__ESP_SEQ_UPDATE__INIT;
    Hasync__SnapshotChunk chunk = HASYNC__SNAPSHOT_CHUNK__INIT;
    Hasync__Envelope e;

    (void)state;
    esp.has_spi_in = esp.has_seq_out = true;
    esp.spi_in = 1;
    for (size_t i = 0; i <= HASYNC_CHUNK_MAX; i++)
        many[i] = &esp;
    chunk.has_snapshot_id = true;
    chunk.esp = many;
    chunk.n_esp = HASYNC_CHUNK_MAX;
    envelope(&e, 1);
    e.body_case = HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK;
    e.snapshot_chunk = &chunk;
    assert_int_equal(verdict(&e), HASYNC_OK);
    chunk.n_esp = HASYNC_CHUNK_MAX + 1;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
}

/* A valid msgid_update on the wire, for the byte-level tests. */
static uint8_t *wire_msgid(size_t *len)
{
    Hasync__Envelope e;
    Hasync__MsgidUpdate mid = HASYNC__MSGID_UPDATE__INIT;
    uint8_t *buf;

    mid.has_spi_i = mid.has_spi_r = mid.has_send_next = mid.has_recv_next = true;
    mid.spi_i = SPI(SPI_I);
    mid.spi_r = SPI(SPI_R);
    mid.send_next = 3;
    mid.recv_next = 4;
    envelope(&e, 5);
    e.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
    e.msgid_update = &mid;
    assert_int_equal(hasync_codec_pack(&e, &buf, len), 0);
    return buf;
}

static void test_truncated(void **state)
{
    size_t len;
    uint8_t *full = wire_msgid(&len);

    (void)state;
    /* Every strict prefix is refused (the body is the last field), and none
     * crashes; the heap copy lets ASan see any read past the end. */
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = malloc(n ? n : 1);
        enum hasync_drop why = HASYNC_OK;
        char err[160];

        memcpy(p, full, n);
        assert_null(hasync_codec_unpack(p, n, NODE, &why, err, sizeof(err)));
        assert_true(why == HASYNC_DROP_MALFORMED || why == HASYNC_DROP_UNKNOWN_BODY ||
                    why == HASYNC_DROP_VERSION || why == HASYNC_DROP_SENDER ||
                    why == HASYNC_DROP_INVALID);
        free(p);
    }
    free(full);
}

static void test_garbage(void **state)
{
    uint8_t buf[512];
    uint32_t x = 12345;
    size_t accepted = 0;

    (void)state;
    for (int round = 0; round < 5000; round++) {
        size_t n = (size_t)(round % (int)sizeof(buf));
        enum hasync_drop why;
        char err[160];
        Hasync__Envelope *e;

        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        e = hasync_codec_unpack(buf, n, NODE, &why, err, sizeof(err));
        if (e) {
            accepted++;
            hasync_codec_free(e);
        }
    }
    assert_int_equal(accepted, 0); /* random bytes never make a valid sync message */
    {
        static uint8_t huge[HASYNC_MSG_MAX + 1];
        enum hasync_drop why;
        char err[160];

        assert_null(hasync_codec_unpack(huge, sizeof(huge), NODE, &why, err, sizeof(err)));
        assert_int_equal(why, HASYNC_DROP_TOO_BIG);
    }
}

static void test_unknown_fields_accepted(void **state)
{
    size_t len;
    uint8_t *full = wire_msgid(&len);
    /* A newer node's additions: field 99 (varint 42) and field 100 (length-
     * delimited "new") at envelope level, as an old node sees them. */
    static const uint8_t extra[] = {0x98, 0x06, 0x2a, 0xa2, 0x06, 0x03, 'n', 'e', 'w'};
    uint8_t *ext = malloc(len + sizeof(extra));
    enum hasync_drop why = HASYNC_DROP__COUNT;
    char err[160] = "";
    Hasync__Envelope *e;

    (void)state;
    memcpy(ext, full, len);
    memcpy(ext + len, extra, sizeof(extra));
    e = hasync_codec_unpack(ext, len + sizeof(extra), NODE, &why, err, sizeof(err));
    if (!e)
        fail_msg("refused: %s (%s)", hasync_drop_name(why), err);
    assert_int_equal(e->body_case, HASYNC__ENVELOPE__BODY_MSGID_UPDATE);
    assert_int_equal(e->msgid_update->send_next, 3);
    assert_int_equal(e->base.n_unknown_fields, 2);
    hasync_codec_free(e);

    /* A body this node does not know (oneof member 50): dropped as such. */
    {
        uint8_t body[64];
        size_t n = 0;

        /* version 1, sender NODE, seq 9, then field 50 (length-delimited, empty) */
        body[n++] = 0x08;
        body[n++] = HASYNC_PROTO_VERSION;
        body[n++] = 0x10;
        body[n++] = NODE;
        body[n++] = 0x20;
        body[n++] = 9;
        body[n++] = 0x92;
        body[n++] = 0x03;
        body[n++] = 0x00;
        assert_null(hasync_codec_unpack(body, n, NODE, &why, err, sizeof(err)));
        assert_int_equal(why, HASYNC_DROP_UNKNOWN_BODY);
    }
    /* Field number 0 with a padded tag varint (found by fuzzing): protobuf-c
     * keeps it as "unknown", but no such field exists: refused. */
    {
        static const uint8_t field0[] = {0x08, 0x01, 0x10, 0x07, 0x18, 0x01, 0x20, 0x07, 0x82,
                                         0x01, 0x06, 0x08, 0x0c, 0x80, 0x80, 0x00, 0x19};

        assert_null(hasync_codec_unpack(field0, sizeof(field0), NODE, &why, err, sizeof(err)));
        assert_int_equal(why, HASYNC_DROP_MALFORMED);
    }
    free(ext);
    free(full);
}

/* IkeResponse, live and in a snapshot's IkeSaAdd: bounded, its SA's own. */
static void response(Hasync__IkeResponse *r, const uint8_t *spi_i, const uint8_t *spi_r,
                     uint8_t *hash, uint8_t *dgram, size_t len)
{
    hasync__ike_response__init(r);
    r->has_spi_i = r->has_spi_r = r->has_message_id = r->has_request_hash = true;
    r->has_datagram = true;
    r->spi_i = (ProtobufCBinaryData){IKE_SPI_LEN, (uint8_t *)(uintptr_t)spi_i};
    r->spi_r = (ProtobufCBinaryData){IKE_SPI_LEN, (uint8_t *)(uintptr_t)spi_r};
    r->message_id = 7;
    r->request_hash = (ProtobufCBinaryData){IKE_RESPONSE_HASH_LEN, hash};
    r->datagram = (ProtobufCBinaryData){len, dgram};
}

static void test_ike_response(void **state)
{
    static uint8_t big[IKE_RESPONSE_MAX + 1];
    uint8_t hash[IKE_RESPONSE_HASH_LEN];
    Hasync__IkeResponse r;
    Hasync__Envelope e, *out;

    (void)state;
    fill(hash, sizeof(hash), 0x40);
    fill(big, 300, 0x11);
    response(&r, SPI_I, SPI_R, hash, big, 300);
    envelope(&e, 4);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_RESPONSE;
    e.ike_response = &r;
    out = round_trip(&e);
    assert_int_equal(out->ike_response->message_id, 7);
    assert_int_equal(out->ike_response->datagram.len, 300);
    assert_memory_equal(out->ike_response->datagram.data, big, 300);
    assert_memory_equal(out->ike_response->request_hash.data, hash, sizeof(hash));
    hasync_codec_free(out);
    assert_string_equal(hasync_body_name(HASYNC__ENVELOPE__BODY_IKE_RESPONSE), "ike_response");

    r.datagram.len = IKE_HDR_LEN - 1;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.datagram.len = IKE_RESPONSE_MAX + 1;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.datagram.len = IKE_RESPONSE_MAX;
    assert_int_equal(verdict(&e), HASYNC_OK);
    r.datagram.len = 300;
    r.request_hash.len = IKE_RESPONSE_HASH_LEN - 1;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.request_hash.len = IKE_RESPONSE_HASH_LEN;
    r.has_message_id = false;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.has_message_id = true;
    r.spi_r.len = 4;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.spi_r.len = IKE_SPI_LEN;
    r.has_datagram = false;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.has_datagram = true;

    /* a snapshot's SA carries its own cache, never another SA's */
    struct ike_sa_export ex;
    struct hasync_ike_msg m;
    make_ike(&ex);
    hasync_ike_to_msg(&ex, &m);
    response(&r, ex.spi_i, ex.spi_r, hash, big, 300);
    m.m.last_response = &r;
    envelope(&e, 5);
    e.body_case = HASYNC__ENVELOPE__BODY_IKE_SA_ADD;
    e.ike_sa_add = &m.m;
    out = round_trip(&e);
    assert_non_null(out->ike_sa_add->last_response);
    assert_int_equal(out->ike_sa_add->last_response->datagram.len, 300);
    hasync_codec_free(out);
    r.spi_i = (ProtobufCBinaryData){IKE_SPI_LEN, SPI_I};
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    r.spi_i = (ProtobufCBinaryData){IKE_SPI_LEN, ex.spi_i};
    r.datagram.len = 3;
    assert_int_equal(verdict(&e), HASYNC_DROP_INVALID);
    ike_export_wipe(&ex, sizeof(ex));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(hasync_drop_name(HASYNC_DROP_ORDER), "order");
    assert_string_equal(hasync_drop_name((enum hasync_drop)99), "unknown");
    assert_string_equal(hasync_body_name(HASYNC__ENVELOPE__BODY_ROLE), "role");
    assert_string_equal(hasync_body_name(HASYNC__ENVELOPE__BODY__NOT_SET), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ike_sa_add),      cmocka_unit_test(test_child_sa_add),
        cmocka_unit_test(test_small_bodies),    cmocka_unit_test(test_snapshot_chunk),
        cmocka_unit_test(test_envelope_checks), cmocka_unit_test(test_invalid_sa_fields),
        cmocka_unit_test(test_chunk_limit),     cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),         cmocka_unit_test(test_unknown_fields_accepted),
        cmocka_unit_test(test_names),           cmocka_unit_test(test_ike_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
