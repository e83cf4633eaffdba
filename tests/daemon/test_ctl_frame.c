/*
 * Control-protocol framing (proto/ctl_frame.c), the response arena and
 * request dispatch without a socket: partial headers, garbage, version,
 * size bounds, undecodable and unknown requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/ctl_arena.h"
#include "ctl/ctl_dispatch.h"
#include "ctl_frame.h"

static void test_hdr_roundtrip(void **state)
{
    uint8_t h[CTL_FRAME_HDR_LEN];
    struct ctl_frame_hdr hdr;
    ctl_frame_hdr_encode(h, 0x01020304);
    assert_int_equal(h[0], 'H');
    assert_int_equal(h[1], 'C');
    assert_int_equal(h[2], CTL_FRAME_VERSION);
    assert_int_equal(h[3], 0);
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), UINT32_MAX, &hdr), CTL_FRAME_OK);
    assert_int_equal(hdr.len, 0x01020304);
    assert_int_equal(hdr.version, CTL_FRAME_VERSION);
}

/* Every prefix of a valid header is "need more", never an error. */
static void test_hdr_partial(void **state)
{
    uint8_t h[CTL_FRAME_HDR_LEN];
    struct ctl_frame_hdr hdr;
    ctl_frame_hdr_encode(h, 10);
    for (size_t n = 0; n < sizeof(h); n++)
        assert_int_equal(ctl_frame_hdr_decode(h, n, CTL_REQUEST_MAX, &hdr), CTL_FRAME_NEED_MORE);
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), CTL_REQUEST_MAX, &hdr), CTL_FRAME_OK);
}

/* Garbage is recognised from its first wrong octet, before a whole
 * header arrived (a client typing text must not hang the server). */
static void test_hdr_garbage(void **state)
{
    struct ctl_frame_hdr hdr;
    const uint8_t text[] = "GET / HTTP/1.0\r\n";
    assert_int_equal(ctl_frame_hdr_decode(text, 1, CTL_REQUEST_MAX, &hdr), CTL_FRAME_E_MAGIC);
    const uint8_t half[] = {'H', 'X'};
    assert_int_equal(ctl_frame_hdr_decode(half, 2, CTL_REQUEST_MAX, &hdr), CTL_FRAME_E_MAGIC);
    const uint8_t zero[CTL_FRAME_HDR_LEN] = {0};
    assert_int_equal(ctl_frame_hdr_decode(zero, sizeof(zero), CTL_REQUEST_MAX, &hdr),
                     CTL_FRAME_E_MAGIC);
}

static void test_hdr_version_and_size(void **state)
{
    uint8_t h[CTL_FRAME_HDR_LEN];
    struct ctl_frame_hdr hdr;
    ctl_frame_hdr_encode(h, CTL_REQUEST_MAX);
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), CTL_REQUEST_MAX, &hdr), CTL_FRAME_OK);
    ctl_frame_hdr_encode(h, CTL_REQUEST_MAX + 1);
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), CTL_REQUEST_MAX, &hdr),
                     CTL_FRAME_E_TOO_LARGE);
    assert_int_equal(hdr.len, CTL_REQUEST_MAX + 1);
    ctl_frame_hdr_encode(h, 0xffffffffu);
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), CTL_RESPONSE_MAX, &hdr),
                     CTL_FRAME_E_TOO_LARGE);
    ctl_frame_hdr_encode(h, 4);
    h[2] = CTL_FRAME_VERSION + 1;
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), CTL_REQUEST_MAX, &hdr),
                     CTL_FRAME_E_VERSION);
    assert_int_equal(hdr.version, CTL_FRAME_VERSION + 1);
    /* flags are reserved: ignored on receipt */
    ctl_frame_hdr_encode(h, 4);
    h[3] = 0x80;
    assert_int_equal(ctl_frame_hdr_decode(h, sizeof(h), CTL_REQUEST_MAX, &hdr), CTL_FRAME_OK);
}

static void test_pack_roundtrip_and_bound(void **state)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__TunnelShowRequest show = CTL__TUNNEL_SHOW_REQUEST__INIT;
    char name[200];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    show.name = name;
    req.has_id = true;
    req.id = 77;
    req.command_case = CTL__REQUEST__COMMAND_TUNNEL_SHOW;
    req.tunnel_show = &show;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ctl_frame_pack(&req.base, CTL_REQUEST_MAX, &buf, &len), 0);
    struct ctl_frame_hdr hdr;
    assert_int_equal(ctl_frame_hdr_decode(buf, len, CTL_REQUEST_MAX, &hdr), CTL_FRAME_OK);
    assert_int_equal(hdr.len + CTL_FRAME_HDR_LEN, len);
    Ctl__Request *back = ctl__request__unpack(NULL, hdr.len, buf + CTL_FRAME_HDR_LEN);
    assert_non_null(back);
    assert_int_equal(back->id, 77);
    assert_int_equal(back->command_case, CTL__REQUEST__COMMAND_TUNNEL_SHOW);
    assert_string_equal(back->tunnel_show->name, name);
    ctl__request__free_unpacked(back, NULL);
    free(buf);
    /* larger than the bound: refused, nothing allocated */
    buf = NULL;
    assert_int_equal(ctl_frame_pack(&req.base, 100, &buf, &len), -1);
    assert_null(buf);
}

