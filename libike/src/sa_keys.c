/* IKE SA keys: SKEYSEED and SK_* after IKE_SA_INIT (RFC 7296 §2.14), and
 * the SK ciphers built from them. */
#include "sa_internal.h"

static struct ike_keys_suite suite_of(const struct ike_sa_algs *a)
{
    return (struct ike_keys_suite){a->encr_id, a->encr_key_bits, a->integ_id};
}

enum ike_status ike_sa_make_ciphers(struct ike_sa *sa, struct ike_diag *diag)
{
    const struct ike_keys_sa *k = &sa->keys;
    const struct ike_sa_algs *a = &sa->algs;
    ike_sk_cipher_free(sa->c_i);
    ike_sk_cipher_free(sa->c_r);
    sa->c_i = sa->c_r = NULL;
    enum ike_status st =
        ike_sk_cipher_new(a->encr_id, a->encr_key_bits, a->integ_id, k->sk_ei->data, k->sk_ei->len,
                          k->sk_ai->len ? k->sk_ai->data : NULL, k->sk_ai->len, &sa->c_i, diag);
    if (st == IKE_OK)
        st = ike_sk_cipher_new(a->encr_id, a->encr_key_bits, a->integ_id, k->sk_er->data,
                               k->sk_er->len, k->sk_ar->len ? k->sk_ar->data : NULL, k->sk_ar->len,
                               &sa->c_r, diag);
    return st;
}

enum ike_status ike_sa_derive_keys(struct ike_sa *sa, const struct ike_secret *g_ir,
                                   struct ike_diag *diag)
{
    const struct ike_sa_init_data *in = sa->init;
    struct ike_keys_nonces n = {in->ni, in->ni_len, in->nr, in->nr_len};
    struct ike_keys_suite suite = suite_of(&sa->algs);
    struct ike_secret *skeyseed = NULL;
    enum ike_status st = ike_prf_new(sa->algs.prf_id, &sa->prf);
    if (st == IKE_OK)
        st = ike_keys_skeyseed(sa->prf, &n, g_ir, &skeyseed);
    if (st == IKE_OK)
        st = ike_keys_sa_derive(sa->prf, &suite, skeyseed, &n, sa->spi_i, sa->spi_r, &sa->keys);
    ike_secret_free(skeyseed);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "IKE SA key derivation failed: %s", ike_status_str(st));
    return ike_sa_make_ciphers(sa, diag);
}
