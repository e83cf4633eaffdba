/*
 * SKEYSEED, SK_* and CHILD SA KEYMAT (RFC 7296 §2.14, §2.17, §2.18).
 * Everything is one prf+ run cut into consecutive slices.
 */
#include <string.h>

#include <ike/const.h>
#include <ike/keys.h>
#include <ike/transform.h>

enum ike_status ike_keys_suite_lengths(const struct ike_keys_suite *suite, size_t *encr_len,
                                       size_t *integ_len)
{
    struct ike_encr_info encr;
    if (ike_encr_lookup(suite->encr_id, suite->encr_key_bits, &encr) != IKE_OK)
        return IKE_E_UNSUPPORTED;
    *encr_len = encr.key_len;
    *integ_len = 0;
    if (encr.aead)
        return suite->integ_id == IKE_INTEG_NONE ? IKE_OK : IKE_E_INVALID_ARG;
    if (suite->integ_id == IKE_INTEG_NONE)
        return IKE_E_INVALID_ARG;
    struct ike_integ_info integ;
    if (ike_integ_lookup(suite->integ_id, &integ) != IKE_OK)
        return IKE_E_UNSUPPORTED;
    *integ_len = integ.key_len;
    return IKE_OK;
}

static bool nonces_valid(const struct ike_keys_nonces *n)
{
    return n->ni && n->nr && n->ni_len >= IKE_NONCE_MIN && n->ni_len <= IKE_NONCE_MAX &&
           n->nr_len >= IKE_NONCE_MIN && n->nr_len <= IKE_NONCE_MAX;
}

enum ike_status ike_keys_skeyseed(struct ike_prf *prf, const struct ike_keys_nonces *n,
                                  const struct ike_secret *g_ir, struct ike_secret **skeyseed)
{
    *skeyseed = NULL;
    if (!nonces_valid(n))
        return IKE_E_INVALID_ARG;
    /* The PRF key is Ni | Nr; both are bounded by IKE_NONCE_MAX. */
    uint8_t key[2 * IKE_NONCE_MAX];
    memcpy(key, n->ni, n->ni_len);
    memcpy(key + n->ni_len, n->nr, n->nr_len);
    enum ike_status st = ike_secret_new(ike_prf_len(prf), skeyseed);
    if (st == IKE_OK) {
        struct ike_prf_chunk in = {g_ir->data, g_ir->len};
        st = ike_prf_compute(prf, key, n->ni_len + n->nr_len, &in, 1, (*skeyseed)->data);
    }
    if (st != IKE_OK) {
        ike_secret_free(*skeyseed);
        *skeyseed = NULL;
    }
    return st;
}

enum ike_status ike_keys_skeyseed_rekey(struct ike_prf *old_prf, const struct ike_secret *old_sk_d,
                                        const struct ike_secret *g_ir,
                                        const struct ike_keys_nonces *n,
                                        struct ike_secret **skeyseed)
{
    *skeyseed = NULL;
    if (!nonces_valid(n))
        return IKE_E_INVALID_ARG;
    enum ike_status st = ike_secret_new(ike_prf_len(old_prf), skeyseed);
    if (st == IKE_OK) {
        struct ike_prf_chunk in[] = {
            {g_ir->data, g_ir->len}, {n->ni, n->ni_len}, {n->nr, n->nr_len}};
        st = ike_prf_compute(old_prf, old_sk_d->data, old_sk_d->len, in, 3, (*skeyseed)->data);
    }
    if (st != IKE_OK) {
        ike_secret_free(*skeyseed);
        *skeyseed = NULL;
    }
    return st;
}

/* Cuts the next len octets off keymat at *off into *out. */
static enum ike_status take(const struct ike_secret *keymat, size_t *off, size_t len,
                            struct ike_secret **out)
{
    enum ike_status st = ike_secret_slice(keymat, *off, len, out);
    *off += len;
    return st;
}

static enum ike_status sa_split(const struct ike_secret *km, size_t prf_len, size_t encr_len,
                                size_t integ_len, struct ike_keys_sa *out)
{
    size_t off = 0;
    enum ike_status st = take(km, &off, prf_len, &out->sk_d);
    if (st == IKE_OK)
        st = take(km, &off, integ_len, &out->sk_ai);
    if (st == IKE_OK)
        st = take(km, &off, integ_len, &out->sk_ar);
    if (st == IKE_OK)
        st = take(km, &off, encr_len, &out->sk_ei);
    if (st == IKE_OK)
        st = take(km, &off, encr_len, &out->sk_er);
    if (st == IKE_OK)
        st = take(km, &off, prf_len, &out->sk_pi);
    if (st == IKE_OK)
        st = take(km, &off, prf_len, &out->sk_pr);
    return st;
}

