/*
 * An in-process corosync CPG for unit tests: defines the cpg_* functions
 * hasync_cpg.c calls, so a test program that includes this header (in
 * exactly one of its files) gets them instead of libcpg's (the executable's
 * definitions win at link time). Every handle of the process is a member of
 * one bus: a multicast is queued, in one total (agreed) order, to every
 * joined handle, the sender included, like CPG; each handle's eventfd is
 * readable while it has something queued, and cpg_dispatch() delivers it.
 *
 * Test controls: fcpg.next_node (node id of the next cpg_model_initialize,
 * else 1, 2, ...), fcpg_pause(node, on) (hold deliveries to that node: no
 * ack goes back), fcpg.try_again (the next N multicasts answer
 * CS_ERR_TRY_AGAIN), and fcpg.wire[] (every multicast, for inspection).
 */
#ifndef FAKE_CPG_H
#define FAKE_CPG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <corosync/cpg.h>

#define FCPG_HANDLES 4
#define FCPG_WIRE    4096

struct fcpg_msg {
    struct fcpg_msg *next;
    bool confchg;
    uint32_t from;
    struct cpg_address members[FCPG_HANDLES], left[FCPG_HANDLES], joined[FCPG_HANDLES];
    size_t n_members, n_left, n_joined;
    size_t len;
    uint8_t data[];
};

struct fcpg_handle {
    bool used, joined, paused;
    uint32_t node;
    cpg_model_v1_data_t model;
    struct cpg_name group;
    void *ctx;
    int efd;
    struct fcpg_msg *head, *tail;
};

struct fcpg_wire {
    uint32_t from;
    size_t len;
    uint8_t *data;
};

static struct {
    struct fcpg_handle h[FCPG_HANDLES];
    uint32_t next_node;
    unsigned try_again;
    struct fcpg_wire wire[FCPG_WIRE];
    size_t n_wire;
    uint32_t auto_node;
} fcpg;

static struct fcpg_handle *fcpg_get(cpg_handle_t handle)
{
    if (handle == 0 || handle > FCPG_HANDLES || !fcpg.h[handle - 1].used)
        return NULL;
    return &fcpg.h[handle - 1];
}

static void fcpg_kick(struct fcpg_handle *f)
{
    uint64_t one = 1;
    if (f->head && !f->paused && write(f->efd, &one, sizeof(one)) < 0)
        abort();
}

static void fcpg_push(struct fcpg_handle *f, struct fcpg_msg *m)
{
    m->next = NULL;
    if (f->tail)
        f->tail->next = m;
    else
        f->head = m;
    f->tail = m;
    fcpg_kick(f);
}

static struct fcpg_handle *fcpg_by_node(uint32_t node)
{
    for (size_t i = 0; i < FCPG_HANDLES; i++)
        if (fcpg.h[i].used && fcpg.h[i].node == node)
            return &fcpg.h[i];
    return NULL;
}

/* Hold (on) or release deliveries to node. */
static inline void fcpg_pause(uint32_t node, bool on)
{
    struct fcpg_handle *f = fcpg_by_node(node);
    if (!f)
        abort();
    f->paused = on;
    fcpg_kick(f);
}

/* Queued, undelivered messages for node. */
static inline size_t fcpg_queued(uint32_t node)
{
    size_t n = 0;
    struct fcpg_handle *f = fcpg_by_node(node);
    for (struct fcpg_msg *m = f ? f->head : NULL; m; m = m->next)
        n++;
    return n;
}

static inline void fcpg_wire_clear(void)
{
    for (size_t i = 0; i < fcpg.n_wire; i++)
        free(fcpg.wire[i].data);
    fcpg.n_wire = 0;
}

/* A membership change: every joined handle gets it (snapshot now). */
static void fcpg_confchg(struct fcpg_handle *who, bool joining)
{
    struct cpg_address me = {.nodeid = who->node, .pid = (uint32_t)getpid(), .reason = 1};
    struct cpg_address members[FCPG_HANDLES];
    size_t n = 0;
    for (size_t i = 0; i < FCPG_HANDLES; i++)
        if (fcpg.h[i].used && fcpg.h[i].joined)
            members[n++] = (struct cpg_address){
                .nodeid = fcpg.h[i].node, .pid = (uint32_t)getpid(), .reason = 1};
    for (size_t i = 0; i < FCPG_HANDLES; i++) {
        struct fcpg_handle *f = &fcpg.h[i];
        if (!f->used || !f->joined)
            continue;
        struct fcpg_msg *m = calloc(1, sizeof(*m));
        if (!m)
            abort();
        m->confchg = true;
        memcpy(m->members, members, sizeof(members));
        m->n_members = n;
        if (joining)
            m->joined[m->n_joined++] = me;
        else
            m->left[m->n_left++] = me;
        fcpg_push(f, m);
    }
}

