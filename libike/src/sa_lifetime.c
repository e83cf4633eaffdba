/* Lifetimes of the IKE SA and its CHILD SAs (RFC 7296 §2.8) and the timers
 * that drive them and DPD. Soft expiry queues a rekey (CHILD_REKEY /
 * IKE_REKEY tasks, exch_create_child_sa.c) or, for a reauth gateway, asks
 * the caller to reauthenticate; hard expiry deletes. The soft deadline is
 * moved earlier by a random jitter so that two peers with the same
 * configuration rarely rekey at the same moment (fewer collisions).
 * One IKE-SA timer (IKE_TIMER_CHILD_LIFETIME) fires at the earliest
 * deadline of all CHILD SAs, so the caller's timer API names no child.
 */
#include <string.h>

#include <openssl/rand.h>

#include "sa_internal.h"

static uint64_t now_ms(const struct ike_sa *sa)
{
    return sa->ctx.ops->now_ms(sa->ctx.user);
}

/* soft_s * 1000 minus random 0..jitter_s * 1000 ms (at most half of it). */
static uint64_t soft_with_jitter(const struct ike_cfg_lifetime *l)
{
    uint64_t soft = (uint64_t)l->soft_s * 1000u;
    uint64_t jitter = (uint64_t)l->jitter_s * 1000u;
    if (jitter > soft / 2)
        jitter = soft / 2;
    uint32_t r = 0;
    if (jitter && RAND_bytes((uint8_t *)&r, sizeof(r)) == 1)
        soft -= r % (jitter + 1);
    return soft;
}

static void arm(struct ike_sa *sa, enum ike_timer which, uint64_t at)
{
    if (!at || sa->live.draining) { /* draining: the next master's timers decide */
        sa->ctx.ops->timer_cancel(sa->ctx.user, sa, which);
        return;
    }
    uint64_t now = now_ms(sa), ms = at > now ? at - now : 0;
    sa->ctx.ops->timer_arm(sa->ctx.user, sa, which, ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

static enum ike_status check_one(const struct ike_cfg_lifetime *l, const char *what,
                                 struct ike_diag *diag)
{
    if (l->soft_s && l->hard_s && l->soft_s >= l->hard_s)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG,
                             "%s: soft lifetime %u s must be below the hard one %u s", what,
                             l->soft_s, l->hard_s);
    if (l->soft_s > UINT32_MAX / 1000u || l->hard_s > UINT32_MAX / 1000u)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "%s: lifetime above %u s", what,
                             UINT32_MAX / 1000u);
    return IKE_OK;
}

enum ike_status ike_life_cfg_check(const struct ike_sa_cfg *cfg, struct ike_diag *diag)
{
    enum ike_status st = check_one(&cfg->lifetime, "IKE SA", diag);
    for (size_t i = 0; st == IKE_OK && i < cfg->n_children; i++)
        st = check_one(&cfg->children[i].lifetime,
                       cfg->children[i].name ? cfg->children[i].name : "CHILD SA", diag);
    if (st == IKE_OK && (unsigned)cfg->dpd > IKE_DPD_ON_DEMAND)
        st = ike_diag_fail(diag, IKE_E_INVALID_ARG, "DPD mode %u unknown", (unsigned)cfg->dpd);
    return st;
}

/* ---- IKE SA ------------------------------------------------------------- */

static void ike_rearm(struct ike_sa *sa)
{
    if (sa->live.passive || sa->state != IKE_SA_STATE_ESTABLISHED || sa->live.deleting)
        return;
    arm(sa, IKE_TIMER_IKE_LIFETIME,
        earliest(sa->live.ike_soft_done ? 0 : sa->live.ike_soft_at, sa->live.ike_hard_at));
}

void ike_life_start(struct ike_sa *sa)
{
    uint64_t now = now_ms(sa);
    const struct ike_cfg_lifetime *l = &sa->cfg->lifetime;
    sa->live.last_rx_ms = now;
    if (sa->live.passive)
        return;
    sa->live.ike_soft_at = l->soft_s ? now + soft_with_jitter(l) : 0;
    sa->live.ike_hard_at = l->hard_s ? now + (uint64_t)l->hard_s * 1000u : 0;
    sa->live.ike_soft_done = false;
    ike_rearm(sa);
    ike_dpd_arm(sa);
    ike_life_child_rearm(sa);
}

void ike_life_note_rx(struct ike_sa *sa)
{
    sa->live.last_rx_ms = now_ms(sa);
}

