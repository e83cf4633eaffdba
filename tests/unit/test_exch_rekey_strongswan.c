/* CHILD rekey against real strongSwan 5.9.8 messages
 * (tests/fixtures/strongswan, `swanctl --rekey --child` with PFS): an SA
 * rebuilt after IKE_SA_INIT from the captured values takes charon's
 * IKE_AUTH request and then charon's CREATE_CHILD_SA request as responder.
 * It must find the CHILD SA from REKEY_SA (charon names it by its own
 * inbound SPI), accept the ESP proposal with its PFS group, answer with a
 * response that decrypts, install the new pair replacing the old one, and
 * our PFS KEYMAT (prf+(SK_d, g^ir | Ni | Nr), keys by the exchange's
 * roles) must reproduce charon's logged keys from its logged inputs. */
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
    uint16_t encr, integ;
};

static const struct suite suites[] = {
    {"aes256-sha512-ecp521", IKE_ENCR_AES_CBC, IKE_INTEG_HMAC_SHA2_512_256},
    {"aes256gcm16-prfsha512-ecp521", IKE_ENCR_AES_GCM_16, IKE_INTEG_NONE},
};

struct blob {
    uint8_t b[8192];
    size_t n;
};

static void load(const char *dir, const char *name, struct blob *out)
{
    char path[512];
    snprintf(path, sizeof(path), FIX "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    out->n = fread(out->b, 1, sizeof(out->b) - 1, f);
    fclose(f);
    assert_true(out->n > 0);
}

/* values.txt "key = hex" (an empty value gives n = 0). */
static void value(const char *dir, const char *key, struct blob *out)
{
    struct blob file;
    char pat[64];
    load(dir, "values.txt", &file);
    file.b[file.n] = '\0';
    snprintf(pat, sizeof(pat), "\n%s =", key);
    const char *p = strstr((const char *)file.b, pat);
    if (!p)
        fail_msg("%s: no %s", dir, key);
    p += strlen(pat);
    p += *p == ' ';
    out->n = 0;
    for (unsigned v; p[0] && p[0] != '\n' && sscanf(p, "%2x", &v) == 1; p += 2)
        out->b[out->n++] = (uint8_t)v;
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

static void assert_key(const char *dir, const char *key, const struct ike_key_export *k)
{
    struct blob b;
    value(dir, key, &b);
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

/* sun (charon's responder) with charon's suite; ESP with PFS ECP-521. */
static void configure(struct pair_side *side, const struct suite *s, struct ike_secret *psk)
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
    ch->local_ts[0] = ts25(128);
    ch->remote_ts[0] = ts25(0);
    c->psk = psk;
    c->local_id = (struct ike_cfg_id){.type = IKE_ID_FQDN, .len = 15};
    memcpy(c->local_id.data, "sun.lab.example", 15);
    c->remote_id = (struct ike_cfg_id){.type = IKE_ID_FQDN, .len = 16};
    memcpy(c->remote_id.data, "moon.lab.example", 16);
    c->local = pair_addr4(203, 0, 113, 2, IKE_PORT_NATT);
    c->remote = pair_addr4(203, 0, 113, 1, IKE_PORT_NATT);
}

static void copy_blob(uint8_t **dst, size_t *len, const struct blob *b)
{
    *dst = malloc(b->n);
    assert_non_null(*dst);
    memcpy(*dst, b->b, b->n);
    *len = b->n;
}

/* The responder's SA after IKE_SA_INIT, from the captured values. */
static struct ike_sa *rebuild(struct pair_side *side, const struct suite *s)
{
    struct ike_sa *sa = ike_sa_alloc(&side->ctx, &side->cfg, false);
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
    load(s->dir, "messages/00_IKE_SA_INIT_req.bin", &b);
    copy_blob(&sa->init->req, &sa->init->req_len, &b);
    load(s->dir, "messages/01_IKE_SA_INIT_resp.bin", &b);
    copy_blob(&sa->init->resp, &sa->init->resp_len, &b);
    sa->recv_next = 1;
    assert_int_equal(ike_sa_transition(sa, IKE_SA_STATE_INIT_DONE), IKE_OK);
    return sa;
}

/* Our response to charon's rekey request, decrypted. */
static void check_response(struct ike_sa *sa, const struct pair_dgram *dg, uint32_t new_in)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(ike_msg_decode(&m, dg->data, dg->len, &d), IKE_OK);
    assert_int_equal(m.hdr.exchange, IKE_EXCH_CREATE_CHILD_SA);
    assert_int_equal(m.hdr.message_id, 2);
    assert_int_equal(m.hdr.flags, IKE_FLAG_RESPONSE);
    assert_int_equal(ike_sk_unprotect(&m, sa->c_r, &d), IKE_OK);
    assert_int_equal(ike_msg_check_rules(&m, &d), IKE_OK);
    assert_null(ike_msg_find_error(&m));
    const struct ike_pld *sap = ike_msg_find(&m, IKE_PLD_SA);
    const struct ike_pld *ke = ike_msg_find(&m, IKE_PLD_KE);
    assert_non_null(sap);
    assert_non_null(ke);
    assert_non_null(ike_msg_find(&m, IKE_PLD_NONCE));
    assert_non_null(ike_msg_find(&m, IKE_PLD_TSI));
    assert_non_null(ike_msg_find(&m, IKE_PLD_TSR));
    assert_int_equal(ke->ke.group, IKE_DH_ECP_521);
    const struct ike_proposal *pr = &sap->sa.proposals[0];
    assert_int_equal(sap->sa.n_proposals, 1);
    assert_int_equal(pr->protocol, IKE_PROTO_ESP);
    assert_int_equal(pr->spi_len, 4);
    uint32_t spi = (uint32_t)pr->spi[0] << 24 | (uint32_t)pr->spi[1] << 16 |
                   (uint32_t)pr->spi[2] << 8 | pr->spi[3];
    assert_int_equal(spi, new_in);
    bool dh = false;
    for (size_t i = 0; i < pr->n_transforms; i++)
        dh |= pr->transforms[i].type == IKE_TRANS_DH && pr->transforms[i].id == IKE_DH_ECP_521;
    assert_true(dh);
    ike_msg_clear(&m);
}

/* Our KEYMAT with charon's logged PFS secret and nonces. */
static void check_keymat(struct ike_sa *sa, const struct suite *s)
{
    struct blob ni, nr;
    value(s->dir, "child_ni", &ni);
    value(s->dir, "child_nr", &nr);
    struct ike_secret *g = secret(s->dir, "child_g_ir");
    struct ike_keys_nonces n = {ni.b, ni.n, nr.b, nr.n};
    struct ike_child_export c = {.encr_id = s->encr, .encr_key_bits = 256, .integ_id = s->integ};
    struct ike_diag d = {0};
    assert_int_equal(ike_child_derive_keys(sa, &c, false, g, &n, &d), IKE_OK);
    assert_key(s->dir, "child_encr_i", &c.encr_in);
    assert_key(s->dir, "child_encr_r", &c.encr_out);
    if (s->integ) {
        assert_key(s->dir, "child_integ_i", &c.integ_in);
        assert_key(s->dir, "child_integ_r", &c.integ_out);
    }
    ike_secret_free(g);
    ike_export_wipe(&c, sizeof(c));
}

static void rekey_from_charon(const struct suite *s)
{
    struct pair *p = pair_new();
    struct ike_secret *psk = NULL;
    struct blob req;
    struct ike_diag d = {0};
    char ev[256];
    assert_int_equal(ike_secret_from((const uint8_t *)"haiked-lab-test-psk-not-secret", 30, &psk),
                     IKE_OK);
    struct pair_side *r = &p->side[1];
    configure(r, s, psk);
    r->sa = rebuild(r, s);
    load(s->dir, "messages/02_IKE_AUTH_req.bin", &req);
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_int_equal(r->n_installed, 1);
    uint32_t old_in = r->installed[0].spi_in;
    assert_int_equal(r->installed[0].spi_out, spi_value(s->dir, "auth_child_spi_i"));
    pair_drop(p, 0);
    r->n_events = 0;
    load(s->dir, "messages/04_CREATE_CHILD_SA_req.bin", &req);
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_string_equal(pair_event_names(r, ev, sizeof(ev)), "MSGID_UPDATE CHILD_SA_ADD");
    assert_int_equal(r->events[0].msgid.recv_next, 3);
    const struct ike_child_export *c = &r->events[1].child;
    assert_int_equal(c->replaces_spi_in, old_in);
    assert_int_equal(c->spi_out, spi_value(s->dir, "child_spi_i"));
    assert_int_equal(c->ts_remote[0].start_addr[3], 0);
    assert_int_equal(c->ts_local[0].start_addr[3], 128);
    assert_int_equal(r->n_installed, 2);
    assert_true(pair_log_has(r, "PFS group 21"));
    assert_int_equal(p->n_queue, 1);
    check_response(r->sa, &p->queue[0], c->spi_in);
    check_keymat(r->sa, s);
    /* charon's retransmission of the request gets the same answer */
    assert_int_equal(ike_sa_process(r->sa, req.b, req.n, &r->cfg.local, &r->cfg.remote, &d),
                     IKE_OK);
    assert_int_equal(p->n_queue, 2);
    assert_int_equal(p->queue[1].len, p->queue[0].len);
    assert_memory_equal(p->queue[1].data, p->queue[0].data, p->queue[0].len);
    assert_int_equal(r->n_installed, 2);
    pair_free(p);
    ike_secret_free(psk);
}

static void test_rekey_from_charon(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        rekey_from_charon(&suites[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rekey_from_charon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
