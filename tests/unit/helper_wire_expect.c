/*
 * Expected tshark fields for a message libike encoded. The walk follows
 * tshark's tree order: unencrypted payloads, then the SK/SKF payload, then
 * (when tshark can show them) the inner payloads; substructures (proposals,
 * transforms, selectors, attributes) in wire order. Values are written the
 * way tshark 4.0 prints them with -T fields: integers in decimal except the
 * hex-displayed ones (flags, Message ID, RFC 6311 IDs), bytes as plain
 * lowercase hex, addresses in their text form, empty notify data as
 * "<MISSING>".
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include <ike/const.h>

#include "helper_wire_expect.h"

enum field {
    F_ISPI,
    F_RSPI,
    F_EXCH,
    F_FLAGS,
    F_MSGID,
    F_LENGTH,
    F_TYPEPAYLOAD,
    F_PROP_NUM,
    F_PROP_PROTO,
    F_PROP_NTRANS,
    F_SPISIZE,
    F_SPI,
    F_TF_TYPE,
    F_TF_ENCR,
    F_TF_PRF,
    F_TF_INTEG,
    F_TF_DH,
    F_TF_ESN,
    F_KEYLEN,
    F_KE_GROUP,
    F_KE_DATA,
    F_NONCE,
    F_N_PROTO,
    F_N_TYPE,
    F_N_DATA,
    F_N_DH,
    F_N_HA_NONCE,
    F_N_HA_SEND,
    F_N_HA_RECV,
    F_N_HA_DELTA,
    F_ID_TYPE,
    F_ID_FQDN,
    F_ID_RFC822,
    F_ID_IPV4,
    F_ID_IPV6,
    F_ID_KEYID,
    F_X509_UTF8,
    F_CERT_ENC,
    F_CERT_HASH,
    F_CERT_URL,
    F_CERTREQ_TYPE,
    F_CERTREQ_CA,
    F_AUTH_METHOD,
    F_AUTH_DATA,
    F_DEL_PROTO,
    F_DEL_SPI,
    F_VID,
    F_TS_NUM,
    F_TS_TYPE,
    F_TS_PROTO,
    F_TS_SPORT,
    F_TS_EPORT,
    F_TS_S4,
    F_TS_E4,
    F_TS_S6,
    F_TS_E6,
    F_CFG_TYPE,
    F_CFG_ATTR,
    F_CFG_IP4,
    F_CFG_DNS4,
    F_CFG_IP6,
    F_CFG_IP6_PREFIX,
    F_FRAG_NUM,
    F_FRAG_TOTAL,
    F_PAD,
    F_IV,
    F_ICD,
    F_COUNT
};

const char *const helper_wire_field_names[] = {
    [F_ISPI] = "isakmp.ispi",
    [F_RSPI] = "isakmp.rspi",
    [F_EXCH] = "isakmp.exchangetype",
    [F_FLAGS] = "isakmp.flags",
    [F_MSGID] = "isakmp.messageid",
    [F_LENGTH] = "isakmp.length",
    [F_TYPEPAYLOAD] = "isakmp.typepayload",
    [F_PROP_NUM] = "isakmp.prop.number",
    [F_PROP_PROTO] = "isakmp.prop.protoid",
    [F_PROP_NTRANS] = "isakmp.prop.transforms",
    [F_SPISIZE] = "isakmp.spisize",
    [F_SPI] = "isakmp.spi",
    [F_TF_TYPE] = "isakmp.tf.type",
    [F_TF_ENCR] = "isakmp.tf.id.encr",
    [F_TF_PRF] = "isakmp.tf.id.prf",
    [F_TF_INTEG] = "isakmp.tf.id.integ",
    [F_TF_DH] = "isakmp.tf.id.dh",
    [F_TF_ESN] = "isakmp.tf.id.esn",
    [F_KEYLEN] = "isakmp.ike2.attr.key_length",
    [F_KE_GROUP] = "isakmp.key_exchange.dh_group",
    [F_KE_DATA] = "isakmp.key_exchange.data",
    [F_NONCE] = "isakmp.nonce",
    [F_N_PROTO] = "isakmp.notify.protoid",
    [F_N_TYPE] = "isakmp.notify.msgtype",
    [F_N_DATA] = "isakmp.notify.data",
    [F_N_DH] = "isakmp.notify.data.accepted_dh_group",
    [F_N_HA_NONCE] = "isakmp.notify.data.ha.nonce_data",
    [F_N_HA_SEND] = "isakmp.notify.data.ha.expected_send_req_message_id",
    [F_N_HA_RECV] = "isakmp.notify.data.ha.expected_recv_req_message_id",
    [F_N_HA_DELTA] = "isakmp.notify.data.ha.incoming_ipsec_sa_delta_value",
    [F_ID_TYPE] = "isakmp.id.type",
    [F_ID_FQDN] = "isakmp.id.data.fqdn",
    [F_ID_RFC822] = "isakmp.id.data.user_fqdn",
    [F_ID_IPV4] = "isakmp.id.data.ipv4_addr",
    [F_ID_IPV6] = "isakmp.id.data.ipv6_addr",
    [F_ID_KEYID] = "isakmp.id.data.key_id",
    [F_X509_UTF8] = "x509sat.uTF8String",
    [F_CERT_ENC] = "isakmp.cert.encoding",
    [F_CERT_HASH] = "isakmp.cert.x509.hash",
    [F_CERT_URL] = "isakmp.cert.x509.url",
    [F_CERTREQ_TYPE] = "isakmp.certreq.type",
    [F_CERTREQ_CA] = "isakmp.ike.certreq.authority",
    [F_AUTH_METHOD] = "isakmp.auth.method",
    [F_AUTH_DATA] = "isakmp.auth.data",
    [F_DEL_PROTO] = "isakmp.delete.protoid",
    [F_DEL_SPI] = "isakmp.delete.spi",
    [F_VID] = "isakmp.vid_bytes",
    [F_TS_NUM] = "isakmp.ts.number",
    [F_TS_TYPE] = "isakmp.ts.type",
    [F_TS_PROTO] = "isakmp.ts.protoid",
    [F_TS_SPORT] = "isakmp.ts.start_port",
    [F_TS_EPORT] = "isakmp.ts.end_port",
    [F_TS_S4] = "isakmp.ts.start_ipv4",
    [F_TS_E4] = "isakmp.ts.end_ipv4",
    [F_TS_S6] = "isakmp.ts.start_ipv6",
    [F_TS_E6] = "isakmp.ts.end_ipv6",
    [F_CFG_TYPE] = "isakmp.cfg.type",
    [F_CFG_ATTR] = "isakmp.cfg.attr.type",
    [F_CFG_IP4] = "isakmp.cfg.attr.internal_ip4_address",
    [F_CFG_DNS4] = "isakmp.cfg.attr.internal_ip4_dns",
    [F_CFG_IP6] = "isakmp.cfg.attr.internal_ip6_address",
    [F_CFG_IP6_PREFIX] = "isakmp.cfg.attr.internal_ip6_address.prefix",
    [F_FRAG_NUM] = "isakmp.frag.number",
    [F_FRAG_TOTAL] = "isakmp.frag.total",
    [F_PAD] = "isakmp.enc.pad_length",
    [F_IV] = "isakmp.enc.iv",
    [F_ICD] = "isakmp.enc.icd",
};
const size_t helper_wire_n_fields = F_COUNT;

/* ---- building the values ------------------------------------------------ */

