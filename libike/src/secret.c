#include <string.h>

#include <openssl/crypto.h>

#include <ike/secret.h>

enum ike_status ike_secret_new(size_t len, struct ike_secret **out)
{
    *out = NULL;
    if (len > IKE_SECRET_MAX)
        return IKE_E_TOO_BIG;
    struct ike_secret *s = OPENSSL_zalloc(sizeof(*s) + len);
    if (!s)
        return IKE_E_NOMEM;
    s->len = len;
    *out = s;
    return IKE_OK;
}

enum ike_status ike_secret_from(const uint8_t *data, size_t len, struct ike_secret **out)
{
    if (!data && len > 0) {
        *out = NULL;
        return IKE_E_INVALID_ARG;
    }
    enum ike_status st = ike_secret_new(len, out);
    if (st == IKE_OK && len > 0)
        memcpy((*out)->data, data, len);
    return st;
}

enum ike_status ike_secret_dup(const struct ike_secret *s, struct ike_secret **out)
{
    return ike_secret_from(s->data, s->len, out);
}

enum ike_status ike_secret_concat(const struct ike_secret *a, const struct ike_secret *b,
                                  struct ike_secret **out)
{
    /* Both are <= IKE_SECRET_MAX, so the sum cannot wrap. */
    enum ike_status st = ike_secret_new(a->len + b->len, out);
    if (st != IKE_OK)
        return st;
    memcpy((*out)->data, a->data, a->len);
    memcpy((*out)->data + a->len, b->data, b->len);
    return IKE_OK;
}

enum ike_status ike_secret_slice(const struct ike_secret *s, size_t off, size_t len,
                                 struct ike_secret **out)
{
    if (off > s->len || len > s->len - off) {
        *out = NULL;
        return IKE_E_INVALID_ARG;
    }
    return ike_secret_from(s->data + off, len, out);
}

bool ike_secret_equal(const struct ike_secret *a, const struct ike_secret *b)
{
    /* Lengths of keys are public; only the contents need constant time. */
    if (a->len != b->len)
        return false;
    return CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}

void ike_secret_free(struct ike_secret *s)
{
    if (!s)
        return;
    OPENSSL_clear_free(s, sizeof(*s) + s->len);
}
