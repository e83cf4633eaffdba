/* corosync's ring, link and quorum state, asked per request with a bound
 * (see ctl_corosync.h). */
#include "ctl/ctl_corosync.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/votequorum.h>

/* Workers still running. One that timed out stays blocked in libqb until
 * corosync answers or dies; an operator repeating `hactl status` against a
 * hung corosync must not pile up threads, so past this many no new query
 * starts. Process-wide because threads are. */
#define CS_MAX_IN_FLIGHT 4
static atomic_int cs_in_flight;

/* Shared by the caller and the worker; the last one to let go frees it, so
 * a worker that outlives the caller's wait still writes into valid memory. */
struct cs_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    bool done;
    uint32_t peers[CTL_CS_MAX_NODES];
    size_t n_peers;
    struct ctl_corosync res;
};

static void unavailable(char *dst, size_t size, const char *what, cs_error_t e)
{
    snprintf(dst, size, "unavailable: %s (%s)", what, cs_strerror(e));
}

/* Ring status strings are multi-line ("\n\taddr\t= ...\n\tstatus:..."). */
static void collapse(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    bool space = false;
    for (; src && *src && n + 1 < size; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < size)
            dst[n++] = ' ';
        space = false;
        dst[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    dst[n] = '\0';
}

static void read_rings(corosync_cfg_handle_t h, struct ctl_corosync *r)
{
    char **names = NULL, **status = NULL;
    unsigned int n = 0;
    cs_error_t e = corosync_cfg_ring_status_get(h, &names, &status, &n);
    if (e != CS_OK) {
        unavailable(r->rings_error, sizeof(r->rings_error), "ring status", e);
        return;
    }
    for (unsigned int i = 0; i < n; i++) {
        if (r->n_rings < CTL_CS_MAX_RINGS) {
            struct ctl_cs_ring *ring = &r->rings[r->n_rings++];
            collapse(ring->name, sizeof(ring->name), names[i]);
            collapse(ring->status, sizeof(ring->status), status[i]);
        }
        free(names[i]);
        free(status[i]);
    }
    free(names);
    free(status);
}

static void read_links(corosync_cfg_handle_t h, const struct cs_job *j, struct ctl_corosync *r)
{
    for (size_t p = 0; p < j->n_peers; p++) {
        if (j->peers[p] == r->local_node)
            continue;
        struct corosync_cfg_node_status_v1 ns;
        memset(&ns, 0, sizeof(ns));
        if (corosync_cfg_node_status_get(h, j->peers[p], CFG_NODE_STATUS_V1, &ns) != CS_OK)
            continue; /* a node corosync does not know: no links to list */
        for (uint32_t l = 0; l < CFG_MAX_LINKS && r->n_links < CTL_CS_MAX_LINKS; l++) {
            const struct corosync_knet_link_status_v1 *ls = &ns.link_status[l];
            if (!ls->enabled)
                continue;
            struct ctl_cs_link *out = &r->links[r->n_links++];
            out->node = j->peers[p];
            out->link = l;
            out->enabled = true;
            out->connected = ls->connected;
            out->mtu = ls->mtu;
            collapse(out->src, sizeof(out->src), ls->src_ipaddr);
            collapse(out->dst, sizeof(out->dst), ls->dst_ipaddr);
        }
    }
}

static void query_cfg(const struct cs_job *j, struct ctl_corosync *r)
{
    corosync_cfg_handle_t h;
    corosync_cfg_callbacks_t cb = {0};
    cs_error_t e = corosync_cfg_initialize(&h, &cb);
    if (e != CS_OK) {
        unavailable(r->rings_error, sizeof(r->rings_error), "cannot connect to corosync", e);
        return;
    }
    unsigned int local = 0;
    if (corosync_cfg_local_get(h, &local) == CS_OK)
        r->local_node = local;
    read_rings(h, r);
    read_links(h, j, r);
    corosync_cfg_finalize(h);
}

static void query_quorum(struct ctl_corosync *r)
{
    votequorum_handle_t h;
    votequorum_callbacks_t cb;
    memset(&cb, 0, sizeof(cb));
    cs_error_t e = votequorum_initialize(&h, &cb);
    if (e != CS_OK) {
        unavailable(r->quorum_error, sizeof(r->quorum_error), "cannot connect to votequorum", e);
        return;
    }
    struct votequorum_info info;
    memset(&info, 0, sizeof(info));
    e = r->local_node ? votequorum_getinfo(h, r->local_node, &info) : CS_ERR_NOT_EXIST;
    if (e != CS_OK) {
        unavailable(r->quorum_error, sizeof(r->quorum_error), "votequorum_getinfo", e);
    } else {
        r->quorate = info.flags & VOTEQUORUM_INFO_QUORATE;
        r->two_node = info.flags & VOTEQUORUM_INFO_TWONODE;
        r->wait_for_all = info.flags & VOTEQUORUM_INFO_WAIT_FOR_ALL;
        r->expected_votes = info.node_expected_votes;
        r->total_votes = info.total_votes;
        r->quorum = info.quorum;
    }
    votequorum_finalize(h);
}

/* nodelist.node.N.{nodeid,name}: what the operator called the nodes. */
static void query_names(struct ctl_corosync *r)
{
    cmap_handle_t h;
    if (cmap_initialize(&h) != CS_OK)
        return;
    for (unsigned i = 0; i < CTL_CS_MAX_NODES; i++) {
        char key[64];
        uint32_t id;
        char *name = NULL;
        snprintf(key, sizeof(key), "nodelist.node.%u.nodeid", i);
        if (cmap_get_uint32(h, key, &id) != CS_OK)
            break;
        snprintf(key, sizeof(key), "nodelist.node.%u.name", i);
        if (cmap_get_string(h, key, &name) == CS_OK && name) {
            struct ctl_cs_node_name *nn = &r->names[r->n_names++];
            nn->node = id;
            collapse(nn->name, sizeof(nn->name), name);
        }
        free(name);
    }
    cmap_finalize(h);
}

static void job_put(struct cs_job *j)
{
    pthread_mutex_lock(&j->mu);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (last) {
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
        free(j);
    }
}

static void *worker(void *arg)
{
    struct cs_job *j = arg;
    /* j->res is the worker's until done is set; the caller reads it only
     * after seeing done under the lock. */
    query_cfg(j, &j->res);
    query_quorum(&j->res);
    query_names(&j->res);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    job_put(j);
    atomic_fetch_sub(&cs_in_flight, 1);
    return NULL;
}

static void fail_all(struct ctl_corosync *out, const char *why)
{
    snprintf(out->rings_error, sizeof(out->rings_error), "unavailable: %s", why);
    snprintf(out->quorum_error, sizeof(out->quorum_error), "unavailable: %s", why);
}

/* The worker gets no signals: they belong to the daemon's loop. */
static int start_worker(struct cs_job *j)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &attr, worker, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc;
}

