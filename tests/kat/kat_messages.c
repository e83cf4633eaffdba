/* The captured datagrams: decode with libike, re-encode byte-identically,
 * decrypt with the derived SK_e and SK_a keys, check the exchange rules, and
 * compare what they carry (SPIs, nonces, KE, CHILD SPIs, REKEY_SA) with the
 * fixture values; verify both PSK AUTH payloads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/auth.h>
#include <ike/message.h>
#include <ike/sk.h>
#include <ike/sk_cipher.h>

#include "kat.h"
#include "kat_msgs.h"


static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = malloc(IKE_MSG_MAX_LEN);
    size_t n = buf ? fread(buf, 1, IKE_MSG_MAX_LEN, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    *out = buf;
    *len = n;
    return 0;
}

static int load_index(struct kat_ctx *k, struct kat_msgs *ms)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/messages/index.txt", k->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        kat_fail(k, "messages/index.txt", "%s", strerror(errno));
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof(line), f) && ms->n < KAT_MAX_MSGS) {
        char file[96], dir[64];
        unsigned msgid;
        if (line[0] == '#' ||
            sscanf(line, "%95s %63s %*u %*u %u", file, dir, &msgid) != 3)
            continue;
        struct kat_msg *m = &ms->m[ms->n];
        snprintf(m->file, sizeof(m->file), "%s", file);
        m->message_id = msgid;
        m->from_initiator = strncmp(dir, "initiator", 9) == 0;
        snprintf(path, sizeof(path), "%s/messages/%s", k->dir, file);
        if (read_file(path, &m->raw, &m->len) != 0) {
            kat_fail(k, file, "cannot read");
            continue;
        }
        ms->n++;
    }
    fclose(f);
    return 0;
}

static struct ike_sk_cipher *make_cipher(struct kat_ctx *k, const struct ike_secret *e,
                                         const struct ike_secret *a)
{
    struct ike_sk_cipher *c = NULL;
    struct ike_diag d = {0};
    if (!e || ike_sk_cipher_new(k->suite.encr_id, k->suite.encr_key_bits, k->suite.integ_id,
                                e->data, e->len, a && a->len ? a->data : NULL,
                                a ? a->len : 0, &c, &d) != IKE_OK) {
        kat_fail(k, "SK cipher", "%s", d.reason);
        return NULL;
    }
    return c;
}

static bool slice_is(const struct ike_slice *s, const struct kat_value *v)
{
    return v && v->bytes && s->len == v->len && memcmp(s->ptr, v->bytes, v->len) == 0;
}

static void check_field(struct kat_ctx *k, const struct kat_msg *m, const char *what,
                        const struct ike_slice *got, const char *key)
{
    char label[160];
    snprintf(label, sizeof(label), "%s %s == %s", m->file, what, key);
    if (slice_is(got, kat_need(k, key)))
        kat_ok(k, label);
    else
        kat_fail(k, label, "differs (%zu octets)", got->len);
}

static void check_init(struct kat_ctx *k, struct kat_msg *m)
{
    const struct ike_pld *nonce = ike_msg_find(&m->msg, IKE_PLD_NONCE);
    const struct ike_pld *ke = ike_msg_find(&m->msg, IKE_PLD_KE);
    if (!nonce || !ke) {
        kat_fail(k, m->file, "no Nonce or KE payload");
        return;
    }
    bool req = !ike_msg_is_response(&m->msg);
    check_field(k, m, "Nonce", &nonce->nonce.data, req ? "ni" : "nr");
    check_field(k, m, "KE", &ke->ke.data, req ? "ke_i" : "ke_r");
    if (ke->ke.group != k->suite.dh_id)
        kat_fail(k, m->file, "KE group %u, suite says %u", ke->ke.group, k->suite.dh_id);
}

/* AUTH = prf(prf(PSK, pad), first message | peer nonce | prf(SK_p, ID')). */
static void check_auth(struct kat_ctx *k, struct kat_msg *m, const struct kat_msg *init_msg)
{
    bool req = !ike_msg_is_response(&m->msg);
    const struct ike_pld *id = ike_msg_find(&m->msg, req ? IKE_PLD_IDI : IKE_PLD_IDR);
    const struct ike_pld *auth = ike_msg_find(&m->msg, IKE_PLD_AUTH);
    const struct kat_value *nonce = kat_need(k, req ? "nr" : "ni");
    const struct kat_value *psk_text = kat_need(k, "psk");
    if (!id || !auth || !nonce || !psk_text || !init_msg) {
        kat_fail(k, m->file, "cannot verify AUTH: ID, AUTH, nonce or PSK missing");
        return;
    }
    struct ike_secret *psk = NULL;
    if (ike_secret_from((const uint8_t *)psk_text->text, strlen(psk_text->text), &psk) !=
        IKE_OK)
        return;
    struct ike_auth_octets oct = {init_msg->raw, init_msg->len, nonce->bytes, nonce->len,
                                  id->raw.ptr, id->raw.len};
    struct ike_diag d = {0};
    char label[160];
    snprintf(label, sizeof(label), "%s PSK AUTH verifies", m->file);
    if (auth->auth.method != IKE_AUTH_SHARED_KEY_MIC)
        kat_fail(k, label, "AUTH method %u", auth->auth.method);
    else if (ike_auth_psk_verify(k->prf, psk, req ? k->keys.sk_pi : k->keys.sk_pr, &oct,
                                 auth->auth.data.ptr, auth->auth.data.len, &d) == IKE_OK)
        kat_ok(k, label);
    else
        kat_fail(k, label, "%s", d.reason);
    ike_secret_free(psk);
}

