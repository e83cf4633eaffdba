/* `debug ike [--gateway NAME] [--peer ADDR] [--level N]`, `debug ike off`. */
#include <arpa/inet.h>
#include <string.h>

#include <ike/ctx.h>

#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_handlers.h"
#include "gateway.h"

/* "192.0.2.1" or "2001:db8::1" (no port, no brackets). */
static int parse_peer(const char *text, struct ike_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, text, out->addr) == 1) {
        out->family = IKE_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->addr) == 1) {
        out->family = IKE_AF_INET6;
        return 0;
    }
    return -1;
}

static int respond(struct ctl_req *r)
{
    Ctl__DebugFilter *f = ctl_debug_filter(r);
    if (!f)
        return -1;
    r->resp->result_case = CTL__RESPONSE__RESULT_DEBUG_IKE;
    r->resp->debug_ike = f;
    return 0;
}

int ctl_h_debug_ike(struct ctl_req *r)
{
    const Ctl__DebugIkeRequest *q = r->req->debug_ike;
    char safe[80];
    if (q && q->has_off && q->off) {
        gw_debug_clear(r->ctx->d);
        return respond(r);
    }
    struct ike_addr peer;
    const struct ike_addr *peer_p = NULL;
    if (q && q->peer && q->peer[0]) {
        if (parse_peer(q->peer, &peer) != 0)
            return ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST,
                            "debug ike: '%s' is not an IPv4 or IPv6 address",
                            ctl_safe(q->peer, safe, sizeof(safe)));
        peer_p = &peer;
    }
    /* Without --level the filtered lines are shown in full: a filter
     * exists to debug one tunnel. */
    int level = IKE_LOG_DEBUG;
    if (q && q->has_level) {
        if (q->level > IKE_LOG_DEBUG)
            return ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST,
                            "debug ike: level %u out of range (0 err .. 3 debug)", q->level);
        level = (int)q->level;
    }
    const char *gw_name = q && q->gateway && q->gateway[0] ? q->gateway : NULL;
    if (gw_name && !gw_find(r->ctx->d, gw_name))
        return ctl_fail(r, CTL__ERROR_CODE__ERR_NOT_FOUND, "debug ike: no gateway named '%s'",
                        ctl_safe(gw_name, safe, sizeof(safe)));
    char err[256] = "";
    if (gw_debug_set(r->ctx->d, gw_name, peer_p, level, err, sizeof(err)) != 0)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST, "debug ike: %s",
                        err[0] ? err : "refused");
    return respond(r);
}