static struct cs_job *job_new(const uint32_t *peers, size_t n_peers)
{
    struct cs_job *j = calloc(1, sizeof(*j));
    pthread_condattr_t ca;
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->refs = 2;
    for (size_t i = 0; i < n_peers && j->n_peers < CTL_CS_MAX_NODES; i++)
        j->peers[j->n_peers++] = peers[i];
    return j;
}

void ctl_corosync_query(const uint32_t *peers, size_t n_peers, unsigned timeout_ms,
                        struct ctl_corosync *out)
{
    memset(out, 0, sizeof(*out));
    if (atomic_fetch_add(&cs_in_flight, 1) >= CS_MAX_IN_FLIGHT) {
        atomic_fetch_sub(&cs_in_flight, 1);
        fail_all(out, "earlier queries are still waiting for corosync");
        return;
    }
    struct cs_job *j = job_new(peers, n_peers);
    if (!j) {
        atomic_fetch_sub(&cs_in_flight, 1);
        fail_all(out, "out of memory");
        return;
    }
    int rc = start_worker(j);
    if (rc != 0) {
        atomic_fetch_sub(&cs_in_flight, 1);
        j->refs = 1;
        job_put(j);
        char why[96];
        snprintf(why, sizeof(why), "cannot start the query (%s)", strerror(rc));
        fail_all(out, why);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->mu);
    int w = 0;
    while (!j->done && w != ETIMEDOUT)
        w = pthread_cond_timedwait(&j->cv, &j->mu, &until);
    bool done = j->done;
    if (done)
        *out = j->res;
    pthread_mutex_unlock(&j->mu);
    if (!done) {
        char why[96];
        snprintf(why, sizeof(why), "corosync did not answer within %u ms", timeout_ms);
        fail_all(out, why);
    }
    job_put(j);
}

const char *ctl_corosync_node_name(const struct ctl_corosync *cs, uint32_t node)
{
    for (size_t i = 0; i < cs->n_names; i++)
        if (cs->names[i].node == node && cs->names[i].name[0])
            return cs->names[i].name;
    return NULL;
}
