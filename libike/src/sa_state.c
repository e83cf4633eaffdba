/* The IKE SA state machine's transitions: every state change goes through
 * ike_sa_transition(), which refuses moves not listed here. */
#include <stdarg.h>
#include <stdio.h>

#include "sa_internal.h"

static const char *const state_names[] = {
    [IKE_SA_STATE_NEW] = "NEW",
    [IKE_SA_STATE_INIT_SENT] = "INIT_SENT",
    [IKE_SA_STATE_INIT_DONE] = "INIT_DONE",
    [IKE_SA_STATE_AUTH_SENT] = "AUTH_SENT",
    [IKE_SA_STATE_ESTABLISHED] = "ESTABLISHED",
    [IKE_SA_STATE_DEAD] = "DEAD",
};

const char *ike_sa_state_name(enum ike_sa_state state)
{
    if ((size_t)state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
        return state_names[state];
    return "UNKNOWN";
}

#define BIT(s) (1u << (s))

/* Allowed targets per state. Any state may die. */
static const unsigned allowed[] = {
    [IKE_SA_STATE_NEW] = BIT(IKE_SA_STATE_INIT_SENT) | BIT(IKE_SA_STATE_INIT_DONE) |
                         BIT(IKE_SA_STATE_ESTABLISHED) /* import */ | BIT(IKE_SA_STATE_DEAD),
    [IKE_SA_STATE_INIT_SENT] = BIT(IKE_SA_STATE_AUTH_SENT) | BIT(IKE_SA_STATE_DEAD),
    [IKE_SA_STATE_INIT_DONE] = BIT(IKE_SA_STATE_ESTABLISHED) | BIT(IKE_SA_STATE_DEAD),
    [IKE_SA_STATE_AUTH_SENT] = BIT(IKE_SA_STATE_ESTABLISHED) | BIT(IKE_SA_STATE_DEAD),
    [IKE_SA_STATE_ESTABLISHED] = BIT(IKE_SA_STATE_DEAD),
    [IKE_SA_STATE_DEAD] = 0,
};

bool ike_sa_transition_allowed(enum ike_sa_state from, enum ike_sa_state to)
{
    if ((size_t)from >= sizeof(allowed) / sizeof(allowed[0]) || (unsigned)to >= 32)
        return false;
    return (allowed[from] & BIT(to)) != 0;
}

enum ike_status ike_sa_transition(struct ike_sa *sa, enum ike_sa_state to)
{
    if (!ike_sa_transition_allowed(sa->state, to)) {
        ike_sa_log(sa, IKE_LOG_ERR, "refused state %s -> %s", ike_sa_state_name(sa->state),
                   ike_sa_state_name(to));
        return IKE_E_STATE;
    }
    ike_sa_log(sa, IKE_LOG_INFO, "state %s -> %s", ike_sa_state_name(sa->state),
               ike_sa_state_name(to));
    sa->state = to;
    if (to == IKE_SA_STATE_ESTABLISHED)
        ike_life_start(sa); /* lifetimes, DPD (not for a passive import) */
    if (to == IKE_SA_STATE_DEAD) {
        for (int t = 0; t < IKE_TIMER_COUNT; t++)
            sa->ctx.ops->timer_cancel(sa->ctx.user, sa, (enum ike_timer)t);
        ike_sa_queue_clear(sa); /* our queued exchanges die with it */
    }
    return IKE_OK;
}

void ike_sa_fail(struct ike_sa *sa, enum ike_log_level level, const char *fmt, ...)
{
    char why[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    ike_sa_log(sa, level, "%s", why);
    if (sa->state == IKE_SA_STATE_ESTABLISHED)
        ike_sa_remove_all(sa); /* CHILD_SA_DEL..., IKE_SA_DEL: the standby must know */
    if (sa->state != IKE_SA_STATE_DEAD)
        (void)ike_sa_transition(sa, IKE_SA_STATE_DEAD);
}