static void ike_soft(struct ike_sa *sa)
{
    sa->live.ike_soft_done = true;
    if (sa->cfg->reauth && sa->ctx.ops->reauth) {
        ike_sa_log(sa, IKE_LOG_INFO, "soft lifetime reached: reauthenticating");
        sa->ctx.ops->reauth(sa->ctx.user, sa);
        return;
    }
    ike_sa_log(sa, IKE_LOG_INFO, "soft lifetime reached: rekeying the IKE SA%s",
               sa->cfg->reauth ? " (no reauth handler)" : "");
    if (ike_sa_queue_add(sa, IKE_TASK_IKE_REKEY, 0, 0) != IKE_OK)
        ike_sa_log(sa, IKE_LOG_WARN, "IKE rekey not queued: the SA expires at its hard lifetime");
}

static void ike_timer(struct ike_sa *sa)
{
    uint64_t now = now_ms(sa);
    if (sa->state != IKE_SA_STATE_ESTABLISHED || sa->live.deleting)
        return;
    if (sa->live.ike_hard_at && now >= sa->live.ike_hard_at) {
        ike_sa_log(sa, IKE_LOG_INFO, "hard lifetime reached: deleting the IKE SA");
        (void)ike_sa_delete(sa, NULL);
        return;
    }
    if (sa->live.ike_soft_at && !sa->live.ike_soft_done && now >= sa->live.ike_soft_at)
        ike_soft(sa);
    ike_rearm(sa);
}

/* ---- CHILD SAs ---------------------------------------------------------- */

void ike_life_child_init(struct ike_sa *sa, struct ike_child_export *c)
{
    const struct ike_cfg_lifetime *l = NULL;
    for (size_t i = 0; i < sa->cfg->n_children && !l; i++) {
        const char *name = sa->cfg->children[i].name ? sa->cfg->children[i].name : "-";
        if (strncmp(name, c->cfg_name, sizeof(c->cfg_name)) == 0)
            l = &sa->cfg->children[i].lifetime;
    }
    c->installed_ms = now_ms(sa);
    c->age_ms = 0;
    c->rekey_due = false;
    c->soft_ms = l && l->soft_s ? soft_with_jitter(l) : 0;
    c->hard_ms = l && l->hard_s ? (uint64_t)l->hard_s * 1000u : 0;
}

static bool delete_queued(struct ike_sa *sa, uint32_t spi_in)
{
    return ike_sa_queue_find(sa, IKE_TASK_CHILD_DELETE, true, spi_in) != NULL;
}

/* The next deadline of c still to act on, 0 = none. */
static uint64_t child_next(struct ike_sa *sa, const struct ike_child_export *c)
{
    if (delete_queued(sa, c->spi_in))
        return 0;
    uint64_t soft = c->soft_ms && !c->rekey_due ? c->installed_ms + c->soft_ms : 0;
    uint64_t hard = c->hard_ms ? c->installed_ms + c->hard_ms : 0;
    return earliest(soft, hard);
}

void ike_life_child_rearm(struct ike_sa *sa)
{
    if (sa->live.passive || sa->state != IKE_SA_STATE_ESTABLISHED)
        return;
    uint64_t next = 0;
    for (size_t i = 0; i < sa->n_children; i++)
        next = earliest(next, child_next(sa, &sa->children[i]));
    arm(sa, IKE_TIMER_CHILD_LIFETIME, next);
}

static void child_hard(struct ike_sa *sa, uint32_t spi_in)
{
    ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %08x: hard lifetime reached, deleting", spi_in);
    if (ike_sa_queue_add(sa, IKE_TASK_CHILD_DELETE, spi_in, 0) != IKE_OK)
        ike_child_remove(sa, ike_child_find_in(sa, spi_in), "expired, Delete not queued");
}

static void child_soft(struct ike_sa *sa, struct ike_child_export *c)
{
    c->rekey_due = true;
    ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %s %08x: soft lifetime reached, rekeying", c->cfg_name,
               c->spi_in);
    if (ike_sa_queue_add(sa, IKE_TASK_CHILD_REKEY, c->spi_in, 0) != IKE_OK)
        ike_sa_log(sa, IKE_LOG_WARN,
                   "CHILD SA %08x: rekey not queued, it expires at its hard lifetime", c->spi_in);
}

static void child_timer(struct ike_sa *sa)
{
    if (sa->state != IKE_SA_STATE_ESTABLISHED)
        return;
    uint64_t now = now_ms(sa);
    /* by SPI: queueing may start a task, removal shifts the array */
    uint32_t hard[IKE_SA_QUEUE_MAX], soft[IKE_SA_QUEUE_MAX];
    size_t n_hard = 0, n_soft = 0;
    for (size_t i = 0; i < sa->n_children; i++) {
        const struct ike_child_export *c = &sa->children[i];
        if (delete_queued(sa, c->spi_in))
            continue;
        if (c->hard_ms && now >= c->installed_ms + c->hard_ms && n_hard < IKE_SA_QUEUE_MAX)
            hard[n_hard++] = c->spi_in;
        else if (c->soft_ms && !c->rekey_due && now >= c->installed_ms + c->soft_ms &&
                 n_soft < IKE_SA_QUEUE_MAX)
            soft[n_soft++] = c->spi_in;
    }
    for (size_t i = 0; i < n_soft && sa->state == IKE_SA_STATE_ESTABLISHED; i++) {
        size_t k = ike_child_find_in(sa, soft[i]);
        if (k != SIZE_MAX)
            child_soft(sa, &sa->children[k]);
    }
    for (size_t i = 0; i < n_hard && sa->state == IKE_SA_STATE_ESTABLISHED; i++)
        if (ike_child_find_in(sa, hard[i]) != SIZE_MAX)
            child_hard(sa, hard[i]);
    ike_life_child_rearm(sa);
}

