/*
 * libFuzzer target for the control protocol as haiked receives it: the
 * input is a byte stream from a control client, cut into frames exactly as
 * the server does (ctl_frame_hdr_decode with the request bound), each
 * frame's body dispatched against a populated runtime (tests/cli/
 * ctl_fixture.c: gateways, an established IKE SA, a CHILD SA). The whole
 * input is also dispatched as one body. Every response must be a valid,
 * bounded ctl.Response; anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl/ctl_dispatch.h"
#include "ctl_fixture.h"
#include "ctl_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_fixture fx;
static struct ctl_ctx ctx;

static void dispatch_one(const uint8_t *body, size_t len)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (ctl_dispatch(&ctx, body, len, CTL_RESPONSE_MAX, &out, &out_len) != 0)
        abort(); /* only out-of-memory may fail */
    if (out_len > CTL_RESPONSE_MAX)
        abort();
    Ctl__Response *r = ctl__response__unpack(NULL, out_len, out);
    if (!r)
        abort();
    /* an error and a result never together */
    if (r->error && r->result_case != CTL__RESPONSE__RESULT__NOT_SET)
        abort();
    ctl__response__free_unpacked(r, NULL);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx.d) {
        if (ctl_fixture_init_runtime(&fx) != 0)
            abort();
        /* quiet: logging is not under test (`debug ike` turns it on) */
        fx.d.log.out = fopen("/dev/null", "w");
        for (int s = 0; s < HLOG_SUBSYS_COUNT; s++)
            hlog_set_level(&fx.d.log, (enum hlog_subsys)s, -1);
        ctx.d = &fx.d;
        ctx.log = &fx.d.log;
        ctx.version = "fuzz";
    }
    size_t off = 0;
    while (off < size) {
        struct ctl_frame_hdr hdr;
        enum ctl_frame_status st =
            ctl_frame_hdr_decode(data + off, size - off, CTL_REQUEST_MAX, &hdr);
        if (st != CTL_FRAME_OK || size - off - CTL_FRAME_HDR_LEN < hdr.len)
            break; /* the server replies with an error and closes here */
        dispatch_one(data + off + CTL_FRAME_HDR_LEN, hdr.len);
        off += CTL_FRAME_HDR_LEN + hdr.len;
    }
    dispatch_one(data, size);
    return 0;
}
