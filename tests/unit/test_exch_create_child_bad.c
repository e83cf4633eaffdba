/* Authentic CREATE_CHILD_SA requests that make no sense (built by hand and
 * protected with the initiator's keys) are answered with an error notify;
 * the responder installs nothing, stays ESTABLISHED, and its message-ID
 * window moves on so the next good request works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ike/sk.h>

#include "helper_ccs.h"
#include "sa_internal.h"

enum bad {
    BAD_NO_TS,          /* ESP proposal without TSi/TSr */
    BAD_IKE_SPI_SIZE,   /* IKE rekey proposal without its 8-octet SPI */
    BAD_IKE_NO_KE,      /* IKE rekey without KE */
    BAD_REKEY_AH,       /* REKEY_SA for AH */
    BAD_PFS_KE_GARBAGE, /* PFS KE of the right group with a bogus public value */
    BAD_REKEY_UNKNOWN,  /* REKEY_SA naming an SPI nobody has */
};

static void add_esp(struct ike_msg *m, uint8_t spi_len, bool pfs)
{
    struct ike_transform t[3] = {
        {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_GCM_16, .key_bits = 256},
        {.type = IKE_TRANS_ESN, .id = IKE_ESN_NO},
        {.type = IKE_TRANS_DH, .id = IKE_DH_ECP_256},
    };
    struct ike_proposal pr = {.num = 1,
                              .protocol = IKE_PROTO_ESP,
                              .spi_len = spi_len,
                              .spi = {1, 2, 3, 4, 5, 6, 7, 8},
                              .n_transforms = pfs ? 3 : 2,
                              .transforms = t};
    struct ike_pld_sa sa = {.n_proposals = 1, .proposals = &pr};
    assert_non_null(ike_msg_add_sa(m, &sa));
}

static void add_ike(struct ike_msg *m, uint8_t spi_len)
{
    struct ike_transform t[4] = {
        {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_CBC, .key_bits = 256},
        {.type = IKE_TRANS_INTEG, .id = IKE_INTEG_HMAC_SHA2_256_128},
        {.type = IKE_TRANS_PRF, .id = IKE_PRF_HMAC_SHA2_256},
        {.type = IKE_TRANS_DH, .id = IKE_DH_ECP_256},
    };
    struct ike_proposal pr = {.num = 1,
                              .protocol = IKE_PROTO_IKE,
                              .spi_len = spi_len,
                              .spi = {9, 9, 9, 9, 9, 9, 9, 9},
                              .n_transforms = 4,
                              .transforms = t};
    struct ike_pld_sa sa = {.n_proposals = 1, .proposals = &pr};
    assert_non_null(ike_msg_add_sa(m, &sa));
}

static void build(enum bad kind, struct ike_sa *from, uint32_t known_spi, struct ike_msg *m)
{
    static const uint8_t nonce[32] = {1, 2, 3};
    uint8_t ke[65] = {4};
    memset(ke + 1, 0xee, sizeof(ke) - 1); /* not a point on P-256 */
    struct ike_ts tsi = pair_ts16(10, 1), tsr = pair_ts16(10, 2);
    ike_msg_init(m, from->spi_i, from->spi_r, IKE_EXCH_CREATE_CHILD_SA, IKE_FLAG_INITIATOR,
                 from->send_next);
    switch (kind) {
    case BAD_NO_TS: add_esp(m, 4, false); break;
    case BAD_IKE_SPI_SIZE: add_ike(m, 0); break;
    case BAD_IKE_NO_KE: add_ike(m, 8); break;
    case BAD_REKEY_AH:
        ike_msg_add_n_rekey_sa(m, IKE_PROTO_AH, known_spi);
        add_esp(m, 4, false);
        break;
    case BAD_PFS_KE_GARBAGE: add_esp(m, 4, true); break;
    case BAD_REKEY_UNKNOWN:
        ike_msg_add_n_rekey_sa(m, IKE_PROTO_ESP, 0x0badc0de);
        add_esp(m, 4, false);
        break;
    }
    ike_msg_add_nonce(m, nonce, sizeof(nonce));
    if (kind == BAD_IKE_SPI_SIZE || kind == BAD_PFS_KE_GARBAGE)
        ike_msg_add_ke(m, IKE_DH_ECP_256, ke, sizeof(ke));
    if (kind != BAD_NO_TS && kind != BAD_IKE_SPI_SIZE && kind != BAD_IKE_NO_KE) {
        ike_msg_add_ts(m, IKE_PLD_TSI, &tsi, 1);
        ike_msg_add_ts(m, IKE_PLD_TSR, &tsr, 1);
    }
}

