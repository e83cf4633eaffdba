/* Loading the strongSwan fixtures shared by the IKE_AUTH and rekey tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "helper_strongswan.h"
#include "sa_internal.h"

#define FIX IKE_FIXTURES_DIR "/strongswan/"

const struct ss_suite ss_suites[] = {
    {"aes256-sha512-ecp521", IKE_ENCR_AES_CBC, IKE_INTEG_HMAC_SHA2_512_256},
    {"aes256gcm16-prfsha512-ecp521", IKE_ENCR_AES_GCM_16, IKE_INTEG_NONE},
};
const size_t ss_n_suites = sizeof(ss_suites) / sizeof(ss_suites[0]);

void ss_load(const char *dir, const char *name, struct ss_blob *out)
{
    char path[512];
    snprintf(path, sizeof(path), FIX "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    /* one octet left for ss_value's terminator; a full read means the
     * file may be cut */
    out->n = fread(out->b, 1, sizeof(out->b) - 1, f);
    fclose(f);
    assert_true(out->n > 0 && out->n < sizeof(out->b) - 1);
}

void ss_value(const char *dir, const char *key, struct ss_blob *out)
{
    struct ss_blob file;
    ss_load(dir, "values.txt", &file);
    file.b[file.n] = '\0';
    char pat[64];
    snprintf(pat, sizeof(pat), "\n%s =", key); /* empty values have no space */
    const char *p = strstr((const char *)file.b, pat);
    if (!p)
        fail_msg("%s: no %s", dir, key);
    p += strlen(pat);
    if (*p == ' ')
        p++;
    out->n = 0;
    while (p[0] && p[0] != '\n' && p[1] && p[1] != '\n') {
        unsigned v;
        assert_int_equal(sscanf(p, "%2x", &v), 1);
        out->b[out->n++] = (uint8_t)v;
        p += 2;
    }
}

struct ike_secret *ss_secret(const char *dir, const char *key)
{
    struct ss_blob b;
    struct ike_secret *s = NULL;
    ss_value(dir, key, &b);
    assert_int_equal(ike_secret_from(b.b, b.n, &s), IKE_OK);
    return s;
}

uint32_t ss_spi_value(const char *dir, const char *key)
{
    struct ss_blob b;
    ss_value(dir, key, &b);
    assert_int_equal(b.n, 4);
    return (uint32_t)b.b[0] << 24 | (uint32_t)b.b[1] << 16 | (uint32_t)b.b[2] << 8 | b.b[3];
}

void ss_assert_key(const char *dir, const char *key, const struct ike_key_export *k)
{
    struct ss_blob b;
    ss_value(dir, key, &b);
    assert_int_equal(k->len, b.n);
    assert_memory_equal(k->data, b.b, b.n);
}

static struct ike_ts ts25(uint8_t start)
{
    struct ike_ts t = {.type = IKE_TS_IPV4_ADDR_RANGE, .end_port = 65535};
    memcpy(t.start_addr, "\xc0\x00\x02", 3);
    memcpy(t.end_addr, "\xc0\x00\x02", 3);
    t.start_addr[3] = start;
    t.end_addr[3] = (uint8_t)(start + 127);
    return t;
}

static void id_fqdn(struct ike_cfg_id *id, const char *name)
{
    id->type = IKE_ID_FQDN;
    id->len = strlen(name);
    memcpy(id->data, name, id->len);
}

void ss_configure(struct pair_side *side, const struct ss_suite *s, struct ike_secret *psk,
                  bool moon)
{
    struct ike_sa_cfg *c = &side->cfg;
    struct ike_cfg_proposal *ike = &c->proposals[0];
    memset(ike, 0, sizeof(*ike));
    ike->encr[ike->n_encr++] = (struct ike_cfg_encr){s->encr, 256};
    if (s->integ)
        ike->integ[ike->n_integ++] = s->integ;
    ike->prf[ike->n_prf++] = IKE_PRF_HMAC_SHA2_512;
    ike->dh[ike->n_dh++] = IKE_DH_ECP_521;
    struct ike_cfg_child *ch = &side->child[0];
    ch->proposals[0] = *ike;
    ch->proposals[0].n_prf = 0;
    ch->local_ts[0] = ts25(moon ? 0 : 128);
    ch->remote_ts[0] = ts25(moon ? 128 : 0);
    c->psk = psk;
    id_fqdn(&c->local_id, moon ? "moon.lab.example" : "sun.lab.example");
    id_fqdn(&c->remote_id, moon ? "sun.lab.example" : "moon.lab.example");
    c->local = pair_addr4(203, 0, 113, moon ? 1 : 2, IKE_PORT_NATT);
    c->remote = pair_addr4(203, 0, 113, moon ? 2 : 1, IKE_PORT_NATT);
}

static void copy_blob(uint8_t **dst, size_t *len, const struct ss_blob *b)
{
    *dst = malloc(b->n);
    assert_non_null(*dst);
    memcpy(*dst, b->b, b->n);
    *len = b->n;
}

struct ike_sa *ss_rebuild(struct pair_side *side, const struct ss_suite *s, bool initiator)
{
    struct ike_sa *sa = ike_sa_alloc(&side->ctx, &side->cfg, initiator);
    struct ss_blob b;
    struct ike_diag d = {0};
    assert_non_null(sa);
    sa->local = side->cfg.local;
    sa->remote = side->cfg.remote;
    ss_value(s->dir, "spi_i", &b);
    memcpy(sa->spi_i, b.b, 8);
    ss_value(s->dir, "spi_r", &b);
    memcpy(sa->spi_r, b.b, 8);
    sa->algs =
        (struct ike_sa_algs){s->encr, 256, s->integ, IKE_PRF_HMAC_SHA2_512, IKE_DH_ECP_521, false};
    assert_int_equal(ike_prf_new(IKE_PRF_HMAC_SHA2_512, &sa->prf), IKE_OK);
    sa->keys = (struct ike_keys_sa){ss_secret(s->dir, "sk_d"),  ss_secret(s->dir, "sk_ai"),
                                    ss_secret(s->dir, "sk_ar"), ss_secret(s->dir, "sk_ei"),
                                    ss_secret(s->dir, "sk_er"), ss_secret(s->dir, "sk_pi"),
                                    ss_secret(s->dir, "sk_pr")};
    assert_int_equal(ike_sa_make_ciphers(sa, &d), IKE_OK);
    sa->init = calloc(1, sizeof(*sa->init));
    assert_non_null(sa->init);
    ss_value(s->dir, "ni", &b);
    memcpy(sa->init->ni, b.b, b.n);
    sa->init->ni_len = b.n;
    ss_value(s->dir, "nr", &b);
    memcpy(sa->init->nr, b.b, b.n);
    sa->init->nr_len = b.n;
    ss_load(s->dir, "messages/00_IKE_SA_INIT_req.bin", &b);
    copy_blob(&sa->init->req, &sa->init->req_len, &b);
    ss_load(s->dir, "messages/01_IKE_SA_INIT_resp.bin", &b);
    copy_blob(&sa->init->resp, &sa->init->resp_len, &b);
    return sa;
}
