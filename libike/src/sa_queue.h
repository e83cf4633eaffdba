/*
 * The request queue of an established IKE SA (window 1, RFC 7296 §2.3).
 *
 * Contract:
 * - Every locally initiated exchange on an ESTABLISHED IKE SA (every
 *   CREATE_CHILD_SA kind, INFORMATIONAL Delete / DPD) is a task: enqueue
 *   its kind and parameters with ike_sa_queue_add(). Nothing is sent by
 *   the caller.
 * - The core starts the head task when the window is free: right away on
 *   add, when the SA becomes established, and when a response completes
 *   (ike_sa_queue_kick()). Only one task runs at a time; it is
 *   queue.tasks[0] with `started` set. A task's start() builds and sends
 *   exactly one request through ike_sa_send_request().
 * - sa_process.c routes every response of an ESTABLISHED SA to the running
 *   task (ike_sa_queue_reply()), which calls its reply(): DONE releases the
 *   task and starts the next one, AGAIN means reply() sent a new request
 *   for the same task (e.g. an INVALID_KE_PAYLOAD retry).
 * - Tasks are dropped (release() called, no more callbacks) when the SA is
 *   freed or dies (ike_sa_transition to DEAD), and by ike_sa_queue_clear();
 *   a task whose reply() kills the SA is dropped once reply() returns.
 * - A request sent outside the queue (e.g. RFC 6311 message-ID sync) must
 *   call ike_sa_queue_kick() once its response is handled: the queue never
 *   starts a task while sa->req is active.
 *
 * Handlers: CREATE_CHILD_SA kinds live in exch_child_create.c,
 * exch_child_rekey.c and exch_ike_rekey.c; the INFORMATIONAL kinds in
 * exch_delete.c and exch_dpd.c (declared in sa_internal.h). task_ops() in
 * sa_queue.c maps kind -> ops; a kind without ops is refused by
 * ike_sa_queue_add() with IKE_E_UNSUPPORTED.
 */
#ifndef IKE_SA_QUEUE_H
#define IKE_SA_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/error.h>
#include <ike/message.h>

#define IKE_SA_QUEUE_MAX 16

enum ike_task_kind {
    IKE_TASK_NONE = 0,
    /* CREATE_CHILD_SA (exch_create_child_sa.c) */
    IKE_TASK_CHILD_CREATE, /* cfg_index: the selector pair sa->cfg->children[cfg_index] */
    IKE_TASK_CHILD_REKEY,  /* spi: inbound SPI of the CHILD SA to rekey */
    IKE_TASK_IKE_REKEY,    /* no parameters */
    /* INFORMATIONAL (exch_informational.c) */
    IKE_TASK_CHILD_DELETE, /* spi: inbound SPI of the CHILD SA to delete (Delete
                            * payload ESP with that SPI; the pair is removed from
                            * the data plane and CHILD_SA_DEL emitted) */
    IKE_TASK_IKE_DELETE,   /* Delete the IKE SA itself (e.g. the old SA after an
                            * IKE rekey); the SA ends DEAD */
    IKE_TASK_DPD,          /* empty INFORMATIONAL (liveness check) */
    IKE_TASK_INVALID_SPI,  /* spi: an unknown inbound ESP/AH SPI to report in
                            * N(INVALID_SPI) (exch_invalid_spi.c) */
    IKE_TASK_KIND_COUNT
};

struct ike_sa;
struct ike_task;

enum ike_task_result {
    IKE_TASK_DONE = 0, /* finished (successfully or not): release, next task */
    IKE_TASK_AGAIN,    /* reply() sent another request for this task */
};

struct ike_task_ops {
    const char *name; /* "CHILD_CREATE", for log lines */
    uint8_t exchange; /* IKE_EXCH_* of its requests */
    /* Sends the request. Anything but IKE_OK drops the task (start() has
     * logged why) and the next one is started. */
    enum ike_status (*start)(struct ike_sa *sa, struct ike_task *t);
    /* The (decrypted, rule-checked) response to the task's request. The
     * outstanding request is already marked done. */
    enum ike_task_result (*reply)(struct ike_sa *sa, struct ike_task *t,
                                  const struct ike_msg *resp);
    /* Frees t->data (may be NULL); called exactly once per task that has
     * been added, started or not. Optional. */
    void (*release)(struct ike_sa *sa, struct ike_task *t);
};

struct ike_task {
    enum ike_task_kind kind;
    uint32_t spi;        /* CHILD_REKEY, CHILD_DELETE: inbound SPI (host order) */
    size_t cfg_index;    /* CHILD_CREATE */
    bool started;        /* its request was sent (only tasks[0] can be) */
    bool followup;       /* queued by a reply() while draining (the Delete of
                          * what a rekey replaced): may still start */
    uint32_t message_id; /* of the request last sent */
    void *data;          /* the handler's exchange state (owned; release()) */
};

struct ike_sa_queue {
    struct ike_task tasks[IKE_SA_QUEUE_MAX]; /* [0] is the head */
    size_t n;
    bool busy; /* inside the running task's reply(): it stays until that returns */
};

/* Appends a task (a duplicate of a queued task of the same kind and
 * parameters is not added again: IKE_OK) and starts it if the window is
 * free. IKE_E_STATE unless ESTABLISHED and active (a passive import never
 * sends: ike_sa_activate() first), IKE_E_TOO_BIG when full,
 * IKE_E_UNSUPPORTED when no handler for kind is linked in. */
enum ike_status ike_sa_queue_add(struct ike_sa *sa, enum ike_task_kind kind, uint32_t spi,
                                 size_t cfg_index);
/* Starts the head task if the SA is ESTABLISHED, no task is running and
 * no request is outstanding. Tasks whose start() fails are dropped. While
 * the SA drains (sa_drain.c) only a followup task starts (moved to the
 * head); the others wait. */
void ike_sa_queue_kick(struct ike_sa *sa);
/* A response of an ESTABLISHED SA: to the running task (IKE_E_STATE if
 * none or the exchange type differs). */
enum ike_status ike_sa_queue_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                   struct ike_diag *diag);
/* Drops every task (release() each). */
void ike_sa_queue_clear(struct ike_sa *sa);
/* The running task (started), or NULL. */
struct ike_task *ike_sa_queue_running(struct ike_sa *sa);
/* The first task of kind with that spi (any spi when match_spi is false),
 * running or waiting; NULL if none. */
struct ike_task *ike_sa_queue_find(struct ike_sa *sa, enum ike_task_kind kind, bool match_spi,
                                   uint32_t spi);
/* Removes a task that has not started (release() called). */
void ike_sa_queue_cancel(struct ike_sa *sa, struct ike_task *t);
/* Moves every waiting (not started) task but IKE_DELETE from `from` to
 * `to` (IKE SA rekey: the new SA takes over the pending work). */
void ike_sa_queue_move(struct ike_sa *from, struct ike_sa *to);
const char *ike_task_kind_name(enum ike_task_kind kind);

/* Handlers, defined by the exchange files. */
extern const struct ike_task_ops ike_task_child_create;
extern const struct ike_task_ops ike_task_child_rekey;
extern const struct ike_task_ops ike_task_ike_rekey;

#endif
