/* Helpers shared by the handlers (ctl_h_*.c). */
#ifndef HAIKED_CTL_HANDLERS_H
#define HAIKED_CTL_HANDLERS_H

#include <stddef.h>

#include "control.pb-c.h"
#include "ctl/ctl_dispatch.h"

struct gateway;

/* The IKE log filter as it is now (from the daemon's log). */
Ctl__DebugFilter *ctl_debug_filter(struct ctl_req *r);

/* The gateway a request names, or NULL after ctl_fail() (name missing:
 * ERR_BAD_REQUEST; unknown: ERR_NOT_FOUND). */
struct gateway *ctl_gateway_arg(struct ctl_req *r, const char *name, const char *what);

/* A client-supplied name made safe for messages and logs: at most 64
 * printable ASCII characters, others as '?'. */
const char *ctl_safe(const char *s, char *buf, size_t size);

#endif
