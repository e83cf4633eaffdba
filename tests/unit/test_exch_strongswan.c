/* IKE_AUTH against real strongSwan 5.9.8 messages (tests/fixtures/strongswan):
 * an SA rebuilt at the point after IKE_SA_INIT from the captured values
 * (SPIs, nonces, SK_*) processes charon's IKE_AUTH request as responder
 * and charon's IKE_AUTH response as initiator. This checks what two libike
 * instances cannot check against each other: AUTH octets as charon
 * computes them (our responder's AUTH must equal charon's, byte for byte),
 * ID handling, proposal and selector matching of charon's payloads and the
 * CHILD SA KEYMAT order against charon's logged keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sk.h>

#include "helper_pair.h"
#include "sa_internal.h"

#define FIX IKE_FIXTURES_DIR "/strongswan/"

struct suite {
    const char *dir;
    uint16_t encr, integ; /* AES-256; integ 0 for GCM */
};

static const struct suite suites[] = {
    {"aes256-sha512-ecp521", IKE_ENCR_AES_CBC, IKE_INTEG_HMAC_SHA2_512_256},
    {"aes256gcm16-prfsha512-ecp521", IKE_ENCR_AES_GCM_16, IKE_INTEG_NONE},
};

struct blob {
    uint8_t b[8192];
    size_t n;
};

static void read_file(const char *dir, const char *name, struct blob *out)
{
    char path[512];
    snprintf(path, sizeof(path), FIX "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    out->n = fread(out->b, 1, sizeof(out->b), f);
    fclose(f);
    assert_true(out->n > 0 && out->n < sizeof(out->b));
}

/* values.txt: "key = hex" */
static void value(const char *dir, const char *key, struct blob *out)
{
    struct blob file;
    read_file(dir, "values.txt", &file);
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

static struct ike_secret *secret(const char *dir, const char *key)
{
    struct blob b;
    struct ike_secret *s = NULL;
    value(dir, key, &b);
    assert_int_equal(ike_secret_from(b.b, b.n, &s), IKE_OK);
    return s;
}

static uint32_t spi_value(const char *dir, const char *key)
{
    struct blob b;
    value(dir, key, &b);
    assert_int_equal(b.n, 4);
    return (uint32_t)b.b[0] << 24 | (uint32_t)b.b[1] << 16 | (uint32_t)b.b[2] << 8 | b.b[3];
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

/* Side 0 plays moon (charon's initiator), side 1 sun (its responder). */
static void configure(struct pair *p, const struct suite *s, struct ike_secret *psk)
{
    for (int i = 0; i < 2; i++) {
        struct ike_sa_cfg *c = &p->side[i].cfg;
        struct ike_cfg_proposal *ike = &c->proposals[0];
        memset(ike, 0, sizeof(*ike));
        ike->encr[ike->n_encr++] = (struct ike_cfg_encr){s->encr, 256};
        if (s->integ)
            ike->integ[ike->n_integ++] = s->integ;
        ike->prf[ike->n_prf++] = IKE_PRF_HMAC_SHA2_512;
        ike->dh[ike->n_dh++] = IKE_DH_ECP_521;
        struct ike_cfg_child *ch = &p->side[i].child[0];
        ch->proposals[0] = *ike;
        ch->proposals[0].n_prf = 0;
        ch->local_ts[0] = ts25(i == 0 ? 0 : 128);
        ch->remote_ts[0] = ts25(i == 0 ? 128 : 0);
        c->psk = psk;
        id_fqdn(&c->local_id, i == 0 ? "moon.lab.example" : "sun.lab.example");
        id_fqdn(&c->remote_id, i == 0 ? "sun.lab.example" : "moon.lab.example");
        c->local = pair_addr4(203, 0, 113, (uint8_t)(i + 1), IKE_PORT_NATT);
        c->remote = pair_addr4(203, 0, 113, (uint8_t)(2 - i), IKE_PORT_NATT);
    }
}

/* The SA as it stands after IKE_SA_INIT, from the captured values. */
static struct ike_sa *rebuild(struct pair_side *side, const struct suite *s, bool initiator)
{
    struct ike_sa *sa = ike_sa_alloc(&side->ctx, &side->cfg, initiator);
    struct blob b;
    struct ike_diag d = {0};
    assert_non_null(sa);
    sa->local = side->cfg.local;
    sa->remote = side->cfg.remote;
    value(s->dir, "spi_i", &b);
    memcpy(sa->spi_i, b.b, 8);
    value(s->dir, "spi_r", &b);
    memcpy(sa->spi_r, b.b, 8);
    sa->algs =
        (struct ike_sa_algs){s->encr, 256, s->integ, IKE_PRF_HMAC_SHA2_512, IKE_DH_ECP_521, false};
    assert_int_equal(ike_prf_new(IKE_PRF_HMAC_SHA2_512, &sa->prf), IKE_OK);
    sa->keys = (struct ike_keys_sa){secret(s->dir, "sk_d"),  secret(s->dir, "sk_ai"),
                                    secret(s->dir, "sk_ar"), secret(s->dir, "sk_ei"),
                                    secret(s->dir, "sk_er"), secret(s->dir, "sk_pi"),
                                    secret(s->dir, "sk_pr")};
    assert_int_equal(ike_sa_make_ciphers(sa, &d), IKE_OK);
    sa->init = calloc(1, sizeof(*sa->init));
    assert_non_null(sa->init);
    value(s->dir, "ni", &b);
    memcpy(sa->init->ni, b.b, b.n);
    sa->init->ni_len = b.n;
    value(s->dir, "nr", &b);
    memcpy(sa->init->nr, b.b, b.n);
    sa->init->nr_len = b.n;
    read_file(s->dir, "messages/00_IKE_SA_INIT_req.bin", &b);
    sa->init->req = malloc(b.n);
    memcpy(sa->init->req, b.b, b.n);
    sa->init->req_len = b.n;
    read_file(s->dir, "messages/01_IKE_SA_INIT_resp.bin", &b);
    sa->init->resp = malloc(b.n);
    memcpy(sa->init->resp, b.b, b.n);
    sa->init->resp_len = b.n;
    sa->init->child_spi = spi_value(s->dir, "auth_child_spi_i");
    return sa;
}

static void assert_key(const char *dir, const char *key, const struct ike_key_export *k)
{
    struct blob b;
    value(dir, key, &b);
    assert_int_equal(k->len, b.n);
    assert_memory_equal(k->data, b.b, b.n);
}

/* Decrypts an IKE_AUTH response with SK_er/SK_ar and returns its AUTH. */
static void auth_of_response(struct ike_sk_cipher *c, const uint8_t *data, size_t len,
                             struct blob *auth)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, data, len, &d), IKE_OK);
    assert_int_equal(ike_sk_unprotect(&m, c, &d), IKE_OK);
    const struct ike_pld *a = ike_msg_find(&m, IKE_PLD_AUTH);
    assert_non_null(a);
    memcpy(auth->b, a->auth.data.ptr, a->auth.data.len);
    auth->n = a->auth.data.len;
    ike_msg_clear(&m);
}

