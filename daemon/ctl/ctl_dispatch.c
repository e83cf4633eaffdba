/* Request -> handler -> response, no I/O (see ctl_dispatch.h). */
#include "ctl/ctl_dispatch.h"

#include <ike/ctx.h>

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The commands; a new one is a oneof member in control.proto, a handler
 * and a line here. */
static const struct ctl_command ctl_commands[] = {
    {CTL__REQUEST__COMMAND_STATUS, "status", ctl_h_status, false},
    {CTL__REQUEST__COMMAND_TUNNEL_SUMMARY, "tunnel summary", ctl_h_tunnel_summary, false},
    {CTL__REQUEST__COMMAND_TUNNEL_SHOW, "tunnel show", ctl_h_tunnel_show, false},
    {CTL__REQUEST__COMMAND_GATEWAY_LIST, "gateway list", ctl_h_gateway_list, false},
    {CTL__REQUEST__COMMAND_GATEWAY_CLEAR, "gateway clear", ctl_h_gateway_clear, true},
    {CTL__REQUEST__COMMAND_TUNNEL_ACTION, "tunnel action", ctl_h_tunnel_action, true},
    {CTL__REQUEST__COMMAND_DEBUG_IKE, "debug ike", ctl_h_debug_ike, true},
    {CTL__REQUEST__COMMAND_FAILOVER, "failover", ctl_h_failover, true},
    {CTL__REQUEST__COMMAND_HA_STATS, "ha stats", ctl_h_ha_stats, false},
};

/* What a response may hold beyond its packed size while being built:
 * pointers, padding and protobuf-c's unpacked structs. */
#define CTL_ARENA_FACTOR 8

const struct ctl_command *ctl_command_find(Ctl__Request__CommandCase which)
{
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
        if (ctl_commands[i].which == which)
            return &ctl_commands[i];
    return NULL;
}

uint64_t ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_error(Ctl__Response *resp, Ctl__Error *err, Ctl__ErrorCode code, char *msg)
{
    ctl__error__init(err);
    err->has_code = true;
    err->code = code;
    err->message = msg;
    resp->error = err;
    resp->result_case = CTL__RESPONSE__RESULT__NOT_SET;
}

int ctl_fail(struct ctl_req *r, Ctl__ErrorCode code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    Ctl__Error *err = ctl_arena_alloc(r->arena, sizeof(*err));
    char *text = ctl_arena_strdup(r->arena, msg);
    if (!err || !text)
        return -1; /* the arena failure becomes ERR_INTERNAL in ctl_dispatch */
    set_error(r->resp, err, code, text);
    return -1;
}

static int pack_alloc(const Ctl__Response *resp, uint8_t **out, size_t *out_len)
{
    size_t n = ctl__response__get_packed_size(resp);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -1;
    if (ctl__response__pack(resp, buf) != n) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

int ctl_pack_error(uint32_t id, Ctl__ErrorCode code, const char *msg, uint8_t **out,
                   size_t *out_len)
{
    Ctl__Response resp = CTL__RESPONSE__INIT;
    Ctl__Error err;
    resp.has_id = true;
    resp.id = id;
    set_error(&resp, &err, code, (char *)msg);
    return pack_alloc(&resp, out, out_len);
}

/* Actions at info (an operator changed something), queries at debug. */
static void log_request(struct ctl_req *r, const struct ctl_command *cmd)
{
    struct hlog *log = r->ctx->log;
    int level = cmd->mutates ? IKE_LOG_INFO : IKE_LOG_DEBUG;
    if (!log || !hlog_enabled(log, HLOG_CTL, level, NULL))
        return;
    if (r->resp->error)
        hlog_write(log, HLOG_CTL, level, NULL, "ctl: %s: error: %s", cmd->name,
                   r->resp->error->message ? r->resp->error->message : "?");
    else
        hlog_write(log, HLOG_CTL, level, NULL, "ctl: %s: ok", cmd->name);
}

static void run(struct ctl_req *r, const uint8_t *body, size_t len)
{
    const Ctl__Request *req = r->req;
    if (!req) {
        ctl_fail(r, CTL__ERROR_CODE__ERR_BAD_REQUEST,
                 "request does not decode as ctl.Request (%zu octets)", len);
        return;
    }
    r->resp->has_id = req->has_id;
    r->resp->id = req->id;
    const struct ctl_command *cmd = ctl_command_find(req->command_case);
    if (!cmd) {
        ctl_fail(r, CTL__ERROR_CODE__ERR_UNKNOWN_COMMAND,
                 req->command_case == CTL__REQUEST__COMMAND__NOT_SET
                     ? "no command in request (a newer hactl?)"
                     : "unknown command %d",
                 (int)req->command_case);
        return;
    }
    if (cmd->handler(r) != 0 && !r->resp->error)
        ctl_fail(r, CTL__ERROR_CODE__ERR_INTERNAL, "%s failed", cmd->name);
    log_request(r, cmd);
}

int ctl_dispatch(struct ctl_ctx *ctx, const uint8_t *body, size_t len, size_t max_len,
                 uint8_t **out, size_t *out_len)
{
    struct ctl_arena arena;
    size_t limit = max_len <= SIZE_MAX / CTL_ARENA_FACTOR ? max_len * CTL_ARENA_FACTOR : SIZE_MAX;
    ctl_arena_init(&arena, limit);
    Ctl__Response resp = CTL__RESPONSE__INIT;
    Ctl__Request *req = ctl__request__unpack(NULL, len, body);
    struct ctl_req r = {
        .ctx = ctx, .req = req, .resp = &resp, .arena = &arena, .now_ms = ctl_now_ms()};
    ctx->requests++;
    run(&r, body, len);

    uint32_t id = resp.id;
    int rc;
    if (arena.failed)
        rc = ctl_pack_error(id, CTL__ERROR_CODE__ERR_INTERNAL,
                            "out of memory building the response", out, out_len);
    else if (ctl__response__get_packed_size(&resp) > max_len)
        rc = ctl_pack_error(id, CTL__ERROR_CODE__ERR_INTERNAL,
                            "response larger than the protocol bound", out, out_len);
    else
        rc = pack_alloc(&resp, out, out_len);
    if (resp.error || arena.failed)
        ctx->errors++;
    if (req)
        ctl__request__free_unpacked(req, NULL);
    ctl_arena_free(&arena);
    return rc;
}
