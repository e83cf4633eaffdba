/*
 * Wire check: one message of every kind libike builds, encoded (and
 * protected) by libike, written to a pcap and dissected by tshark with the
 * test's keys in its IKEv2 decryption table. No packet may be malformed or
 * fail tshark's ICV check, and the fields tshark shows (header, payload
 * chain, proposals, transforms, KE, notifies, IDs, certificates, TS,
 * Delete SPIs, CP, fragments, padding; inner payloads included) must be
 * the ones encoded.
 *
 * tshark 4.0 decrypts AES-CBC with HMAC-SHA1/SHA2 and AES-GCM; it has no
 * ChaCha20-Poly1305 for IKEv2, so the ChaCha20 IKE SA is only checked
 * outside the SK payload. Skipped when tshark is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/sk.h>

#include "helper_sk.h"
#include "helper_wire.h"
#include "helper_wire_expect.h"
#include "sk_layer.h"

#define MAX_MSGS 40
#define MAX_PKTS 80

/* ---- the IKE SAs of the capture ----------------------------------------- */

struct wire_sa {
    const char *suite;              /* helper_sk suite */
    uint8_t tag;                    /* SPIs are tag-derived */
    const char *ws_encr, *ws_integ; /* Wireshark's names; NULL: tshark cannot decrypt */
    uint8_t spi_i[8], spi_r[8];
    struct helper_sk_keys ki, kr; /* SK_ei/SK_ai, SK_er/SK_ar */
    struct ike_sk_cipher *ci, *cr;
};

enum { SA_CBC, SA_GCM, SA_CBC128, SA_CHACHA, SA_FRAG_GCM, SA_FRAG_CBC, SA_COUNT };

static struct wire_sa wire_sas[SA_COUNT] = {
    [SA_CBC] = {"aes256-sha256", 0xa0, "AES-CBC-256 [RFC3602]", "HMAC_SHA2_256_128 [RFC4868]"},
    [SA_GCM] = {"aes256gcm16", 0xb0, "AES-GCM-256 with 16 octet ICV [RFC5282]", "NONE [RFC4306]"},
    [SA_CBC128] = {"aes128-sha1", 0xc0, "AES-CBC-128 [RFC3602]", "HMAC_SHA1_96 [RFC2404]"},
    [SA_CHACHA] = {"chacha20poly1305", 0xd0, NULL, NULL},
    [SA_FRAG_GCM] = {"aes128gcm16", 0xe0, "AES-GCM-128 with 16 octet ICV [RFC5282]",
                     "NONE [RFC4306]"},
    [SA_FRAG_CBC] = {"aes256-sha384", 0xf0, "AES-CBC-256 [RFC3602]", "HMAC_SHA2_384_192 [RFC4868]"},
};

static void sa_setup(struct wire_sa *sa)
{
    const struct helper_sk_suite *s = helper_sk_suite(sa->suite);
    for (size_t i = 0; i < 8; i++) {
        sa->spi_i[i] = (uint8_t)(sa->tag + i);
        sa->spi_r[i] = (uint8_t)(sa->tag + 0x08 + i);
    }
    helper_sk_keys(s, sa->tag, &sa->ki);
    helper_sk_keys(s, (uint8_t)(sa->tag + 0x40), &sa->kr);
    sa->ci = helper_sk_cipher(s, sa->tag);
    sa->cr = helper_sk_cipher(s, (uint8_t)(sa->tag + 0x40));
}

static void sa_teardown(struct wire_sa *sa)
{
    ike_sk_cipher_free(sa->ci);
    ike_sk_cipher_free(sa->cr);
    sa->ci = sa->cr = NULL;
}

/* ---- messages and packets ---------------------------------------------- */

struct wire_ctx {
    struct ike_msg msgs[MAX_MSGS];
    size_t n_msgs;
    struct helper_wire_pkt pkts[MAX_PKTS];
    size_t n_pkts;
    uint8_t cert[2048]; /* a real self-signed X.509 certificate (DER) */
    size_t cert_len;
};

static struct ike_msg *new_msg(struct wire_ctx *w, int sa, uint8_t exchange, uint8_t flags,
                               uint32_t message_id)
{
    assert_true(w->n_msgs < MAX_MSGS);
    struct ike_msg *m = &w->msgs[w->n_msgs++];
    const struct wire_sa *s = &wire_sas[sa];
    bool no_spi_r = exchange == IKE_EXCH_IKE_SA_INIT && !(flags & IKE_FLAG_RESPONSE);
    ike_msg_init(m, s->spi_i, no_spi_r ? NULL : s->spi_r, exchange, flags, message_id);
    return m;
}

static struct helper_wire_pkt *new_pkt(struct wire_ctx *w, const struct ike_msg *m, int sa)
{
    assert_true(w->n_pkts < MAX_PKTS);
    struct helper_wire_pkt *p = &w->pkts[w->n_pkts++];
    memset(p, 0, sizeof(*p));
    p->msg = m;
    p->sa = sa;
    p->from_initiator = (m->hdr.flags & IKE_FLAG_INITIATOR) != 0;
    p->decrypted = wire_sas[sa].ws_encr != NULL;
    return p;
}