static void responder_to_charon(const struct suite *s)
{
    struct pair *p = pair_new();
    struct ike_secret *psk = NULL;
    struct blob req, resp, ours, theirs;
    assert_int_equal(ike_secret_from((const uint8_t *)"haiked-lab-test-psk-not-secret", 30, &psk),
                     IKE_OK);
    configure(p, s, psk);
    struct pair_side *r = &p->side[1];
    r->sa = rebuild(r, s, false);
    r->sa->recv_next = 1;
    assert_int_equal(ike_sa_transition(r->sa, IKE_SA_STATE_INIT_DONE), IKE_OK);
    read_file(s->dir, "messages/02_IKE_AUTH_req.bin", &req);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_ESTABLISHED);
    const struct ike_sa_export *e = &r->events[1].ike;
    assert_true(e->peer_msgid_sync);
    assert_true(e->peer_initial_contact);
    assert_memory_equal(e->remote_id.data, "moon.lab.example", 16);
    /* the CHILD SA: charon's SPI and KEYMAT */
    assert_int_equal(r->n_installed, 1);
    const struct ike_child_export *c = &r->installed[0];
    assert_int_equal(c->spi_out, spi_value(s->dir, "auth_child_spi_i"));
    assert_key(s->dir, "auth_child_encr_i", &c->encr_in);
    assert_key(s->dir, "auth_child_encr_r", &c->encr_out);
    if (s->integ) {
        assert_key(s->dir, "auth_child_integ_i", &c->integ_in);
        assert_key(s->dir, "auth_child_integ_r", &c->integ_out);
    }
    /* our AUTH over charon's IKE_SA_INIT response = charon's own AUTH */
    assert_int_equal(p->n_queue, 1);
    auth_of_response(r->sa->c_r, p->queue[0].data, p->queue[0].len, &ours);
    read_file(s->dir, "messages/03_IKE_AUTH_resp.bin", &resp);
    auth_of_response(r->sa->c_r, resp.b, resp.n, &theirs);
    assert_int_equal(ours.n, 64);
    assert_int_equal(ours.n, theirs.n);
    assert_memory_equal(ours.b, theirs.b, ours.n);
    pair_free(p);
    ike_secret_free(psk);
}

