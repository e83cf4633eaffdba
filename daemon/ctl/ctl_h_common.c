/* Helpers shared by the handlers (see ctl_handlers.h). */
#include <string.h>

#include "ctl/ctl_handlers.h"
#include "ctl/ctl_view.h"
#include "gateway.h"
#include "log.h"

const char *ctl_safe(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    if (!size)
        return "";
    for (; s && s[i] && i + 1 < size && i < 64; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

struct gateway *ctl_gateway_arg(struct ctl_req *r, const char *name, const char *what)
{
    char safe[80];
    if (!name || !name[0]) {
        ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST, "%s: a gateway name is required", what);
        return NULL;
    }
    struct gateway *gw = gw_find(r->ctx->d, name);
    if (!gw)
        ctl_fail(r, CTL__ERROR_CODE__ERR_NOT_FOUND, "%s: no gateway named '%s'", what,
                 ctl_safe(name, safe, sizeof(safe)));
    return gw;
}

Ctl__DebugFilter *ctl_debug_filter(struct ctl_req *r)
{
    Ctl__DebugFilter *f = CTL_NEW(r->arena, Ctl__DebugFilter, debug_filter);
    const struct hlog *log = r->ctx->log;
    if (!f || !log)
        return f;
    f->has_active = f->has_level = true;
    if (log->filter_gw[0])
        f->gateway = ctl_arena_strdup(r->arena, log->filter_gw);
    if (log->filter_peer_set)
        f->peer = ctl_v_addr(r->arena, &log->filter_peer);
    f->active = log->filter_gw[0] || log->filter_peer_set;
    f->level = log->level[HLOG_IKE] < 0 ? 0 : (uint32_t)log->level[HLOG_IKE];
    return f;
}
