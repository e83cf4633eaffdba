/* `gateway list [NAME]`, `gateway clear [NAME]`. */
#include <stdio.h>

#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_handlers.h"
#include "ctl/ctl_view.h"
#include "daemon.h"
#include "gateway.h"

static bool named(const char *name)
{
    return name && name[0];
}

int ctl_h_gateway_list(struct ctl_req *r)
{
    struct ctl_arena *a = r->arena;
    const Ctl__GatewayListRequest *q = r->req->gateway_list;
    Ctl__GatewayListResult *res = CTL_NEW(a, Ctl__GatewayListResult, gateway_list_result);
    if (!res)
        return -1;
    if (q && named(q->name)) {
        struct gateway *gw = ctl_gateway_arg(r, q->name, "gateway list");
        if (!gw)
            return -1;
        ctl_v_refresh_counters(r->ctx->d, gw);
        res->gateways = ctl_arena_calloc(a, 1, sizeof(*res->gateways));
        if (!res->gateways || !(res->gateways[0] = ctl_v_gateway(r, gw, true)))
            return -1;
        res->n_gateways = 1;
    } else {
        /* the configured gateways, then those a reload retired (gw_retire.c:
         * listed only here, never found by name) */
        struct daemon *d = r->ctx->d;
        size_t n = gw_count(d) + d->n_retiring;
        ctl_v_refresh_counters(d, NULL);
        res->gateways = ctl_arena_calloc(a, n ? n : 1, sizeof(*res->gateways));
        if (!res->gateways)
            return -1;
        for (struct gateway *gw = gw_first(d); gw && res->n_gateways < n; gw = gw_next(gw))
            if (!(res->gateways[res->n_gateways++] = ctl_v_gateway(r, gw, true)))
                return -1;
        struct gateway *gw;
        TAILQ_FOREACH(gw, &d->retiring, link) {
            if (res->n_gateways == n)
                break;
            if (!(res->gateways[res->n_gateways++] = ctl_v_gateway(r, gw, true)))
                return -1;
        }
    }
    r->resp->result_case = CTL__RESPONSE__RESULT_GATEWAY_LIST;
    r->resp->gateway_list = res;
    return 0;
}

static int clear_one(struct ctl_req *r, struct gateway *gw)
{
    char err[256] = "";
    if (gw_clear(gw, err, sizeof(err)) != 0)
        return ctl_fail(r, CTL__ERROR_CODE__ERR_FAILED, "gateway clear %s: %s", gw->name,
                        err[0] ? err : "failed");
    return 0;
}

int ctl_h_gateway_clear(struct ctl_req *r)
{
    const Ctl__GatewayClearRequest *q = r->req->gateway_clear;
    Ctl__ActionResult *res = CTL_NEW(r->arena, Ctl__ActionResult, action_result);
    if (!res)
        return -1;
    res->has_affected = true;
    if (q && named(q->name)) {
        struct gateway *gw = ctl_gateway_arg(r, q->name, "gateway clear");
        if (!gw || clear_one(r, gw) != 0)
            return -1;
        res->affected = 1;
    } else {
        for (struct gateway *gw = gw_first(r->ctx->d); gw; gw = gw_next(gw)) {
            if (clear_one(r, gw) != 0)
                return -1;
            res->affected++;
        }
    }
    res->message = ctl_arena_printf(r->arena, "cleared %u gateway%s", res->affected,
                                    res->affected == 1 ? "" : "s");
    r->resp->result_case = CTL__RESPONSE__RESULT_GATEWAY_CLEAR;
    r->resp->gateway_clear = res;
    return 0;
}