static void fcpg_drop_queue(struct fcpg_handle *f)
{
    struct fcpg_msg *m;
    while ((m = f->head)) {
        f->head = m->next;
        free(m);
    }
    f->tail = NULL;
}

cs_error_t cpg_model_initialize(cpg_handle_t *handle, cpg_model_t model,
                                cpg_model_data_t *model_data, void *context)
{
    if (model != CPG_MODEL_V1)
        return CS_ERR_INVALID_PARAM;
    for (size_t i = 0; i < FCPG_HANDLES; i++) {
        struct fcpg_handle *f = &fcpg.h[i];
        if (f->used)
            continue;
        memset(f, 0, sizeof(*f));
        f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (f->efd < 0)
            return CS_ERR_LIBRARY;
        f->used = true;
        f->node = fcpg.next_node ? fcpg.next_node : ++fcpg.auto_node;
        fcpg.next_node = 0;
        f->model = *(cpg_model_v1_data_t *)model_data;
        f->ctx = context;
        *handle = i + 1;
        return CS_OK;
    }
    return CS_ERR_NO_RESOURCES;
}

cs_error_t cpg_local_get(cpg_handle_t handle, unsigned int *local_nodeid)
{
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    *local_nodeid = f->node;
    return CS_OK;
}

cs_error_t cpg_fd_get(cpg_handle_t handle, int *fd)
{
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    *fd = f->efd;
    return CS_OK;
}

cs_error_t cpg_context_get(cpg_handle_t handle, void **context)
{
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    *context = f->ctx;
    return CS_OK;
}

cs_error_t cpg_join(cpg_handle_t handle, const struct cpg_name *group)
{
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    f->group = *group;
    f->joined = true;
    fcpg_confchg(f, true);
    return CS_OK;
}

cs_error_t cpg_leave(cpg_handle_t handle, const struct cpg_name *group)
{
    (void)group;
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    if (f->joined) {
        f->joined = false;
        fcpg_confchg(f, false);
    }
    return CS_OK;
}

cs_error_t cpg_finalize(cpg_handle_t handle)
{
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    cpg_leave(handle, &f->group);
    fcpg_drop_queue(f);
    close(f->efd);
    f->used = false;
    return CS_OK;
}

cs_error_t cpg_mcast_joined(cpg_handle_t handle, cpg_guarantee_t guarantee,
                            const struct iovec *iovec, unsigned int iov_len)
{
    (void)guarantee;
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f || !f->joined)
        return CS_ERR_BAD_HANDLE;
    if (fcpg.try_again) {
        fcpg.try_again--;
        return CS_ERR_TRY_AGAIN;
    }
    size_t len = 0;
    for (unsigned i = 0; i < iov_len; i++)
        len += iovec[i].iov_len;
    uint8_t *flat = malloc(len ? len : 1);
    if (!flat)
        return CS_ERR_NO_MEMORY;
    size_t off = 0;
    for (unsigned i = 0; i < iov_len; i++) {
        memcpy(flat + off, iovec[i].iov_base, iovec[i].iov_len);
        off += iovec[i].iov_len;
    }
    for (size_t i = 0; i < FCPG_HANDLES; i++) {
        struct fcpg_handle *to = &fcpg.h[i];
        if (!to->used || !to->joined)
            continue;
        struct fcpg_msg *m = calloc(1, sizeof(*m) + len);
        if (!m)
            abort();
        m->from = f->node;
        m->len = len;
        memcpy(m->data, flat, len);
        fcpg_push(to, m);
    }
    if (fcpg.n_wire < FCPG_WIRE)
        fcpg.wire[fcpg.n_wire++] = (struct fcpg_wire){f->node, len, flat};
    else
        free(flat);
    return CS_OK;
}

cs_error_t cpg_dispatch(cpg_handle_t handle, cs_dispatch_flags_t dispatch_types)
{
    (void)dispatch_types;
    struct fcpg_handle *f = fcpg_get(handle);
    if (!f)
        return CS_ERR_BAD_HANDLE;
    uint64_t v;
    while (read(f->efd, &v, sizeof(v)) > 0) {
    }
    while (!f->paused && f->head) {
        struct fcpg_msg *m = f->head;
        f->head = m->next;
        if (!f->head)
            f->tail = NULL;
        if (m->confchg)
            f->model.cpg_confchg_fn(handle, &f->group, m->members, m->n_members, m->left, m->n_left,
                                    m->joined, m->n_joined);
        else
            f->model.cpg_deliver_fn(handle, &f->group, m->from, (uint32_t)getpid(), m->data,
                                    m->len);
        free(m);
        f = fcpg_get(handle); /* a callback may have finalized it */
        if (!f)
            break;
    }
    return CS_OK;
}

#endif