/* Decodes what we sent (decrypting with the receiver's view of the keys)
 * and checks the exchange's payload rules on it. */
static void check_rules(const uint8_t *buf, size_t len, struct ike_sk_cipher *c)
{
    struct ike_msg d = {0};
    struct ike_diag diag = {0};
    char desc[512];
    if (ike_msg_decode(&d, buf, len, &diag) != IKE_OK)
        fail_msg("own decode: %s", diag.reason);
    if (c && ike_sk_unprotect(&d, c, &diag) != IKE_OK)
        fail_msg("own unprotect: %s", diag.reason);
    if (ike_msg_check_rules(&d, &diag) != IKE_OK)
        fail_msg("%s: %s", ike_msg_describe(&d, desc, sizeof(desc)), diag.reason);
    ike_msg_clear(&d);
}

/* IKE_SA_INIT: plain, port 500. */
static void emit_plain(struct wire_ctx *w, const struct ike_msg *m, int sa)
{
    struct helper_wire_pkt *p = new_pkt(w, m, sa);
    struct ike_diag diag = {0};
    p->port = HELPER_WIRE_PORT_IKE;
    p->decrypted = false;
    if (ike_msg_encode(m, &p->buf, &p->len, &diag) != IKE_OK)
        fail_msg("encode: %s", diag.reason);
    check_rules(p->buf, p->len, NULL);
}

static struct ike_sk_cipher *tx_cipher(const struct ike_msg *m, int sa)
{
    return (m->hdr.flags & IKE_FLAG_INITIATOR) ? wire_sas[sa].ci : wire_sas[sa].cr;
}

/* What our own decryption sees: the pad length tshark must report. */
static void learn_padding(struct helper_wire_pkt *p, struct ike_sk_cipher *c)
{
    struct ike_msg d = {0};
    struct ike_diag diag = {0};
    uint8_t *pt = NULL;
    size_t cap = 0, len = 0;
    assert_int_equal(ike_msg_decode(&d, p->buf, p->len, &diag), IKE_OK);
    if (ike_sk_open_msg(&d, c, &pt, &cap, &len, &diag) != IKE_OK)
        fail_msg("own decryption failed: %s", diag.reason);
    p->pad_len = cap - 1 - len;
    p->body_off = d.sk->sk.body_off;
    p->iv_len = ike_sk_cipher_iv_len(c);
    p->icv_len = ike_sk_cipher_icv_len(c);
    ike_msg_free_buf(pt, cap);
    ike_msg_clear(&d);
}

/* Protected exchanges: SK, port 4500 with the non-ESP marker. */
static void emit_sk(struct wire_ctx *w, const struct ike_msg *m, int sa)
{
    struct helper_wire_pkt *p = new_pkt(w, m, sa);
    struct ike_diag diag = {0};
    struct ike_sk_cipher *c = tx_cipher(m, sa);
    p->port = HELPER_WIRE_PORT_NATT;
    if (ike_sk_protect(m, c, &p->buf, &p->len, &diag) != IKE_OK)
        fail_msg("protect: %s", diag.reason);
    learn_padding(p, c);
    check_rules(p->buf, p->len, c);
}

/* Our own reassembler, fed in reverse order, must rebuild a message that
 * follows the exchange's rules. */
static void check_reassembly(const struct ike_sk_frag *f, size_t n, struct ike_sk_cipher *c)
{
    struct ike_sk_reasm *r = ike_sk_reasm_new(0, 0);
    struct ike_msg out = {0};
    struct ike_diag diag = {0};
    enum ike_sk_reasm_result res = IKE_SK_REASM_NEED_MORE;
    assert_non_null(r);
    for (size_t i = n; i-- > 0;) {
        struct ike_msg d = {0};
        assert_int_equal(ike_msg_decode(&d, f[i].buf, f[i].len, &diag), IKE_OK);
        if (ike_sk_reasm_add(r, &d, c, &out, &res, &diag) != IKE_OK)
            fail_msg("own reassembly: %s", diag.reason);
        ike_msg_clear(&d);
    }
    assert_int_equal(res, IKE_SK_REASM_COMPLETE);
    if (ike_msg_check_rules(&out, &diag) != IKE_OK)
        fail_msg("reassembled: %s", diag.reason);
    ike_msg_clear(&out);
    ike_sk_reasm_free(r);
}

static void emit_frags(struct wire_ctx *w, const struct ike_msg *m, int sa, size_t max_len)
{
    struct ike_sk_frag *f = NULL;
    size_t n = 0;
    struct ike_diag diag = {0};
    struct ike_sk_cipher *c = tx_cipher(m, sa);
    if (ike_sk_protect_fragments(m, c, max_len, &f, &n, &diag) != IKE_OK)
        fail_msg("fragments: %s", diag.reason);
    assert_true(n >= 3);
    check_reassembly(f, n, c);
    for (size_t i = 0; i < n; i++) {
        struct helper_wire_pkt *p = new_pkt(w, m, sa);
        p->port = HELPER_WIRE_PORT_NATT;
        p->frag_num = (uint16_t)(i + 1);
        p->frag_total = (uint16_t)n;
        p->buf = f[i].buf; /* taken over */
        p->len = f[i].len;
        f[i].buf = NULL;
        learn_padding(p, c);
    }
    ike_sk_frags_free(f, n);
}