static void initiator_to_charon(const struct suite *s, const char *psk_text, bool ok)
{
    struct pair *p = pair_new();
    struct ike_secret *psk = NULL;
    struct blob req, resp;
    assert_int_equal(ike_secret_from((const uint8_t *)psk_text, strlen(psk_text), &psk), IKE_OK);
    configure(p, s, psk);
    struct pair_side *i = &p->side[0];
    i->sa = rebuild(i, s, true);
    /* our request was charon's: outstanding as message 1 */
    read_file(s->dir, "messages/02_IKE_AUTH_req.bin", &req);
    i->sa->send_next = 2;
    i->sa->req = (struct ike_sa_request){.active = true,
                                         .exchange = IKE_EXCH_IKE_AUTH,
                                         .message_id = 1,
                                         .buf = malloc(req.n),
                                         .len = req.n};
    memcpy(i->sa->req.buf, req.b, req.n);
    assert_int_equal(ike_sa_transition(i->sa, IKE_SA_STATE_INIT_SENT), IKE_OK);
    assert_int_equal(ike_sa_transition(i->sa, IKE_SA_STATE_AUTH_SENT), IKE_OK);
    read_file(s->dir, "messages/03_IKE_AUTH_resp.bin", &resp);
    struct ike_diag d = {0};
    enum ike_status st = ike_sa_process(i->sa, resp.b, resp.n, &i->cfg.local, &i->cfg.remote, &d);
    if (!ok) {
        assert_int_equal(st, IKE_E_AUTH);
        assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_DEAD);
        assert_true(pair_log_has(i, "AUTH of peer fqdn:sun.lab.example does not verify"));
    } else {
        assert_int_equal(st, IKE_OK);
        assert_int_equal(ike_sa_state(i->sa), IKE_SA_STATE_ESTABLISHED);
        assert_int_equal(i->n_installed, 1);
        const struct ike_child_export *c = &i->installed[0];
        assert_int_equal(c->spi_in, spi_value(s->dir, "auth_child_spi_i"));
        assert_int_equal(c->spi_out, spi_value(s->dir, "auth_child_spi_r"));
        assert_key(s->dir, "auth_child_encr_r", &c->encr_in);
        assert_key(s->dir, "auth_child_encr_i", &c->encr_out);
        assert_int_equal(c->ts_remote[0].start_addr[3], 128);
    }
    pair_free(p);
    ike_secret_free(psk);
}

/* charon's IKE_SA_INIT request (its whole proposal list) gets our answer. */
static void respond_to_charon_init(const struct suite *s)
{
    struct pair *p = pair_new();
    struct blob req;
    configure(p, s, p->psk[1]);
    read_file(s->dir, "messages/00_IKE_SA_INIT_req.bin", &req);
    struct pair_side *r = &p->side[1];
    struct ike_addr l = pair_addr4(203, 0, 113, 2, 500), rem = pair_addr4(203, 0, 113, 1, 500);
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_respond(&r->ctx, &r->cfg, req.b, req.n, &l, &rem, &r->sa, &d), IKE_OK);
    assert_non_null(r->sa);
    assert_int_equal(ike_sa_state(r->sa), IKE_SA_STATE_INIT_DONE);
    assert_int_equal(r->sa->algs.encr_id, s->encr);
    assert_int_equal(r->sa->algs.dh_group, IKE_DH_ECP_521);
    /* kernel-libipsec fakes NAT detection: the peer seems to be behind one */
    assert_true(r->sa->nat_remote);
    assert_true(r->sa->fragmentation);
    pair_free(p);
}

static void test_responder(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        responder_to_charon(&suites[i]);
}

static void test_initiator(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        initiator_to_charon(&suites[i], "haiked-lab-test-psk-not-secret", true);
        initiator_to_charon(&suites[i], "haiked-lab-test-psk-not-secreT", false);
    }
}

static void test_init_request(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        respond_to_charon_init(&suites[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responder),
        cmocka_unit_test(test_initiator),
        cmocka_unit_test(test_init_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
