/*
 * hasync_probe raw / inject: CPG without hasync.
 *
 * raw GROUP COUNT SIZE: once another member is in the group, multicasts COUNT
 * messages of SIZE octets (all 0xff: never a valid Envelope, so a hasync
 * receiver drops each as malformed) as fast as CPG takes them, and times
 * until the last one comes back to us in agreed order (so it has gone round
 * the ring): "RAW msgs=N secs=S rate=R size=Z try_again=T".
 *
 * inject GROUP: once another member is there, sends, in order: 100 octets of
 * garbage (malformed), an Envelope of format version 9 (version), one whose
 * sender is not our node id (sender), a valid msgid_update with seq 5, the
 * same again and one with seq 3 (order x2), then seq 6 (accepted): a hasync
 * receiver counts malformed=1 version=1 sender=1 order=2 received=2 from us.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>

#include "hasync_codec.h"
#include "hasync_probe.h"

struct raw {
    cpg_handle_t h;
    unsigned int nodeid;
    size_t members;
    unsigned long own_delivered;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raw_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
                        void *msg, size_t len)
{
    struct raw *r = NULL;

    (void)g;
    (void)msg;
    (void)len;
    cpg_context_get(h, (void **)&r);
    if (nodeid == r->nodeid && pid == (uint32_t)getpid())
        r->own_delivered++;
}

static void raw_confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m,
                        size_t n, const struct cpg_address *l, size_t nl,
                        const struct cpg_address *j, size_t nj)
{
    struct raw *r = NULL;

    (void)g;
    (void)m;
    (void)l;
    (void)nl;
    (void)j;
    (void)nj;
    cpg_context_get(h, (void **)&r);
    r->members = n;
}

/* Blocks in poll() on the CPG fd: this is a benchmark/test tool, not the
 * library (which never blocks). */
static int dispatch_wait(struct raw *r, int timeout_ms)
{
    int fd;
    struct pollfd pfd;

    if (cpg_fd_get(r->h, &fd) != CS_OK)
        return -1;
    pfd.fd = fd;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, timeout_ms) > 0 && cpg_dispatch(r->h, CS_DISPATCH_ALL) != CS_OK)
        return -1;
    return 0;
}

static int raw_join(struct raw *r, const char *group)
{
    static cpg_callbacks_t cb = {.cpg_deliver_fn = raw_deliver, .cpg_confchg_fn = raw_confchg};
    struct cpg_name name;
    double deadline = mono() + 30;

    memset(&name, 0, sizeof(name));
    name.length = (uint32_t)strlen(group);
    if (name.length >= CPG_MAX_NAME_LENGTH)
        return -1;
    memcpy(name.value, group, name.length);
    if (cpg_initialize(&r->h, &cb) != CS_OK || cpg_context_set(r->h, r) != CS_OK ||
        cpg_local_get(r->h, &r->nodeid) != CS_OK || cpg_join(r->h, &name) != CS_OK)
        return -1;
    while (r->members < 2 && mono() < deadline)
        if (dispatch_wait(r, 100) != 0)
            return -1;
    return r->members >= 2 ? 0 : -1;
}

static int mcast(struct raw *r, const void *buf, size_t len, unsigned long *try_again)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
    cs_error_t rc;

    while ((rc = cpg_mcast_joined(r->h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN) {
        (*try_again)++;
        if (dispatch_wait(r, 1) != 0)
            return -1;
    }
    return rc == CS_OK ? 0 : -1;
}

int probe_raw(int argc, char **argv)
{
    struct raw r = {0};
    unsigned long count, size, try_again = 0;
    uint8_t *buf;
    double t0, secs;

    if (argc < 5 || (count = strtoul(argv[3], NULL, 10)) == 0 ||
        (size = strtoul(argv[4], NULL, 10)) == 0 || size > 65536) {
        fprintf(stderr, "usage: hasync_probe raw GROUP COUNT SIZE\n");
        return 2;
    }
    buf = malloc(size);
    if (!buf || raw_join(&r, argv[2]) != 0) {
        fprintf(stderr, "raw: cannot join %s with a peer\n", argv[2]);
        return 1;
    }
    memset(buf, 0xff, size);
    t0 = mono();
    for (unsigned long i = 0; i < count; i++)
        if (mcast(&r, buf, size, &try_again) != 0)
            return 1;
    while (r.own_delivered < count && mono() - t0 < 60)
        if (dispatch_wait(&r, 100) != 0)
            return 1;
    secs = mono() - t0;
    printf("RAW msgs=%lu secs=%.3f rate=%.0f size=%lu try_again=%lu\n", r.own_delivered, secs,
           (double)r.own_delivered / secs, size, try_again);
    fflush(stdout);
    cpg_finalize(r.h);
    free(buf);
    return r.own_delivered == count ? 0 : 1;
}

static int send_env(struct raw *r, Hasync__Envelope *e, unsigned long *try_again)
{
    uint8_t *buf;
    size_t len;
    int rc;

    if (hasync_codec_pack(e, &buf, &len) != 0)
        return -1;
    rc = mcast(r, buf, len, try_again);
    free(buf);
    return rc;
}

int probe_inject(int argc, char **argv)
{
    static const uint8_t spi[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct raw r = {0};
    uint8_t garbage[100];
    unsigned long try_again = 0;
    Hasync__Envelope e = HASYNC__ENVELOPE__INIT;
    Hasync__MsgidUpdate mid = HASYNC__MSGID_UPDATE__INIT;
    const uint64_t seqs[] = {5, 5, 3, 6};
    int rc = 0;

    if (argc < 3 || raw_join(&r, argv[2]) != 0) {
        fprintf(stderr, "usage: hasync_probe inject GROUP (needs a peer in the group)\n");
        return 2;
    }
    memset(garbage, 0xff, sizeof(garbage));
    rc |= mcast(&r, garbage, sizeof(garbage), &try_again);
    mid.has_spi_i = mid.has_spi_r = mid.has_send_next = mid.has_recv_next = true;
    mid.spi_i = (ProtobufCBinaryData){.len = 8, .data = (uint8_t *)(uintptr_t)spi};
    mid.spi_r = mid.spi_i;
    e.body_case = HASYNC__ENVELOPE__BODY_MSGID_UPDATE;
    e.msgid_update = &mid;
    e.has_version = e.has_sender = e.has_seq = true;
    e.version = 9;
    e.sender = r.nodeid;
    e.seq = 1;
    rc |= send_env(&r, &e, &try_again);
    e.version = HASYNC_PROTO_VERSION;
    e.sender = r.nodeid + 100;
    rc |= send_env(&r, &e, &try_again);
    e.sender = r.nodeid;
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        e.seq = seqs[i];
        rc |= send_env(&r, &e, &try_again);
    }
    /* let them go round before we leave the group */
    for (int i = 0; i < 5; i++)
        dispatch_wait(&r, 100);
    printf("INJECT sent rc=%d\n", rc);
    fflush(stdout);
    cpg_finalize(r.h);
    return rc ? 1 : 0;
}