/* ---- payload contents ---------------------------------------------------- */

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + 3 * i);
}

#define T(type_, id_, bits_)                                                                       \
    {                                                                                              \
        .type = (type_), .id = (id_), .key_bits = (bits_)                                          \
    }

static void add_ike_sa_offer(struct ike_msg *m)
{
    struct ike_transform p1[] = {
        T(IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 128),
        T(IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 256),
        T(IKE_TRANS_PRF, IKE_PRF_HMAC_SHA2_256, 0),
        T(IKE_TRANS_PRF, IKE_PRF_HMAC_SHA2_512, 0),
        T(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0),
        T(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA1_96, 0),
        T(IKE_TRANS_DH, IKE_DH_ECP_256, 0),
        T(IKE_TRANS_DH, IKE_DH_CURVE25519, 0),
    };
    struct ike_transform p2[] = {
        T(IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 256),
        T(IKE_TRANS_ENCR, IKE_ENCR_CHACHA20_POLY1305, 0),
        T(IKE_TRANS_PRF, IKE_PRF_HMAC_SHA2_384, 0),
        T(IKE_TRANS_DH, IKE_DH_ECP_521, 0),
        T(IKE_TRANS_DH, IKE_DH_MODP_2048, 0),
    };
    struct ike_proposal props[] = {
        {.num = 1, .protocol = IKE_PROTO_IKE, .n_transforms = 8, .transforms = p1},
        {.num = 2, .protocol = IKE_PROTO_IKE, .n_transforms = 5, .transforms = p2},
    };
    struct ike_pld_sa sa = {.n_proposals = 2, .proposals = props};
    assert_non_null(ike_msg_add_sa(m, &sa));
}

static void add_ike_sa_choice(struct ike_msg *m)
{
    struct ike_transform t[] = {
        T(IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 256),
        T(IKE_TRANS_PRF, IKE_PRF_HMAC_SHA2_256, 0),
        T(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_256_128, 0),
        T(IKE_TRANS_DH, IKE_DH_ECP_256, 0),
    };
    struct ike_proposal p = {
        .num = 1, .protocol = IKE_PROTO_IKE, .n_transforms = 4, .transforms = t};
    struct ike_pld_sa sa = {.n_proposals = 1, .proposals = &p};
    assert_non_null(ike_msg_add_sa(m, &sa));
}

/* ESP offer (two proposals) or choice (the first one), with a PFS group
 * for CREATE_CHILD_SA. */
static void add_esp_sa(struct ike_msg *m, uint32_t spi, bool offer, bool pfs)
{
    struct ike_transform p1[] = {
        T(IKE_TRANS_ENCR, IKE_ENCR_AES_GCM_16, 128),
        T(IKE_TRANS_ESN, IKE_ESN_NO, 0),
        T(IKE_TRANS_ESN, IKE_ESN_YES, 0),
        T(IKE_TRANS_DH, IKE_DH_ECP_256, 0),
    };
    struct ike_transform p2[] = {
        T(IKE_TRANS_ENCR, IKE_ENCR_AES_CBC, 256),
        T(IKE_TRANS_INTEG, IKE_INTEG_HMAC_SHA2_512_256, 0),
        T(IKE_TRANS_ESN, IKE_ESN_NO, 0),
    };
    struct ike_proposal props[2] = {
        {.num = 1,
         .protocol = IKE_PROTO_ESP,
         .spi_len = 4,
         .n_transforms = pfs ? 4 : 3,
         .transforms = p1},
        {.num = 2, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 3, .transforms = p2},
    };
    for (size_t i = 0; i < 2; i++) {
        props[i].spi[0] = (uint8_t)(spi >> 24);
        props[i].spi[1] = (uint8_t)(spi >> 16);
        props[i].spi[2] = (uint8_t)(spi >> 8);
        props[i].spi[3] = (uint8_t)(spi + i);
    }
    struct ike_pld_sa sa = {.n_proposals = offer ? 2 : 1, .proposals = props};
    assert_non_null(ike_msg_add_sa(m, &sa));
}

static void add_ke(struct ike_msg *m, uint16_t group, size_t len, uint8_t seed)
{
    uint8_t data[256];
    assert_true(len <= sizeof(data));
    fill(data, len, seed);
    assert_non_null(ike_msg_add_ke(m, group, data, len));
}

static void add_nonce(struct ike_msg *m, uint8_t seed)
{
    uint8_t n[32];
    fill(n, sizeof(n), seed);
    assert_non_null(ike_msg_add_nonce(m, n, sizeof(n)));
}