static void check_spi_u32(struct kat_ctx *k, const struct kat_msg *m, const char *what,
                          uint32_t spi, const char *key)
{
    uint8_t be[4] = {(uint8_t)(spi >> 24), (uint8_t)(spi >> 16), (uint8_t)(spi >> 8),
                     (uint8_t)spi};
    struct ike_slice s = {be, 4};
    check_field(k, m, what, &s, key);
}

static void check_create_child(struct kat_ctx *k, struct kat_msg *m)
{
    bool req = !ike_msg_is_response(&m->msg);
    const struct ike_pld *nonce = ike_msg_find(&m->msg, IKE_PLD_NONCE);
    const struct ike_pld *ke = ike_msg_find(&m->msg, IKE_PLD_KE);
    const struct ike_pld *sa = ike_msg_find(&m->msg, IKE_PLD_SA);
    if (!nonce || !ke || !sa || sa->sa.n_proposals < 1) {
        kat_fail(k, m->file, "CHILD rekey lacks Nonce, KE or SA");
        return;
    }
    check_field(k, m, "Nonce", &nonce->nonce.data, req ? "child_ni" : "child_nr");
    check_field(k, m, "KE", &ke->ke.data, req ? "child_ke_i" : "child_ke_r");
    struct ike_slice spi = {sa->sa.proposals[0].spi, sa->sa.proposals[0].spi_len};
    check_field(k, m, "SA SPI", &spi, req ? "child_spi_i" : "child_spi_r");
    if (req) {
        const struct ike_pld *rk = ike_msg_find_notify(&m->msg, IKE_N_REKEY_SA);
        uint32_t old = 0;
        if (!rk || ike_notify_get_spi(&rk->notify, &old, NULL) != IKE_OK)
            kat_fail(k, m->file, "no valid N(REKEY_SA)");
        else
            check_spi_u32(k, m, "REKEY_SA SPI", old, "auth_child_spi_i");
    }
}

static void check_auth_child(struct kat_ctx *k, struct kat_msg *m)
{
    const struct ike_pld *sa = ike_msg_find(&m->msg, IKE_PLD_SA);
    if (!sa || sa->sa.n_proposals < 1 || !ike_msg_find(&m->msg, IKE_PLD_TSI) ||
        !ike_msg_find(&m->msg, IKE_PLD_TSR)) {
        kat_fail(k, m->file, "IKE_AUTH lacks SA, TSi or TSr");
        return;
    }
    struct ike_slice spi = {sa->sa.proposals[0].spi, sa->sa.proposals[0].spi_len};
    bool req = !ike_msg_is_response(&m->msg);
    check_field(k, m, "SA SPI", &spi, req ? "auth_child_spi_i" : "auth_child_spi_r");
}

static void check_roundtrip(struct kat_ctx *k, struct kat_msg *m)
{
    uint8_t *out = NULL;
    size_t len = 0;
    struct ike_diag d = {0};
    char label[160];
    snprintf(label, sizeof(label), "%s re-encodes byte-identically", m->file);
    if (ike_msg_encode(&m->msg, &out, &len, &d) != IKE_OK)
        kat_fail(k, label, "%s", d.reason);
    else if (len != m->len || memcmp(out, m->raw, len) != 0)
        kat_fail(k, label, "%zu octets vs %zu", len, m->len);
    else
        kat_ok(k, label);
    ike_msg_free_buf(out, len);
}