static void test_arena(void **state)
{
    struct ctl_arena a;
    ctl_arena_init(&a, 4096);
    char *s = ctl_arena_printf(&a, "%s-%d", "x", 42);
    assert_string_equal(s, "x-42");
    uint8_t *z = ctl_arena_alloc(&a, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    assert_false(a.failed);
    assert_null(ctl_arena_alloc(&a, 8192)); /* over the limit */
    assert_true(a.failed);
    assert_null(ctl_arena_calloc(&a, SIZE_MAX / 2, 4)); /* overflow */
    ctl_arena_free(&a);
    /* without a limit, a large block gets its own chunk */
    ctl_arena_init(&a, 0);
    uint8_t *big = ctl_arena_alloc(&a, 100000);
    assert_non_null(big);
    big[99999] = 1;
    ctl_arena_free(&a);
}

static Ctl__Response *dispatch(struct ctl_ctx *ctx, const uint8_t *body, size_t len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(ctl_dispatch(ctx, body, len, CTL_RESPONSE_MAX, &out, &out_len), 0);
    Ctl__Response *resp = ctl__response__unpack(NULL, out_len, out);
    free(out);
    assert_non_null(resp);
    return resp;
}

/* Requests that never reach a handler need no runtime (ctx.d NULL). */
static void test_dispatch_bad_requests(void **state)
{
    struct ctl_ctx ctx = {.version = "test"};
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    Ctl__Response *r = dispatch(&ctx, garbage, sizeof(garbage));
    assert_non_null(r->error);
    assert_int_equal(r->error->code, CTL__ERROR_CODE__ERR_BAD_REQUEST);
    assert_int_equal(r->result_case, CTL__RESPONSE__RESULT__NOT_SET);
    ctl__response__free_unpacked(r, NULL);

    /* empty body: a valid, empty Request without a command */
    r = dispatch(&ctx, NULL, 0);
    assert_int_equal(r->error->code, CTL__ERROR_CODE__ERR_UNKNOWN_COMMAND);
    ctl__response__free_unpacked(r, NULL);

    /* id 9 and field 99 (a command from a newer hactl): id echoed */
    const uint8_t future[] = {0x08, 0x09, 0x9a, 0x06, 0x00};
    r = dispatch(&ctx, future, sizeof(future));
    assert_int_equal(r->error->code, CTL__ERROR_CODE__ERR_UNKNOWN_COMMAND);
    assert_true(r->has_id);
    assert_int_equal(r->id, 9);
    ctl__response__free_unpacked(r, NULL);
    assert_int_equal(ctx.requests, 3);
    assert_int_equal(ctx.errors, 3);
}

static void test_pack_error(void **state)
{
    uint8_t *out;
    size_t len;
    assert_int_equal(ctl_pack_error(5, CTL__ERROR_CODE__ERR_BUSY, "busy now", &out, &len), 0);
    Ctl__Response *r = ctl__response__unpack(NULL, len, out);
    assert_non_null(r);
    assert_int_equal(r->id, 5);
    assert_int_equal(r->error->code, CTL__ERROR_CODE__ERR_BUSY);
    assert_string_equal(r->error->message, "busy now");
    ctl__response__free_unpacked(r, NULL);
    free(out);
}

static void test_command_table(void **state)
{
    assert_null(ctl_command_find(CTL__REQUEST__COMMAND__NOT_SET));
    const Ctl__Request__CommandCase all[] = {
        CTL__REQUEST__COMMAND_STATUS,        CTL__REQUEST__COMMAND_TUNNEL_SUMMARY,
        CTL__REQUEST__COMMAND_TUNNEL_SHOW,   CTL__REQUEST__COMMAND_GATEWAY_LIST,
        CTL__REQUEST__COMMAND_GATEWAY_CLEAR, CTL__REQUEST__COMMAND_TUNNEL_ACTION,
        CTL__REQUEST__COMMAND_DEBUG_IKE};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const struct ctl_command *c = ctl_command_find(all[i]);
        assert_non_null(c);
        assert_non_null(c->handler);
        assert_int_equal(c->which, all[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr_roundtrip),
        cmocka_unit_test(test_hdr_partial),
        cmocka_unit_test(test_hdr_garbage),
        cmocka_unit_test(test_hdr_version_and_size),
        cmocka_unit_test(test_pack_roundtrip_and_bound),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_dispatch_bad_requests),
        cmocka_unit_test(test_pack_error),
        cmocka_unit_test(test_command_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