/* The error notify type of the response in the queue. */
static uint16_t answer(struct pair *p, struct ike_sa *responder)
{
    struct ike_msg m = {0};
    struct ike_diag d = {0};
    assert_int_equal(p->n_queue, 1);
    assert_int_equal(ike_msg_decode(&m, p->queue[0].data, p->queue[0].len, &d), IKE_OK);
    assert_int_equal(ike_sk_unprotect(&m, ike_sa_cipher_out(responder), &d), IKE_OK);
    assert_null(ike_msg_find(&m, IKE_PLD_SA));
    const struct ike_pld *e = ike_msg_find_error(&m);
    uint16_t t = e ? e->notify.type : 0;
    ike_msg_clear(&m);
    pair_drop(p, 0);
    return t;
}

static void test_bad_requests(void **state)
{
    (void)state;
    static const struct {
        enum bad kind;
        uint16_t notify;
    } cases[] = {
        {BAD_NO_TS, IKE_N_INVALID_SYNTAX},
        {BAD_IKE_SPI_SIZE, IKE_N_INVALID_SYNTAX},
        {BAD_IKE_NO_KE, IKE_N_INVALID_SYNTAX},
        {BAD_REKEY_AH, IKE_N_NO_PROPOSAL_CHOSEN},
        {BAD_PFS_KE_GARBAGE, IKE_N_NO_PROPOSAL_CHOSEN},
        {BAD_REKEY_UNKNOWN, IKE_N_CHILD_SA_NOT_FOUND},
    };
    struct ccs *c = ccs_new();
    struct pair *p = c->p;
    ccs_pfs(p, 1, IKE_DH_ECP_256); /* so the PFS case gets to the KE */
    ccs_pfs(p, 0, IKE_DH_ECP_256);
    ccs_establish(c, true);
    struct ike_sa *i = p->side[0].sa, *r = p->side[1].sa;
    uint32_t known = ccs_child(i, 0).spi_in;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct ike_msg m;
        uint8_t *buf = NULL;
        size_t len = 0;
        struct ike_diag d = {0};
        build(cases[k].kind, i, known, &m);
        assert_int_equal(ike_sk_protect(&m, ike_sa_cipher_out(i), &buf, &len, &d), IKE_OK);
        ike_msg_clear(&m);
        i->send_next++; /* the request is "ours" as far as IDs go */
        assert_int_equal(
            ike_sa_process(r, buf, len, &p->side[1].cfg.local, &p->side[1].cfg.remote, &d), IKE_OK);
        ike_msg_free_buf(buf, len);
        assert_int_equal(answer(p, r), cases[k].notify);
        assert_int_equal(ike_sa_state(r), IKE_SA_STATE_ESTABLISHED);
        assert_int_equal(p->side[1].n_installed, 1);
        assert_int_equal(c->side[1].n_rekeyed, 0);
        assert_int_equal(r->recv_next, i->send_next);
    }
    const struct ike_sa_stats *st = ike_sa_stats(r);
    assert_int_equal(st->dropped_malformed + st->dropped_integrity + st->dropped_msgid, 0);
    /* a good request after all that */
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_child_create(i, 0, &d), IKE_OK);
    ccs_run(c);
    assert_int_equal(p->side[0].n_installed, 2);
    assert_int_equal(p->side[1].n_installed, 2);
    ccs_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
