/* The request queue of an established IKE SA: one exchange at a time
 * (window 1), started when the window is free. See sa_queue.h. */
#include <string.h>

#include "sa_internal.h"

/* Handlers per kind: CREATE_CHILD_SA in exch_child_*.c / exch_ike_rekey.c,
 * INFORMATIONAL in exch_delete.c / exch_dpd.c. */
static const struct ike_task_ops *task_ops(enum ike_task_kind kind)
{
    switch (kind) {
    case IKE_TASK_CHILD_CREATE: return &ike_task_child_create;
    case IKE_TASK_CHILD_REKEY: return &ike_task_child_rekey;
    case IKE_TASK_IKE_REKEY: return &ike_task_ike_rekey;
    case IKE_TASK_CHILD_DELETE: return &ike_task_child_delete;
    case IKE_TASK_IKE_DELETE: return &ike_task_ike_delete;
    case IKE_TASK_DPD: return &ike_task_dpd;
    case IKE_TASK_INVALID_SPI: return &ike_task_invalid_spi;
    case IKE_TASK_NONE:
    case IKE_TASK_KIND_COUNT: break;
    }
    return NULL;
}

const char *ike_task_kind_name(enum ike_task_kind kind)
{
    switch (kind) {
    case IKE_TASK_CHILD_CREATE: return "CHILD_CREATE";
    case IKE_TASK_CHILD_REKEY: return "CHILD_REKEY";
    case IKE_TASK_IKE_REKEY: return "IKE_REKEY";
    case IKE_TASK_CHILD_DELETE: return "CHILD_DELETE";
    case IKE_TASK_IKE_DELETE: return "IKE_DELETE";
    case IKE_TASK_DPD: return "DPD";
    case IKE_TASK_INVALID_SPI: return "INVALID_SPI";
    case IKE_TASK_NONE:
    case IKE_TASK_KIND_COUNT: break;
    }
    return "UNKNOWN";
}

static bool same_task(const struct ike_task *t, enum ike_task_kind kind, uint32_t spi,
                      size_t cfg_index)
{
    return t->kind == kind && t->spi == spi && t->cfg_index == cfg_index;
}

/* Removes tasks[i], releasing its state. */
static void drop_at(struct ike_sa *sa, size_t i)
{
    struct ike_sa_queue *q = &sa->queue;
    struct ike_task t = q->tasks[i];
    memmove(&q->tasks[i], &q->tasks[i + 1], (q->n - i - 1) * sizeof(q->tasks[0]));
    q->n--;
    memset(&q->tasks[q->n], 0, sizeof(q->tasks[0]));
    const struct ike_task_ops *ops = task_ops(t.kind);
    if (ops && ops->release)
        ops->release(sa, &t);
}

enum ike_status ike_sa_queue_add(struct ike_sa *sa, enum ike_task_kind kind, uint32_t spi,
                                 size_t cfg_index)
{
    struct ike_sa_queue *q = &sa->queue;
    if (sa->state != IKE_SA_STATE_ESTABLISHED)
        return IKE_E_STATE;
    if (sa->live.passive) { /* a standby's copy never sends (DESIGN.md §3) */
        ike_sa_log(sa, IKE_LOG_WARN, "passive SA: %s task refused", ike_task_kind_name(kind));
        return IKE_E_STATE;
    }
    if (!task_ops(kind)) {
        ike_sa_log(sa, IKE_LOG_WARN, "%s task not supported by this libike",
                   ike_task_kind_name(kind));
        return IKE_E_UNSUPPORTED;
    }
    for (size_t i = 0; i < q->n; i++)
        if (same_task(&q->tasks[i], kind, spi, cfg_index)) {
            /* already queued: e.g. a lifetime firing twice; a reply that
             * needs it while draining lets the held copy start */
            if (sa->live.draining && q->busy)
                q->tasks[i].followup = true; /* started once reply() returns */
            return IKE_OK;
        }
    if (q->n >= IKE_SA_QUEUE_MAX) {
        ike_sa_log(sa, IKE_LOG_WARN, "request queue full (%u), %s task refused", IKE_SA_QUEUE_MAX,
                   ike_task_kind_name(kind));
        return IKE_E_TOO_BIG;
    }
    /* Inside a reply(): this task finishes the running exchange. */
    bool followup = sa->live.draining && q->busy;
    q->tasks[q->n++] =
        (struct ike_task){.kind = kind, .spi = spi, .cfg_index = cfg_index, .followup = followup};
    ike_sa_log(sa, IKE_LOG_DEBUG, "queued %s task (%zu waiting)%s", ike_task_kind_name(kind), q->n,
               !sa->live.draining ? ""
               : followup         ? ", finishing the running exchange while draining"
                                  : ", held: draining for an HA handover");
    ike_sa_queue_kick(sa);
    return IKE_OK;
}

