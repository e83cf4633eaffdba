/* `tunnel summary`, `tunnel show NAME`, `tunnel up|down|flush NAME`. */
#include <stdio.h>

#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_handlers.h"
#include "ctl/ctl_view.h"
#include "gateway.h"

int ctl_h_tunnel_summary(struct ctl_req *r)
{
    struct ctl_arena *a = r->arena;
    Ctl__TunnelSummaryResult *res = CTL_NEW(a, Ctl__TunnelSummaryResult, tunnel_summary_result);
    /* Dial-up gateways list one entry per peer (ctl_v_summaries). */
    size_t n = 0;
    for (struct gateway *gw = gw_first(r->ctx->d); gw; gw = gw_next(gw))
        n += ctl_v_summary_count(gw);
    if (!res || !(res->tunnels = ctl_arena_calloc(a, n ? n : 1, sizeof(*res->tunnels))))
        return -1;
    ctl_v_refresh_counters(r->ctx->d, NULL);
    for (struct gateway *gw = gw_first(r->ctx->d); gw; gw = gw_next(gw))
        if (ctl_v_summaries(r, gw, res->tunnels, n, &res->n_tunnels) != 0)
            return -1;
    r->resp->result_case = CTL__RESPONSE__RESULT_TUNNEL_SUMMARY;
    r->resp->tunnel_summary = res;
    return 0;
}

int ctl_h_tunnel_show(struct ctl_req *r)
{
    const Ctl__TunnelShowRequest *q = r->req->tunnel_show;
    struct gateway *gw = ctl_gateway_arg(r, q ? q->name : NULL, "tunnel show");
    if (!gw)
        return -1;
    ctl_v_refresh_counters(r->ctx->d, gw);
    Ctl__Gateway *g = ctl_v_gateway(r, gw, true);
    if (!g)
        return -1;
    r->resp->result_case = CTL__RESPONSE__RESULT_TUNNEL_SHOW;
    r->resp->tunnel_show = g;
    return 0;
}

static const char *action_name(Ctl__TunnelAction act)
{
    switch (act) {
    case CTL__TUNNEL_ACTION__TUNNEL_ACTION_UP: return "tunnel up";
    case CTL__TUNNEL_ACTION__TUNNEL_ACTION_DOWN: return "tunnel down";
    case CTL__TUNNEL_ACTION__TUNNEL_ACTION_FLUSH: return "tunnel flush";
    default: return NULL;
    }
}

int ctl_h_tunnel_action(struct ctl_req *r)
{
    const Ctl__TunnelActionRequest *q = r->req->tunnel_action;
    const char *what = q && q->has_action ? action_name(q->action) : NULL;
    if (!what)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST,
                        "tunnel action: expected up, down or flush");
    struct gateway *gw = ctl_gateway_arg(r, q->name, what);
    if (!gw)
        return -1;
    size_t before = gw->n_sas;
    char err[256] = "";
    int rc;
    switch (q->action) {
    case CTL__TUNNEL_ACTION__TUNNEL_ACTION_UP: rc = gw_up(gw, err, sizeof(err)); break;
    case CTL__TUNNEL_ACTION__TUNNEL_ACTION_DOWN: rc = gw_down(gw, err, sizeof(err)); break;
    default: rc = gw_flush(gw, err, sizeof(err)); break;
    }
    if (rc != 0)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED, "%s %s: %s", what, gw->name,
                        err[0] ? err : "failed");
    Ctl__ActionResult *res = CTL_NEW(r->arena, Ctl__ActionResult, action_result);
    if (!res)
        return -1;
    res->has_affected = true;
    res->affected = (uint32_t)(q->action == CTL__TUNNEL_ACTION__TUNNEL_ACTION_UP ? 1 : before);
    res->message = ctl_arena_printf(r->arena, "%s %s: done (state %s)", what, gw->name,
                                    gw_state_name(gw->state));
    r->resp->result_case = CTL__RESPONSE__RESULT_TUNNEL_ACTION;
    r->resp->tunnel_action = res;
    return 0;
}
