/*
 * votequorum on the daemon's loop, for the election (ha_role.h): our
 * quorate flag and the two_node / wait_for_all settings. The connection is
 * made once our corosync node id is known (the first CPG connection), read
 * at once with votequorum_getinfo (a local IPC round trip), then followed
 * through quorum notifications on the votequorum fd (CS_TRACK_CHANGES):
 * nothing here blocks the loop beyond that one call. When corosync has no
 * votequorum or dies, the quorum is "unknown" (no node becomes master) and
 * the connection is retried every second while CPG is up.
 */
#include <corosync/corotypes.h>
#include <corosync/votequorum.h>
#include <event2/event.h>
#include <stdlib.h>

#include "daemon.h"
#include "ha_internal.h"
#include "ha_role.h"

#define QUORUM_RETRY_MS 1000

struct ha_quorum {
    struct ha *ha;
    uint32_t self;
    votequorum_handle_t h;
    bool open;
    struct event *ev, *retry;
};

static void q_close(struct ha_quorum *q)
{
    if (q->ev) {
        event_free(q->ev);
        q->ev = NULL;
    }
    if (q->open) {
        votequorum_trackstop(q->h);
        votequorum_finalize(q->h);
        q->open = false;
    }
}

/* Our flags and quorum from votequorum; -1 when it does not answer. */
static int q_read(struct ha_quorum *q)
{
    struct votequorum_info info;
    /* nodeid 0 would be the qdevice: ask for ours */
    if (!q->self || votequorum_getinfo(q->h, q->self, &info) != CS_OK)
        return -1;
    ha_role_quorum(q->ha, true, info.flags & VOTEQUORUM_INFO_QUORATE,
                   info.flags & VOTEQUORUM_INFO_WAIT_FOR_ALL, info.flags & VOTEQUORUM_INFO_TWONODE);
    return 0;
}

static void q_notify(votequorum_handle_t h, uint64_t context, uint32_t quorate, uint32_t n,
                     votequorum_node_t nodes[])
{
    (void)context, (void)n, (void)nodes;
    void *ctx = NULL;
    if (votequorum_context_get(h, &ctx) != CS_OK || !ctx)
        return;
    struct ha_quorum *q = ctx;
    bool wfa, two;
    ha_role_quorum_known(q->ha, &wfa, &two);
    if (q_read(q) < 0) /* keep the flags, take the quorate bit */
        ha_role_quorum(q->ha, true, quorate != 0, wfa, two);
}

static void q_schedule_retry(struct ha_quorum *q)
{
    struct timeval tv = {QUORUM_RETRY_MS / 1000, (QUORUM_RETRY_MS % 1000) * 1000};
    if (!evtimer_pending(q->retry, NULL))
        evtimer_add(q->retry, &tv);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ha_quorum *q = arg;
    cs_error_t e = votequorum_dispatch(q->h, CS_DISPATCH_ALL);
    if (e != CS_OK && e != CS_ERR_TRY_AGAIN) {
        ha_log(q->ha, IKE_LOG_WARN, NULL, "HA votequorum_dispatch: error %d, reconnecting", e);
        q_close(q);
        bool wfa, two;
        ha_role_quorum_known(q->ha, &wfa, &two);
        ha_role_quorum(q->ha, false, false, wfa, two);
        q_schedule_retry(q);
    }
}

static int q_open(struct ha_quorum *q)
{
    votequorum_callbacks_t cb = {.votequorum_quorum_notify_fn = q_notify};
    int fd = -1;
    cs_error_t e = votequorum_initialize(&q->h, &cb);
    if (e != CS_OK) {
        ha_log(q->ha, IKE_LOG_DEBUG, NULL, "HA votequorum_initialize: error %d", e);
        return -1;
    }
    q->open = true;
    votequorum_context_set(q->h, q);
    if (votequorum_fd_get(q->h, &fd) != CS_OK ||
        !(q->ev = event_new(q->ha->d->base, fd, EV_READ | EV_PERSIST, on_readable, q)) ||
        event_add(q->ev, NULL) < 0 || votequorum_trackstart(q->h, 0, CS_TRACK_CHANGES) != CS_OK) {
        ha_log(q->ha, IKE_LOG_WARN, NULL, "HA votequorum: cannot track quorum changes");
        q_close(q);
        return -1;
    }
    if (q_read(q) < 0) {
        q_close(q);
        return -1;
    }
    return 0;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct ha_quorum *q = arg;
    if (q->open || !q->ha->cpg || !hasync_cpg_connected(q->ha->cpg))
        return; /* the next CPG connection asks again */
    if (q_open(q) < 0)
        q_schedule_retry(q);
}

struct ha_quorum *ha_quorum_new(struct ha *ha)
{
    struct ha_quorum *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->ha = ha;
    q->retry = evtimer_new(ha->d->base, on_retry, q);
    if (!q->retry) {
        free(q);
        return NULL;
    }
    return q;
}

void ha_quorum_free(struct ha_quorum *q)
{
    if (!q)
        return;
    q_close(q);
    event_free(q->retry);
    free(q);
}

void ha_quorum_refresh(struct ha_quorum *q, uint32_t self)
{
    if (!q || !self)
        return;
    q->self = self;
    if (q->open) {
        if (q_read(q) == 0)
            return;
        q_close(q); /* it stopped answering: start over */
    }
    if (q_open(q) < 0)
        q_schedule_retry(q);
}