static void add_nat_detection(struct ike_msg *m, uint8_t seed)
{
    uint8_t h[IKE_NAT_DETECTION_LEN];
    fill(h, sizeof(h), seed);
    assert_non_null(ike_msg_add_notify(m, IKE_N_NAT_DETECTION_SOURCE_IP, h, sizeof(h)));
    fill(h, sizeof(h), (uint8_t)(seed + 1));
    assert_non_null(ike_msg_add_notify(m, IKE_N_NAT_DETECTION_DESTINATION_IP, h, sizeof(h)));
}

static void add_vendor(struct ike_msg *m, uint8_t seed)
{
    uint8_t v[16];
    fill(v, sizeof(v), seed);
    assert_non_null(ike_msg_add_vendor(m, v, sizeof(v)));
}

static void add_certreq(struct ike_msg *m)
{
    uint8_t hashes[40]; /* two SHA-1 CA key hashes */
    fill(hashes, sizeof(hashes), 0x61);
    assert_non_null(
        ike_msg_add_cert(m, IKE_PLD_CERTREQ, IKE_CERT_X509_SIGNATURE, hashes, sizeof(hashes)));
}

static void add_auth(struct ike_msg *m, uint8_t method, size_t len, uint8_t seed)
{
    uint8_t a[128];
    assert_true(len <= sizeof(a));
    fill(a, len, seed);
    assert_non_null(ike_msg_add_auth(m, method, a, len));
}

static void add_id(struct ike_msg *m, uint8_t pld, uint8_t type, const void *data, size_t len)
{
    assert_non_null(ike_msg_add_id(m, pld, type, data, len));
}

/* TSi / TSr with one IPv4 and one IPv6 range (the second with a protocol
 * and ports). */
static void add_ts_pair(struct ike_msg *m, uint8_t net)
{
    for (int k = 0; k < 2; k++) {
        struct ike_ts ts[2] = {
            {.type = IKE_TS_IPV4_ADDR_RANGE,
             .start_port = 0,
             .end_port = 65535,
             .start_addr = {192, 0, 2, (uint8_t)(net + 64 * k)},
             .end_addr = {192, 0, 2, (uint8_t)(net + 64 * k + 63)}},
            {.type = IKE_TS_IPV6_ADDR_RANGE,
             .ip_proto = 6,
             .start_port = 443,
             .end_port = (uint16_t)(8000 + k),
             .start_addr = {0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)k},
             .end_addr = {0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)k, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0xff}},
        };
        assert_non_null(ike_msg_add_ts(m, k ? IKE_PLD_TSR : IKE_PLD_TSI, ts, 2));
    }
}

static void add_cp_request(struct ike_msg *m)
{
    struct ike_cp_attr at[] = {
        {IKE_CFG_INTERNAL_IP4_ADDRESS, {NULL, 0}},
        {IKE_CFG_INTERNAL_IP4_DNS, {NULL, 0}},
        {IKE_CFG_INTERNAL_IP6_ADDRESS, {NULL, 0}},
    };
    assert_non_null(ike_msg_add_cp(m, IKE_CFG_REQUEST, at, 3));
}

static void add_cp_reply(struct ike_msg *m)
{
    static const uint8_t ip4[4] = {192, 0, 2, 200}, dns[4] = {192, 0, 2, 53};
    static const uint8_t ip6[17] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 64};
    struct ike_cp_attr at[] = {
        {IKE_CFG_INTERNAL_IP4_ADDRESS, {ip4, 4}},
        {IKE_CFG_INTERNAL_IP4_DNS, {dns, 4}},
        {IKE_CFG_INTERNAL_IP6_ADDRESS, {ip6, 17}},
    };
    assert_non_null(ike_msg_add_cp(m, IKE_CFG_REPLY, at, 3));
}

/* ---- the exchanges --------------------------------------------------- */

