/* values.txt of a strongSwan capture fixture: "key = lowercase hex" lines
 * (or text for suite/psk), as written by scripts/capture-strongswan. */
#ifndef KAT_VALUES_H
#define KAT_VALUES_H

#include <stddef.h>
#include <stdint.h>

struct kat_value {
    char key[48];
    char *text;      /* raw right-hand side */
    uint8_t *bytes;  /* hex-decoded, NULL when the text is not hex */
    size_t len;
};

struct kat_values {
    struct kat_value *v;
    size_t n;
};

int kat_values_load(const char *path, struct kat_values *out);
void kat_values_free(struct kat_values *vals);
/* NULL when absent. */
const struct kat_value *kat_values_get(const struct kat_values *vals, const char *key);

#endif