static void check_one(struct kat_ctx *k, struct kat_msgs *ms, struct kat_msg *m)
{
    struct ike_diag d = {0};
    char label[160];
    snprintf(label, sizeof(label), "%s decodes", m->file);
    if (ike_msg_decode(&m->msg, m->raw, m->len, &d) != IKE_OK) {
        kat_fail(k, label, "%s: %s", ike_status_str(d.status), d.reason);
        return;
    }
    kat_ok(k, label);
    check_roundtrip(k, m);
    struct ike_slice spi_i = {m->msg.hdr.spi_i, IKE_SPI_LEN};
    check_field(k, m, "SPIi", &spi_i, "spi_i");
    if (m->msg.hdr.exchange != IKE_EXCH_IKE_SA_INIT) {
        snprintf(label, sizeof(label), "%s decrypts", m->file);
        struct ike_sk_cipher *c = m->from_initiator ? ms->i2r : ms->r2i;
        if (!c || ike_sk_unprotect(&m->msg, c, &d) != IKE_OK) {
            kat_fail(k, label, "%s", c ? d.reason : "no cipher");
            return;
        }
        kat_ok(k, label);
    }
    snprintf(label, sizeof(label), "%s follows the %s rules", m->file,
             ike_exchange_name(m->msg.hdr.exchange));
    if (ike_msg_check_rules(&m->msg, &d) == IKE_OK)
        kat_ok(k, label);
    else
        kat_fail(k, label, "%s", d.reason);
    char desc[512];
    printf("     %s\n", ike_msg_describe(&m->msg, desc, sizeof(desc)));
    m->decoded = true;
}

static const struct kat_msg *find_init(const struct kat_msgs *ms, bool response)
{
    for (size_t i = 0; i < ms->n; i++)
        if (ms->m[i].decoded && ms->m[i].msg.hdr.exchange == IKE_EXCH_IKE_SA_INIT &&
            ike_msg_is_response(&ms->m[i].msg) == response)
            return &ms->m[i];
    return NULL;
}

static void check_contents(struct kat_ctx *k, struct kat_msgs *ms)
{
    unsigned seen[4] = {0};
    for (size_t i = 0; i < ms->n; i++) {
        struct kat_msg *m = &ms->m[i];
        if (!m->decoded)
            continue;
        uint8_t x = m->msg.hdr.exchange;
        if (x >= IKE_EXCH_IKE_SA_INIT && x <= IKE_EXCH_INFORMATIONAL)
            seen[x - IKE_EXCH_IKE_SA_INIT]++;
        if (x == IKE_EXCH_IKE_SA_INIT)
            check_init(k, m);
        else if (x == IKE_EXCH_IKE_AUTH) {
            check_auth(k, m, find_init(ms, ike_msg_is_response(&m->msg)));
            check_auth_child(k, m);
        } else if (x == IKE_EXCH_CREATE_CHILD_SA)
            check_create_child(k, m);
    }
    kat_check_details(k, ms);
    for (int x = 0; x < 4; x++)
        if (seen[x] < 2)
            kat_fail(k, "exchanges", "only %u %s messages decoded", seen[x],
                     ike_exchange_name((uint8_t)(IKE_EXCH_IKE_SA_INIT + x)));
}

void kat_check_messages(struct kat_ctx *k)
{
    struct kat_msgs *ms = calloc(1, sizeof(*ms));
    if (!ms || load_index(k, ms) != 0) {
        free(ms);
        return;
    }
    if (k->keys.sk_ei) {
        ms->i2r = make_cipher(k, k->keys.sk_ei, k->keys.sk_ai);
        ms->r2i = make_cipher(k, k->keys.sk_er, k->keys.sk_ar);
    }
    for (size_t i = 0; i < ms->n; i++)
        check_one(k, ms, &ms->m[i]);
    check_contents(k, ms);
    for (size_t i = 0; i < ms->n; i++) {
        ike_msg_clear(&ms->m[i].msg);
        free(ms->m[i].raw);
    }
    ike_sk_cipher_free(ms->i2r);
    ike_sk_cipher_free(ms->r2i);
    free(ms);
}