static void build_ike_sa_init(struct wire_ctx *w)
{
    struct ike_msg *m = new_msg(w, SA_CBC, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_INITIATOR, 0);
    add_ike_sa_offer(m);
    add_ke(m, IKE_DH_ECP_256, 64, 0x11);
    add_nonce(m, 0x21);
    add_nat_detection(m, 0x31);
    assert_non_null(ike_msg_add_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0));
    assert_non_null(ike_msg_add_notify(m, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NULL, 0));
    add_vendor(m, 0x41);
    emit_plain(w, m, SA_CBC);

    m = new_msg(w, SA_CBC, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    add_ike_sa_choice(m);
    add_ke(m, IKE_DH_ECP_256, 64, 0x12);
    add_nonce(m, 0x22);
    add_certreq(m);
    add_nat_detection(m, 0x32);
    assert_non_null(ike_msg_add_notify(m, IKE_N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0));
    assert_non_null(ike_msg_add_notify(m, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NULL, 0));
    add_vendor(m, 0x42);
    emit_plain(w, m, SA_CBC);

    /* Error responses carry no responder SPI (the responder keeps no state). */
    m = new_msg(w, SA_GCM, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    memset(m->hdr.spi_r, 0, IKE_SPI_LEN);
    assert_non_null(ike_msg_add_n_invalid_ke(m, IKE_DH_ECP_521));
    emit_plain(w, m, SA_GCM);

    uint8_t cookie[32];
    fill(cookie, sizeof(cookie), 0x77);
    m = new_msg(w, SA_CHACHA, IKE_EXCH_IKE_SA_INIT, IKE_FLAG_RESPONSE, 0);
    memset(m->hdr.spi_r, 0, IKE_SPI_LEN);
    assert_non_null(ike_msg_add_notify(m, IKE_N_COOKIE, cookie, sizeof(cookie)));
    emit_plain(w, m, SA_CHACHA);
}

static void build_ike_auth_cbc(struct wire_ctx *w)
{
    static const char fqdn[] = "moon.lab.example";
    static const uint8_t peer4[4] = {198, 51, 100, 2};
    static const uint8_t key_id[] = {0x6b, 0x65, 0x79, 0x2d, 0x69, 0x64, 0x00, 0xff, 0x10};
    uint8_t hash_url[20 + 40];
    fill(hash_url, 20, 0x51);
    memcpy(hash_url + 20, "http://ca.lab.example/moon.der", 30);
    struct ike_msg *m = new_msg(w, SA_CBC, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    add_id(m, IKE_PLD_IDI, IKE_ID_FQDN, fqdn, sizeof(fqdn) - 1);
    assert_non_null(ike_msg_add_cert(m, IKE_PLD_CERT, IKE_CERT_HASH_URL_X509, hash_url, 50));
    add_certreq(m);
    add_id(m, IKE_PLD_IDR, IKE_ID_IPV4_ADDR, peer4, 4);
    add_auth(m, IKE_AUTH_SHARED_KEY_MIC, 32, 0x81);
    add_cp_request(m);
    assert_non_null(ike_msg_add_notify(m, IKE_N_INITIAL_CONTACT, NULL, 0));
    add_esp_sa(m, 0xc1a00001u, true, false);
    add_ts_pair(m, 0);
    emit_sk(w, m, SA_CBC);

    m = new_msg(w, SA_CBC, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    add_id(m, IKE_PLD_IDR, IKE_ID_KEY_ID, key_id, sizeof(key_id));
    add_auth(m, IKE_AUTH_SHARED_KEY_MIC, 32, 0x82);
    add_cp_reply(m);
    add_esp_sa(m, 0xc1a00101u, false, false);
    add_ts_pair(m, 0);
    emit_sk(w, m, SA_CBC);
}

static void build_ike_auth_gcm(struct wire_ctx *w)
{
    static const char rfc822[] = "carol@lab.example";
    static const uint8_t peer6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    /* Name ::= SEQUENCE { SET { SEQUENCE { id-at-commonName, UTF8String "moon" } } } */
    static const uint8_t dn[] = {0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55,
                                 0x04, 0x03, 0x0c, 0x04, 'm',  'o',  'o',  'n'};
    struct ike_msg *m = new_msg(w, SA_GCM, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    add_id(m, IKE_PLD_IDI, IKE_ID_RFC822_ADDR, rfc822, sizeof(rfc822) - 1);
    add_id(m, IKE_PLD_IDR, IKE_ID_IPV6_ADDR, peer6, sizeof(peer6));
    add_auth(m, IKE_AUTH_RSA_SIG, 128, 0x83);
    add_esp_sa(m, 0xc1b00001u, true, false);
    add_ts_pair(m, 128);
    emit_sk(w, m, SA_GCM);

    m = new_msg(w, SA_GCM, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    add_id(m, IKE_PLD_IDR, IKE_ID_DER_ASN1_DN, dn, sizeof(dn));
    add_auth(m, IKE_AUTH_ECDSA_256, 64, 0x84);
    add_esp_sa(m, 0xc1b00101u, false, false);
    add_ts_pair(m, 128);
    emit_sk(w, m, SA_GCM);
}

static void build_ike_auth_other(struct wire_ctx *w)
{
    /* GeneralName dNSName [2] "gw.lab.example" */
    static const uint8_t gn[] = {0x82, 0x0e, 'g', 'w', '.', 'l', 'a', 'b',
                                 '.',  'e',  'x', 'a', 'm', 'p', 'l', 'e'};
    static const char fqdn[] = "sun.lab.example";
    struct ike_msg *m = new_msg(w, SA_CBC128, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    add_id(m, IKE_PLD_IDI, IKE_ID_DER_ASN1_GN, gn, sizeof(gn));
    add_auth(m, IKE_AUTH_SHARED_KEY_MIC, 20, 0x85);
    assert_non_null(ike_msg_add_notify(m, IKE_N_INITIAL_CONTACT, NULL, 0));
    add_esp_sa(m, 0xc1c00001u, true, false);
    add_ts_pair(m, 0);
    emit_sk(w, m, SA_CBC128);

    m = new_msg(w, SA_CHACHA, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    add_id(m, IKE_PLD_IDI, IKE_ID_FQDN, fqdn, sizeof(fqdn) - 1);
    add_auth(m, IKE_AUTH_SHARED_KEY_MIC, 32, 0x86);
    add_esp_sa(m, 0xc1d00001u, true, false);
    add_ts_pair(m, 0);
    emit_sk(w, m, SA_CHACHA);
}

static void build_create_child_sa(struct wire_ctx *w)
{
    struct ike_msg *m = new_msg(w, SA_GCM, IKE_EXCH_CREATE_CHILD_SA, IKE_FLAG_INITIATOR, 2);
    assert_non_null(ike_msg_add_n_rekey_sa(m, IKE_PROTO_ESP, 0xc1b00001u));
    add_esp_sa(m, 0xc2b00001u, true, true);
    add_nonce(m, 0x23);
    add_ke(m, IKE_DH_ECP_256, 64, 0x13);
    add_ts_pair(m, 128);
    emit_sk(w, m, SA_GCM);

    m = new_msg(w, SA_GCM, IKE_EXCH_CREATE_CHILD_SA, IKE_FLAG_RESPONSE, 2);
    add_esp_sa(m, 0xc2b00101u, false, true);
    add_nonce(m, 0x24);
    add_ke(m, IKE_DH_ECP_256, 64, 0x14);
    add_ts_pair(m, 128);
    emit_sk(w, m, SA_GCM);
}

static void build_informational(struct wire_ctx *w)
{
    static const uint32_t old[] = {0xc1b00001u, 0xc1b00002u, 0xc1b00003u};
    static const uint32_t old_r[] = {0xc1b00101u, 0xc1b00102u, 0xc1b00103u};
    struct ike_msg *m = new_msg(w, SA_GCM, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 3);
    assert_non_null(ike_msg_add_delete(m, IKE_PROTO_ESP, old, 3));
    emit_sk(w, m, SA_GCM);
    m = new_msg(w, SA_GCM, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 3);
    assert_non_null(ike_msg_add_delete(m, IKE_PROTO_ESP, old_r, 3));
    emit_sk(w, m, SA_GCM);

    /* RFC 6311: the synchronisation exchange uses Message ID 0. */
    struct ike_n_msgid_sync sync = {{0xde, 0xad, 0xbe, 0xef}, 17, 42};
    m = new_msg(w, SA_GCM, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 0);
    assert_non_null(ike_msg_add_n_msgid_sync(m, &sync));
    assert_non_null(ike_msg_add_n_replay_sync(m, 0x0000000100000200ull));
    emit_sk(w, m, SA_GCM);
    struct ike_n_msgid_sync reply = {{0xde, 0xad, 0xbe, 0xef}, 43, 18};
    m = new_msg(w, SA_GCM, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 0);
    assert_non_null(ike_msg_add_n_msgid_sync(m, &reply));
    emit_sk(w, m, SA_GCM);

    m = new_msg(w, SA_CBC, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 2);
    assert_non_null(ike_msg_add_delete(m, IKE_PROTO_IKE, NULL, 0));
    emit_sk(w, m, SA_CBC);
    m = new_msg(w, SA_CBC, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 2);
    emit_sk(w, m, SA_CBC); /* empty */

    m = new_msg(w, SA_CHACHA, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 2);
    emit_sk(w, m, SA_CHACHA); /* liveness check */
}

static void build_fragments(struct wire_ctx *w)
{
    static const char fqdn[] = "moon.lab.example";
    helper_wire_make_cert(w->cert, sizeof(w->cert), &w->cert_len);
    struct ike_msg *m = new_msg(w, SA_FRAG_GCM, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    add_id(m, IKE_PLD_IDI, IKE_ID_FQDN, fqdn, sizeof(fqdn) - 1);
    for (int i = 0; i < 3; i++)
        assert_non_null(
            ike_msg_add_cert(m, IKE_PLD_CERT, IKE_CERT_X509_SIGNATURE, w->cert, w->cert_len));
    add_auth(m, IKE_AUTH_ECDSA_256, 64, 0x87);
    add_esp_sa(m, 0xc1e00001u, true, false);
    add_ts_pair(m, 0);
    emit_frags(w, m, SA_FRAG_GCM, ike_sk_frag_max_len(576, false, true));

    m = new_msg(w, SA_FRAG_CBC, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    add_id(m, IKE_PLD_IDR, IKE_ID_FQDN, fqdn, sizeof(fqdn) - 1);
    for (int i = 0; i < 2; i++)
        assert_non_null(
            ike_msg_add_cert(m, IKE_PLD_CERT, IKE_CERT_X509_SIGNATURE, w->cert, w->cert_len));
    add_auth(m, IKE_AUTH_ECDSA_256, 64, 0x88);
    add_esp_sa(m, 0xc1f00101u, false, false);
    add_ts_pair(m, 0);
    emit_frags(w, m, SA_FRAG_CBC, 400);
}

/* ---- the capture and tshark ----------------------------------------------- */

struct wire_state {
    bool have_tshark;
    struct wire_ctx *w;
    char dir[64]; /* also tshark's configuration directory */
    char pcap[128];
};

static void hex_out(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* The IKEv2 decryption table (Wireshark's UAT file): SPIi, SPIr, SK_ei,
 * SK_er, "encryption", SK_ai, SK_ar, "integrity". */
static void write_key_table(const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/ikev2_decryption_table", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < SA_COUNT; i++) {
        const struct wire_sa *s = &wire_sas[i];
        if (!s->ws_encr)
            continue;
        hex_out(f, s->spi_i, 8);
        fputc(',', f);
        hex_out(f, s->spi_r, 8);
        fputc(',', f);
        hex_out(f, s->ki.encr, s->ki.encr_len);
        fputc(',', f);
        hex_out(f, s->kr.encr, s->kr.encr_len);
        fprintf(f, ",\"%s\",", s->ws_encr);
        hex_out(f, s->ki.integ, s->ki.integ_len);
        fputc(',', f);
        hex_out(f, s->kr.integ, s->kr.integ_len);
        fprintf(f, ",\"%s\"\n", s->ws_integ);
    }
    assert_int_equal(fclose(f), 0);
}

static void write_pcap(const char *path, const struct helper_wire_pkt *pkts, size_t n)
{
    struct helper_wire_pcap pc;
    helper_wire_pcap_open(&pc, path);
    for (size_t i = 0; i < n; i++)
        helper_wire_pcap_add(&pc, pkts[i].from_initiator, pkts[i].port, pkts[i].buf, pkts[i].len);
    helper_wire_pcap_close(&pc);
}

static int group_setup(void **state)
{
    struct wire_state *st = calloc(1, sizeof(*st));
    assert_non_null(st);
    *state = st;
    st->have_tshark = helper_wire_tshark_found();
    if (!st->have_tshark)
        return 0;
    st->w = calloc(1, sizeof(*st->w));
    assert_non_null(st->w);
    for (int i = 0; i < SA_COUNT; i++)
        sa_setup(&wire_sas[i]);
    build_ike_sa_init(st->w);
    build_ike_auth_cbc(st->w);
    build_ike_auth_gcm(st->w);
    build_ike_auth_other(st->w);
    build_create_child_sa(st->w);
    build_informational(st->w);
    build_fragments(st->w);
    snprintf(st->dir, sizeof(st->dir), "/tmp/haiked-wire-XXXXXX");
    assert_non_null(mkdtemp(st->dir));
    snprintf(st->pcap, sizeof(st->pcap), "%s/libike.pcap", st->dir);
    write_pcap(st->pcap, st->w->pkts, st->w->n_pkts);
    write_key_table(st->dir);
    return 0;
}

static void remove_in(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}

static int group_teardown(void **state)
{
    struct wire_state *st = *state;
    if (st->w) {
        for (size_t i = 0; i < st->w->n_pkts; i++)
            free(st->w->pkts[i].buf);
        for (size_t i = 0; i < st->w->n_msgs; i++)
            ike_msg_clear(&st->w->msgs[i]);
        for (int i = 0; i < SA_COUNT; i++)
            sa_teardown(&wire_sas[i]);
        free(st->w);
    }
    if (st->dir[0] && !getenv("HAIKED_WIRE_KEEP")) {
        remove_in(st->dir, "libike.pcap");
        remove_in(st->dir, "tampered.pcap");
        remove_in(st->dir, "ikev2_decryption_table");
        remove_in(st->dir, "recent"); /* files tshark may leave */
        remove_in(st->dir, "recent_common");
        rmdir(st->dir);
    } else if (st->dir[0]) {
        print_message("wire check files kept in %s\n", st->dir);
    }
    free(st);
    return 0;
}

static struct wire_state *need_tshark(void **state)
{
    struct wire_state *st = *state;
    if (!st->have_tshark) {
        print_message("tshark not found: skipping the wire check "
                      "(install the tshark package to run it)\n");
        skip();
    }
    return st;
}

/* tshark -r pcap -Y filter -T fields -e frame.number -e _ws.expert.message:
 * the frames matching filter, one line each. */
static char *frames_matching(const struct wire_state *st, const char *pcap, const char *filter)
{
    const char *const args[] = {"-r",     pcap, "-Y",           filter, "-T",
                                "fields", "-e", "frame.number", "-e",   "_ws.expert.message",
                                NULL};
    int status = -1;
    char *out = helper_wire_tshark(st->dir, args, &status);
    if (!out || status != 0)
        fail_msg("tshark -Y '%s' failed (exit %d)", filter, status);
    return out;
}

/* Malformed packets, warnings and errors (a bad ICV is one). */
#define WIRE_PROBLEMS                                                                              \
    "_ws.malformed || _ws.expert.severity >= 0x00600000 || isakmp.ikev2.integrity_checksum"

static void test_no_malformed_packet(void **state)
{
    struct wire_state *st = need_tshark(state);
    char *bad = frames_matching(st, st->pcap, WIRE_PROBLEMS);
    if (bad[0])
        fail_msg("tshark reports problems in frames (number, expert message):\n%s", bad);
    free(bad);
    char *all = frames_matching(st, st->pcap, "isakmp");
    size_t n = 0;
    for (char *p = all; *p; p++)
        n += *p == '\n';
    assert_int_equal(n, st->w->n_pkts); /* every frame dissected as IKE */
    free(all);
}

/* The same filter must catch a broken ICV and a broken length, or the
 * test above proves nothing. */
static void test_problems_are_detected(void **state)
{
    struct wire_state *st = need_tshark(state);
    const struct wire_ctx *w = st->w;
    struct helper_wire_pkt pk[2];
    uint8_t *bufs[2] = {NULL, NULL};
    size_t n = 0;
    for (size_t i = 0; i < w->n_pkts && n < 1; i++) {
        if (w->pkts[i].decrypted && w->pkts[i].frag_total == 0) {
            pk[n] = w->pkts[i];
            bufs[n] = malloc(pk[n].len);
            assert_non_null(bufs[n]);
            memcpy(bufs[n], pk[n].buf, pk[n].len);
            bufs[n][pk[n].len - 1] ^= 0x01; /* last ICV octet */
            pk[n].buf = bufs[n];
            n++;
        }
    }
    pk[n] = w->pkts[0]; /* IKE_SA_INIT request: SA payload length + 1 */
    bufs[n] = malloc(pk[n].len);
    assert_non_null(bufs[n]);
    memcpy(bufs[n], pk[n].buf, pk[n].len);
    bufs[n][IKE_HDR_LEN + 3] = (uint8_t)(bufs[n][IKE_HDR_LEN + 3] + 1);
    pk[n].buf = bufs[n];
    n++;
    char path[160];
    snprintf(path, sizeof(path), "%s/tampered.pcap", st->dir);
    write_pcap(path, pk, n);
    char *bad = frames_matching(st, path, WIRE_PROBLEMS);
    assert_non_null(bad);
    print_message("tampered frames flagged by tshark:\n%s", bad ? bad : "");
    assert_non_null(strstr(bad, "1\t"));
    assert_non_null(strstr(bad, "2\t"));
    free(bad);
    free(bufs[0]);
    free(bufs[1]);
}

/* Frames in which tshark shows the inner payloads. */
static bool shows_inner(const struct helper_wire_pkt *p)
{
    return p->decrypted && (p->frag_total == 0 || p->frag_num == p->frag_total);
}

static size_t compare_frame(const struct helper_wire_rows *rows, size_t r,
                            const struct helper_wire_pkt *p, char *report, size_t cap)
{
    struct helper_wire_expect e;
    size_t bad = 0;
    helper_wire_expect_build(p, shows_inner(p), &e);
    for (size_t f = 0; f < helper_wire_n_fields; f++) {
        const char *got = helper_wire_cell(rows, r, f + 1);
        if (!e.val[f] || strcmp(e.val[f], got) == 0)
            continue;
        bad++;
        size_t used = strlen(report);
        snprintf(report + used, cap - used, "frame %zu %s:\n  encoded: %.300s\n  tshark:  %.300s\n",
                 r + 1, helper_wire_field_names[f], e.val[f], got);
    }
    helper_wire_expect_free(&e);
    return bad;
}

static void test_fields_match_encoding(void **state)
{
    struct wire_state *st = need_tshark(state);
    const char *args[8 + 2 * 80] = {"-r", st->pcap,       "-T", "fields",
                                    "-E", "occurrence=a", "-E", "aggregator=,"};
    size_t n = 8;
    args[n++] = "-e";
    args[n++] = "frame.number";
    assert_true(helper_wire_n_fields < 78);
    for (size_t f = 0; f < helper_wire_n_fields; f++) {
        args[n++] = "-e";
        args[n++] = helper_wire_field_names[f];
    }
    args[n] = NULL;
    int status = -1;
    char *out = helper_wire_tshark(st->dir, args, &status);
    if (!out || status != 0)
        fail_msg("tshark -T fields failed (exit %d)", status);
    struct helper_wire_rows rows;
    assert_true(helper_wire_rows_parse(out, helper_wire_n_fields + 1, &rows));
    assert_int_equal(rows.n_rows, st->w->n_pkts);
    static char report[65536];
    report[0] = '\0';
    size_t bad = 0, inner = 0;
    for (size_t r = 0; r < rows.n_rows; r++) {
        bad += compare_frame(&rows, r, &st->w->pkts[r], report, sizeof(report));
        inner += shows_inner(&st->w->pkts[r]);
    }
    print_message("%zu frames, %zu with inner payloads decrypted by tshark, %zu fields each\n",
                  rows.n_rows, inner, helper_wire_n_fields);
    helper_wire_rows_free(&rows);
    free(out);
    if (bad) {
        print_error("%s", report);
        fail_msg("%zu field(s) differ from what libike encoded (listed above)", bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_malformed_packet),
        cmocka_unit_test(test_problems_are_detected),
        cmocka_unit_test(test_fields_match_encoding),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
