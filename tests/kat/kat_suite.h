/* A strongSwan-style single-algorithm proposal string as the fixtures name
 * their suite ("aes256-sha512-ecp521", "aes256gcm16-prfsha512-ecp521"),
 * mapped to transform ids through libike's own name tables. */
#ifndef KAT_SUITE_H
#define KAT_SUITE_H

#include <stdint.h>

struct kat_suite {
    uint16_t encr_id;
    uint16_t encr_key_bits;
    uint16_t integ_id; /* IKE_INTEG_NONE for AEAD */
    uint16_t prf_id;
    uint16_t dh_id;
};

int kat_suite_parse(const char *text, struct kat_suite *out);

#endif