struct exp {
    struct helper_wire_expect *e;
};

/* Appends one occurrence (printf-style) to field f. */
__attribute__((format(printf, 3, 4))) static void add(struct exp *x, enum field f, const char *fmt,
                                                      ...)
{
    char item[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(item));
    char *old = x->e->val[f];
    size_t old_len = old ? strlen(old) : 0;
    char *v = realloc(old, old_len + (size_t)n + 2);
    assert_non_null(v);
    if (old_len)
        v[old_len++] = ',';
    memcpy(v + old_len, item, (size_t)n + 1);
    x->e->val[f] = v;
}

static void add_hex(struct exp *x, enum field f, const uint8_t *p, size_t len)
{
    char hex[8192];
    assert_true(len * 2 < sizeof(hex));
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    hex[2 * len] = '\0';
    add(x, f, "%s", hex);
}

static void add_addr(struct exp *x, enum field f, int family, const uint8_t *a)
{
    char text[INET6_ADDRSTRLEN];
    assert_non_null(inet_ntop(family, a, text, sizeof(text)));
    add(x, f, "%s", text);
}

static void add_str(struct exp *x, enum field f, struct ike_slice s)
{
    add(x, f, "%.*s", (int)s.len, (const char *)s.ptr);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- payloads ------------------------------------------------------------ */

static void exp_transform(struct exp *x, const struct ike_transform *t)
{
    static const enum field by_type[] = {
        [IKE_TRANS_ENCR] = F_TF_ENCR, [IKE_TRANS_PRF] = F_TF_PRF, [IKE_TRANS_INTEG] = F_TF_INTEG,
        [IKE_TRANS_DH] = F_TF_DH,     [IKE_TRANS_ESN] = F_TF_ESN,
    };
    add(x, F_TYPEPAYLOAD, "%d", 3);
    add(x, F_TF_TYPE, "%u", t->type);
    assert_true(t->type >= IKE_TRANS_ENCR && t->type <= IKE_TRANS_ESN);
    add(x, by_type[t->type], "%u", t->id);
    if (t->key_bits)
        add(x, F_KEYLEN, "%u", t->key_bits);
}

static void exp_sa(struct exp *x, const struct ike_pld_sa *sa)
{
    for (size_t i = 0; i < sa->n_proposals; i++) {
        const struct ike_proposal *p = &sa->proposals[i];
        add(x, F_TYPEPAYLOAD, "%d", 2);
        add(x, F_PROP_NUM, "%u", p->num);
        add(x, F_PROP_PROTO, "%u", p->protocol);
        add(x, F_PROP_NTRANS, "%zu", p->n_transforms);
        add(x, F_SPISIZE, "%u", p->spi_len);
        if (p->spi_len)
            add_hex(x, F_SPI, p->spi, p->spi_len);
        for (size_t k = 0; k < p->n_transforms; k++)
            exp_transform(x, &p->transforms[k]);
    }
}

static void exp_notify(struct exp *x, const struct ike_pld_notify *n)
{
    add(x, F_N_PROTO, "%u", n->protocol);
    add(x, F_SPISIZE, "%u", n->spi_len);
    if (n->spi_len)
        add_hex(x, F_SPI, n->spi, n->spi_len);
    add(x, F_N_TYPE, "%u", n->type);
    if (n->data.len == 0)
        add(x, F_N_DATA, "<MISSING>");
    else
        add_hex(x, F_N_DATA, n->data.ptr, n->data.len);
    if (n->type == IKE_N_INVALID_KE_PAYLOAD && n->data.len == 2)
        add(x, F_N_DH, "%u", (unsigned)(n->data.ptr[0] << 8 | n->data.ptr[1]));
    if (n->type == IKE_N_IKEV2_MESSAGE_ID_SYNC && n->data.len == IKE_N_MSGID_SYNC_LEN) {
        add(x, F_N_HA_NONCE, "0x%08x", be32(n->data.ptr));
        add(x, F_N_HA_SEND, "0x%08x", be32(n->data.ptr + 4));
        add(x, F_N_HA_RECV, "0x%08x", be32(n->data.ptr + 8));
    }
    if (n->type == IKE_N_IPSEC_REPLAY_COUNTER_SYNC && n->data.len == IKE_N_REPLAY_SYNC_LEN)
        add_hex(x, F_N_HA_DELTA, n->data.ptr, n->data.len);
}

/* UTF8String attribute values of a DER Name, in order. */
static void exp_name(struct exp *x, const X509_NAME *name)
{
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        if (ASN1_STRING_type(s) == V_ASN1_UTF8STRING)
            add(x, F_X509_UTF8, "%.*s", ASN1_STRING_length(s),
                (const char *)ASN1_STRING_get0_data(s));
    }
}

