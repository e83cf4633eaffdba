/* ike_kat_check: re-derive a real strongSwan exchange's keys with libike
 * and decrypt/parse/verify its captured messages. One check per function;
 * each prints "ok   <what>" or "FAIL <what>: <why>" and counts failures. */
#ifndef KAT_H
#define KAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/keys.h>
#include <ike/prf.h>

#include "kat_suite.h"
#include "kat_values.h"

struct kat_ctx {
    const char *dir;
    struct kat_values vals;
    struct kat_suite suite;
    struct ike_prf *prf;
    struct ike_keys_sa keys; /* derived by kat_check_ike_keys */
    unsigned failures;
    unsigned checks;
};

void kat_ok(struct kat_ctx *k, const char *what);
void kat_fail(struct kat_ctx *k, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Compares derived bytes with the fixture's value `key`. */
void kat_expect(struct kat_ctx *k, const char *key, const uint8_t *got, size_t got_len);
/* Fixture value that must exist; NULL (and a failure) otherwise. */
const struct kat_value *kat_need(struct kat_ctx *k, const char *key);

void kat_check_ike_keys(struct kat_ctx *k);
void kat_check_child_keys(struct kat_ctx *k);
void kat_check_messages(struct kat_ctx *k);

#endif
