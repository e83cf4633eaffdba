/*
 * libike's error codes and the diagnostic that carries the reason.
 *
 * Every fallible function returns enum ike_status. Functions that reject
 * peer input also fill a struct ike_diag with a human-readable reason that
 * names the numbers involved ("TSi payload length 7 < header 8"), so the
 * daemon can log exactly why a packet was dropped.
 */
#ifndef IKE_ERROR_H
#define IKE_ERROR_H

#include <stdint.h>

#include <ike/api.h>

enum ike_status {
    IKE_OK = 0,
    IKE_E_MALFORMED,      /* syntax: lengths, counts, reserved values */
    IKE_E_UNSUPPORTED,    /* well-formed but not something we implement */
    IKE_E_CRITICAL,       /* unknown payload with the critical bit set */
    IKE_E_RULES,          /* payload missing/duplicated/outside SK for the exchange */
    IKE_E_INTEGRITY,      /* ICV / AEAD tag mismatch */
    IKE_E_CRYPTO,         /* OpenSSL failure or invalid key material */
    IKE_E_DH_PUBLIC,      /* peer DH public value invalid */
    IKE_E_AUTH,           /* AUTH payload did not verify */
    IKE_E_STATE,          /* operation not valid in the current state */
    IKE_E_NOMEM,
    IKE_E_INVALID_ARG,    /* caller error (never from peer input) */
    IKE_E_TOO_BIG,        /* output would exceed a limit */
};

IKE_API const char *ike_status_str(enum ike_status status);

#define IKE_DIAG_REASON_MAX 192

struct ike_diag {
    enum ike_status status;
    /* For IKE_E_CRITICAL: the unknown payload type, as the notify data of
     * UNSUPPORTED_CRITICAL_PAYLOAD requires. */
    uint8_t payload_type;
    char reason[IKE_DIAG_REASON_MAX];
};

/* Records status and a printf-style reason in diag (which may be NULL) and
 * returns status, so parsers can `return ike_diag_fail(d, ...)`. */
IKE_API enum ike_status ike_diag_fail(struct ike_diag *diag, enum ike_status status,
                                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

IKE_API void ike_diag_clear(struct ike_diag *diag);

#endif