static void exp_id(struct exp *x, const struct ike_pld_id *id)
{
    add(x, F_ID_TYPE, "%u", id->type);
    switch (id->type) {
    case IKE_ID_FQDN: add_str(x, F_ID_FQDN, id->data); break;
    case IKE_ID_RFC822_ADDR: add_str(x, F_ID_RFC822, id->data); break;
    case IKE_ID_IPV4_ADDR: add_addr(x, F_ID_IPV4, AF_INET, id->data.ptr); break;
    case IKE_ID_IPV6_ADDR: add_addr(x, F_ID_IPV6, AF_INET6, id->data.ptr); break;
    case IKE_ID_KEY_ID: add_hex(x, F_ID_KEYID, id->data.ptr, id->data.len); break;
    case IKE_ID_DER_ASN1_DN: {
        const unsigned char *p = id->data.ptr;
        X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)id->data.len);
        assert_non_null(name);
        exp_name(x, name);
        X509_NAME_free(name);
        break;
    }
    default: /* DER_ASN1_GN: tshark shows the raw octets only */ break;
    }
}

static void exp_cert(struct exp *x, uint8_t type, const struct ike_pld_cert *c)
{
    if (type == IKE_PLD_CERTREQ) {
        add(x, F_CERTREQ_TYPE, "%u", c->encoding);
        for (size_t off = 0; off + 20 <= c->data.len; off += 20)
            add_hex(x, F_CERTREQ_CA, c->data.ptr + off, 20);
        return;
    }
    add(x, F_CERT_ENC, "%u", c->encoding);
    if (c->encoding == IKE_CERT_HASH_URL_X509) {
        add_hex(x, F_CERT_HASH, c->data.ptr, 20);
        add_str(x, F_CERT_URL, (struct ike_slice){c->data.ptr + 20, c->data.len - 20});
    } else if (c->encoding == IKE_CERT_X509_SIGNATURE) {
        const unsigned char *p = c->data.ptr;
        X509 *cert = d2i_X509(NULL, &p, (long)c->data.len);
        assert_non_null(cert);
        exp_name(x, X509_get_issuer_name(cert));
        exp_name(x, X509_get_subject_name(cert));
        X509_free(cert);
    }
}

