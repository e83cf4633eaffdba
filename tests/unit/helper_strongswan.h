/* The strongSwan 5.9.8 fixtures (tests/fixtures/strongswan/<suite>/):
 * charon's captured messages and logged values, the moon/sun
 * configuration of the lab run that produced them, and an SA rebuilt at
 * the point after IKE_SA_INIT from those values, for the tests that feed
 * charon's later messages to libike. */
#ifndef HELPER_STRONGSWAN_H
#define HELPER_STRONGSWAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/export.h>
#include <ike/sa.h>
#include <ike/secret.h>

#include "helper_pair.h"

/* One captured run: its fixture directory and charon's IKE / ESP
 * algorithms (AES-256; integ 0 for GCM; PRF HMAC-SHA2-512, ECP-521). */
struct ss_suite {
    const char *dir;
    uint16_t encr, integ;
};

extern const struct ss_suite ss_suites[];
extern const size_t ss_n_suites;

struct ss_blob {
    uint8_t b[8192];
    size_t n;
};

/* A fixture file (fails the test if missing, empty or too large). */
void ss_load(const char *dir, const char *name, struct ss_blob *out);
/* values.txt "key = hex" (an empty value gives n = 0). */
void ss_value(const char *dir, const char *key, struct ss_blob *out);
struct ike_secret *ss_secret(const char *dir, const char *key);
/* A 4-octet value as a host-order ESP SPI. */
uint32_t ss_spi_value(const char *dir, const char *key);
/* Fails the test unless k holds exactly the logged value of key. */
void ss_assert_key(const char *dir, const char *key, const struct ike_key_export *k);

/* side as moon (charon's initiator, 192.0.2.0/25) or sun (its responder,
 * 192.0.2.128/25) with the suite for IKE and for ESP (with PFS), the PSK
 * and FQDN IDs, both on port 4500. */
void ss_configure(struct pair_side *side, const struct ss_suite *s, struct ike_secret *psk,
                  bool moon);
/* The SA as it stands after IKE_SA_INIT: SPIs, algorithms, SK_*, nonces
 * and both IKE_SA_INIT messages from the captured values. */
struct ike_sa *ss_rebuild(struct pair_side *side, const struct ss_suite *s, bool initiator);

#endif