/* Draining: the first followup task to the head; false when none waits. */
static bool followup_to_head(struct ike_sa_queue *q)
{
    size_t i = 0;
    while (i < q->n && !q->tasks[i].followup)
        i++;
    if (i == q->n)
        return false;
    struct ike_task t = q->tasks[i];
    memmove(&q->tasks[1], &q->tasks[0], i * sizeof(q->tasks[0]));
    q->tasks[0] = t;
    return true;
}

void ike_sa_queue_kick(struct ike_sa *sa)
{
    struct ike_sa_queue *q = &sa->queue;
    while (sa->state == IKE_SA_STATE_ESTABLISHED && q->n > 0 && !q->tasks[0].started &&
           !sa->req.active) {
        if (sa->live.draining && !followup_to_head(q))
            break;
        struct ike_task *t = &q->tasks[0];
        const struct ike_task_ops *ops = task_ops(t->kind);
        t->started = true;
        enum ike_status st = ops->start(sa, t);
        if (st == IKE_OK && sa->req.active) {
            t->message_id = sa->req.message_id;
            return;
        }
        ike_sa_log(sa, IKE_LOG_DEBUG, "%s task not started (%s)", ops->name, ike_status_str(st));
        drop_at(sa, 0);
    }
    if (sa->state == IKE_SA_STATE_DEAD)
        ike_sa_queue_clear(sa);
}

enum ike_status ike_sa_queue_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                   struct ike_diag *diag)
{
    struct ike_task *t = ike_sa_queue_running(sa);
    const struct ike_task_ops *ops = t ? task_ops(t->kind) : NULL;
    if (!ops || ops->exchange != resp->hdr.exchange || t->message_id != resp->hdr.message_id)
        return ike_diag_fail(diag, IKE_E_STATE, "%s response %u answers no running task",
                             ike_exchange_name(resp->hdr.exchange), resp->hdr.message_id);
    ike_sa_request_done(sa);
    sa->queue.busy = true;
    enum ike_task_result r = ops->reply(sa, t, resp);
    sa->queue.busy = false;
    if (sa->state == IKE_SA_STATE_DEAD) {
        ike_sa_queue_clear(sa);
        return IKE_OK;
    }
    if (r == IKE_TASK_AGAIN && sa->req.active) {
        t->message_id = sa->req.message_id;
        return IKE_OK;
    }
    drop_at(sa, 0);
    ike_sa_queue_kick(sa);
    return IKE_OK;
}

void ike_sa_queue_clear(struct ike_sa *sa)
{
    size_t keep = sa->queue.busy ? 1 : 0;
    while (sa->queue.n > keep)
        drop_at(sa, sa->queue.n - 1);
}

struct ike_task *ike_sa_queue_running(struct ike_sa *sa)
{
    return sa->queue.n > 0 && sa->queue.tasks[0].started ? &sa->queue.tasks[0] : NULL;
}

struct ike_task *ike_sa_queue_find(struct ike_sa *sa, enum ike_task_kind kind, bool match_spi,
                                   uint32_t spi)
{
    for (size_t i = 0; i < sa->queue.n; i++) {
        struct ike_task *t = &sa->queue.tasks[i];
        if (t->kind == kind && (!match_spi || t->spi == spi))
            return t;
    }
    return NULL;
}

void ike_sa_queue_cancel(struct ike_sa *sa, struct ike_task *t)
{
    size_t i = (size_t)(t - sa->queue.tasks);
    if (i < sa->queue.n && !t->started)
        drop_at(sa, i);
}

void ike_sa_queue_move(struct ike_sa *from, struct ike_sa *to)
{
    struct ike_sa_queue *q = &from->queue;
    size_t i = 0;
    while (i < q->n) {
        struct ike_task *t = &q->tasks[i];
        if (t->started || t->kind == IKE_TASK_IKE_DELETE || to->queue.n >= IKE_SA_QUEUE_MAX) {
            i++;
            continue;
        }
        to->queue.tasks[to->queue.n++] = *t;
        memmove(&q->tasks[i], &q->tasks[i + 1], (q->n - i - 1) * sizeof(q->tasks[0]));
        q->n--;
        memset(&q->tasks[q->n], 0, sizeof(q->tasks[0]));
    }
}