static void exp_ts(struct exp *x, const struct ike_pld_ts *ts)
{
    add(x, F_TS_NUM, "%zu", ts->n_ts);
    for (size_t i = 0; i < ts->n_ts; i++) {
        const struct ike_ts *t = &ts->ts[i];
        add(x, F_TS_TYPE, "%u", t->type);
        add(x, F_TS_PROTO, "%u", t->ip_proto);
        add(x, F_TS_SPORT, "%u", t->start_port);
        add(x, F_TS_EPORT, "%u", t->end_port);
        bool v6 = t->type == IKE_TS_IPV6_ADDR_RANGE;
        add_addr(x, v6 ? F_TS_S6 : F_TS_S4, v6 ? AF_INET6 : AF_INET, t->start_addr);
        add_addr(x, v6 ? F_TS_E6 : F_TS_E4, v6 ? AF_INET6 : AF_INET, t->end_addr);
    }
}

static void exp_cp(struct exp *x, const struct ike_pld_cp *cp)
{
    add(x, F_CFG_TYPE, "%u", cp->cfg_type);
    for (size_t i = 0; i < cp->n_attrs; i++) {
        const struct ike_cp_attr *a = &cp->attrs[i];
        add(x, F_CFG_ATTR, "%u", a->type);
        if (a->type == IKE_CFG_INTERNAL_IP4_ADDRESS && a->value.len == 4)
            add_addr(x, F_CFG_IP4, AF_INET, a->value.ptr);
        if (a->type == IKE_CFG_INTERNAL_IP4_DNS && a->value.len == 4)
            add_addr(x, F_CFG_DNS4, AF_INET, a->value.ptr);
        if (a->type == IKE_CFG_INTERNAL_IP6_ADDRESS && a->value.len == 17) {
            add_addr(x, F_CFG_IP6, AF_INET6, a->value.ptr);
            add(x, F_CFG_IP6_PREFIX, "%u", a->value.ptr[16]);
        }
    }
}

static void exp_delete(struct exp *x, const struct ike_pld_delete *d)
{
    add(x, F_DEL_PROTO, "%u", d->protocol);
    add(x, F_SPISIZE, "%d", d->protocol == IKE_PROTO_IKE ? 0 : 4);
    for (size_t i = 0; i < d->n_spis; i++)
        add(x, F_DEL_SPI, "%08x", d->spis[i]);
}