enum ike_status ike_keys_sa_derive(struct ike_prf *prf, const struct ike_keys_suite *suite,
                                   const struct ike_secret *skeyseed,
                                   const struct ike_keys_nonces *n,
                                   const uint8_t spi_i[IKE_SPI_LEN],
                                   const uint8_t spi_r[IKE_SPI_LEN], struct ike_keys_sa *out)
{
    memset(out, 0, sizeof(*out));
    if (!nonces_valid(n))
        return IKE_E_INVALID_ARG;
    size_t encr_len, integ_len;
    enum ike_status st = ike_keys_suite_lengths(suite, &encr_len, &integ_len);
    if (st != IKE_OK)
        return st;
    size_t prf_len = ike_prf_len(prf);
    struct ike_prf_chunk seed[] = {
        {n->ni, n->ni_len}, {n->nr, n->nr_len}, {spi_i, IKE_SPI_LEN}, {spi_r, IKE_SPI_LEN}};
    struct ike_secret *km;
    st = ike_prf_plus(prf, skeyseed->data, skeyseed->len, seed, 4,
                      3 * prf_len + 2 * integ_len + 2 * encr_len, &km);
    if (st != IKE_OK)
        return st;
    st = sa_split(km, prf_len, encr_len, integ_len, out);
    ike_secret_free(km);
    if (st != IKE_OK)
        ike_keys_sa_clear(out);
    return st;
}

void ike_keys_sa_clear(struct ike_keys_sa *keys)
{
    ike_secret_free(keys->sk_d);
    ike_secret_free(keys->sk_ai);
    ike_secret_free(keys->sk_ar);
    ike_secret_free(keys->sk_ei);
    ike_secret_free(keys->sk_er);
    ike_secret_free(keys->sk_pi);
    ike_secret_free(keys->sk_pr);
    memset(keys, 0, sizeof(*keys));
}

static enum ike_status child_split(const struct ike_secret *km, size_t encr_len, size_t integ_len,
                                   struct ike_keys_child *out)
{
    size_t off = 0;
    enum ike_status st = take(km, &off, encr_len, &out->encr_i);
    if (st == IKE_OK)
        st = take(km, &off, integ_len, &out->integ_i);
    if (st == IKE_OK)
        st = take(km, &off, encr_len, &out->encr_r);
    if (st == IKE_OK)
        st = take(km, &off, integ_len, &out->integ_r);
    return st;
}

enum ike_status ike_keys_child_derive(struct ike_prf *prf, const struct ike_keys_suite *esp,
                                      const struct ike_secret *sk_d, const struct ike_secret *g_ir,
                                      const struct ike_keys_nonces *n, struct ike_keys_child *out)
{
    memset(out, 0, sizeof(*out));
    if (!nonces_valid(n))
        return IKE_E_INVALID_ARG;
    size_t encr_len, integ_len;
    enum ike_status st = ike_keys_suite_lengths(esp, &encr_len, &integ_len);
    if (st != IKE_OK)
        return st;
    /* Without PFS the first chunk is empty and the seed is just Ni | Nr. */
    struct ike_prf_chunk seed[] = {
        {g_ir ? g_ir->data : NULL, g_ir ? g_ir->len : 0}, {n->ni, n->ni_len}, {n->nr, n->nr_len}};
    struct ike_secret *km;
    st = ike_prf_plus(prf, sk_d->data, sk_d->len, seed, 3, 2 * (encr_len + integ_len), &km);
    if (st != IKE_OK)
        return st;
    st = child_split(km, encr_len, integ_len, out);
    ike_secret_free(km);
    if (st != IKE_OK)
        ike_keys_child_clear(out);
    return st;
}

void ike_keys_child_clear(struct ike_keys_child *keys)
{
    ike_secret_free(keys->encr_i);
    ike_secret_free(keys->integ_i);
    ike_secret_free(keys->encr_r);
    ike_secret_free(keys->integ_r);
    memset(keys, 0, sizeof(*keys));
}
