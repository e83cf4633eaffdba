/* CREATE_CHILD_SA test helpers; see helper_ccs.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ike/message.h>
#include <ike/sk.h>
#include <ike/sk_cipher.h>

#include "helper_ccs.h"

/* The pair's callbacks plus ike_rekeyed; user stays the pair_side, the
 * ccs is found through this table (tests run one at a time). */
static struct ike_ctx_ops ccs_ops;
static struct ccs *ccs_current;

static void cb_rekeyed(void *user, struct ike_sa *old, struct ike_sa *new_sa)
{
    struct pair_side *s = user;
    struct ccs_side *cs = &ccs_current->side[s->idx];
    (void)old;
    assert_true(cs->n_sas < CCS_SAS_MAX);
    cs->sas[cs->n_sas++] = new_sa;
    cs->n_rekeyed++;
    /* the winner of a rekey gets the CHILD SAs: it is the one to use now
     * (with no CHILD SAs at all, the latest one) */
    if (ike_sa_child_count(new_sa) > 0 || ike_sa_child_count(s->sa) == 0)
        s->sa = new_sa;
}

struct ccs *ccs_new(void)
{
    struct ccs *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->p = pair_new();
    ccs_ops = *c->p->side[0].ctx.ops;
    ccs_ops.ike_rekeyed = cb_rekeyed;
    for (int i = 0; i < 2; i++)
        c->p->side[i].ctx.ops = &ccs_ops;
    ccs_current = c;
    return c;
}

void ccs_establish(struct ccs *c, bool clear_events)
{
    pair_establish(c->p);
    for (int i = 0; i < 2; i++) {
        c->side[i].sas[0] = c->p->side[i].sa;
        c->side[i].n_sas = 1;
        if (clear_events)
            c->p->side[i].n_events = 0;
    }
}

void ccs_free(struct ccs *c)
{
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < c->side[i].n_sas; k++)
            if (c->side[i].sas[k] != c->p->side[i].sa)
                ike_sa_free(c->side[i].sas[k]);
    pair_free(c->p);
    ccs_current = NULL;
    free(c);
}

struct ike_sa *ccs_find(struct ccs *c, int idx, const uint8_t *spi_i, const uint8_t *spi_r)
{
    for (size_t k = 0; k < c->side[idx].n_sas; k++) {
        struct ike_sa *sa = c->side[idx].sas[k];
        if (memcmp(ike_sa_spi_i(sa), spi_i, 8) == 0 && memcmp(ike_sa_spi_r(sa), spi_r, 8) == 0)
            return sa;
    }
    return NULL;
}

enum ike_status ccs_deliver(struct ccs *c, size_t i)
{
    struct pair *p = c->p;
    assert_true(i < p->n_queue);
    struct pair_dgram d = p->queue[i];
    memmove(&p->queue[i], &p->queue[i + 1], (p->n_queue - i - 1) * sizeof(p->queue[0]));
    p->n_queue--;
    struct ike_hdr h;
    struct ike_diag diag = {0};
    enum ike_status st = ike_hdr_decode(d.data, d.len, &h, &diag);
    struct ike_sa *sa = st == IKE_OK ? ccs_find(c, d.to, h.spi_i, h.spi_r) : NULL;
    if (sa)
        st = ike_sa_process(sa, d.data, d.len, &d.local, &d.remote, &diag);
    else if (st == IKE_OK)
        st = IKE_E_STATE; /* no such SA (any more) */
    free(d.data);
    return st;
}

size_t ccs_run(struct ccs *c)
{
    size_t n = 0;
    while (c->p->n_queue > 0 && n < 100) {
        (void)ccs_deliver(c, 0);
        n++;
    }
    return n;
}

void ccs_second_pair(struct pair *p)
{
    for (int idx = 0; idx < 2; idx++) {
        struct pair_side *s = &p->side[idx];
        struct ike_cfg_child *ch = &s->child[1];
        *ch = s->child[0];
        ch->name = idx == 0 ? "p2b-left" : "p2b-right";
        ch->local_ts[0] = idx == 0 ? pair_ts16(10, 3) : pair_ts16(10, 4);
        ch->remote_ts[0] = idx == 0 ? pair_ts16(10, 4) : pair_ts16(10, 3);
        s->cfg.n_children = 2;
    }
}

