/*
 * Invariants the fuzz targets check on libike's codec. Every check that
 * fails prints what was violated and calls abort(): libFuzzer (and the gcc
 * corpus replay under ctest) then reports a crash. Bad INPUT never aborts;
 * only a contract of <ike/message.h> or <ike/sk.h> that does not hold.
 */
#ifndef FUZZ_INV_MSG_H
#define FUZZ_INV_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/error.h>
#include <ike/message.h>

/* abort()s with the message when cond is false. */
#define INV_REQUIRE(cond, ...)                                                                 \
    do {                                                                                       \
        if (!(cond))                                                                           \
            inv_fail(__FILE__, __LINE__, __VA_ARGS__);                                         \
    } while (0)

_Noreturn void inv_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * A function that rejected peer input must say why: diag->status equals
 * the returned status, the reason is a non-empty string, and the status is
 * one a peer can cause (never IKE_OK, IKE_E_INVALID_ARG or an unknown
 * value). what names the call for the report.
 */
void inv_peer_error(enum ike_status st, const struct ike_diag *diag, const char *what);

/* Exercises the read-only API on a decoded message: describe, names,
 * find/count, the typed notify readers. Checks describe is terminated. */
void inv_walk(const struct ike_msg *msg);

/*
 * The re-encode invariant for a message that decoded (and, if
 * msg->inner_decoded, whose inner chain decoded):
 *   b1 = ike_msg_encode(msg) succeeds; m2 = ike_msg_decode(b1) succeeds;
 *   if inner: i1 = ike_msg_encode_inner(msg) succeeds and
 *   ike_msg_decode_inner(m2, i1) succeeds;
 *   m2 has the same header, payload types, order, inside_sk / unknown
 *   flags and describe() line as msg; encode(m2) == b1 and
 *   encode_inner(m2) == i1 (a fixed point); the rule check gives the same
 *   status for both.
 */
void inv_roundtrip(const struct ike_msg *msg);

#endif