enum ike_status ike_sa_child_limit(struct ike_sa *sa, uint32_t spi_in, bool hard,
                                   struct ike_diag *diag)
{
    if (!sa)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_child_limit: NULL SA");
    if (sa->state != IKE_SA_STATE_ESTABLISHED)
        return ike_diag_fail(diag, IKE_E_STATE, "CHILD SA limit in state %s",
                             ike_sa_state_name(sa->state));
    size_t k = ike_child_find_in(sa, spi_in);
    if (k == SIZE_MAX)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "no CHILD SA with inbound SPI %08x", spi_in);
    ike_sa_log(sa, IKE_LOG_INFO, "CHILD SA %08x: %s traffic limit reported", spi_in,
               hard ? "hard" : "soft");
    if (hard && !delete_queued(sa, spi_in))
        child_hard(sa, spi_in);
    else if (!hard && !sa->children[k].rekey_due)
        child_soft(sa, &sa->children[k]);
    ike_life_child_rearm(sa);
    return IKE_OK;
}

void ike_life_timer(struct ike_sa *sa, enum ike_timer which)
{
    if (which == IKE_TIMER_DPD)
        ike_dpd_timer(sa);
    else if (which == IKE_TIMER_IKE_LIFETIME)
        ike_timer(sa);
    else if (which == IKE_TIMER_CHILD_LIFETIME)
        child_timer(sa);
}

/* ---- export, import, takeover ------------------------------------------- */

static uint64_t left(uint64_t at, uint64_t now)
{
    if (!at)
        return 0;
    return at > now ? at - now : 1; /* due: fires right after activation */
}

void ike_life_export(const struct ike_sa *sa, struct ike_sa_export *ex)
{
    uint64_t now = now_ms(sa);
    ex->soft_left_ms = sa->live.ike_soft_done ? 0 : left(sa->live.ike_soft_at, now);
    ex->hard_left_ms = left(sa->live.ike_hard_at, now);
    ex->peer_replay_sync = sa->sync.peer_replay;
}

void ike_life_export_child(const struct ike_sa *sa, struct ike_child_export *c)
{
    uint64_t now = now_ms(sa);
    c->age_ms = now > c->installed_ms ? now - c->installed_ms : 0;
}

void ike_life_import(struct ike_sa *sa, const struct ike_sa_export *ex)
{
    uint64_t now = now_ms(sa);
    sa->live.passive = true;
    sa->live.ike_soft_at = ex->soft_left_ms ? now + ex->soft_left_ms : 0;
    sa->live.ike_hard_at = ex->hard_left_ms ? now + ex->hard_left_ms : 0;
    sa->live.ike_soft_done = false;
    sa->sync.peer_replay = ex->peer_replay_sync;
}

void ike_life_import_child(struct ike_sa *sa, struct ike_child_export *c)
{
    uint64_t now = now_ms(sa);
    c->installed_ms = now > c->age_ms ? now - c->age_ms : 0;
}

void ike_life_rearm_all(struct ike_sa *sa)
{
    ike_rearm(sa);
    ike_dpd_arm(sa);
    ike_life_child_rearm(sa);
}

void ike_sa_activate(struct ike_sa *sa)
{
    if (!sa || !sa->live.passive || sa->state != IKE_SA_STATE_ESTABLISHED)
        return;
    sa->live.passive = false;
    sa->live.draining = false;
    sa->live.last_rx_ms = now_ms(sa);
    ike_sa_log(sa, IKE_LOG_INFO, "active: lifetimes and DPD armed");
    ike_life_rearm_all(sa);
}

uint64_t ike_sa_rekey_in_ms(const struct ike_sa *sa)
{
    if (!sa->live.ike_soft_at || sa->live.ike_soft_done)
        return UINT64_MAX;
    return left(sa->live.ike_soft_at, now_ms(sa));
}

uint64_t ike_sa_expire_in_ms(const struct ike_sa *sa)
{
    return sa->live.ike_hard_at ? left(sa->live.ike_hard_at, now_ms(sa)) : UINT64_MAX;
}
