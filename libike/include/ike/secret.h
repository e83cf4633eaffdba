/*
 * The one buffer type for key material: every key, shared secret and
 * SKEYSEED in libike lives in a struct ike_secret. It is allocated in one
 * piece (length + octets) and wiped with OPENSSL_cleanse when freed, so no
 * caller has to remember to clear a key before releasing it.
 *
 * A secret may have length 0 (e.g. SK_ai for an AEAD suite): functions that
 * produce secrets always return a valid object on IKE_OK, never NULL.
 */
#ifndef IKE_SECRET_H
#define IKE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/error.h>

/* Upper bound on one secret; far above any IKE key (8192-bit MODP g^ir is
 * 1024 octets) and keeps length arithmetic away from overflow. */
#define IKE_SECRET_MAX 65536

struct ike_secret {
    size_t len;
    uint8_t data[];
};

/* New zero-filled secret of len octets. */
IKE_API enum ike_status ike_secret_new(size_t len, struct ike_secret **out);
/* New secret holding a copy of data[0..len). data may be NULL when len is 0. */
IKE_API enum ike_status ike_secret_from(const uint8_t *data, size_t len, struct ike_secret **out);
IKE_API enum ike_status ike_secret_dup(const struct ike_secret *s, struct ike_secret **out);
/* New secret a | b. */
IKE_API enum ike_status ike_secret_concat(const struct ike_secret *a, const struct ike_secret *b,
                                          struct ike_secret **out);
/* New secret s[off..off+len); IKE_E_INVALID_ARG if that is outside s. */
IKE_API enum ike_status ike_secret_slice(const struct ike_secret *s, size_t off, size_t len,
                                         struct ike_secret **out);
/* Lengths equal and contents equal, compared in constant time. */
IKE_API bool ike_secret_equal(const struct ike_secret *a, const struct ike_secret *b);
/* Wipes and frees; NULL is fine. */
IKE_API void ike_secret_free(struct ike_secret *s);

#endif
