/*
 * COOKIE secrets for a responder under load (RFC 7296 §2.6): a cookie is
 * <version of the secret> | HMAC-SHA-256(secret, Ni | IPi | SPIi), so it
 * is checked without keeping state per request. Rotate the secret now and
 * then (e.g. every few minutes); cookies of the previous secret stay valid
 * until the next rotation, so an initiator that just got one is not
 * refused. Hook it into struct ike_ctx (cookies, require_cookie).
 */
#ifndef IKE_COOKIE_H
#define IKE_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/ctx.h>
#include <ike/error.h>

#define IKE_COOKIE_LEN 33 /* version octet + SHA-256 */

struct ike_cookie_jar;

/* A jar with a fresh random secret. */
IKE_API enum ike_status ike_cookie_jar_new(struct ike_cookie_jar **out);
/* New secret; the current one becomes the previous one. */
IKE_API enum ike_status ike_cookie_jar_rotate(struct ike_cookie_jar *jar);
/* Wipes and frees; NULL is fine. */
IKE_API void ike_cookie_jar_free(struct ike_cookie_jar *jar);

/* The cookie for an IKE_SA_INIT request (out: IKE_COOKIE_LEN octets). */
IKE_API enum ike_status ike_cookie_make(const struct ike_cookie_jar *jar, const uint8_t *ni,
                                        size_t ni_len, const struct ike_addr *ip_i,
                                        const uint8_t spi_i[8], uint8_t out[IKE_COOKIE_LEN]);
/* IKE_OK when cookie was made by the current or the previous secret for
 * these values; IKE_E_AUTH otherwise. */
IKE_API enum ike_status ike_cookie_verify(const struct ike_cookie_jar *jar, const uint8_t *ni,
                                          size_t ni_len, const struct ike_addr *ip_i,
                                          const uint8_t spi_i[8], const uint8_t *cookie,
                                          size_t cookie_len);

#endif