static void exp_payload(struct exp *x, const struct ike_pld *p)
{
    add(x, F_TYPEPAYLOAD, "%u", p->type);
    switch (p->type) {
    case IKE_PLD_SA: exp_sa(x, &p->sa); break;
    case IKE_PLD_KE:
        add(x, F_KE_GROUP, "%u", p->ke.group);
        add_hex(x, F_KE_DATA, p->ke.data.ptr, p->ke.data.len);
        break;
    case IKE_PLD_NONCE: add_hex(x, F_NONCE, p->nonce.data.ptr, p->nonce.data.len); break;
    case IKE_PLD_NOTIFY: exp_notify(x, &p->notify); break;
    case IKE_PLD_IDI:
    case IKE_PLD_IDR: exp_id(x, &p->id); break;
    case IKE_PLD_CERT:
    case IKE_PLD_CERTREQ: exp_cert(x, p->type, &p->cert); break;
    case IKE_PLD_AUTH:
        add(x, F_AUTH_METHOD, "%u", p->auth.method);
        add_hex(x, F_AUTH_DATA, p->auth.data.ptr, p->auth.data.len);
        break;
    case IKE_PLD_DELETE: exp_delete(x, &p->del); break;
    case IKE_PLD_VENDOR: add_hex(x, F_VID, p->vendor.data.ptr, p->vendor.data.len); break;
    case IKE_PLD_TSI:
    case IKE_PLD_TSR: exp_ts(x, &p->ts); break;
    case IKE_PLD_CP: exp_cp(x, &p->cp); break;
    default: fail_msg("wire check has no expectation for payload type %u", p->type);
    }
}

/* ---- the message ------------------------------------------------------------ */

static void exp_header(struct exp *x, const struct helper_wire_pkt *p)
{
    const struct ike_hdr *h = &p->msg->hdr;
    add_hex(x, F_ISPI, h->spi_i, IKE_SPI_LEN);
    add_hex(x, F_RSPI, h->spi_r, IKE_SPI_LEN);
    add(x, F_EXCH, "%u", h->exchange);
    add(x, F_FLAGS, "0x%02x", h->flags);
    add(x, F_MSGID, "0x%08x", h->message_id);
    add(x, F_LENGTH, "%zu", p->len);
}

/* The SK/SKF payload itself; IV and ICV are cut from the datagram. */
static void exp_sk(struct exp *x, const struct helper_wire_pkt *p)
{
    add(x, F_TYPEPAYLOAD, "%d", p->frag_total ? IKE_PLD_SKF : IKE_PLD_SK);
    if (p->frag_total) {
        add(x, F_FRAG_NUM, "%u", p->frag_num);
        add(x, F_FRAG_TOTAL, "%u", p->frag_total);
    }
    if (!p->decrypted)
        return;
    add(x, F_PAD, "%zu", p->pad_len);
    assert_true(p->body_off + p->iv_len + p->icv_len <= p->len);
    add_hex(x, F_IV, p->buf + p->body_off, p->iv_len);
    add_hex(x, F_ICD, p->buf + p->len - p->icv_len, p->icv_len);
}

void helper_wire_expect_build(const struct helper_wire_pkt *p, bool inner,
                              struct helper_wire_expect *e)
{
    struct exp x = {e};
    e->val = calloc(F_COUNT, sizeof(*e->val));
    assert_non_null(e->val);
    exp_header(&x, p);
    for (const struct ike_pld *q = p->msg->first; q; q = q->next)
        if (!q->inside_sk && q->type != IKE_PLD_SK && q->type != IKE_PLD_SKF)
            exp_payload(&x, q);
    if (p->msg->hdr.exchange != IKE_EXCH_IKE_SA_INIT)
        exp_sk(&x, p);
    for (const struct ike_pld *q = p->msg->first; inner && q; q = q->next)
        if (q->inside_sk)
            exp_payload(&x, q);
    /* Fields with no occurrence print as empty; tshark does not show the
     * encryption details of a payload it could not decrypt. */
    for (size_t f = 0; f < F_COUNT; f++) {
        if (e->val[f])
            continue;
        bool unknown = !p->decrypted && (f == F_PAD || f == F_IV || f == F_ICD);
        if (!unknown) {
            e->val[f] = strdup("");
            assert_non_null(e->val[f]);
        }
    }
}

void helper_wire_expect_free(struct helper_wire_expect *e)
{
    for (size_t f = 0; e->val && f < F_COUNT; f++)
        free(e->val[f]);
    free(e->val);
    e->val = NULL;
}
