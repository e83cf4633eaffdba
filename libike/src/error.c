#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ike/error.h>

const char *ike_status_str(enum ike_status status)
{
    switch (status) {
    case IKE_OK: return "IKE_OK";
    case IKE_E_MALFORMED: return "IKE_E_MALFORMED";
    case IKE_E_UNSUPPORTED: return "IKE_E_UNSUPPORTED";
    case IKE_E_CRITICAL: return "IKE_E_CRITICAL";
    case IKE_E_RULES: return "IKE_E_RULES";
    case IKE_E_INTEGRITY: return "IKE_E_INTEGRITY";
    case IKE_E_CRYPTO: return "IKE_E_CRYPTO";
    case IKE_E_DH_PUBLIC: return "IKE_E_DH_PUBLIC";
    case IKE_E_AUTH: return "IKE_E_AUTH";
    case IKE_E_STATE: return "IKE_E_STATE";
    case IKE_E_NOMEM: return "IKE_E_NOMEM";
    case IKE_E_INVALID_ARG: return "IKE_E_INVALID_ARG";
    case IKE_E_TOO_BIG: return "IKE_E_TOO_BIG";
    }
    return "IKE_E_UNKNOWN";
}

enum ike_status ike_diag_fail(struct ike_diag *diag, enum ike_status status,
                              const char *fmt, ...)
{
    if (!diag)
        return status;
    diag->status = status;
    /* via a copy: callers may wrap the previous reason ("initiate X: %s",
     * diag->reason), and vsnprintf into its own argument is undefined */
    char reason[sizeof(diag->reason)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    memcpy(diag->reason, reason, sizeof(reason));
    return status;
}

void ike_diag_clear(struct ike_diag *diag)
{
    if (!diag)
        return;
    memset(diag, 0, sizeof(*diag));
}