void ccs_pfs(struct pair *p, int idx, uint16_t group)
{
    struct pair_side *s = &p->side[idx];
    for (size_t k = 0; k < 2; k++)
        for (size_t j = 0; j < s->child[k].n_proposals; j++) {
            struct ike_cfg_proposal *pr = &s->child[k].proposals[j];
            pr->dh[pr->n_dh++] = group;
        }
}

void ccs_pfs_retry(struct pair *p)
{
    ccs_pfs(p, 0, IKE_DH_ECP_384);
    ccs_pfs(p, 0, IKE_DH_ECP_256);
    ccs_pfs(p, 1, IKE_DH_ECP_256);
}

static bool key_eq(const struct ike_key_export *a, const struct ike_key_export *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

void ccs_assert_pair(const struct ike_child_export *a, const struct ike_child_export *b)
{
    assert_int_equal(a->spi_in, b->spi_out);
    assert_int_equal(a->spi_out, b->spi_in);
    assert_true(a->encr_in.len > 0);
    assert_true(key_eq(&a->encr_in, &b->encr_out));
    assert_true(key_eq(&a->encr_out, &b->encr_in));
    assert_true(key_eq(&a->integ_in, &b->integ_out));
    assert_true(key_eq(&a->integ_out, &b->integ_in));
    assert_false(key_eq(&a->encr_in, &a->encr_out));
    assert_int_equal(a->encr_id, b->encr_id);
    assert_int_equal(a->replaces_spi_in ? 1 : 0, b->replaces_spi_in ? 1 : 0);
}

const struct ike_child_export *ccs_installed(const struct pair *p, int idx, uint32_t spi_in)
{
    const struct pair_side *s = &p->side[idx];
    for (size_t i = 0; i < s->n_installed; i++)
        if (s->installed[i].spi_in == spi_in)
            return &s->installed[i];
    return NULL;
}

struct ike_child_export ccs_child(const struct ike_sa *sa, size_t i)
{
    struct ike_child_export ex;
    struct ike_diag d = {0};
    assert_int_equal(ike_sa_export_child(sa, i, &ex, &d), IKE_OK);
    return ex;
}

bool ccs_trace_nonce(const struct pair *p, size_t t, const struct ike_sa_export *ex, uint8_t *out,
                     size_t *out_len)
{
    struct ike_msg msg = {0};
    struct ike_diag d = {0};
    struct ike_sk_cipher *c = NULL;
    bool found = false;
    if (t >= p->n_trace || ike_msg_decode(&msg, p->trace[t].data, p->trace[t].len, &d) != IKE_OK)
        return false;
    /* messages from the original initiator use SK_ei/SK_ai */
    bool from_i = (msg.hdr.flags & IKE_FLAG_INITIATOR) != 0;
    const struct ike_key_export *e = from_i ? &ex->sk_ei : &ex->sk_er;
    const struct ike_key_export *a = from_i ? &ex->sk_ai : &ex->sk_ar;
    if (memcmp(msg.hdr.spi_i, ex->spi_i, 8) == 0 && memcmp(msg.hdr.spi_r, ex->spi_r, 8) == 0 &&
        ike_sk_cipher_new(ex->encr_id, ex->encr_key_bits, ex->integ_id, e->data, e->len,
                          a->len ? a->data : NULL, a->len, &c, &d) == IKE_OK &&
        ike_sk_unprotect(&msg, c, &d) == IKE_OK) {
        const struct ike_pld *n = ike_msg_find(&msg, IKE_PLD_NONCE);
        if (n) {
            memcpy(out, n->nonce.data.ptr, n->nonce.data.len);
            *out_len = n->nonce.data.len;
            found = true;
        }
    }
    ike_sk_cipher_free(c);
    ike_msg_clear(&msg);
    return found;
}
