/* SIGTERM/SIGINT/SIGHUP as event-loop callbacks (see signals.h). */
#include "signals.h"

#include <signal.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "gw_internal.h"

/* How long the Deletes sent at shutdown may take to be answered (each
 * answered one frees its SA); after that the rest are freed unanswered. */
#define SHUTDOWN_WAIT_MS 3000
#define SHUTDOWN_TICK_MS 50

static size_t live_sas(struct daemon *d)
{
    size_t n = 0;
    for (struct gateway *gw = gw_first(d); gw; gw = gw_next(gw))
        n += gw->n_sas;
    return n + gw_retire_sas(d); /* a reload's retiring gateways wait too */
}

static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct signals *s = arg;
    s->waited_ms += SHUTDOWN_TICK_MS;
    size_t n = live_sas(s->d);
    if (n && s->waited_ms < SHUTDOWN_WAIT_MS)
        return;
    if (n)
        hlog_sys(&s->d->log, HLOG_MAIN, IKE_LOG_WARN,
                 "%zu IKE SA(s) did not answer their Delete within %d ms: freed", n,
                 SHUTDOWN_WAIT_MS);
    else
        hlog_sys(&s->d->log, HLOG_MAIN, IKE_LOG_INFO, "every IKE SA deleted: exiting");
    event_base_loopbreak(s->d->base);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct signals *s = arg;
    struct daemon *d = s->d;
    if (d->stopping) {
        hlog_sys(&d->log, HLOG_MAIN, IKE_LOG_WARN, "second %s: exiting now",
                 strsignal((int)sig));
        event_base_loopbreak(d->base);
        return;
    }
    sd_notify(0, "STOPPING=1");
    hlog_sys(&d->log, HLOG_MAIN, IKE_LOG_INFO, "%s: shutting down", strsignal((int)sig));
    daemon_shutdown(d);
    struct timeval tv = {0, SHUTDOWN_TICK_MS * 1000};
    evtimer_add(s->exit_timer, &tv);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what;
    struct signals *s = arg;
    struct daemon *d = s->d;
    sd_notify(0, "RELOADING=1");
    hlog_sys(&d->log, HLOG_MAIN, IKE_LOG_INFO, "SIGHUP: reloading %s", d->config_path);
    struct cfg *next = NULL;
    struct cfg_errors errs = {0};
    if (cfg_load(d->config_path, &next, &errs) < 0) {
        for (size_t i = 0; i < errs.n; i++)
            hlog_sys(&d->log, HLOG_CFG, IKE_LOG_ERR, "%s", errs.v[i].text);
        hlog_sys(&d->log, HLOG_CFG, IKE_LOG_ERR,
                 "reload refused (%zu errors): the running configuration stays in force",
                 errs.n + errs.dropped);
        cfg_errors_clear(&errs);
        sd_notify(0, "READY=1");
        return;
    }
    cfg_errors_clear(&errs);
    char err[256];
    if (daemon_reload(d, next, err, sizeof(err)) < 0)
        hlog_sys(&d->log, HLOG_CFG, IKE_LOG_ERR, "reload: %s", err);
    sd_notify(0, "READY=1");
}

int signals_init(struct signals *s, struct daemon *d)
{
    memset(s, 0, sizeof(*s));
    s->d = d;
    s->term = evsignal_new(d->base, SIGTERM, on_stop, s);
    s->intr = evsignal_new(d->base, SIGINT, on_stop, s);
    s->hup = evsignal_new(d->base, SIGHUP, on_hup, s);
    s->exit_timer = event_new(d->base, -1, EV_PERSIST, on_exit_timer, s);
    if (!s->term || !s->intr || !s->hup || !s->exit_timer || evsignal_add(s->term, NULL) < 0 ||
        evsignal_add(s->intr, NULL) < 0 || evsignal_add(s->hup, NULL) < 0) {
        signals_fini(s);
        return -1;
    }
    return 0;
}

void signals_fini(struct signals *s)
{
    struct event *evs[] = {s->term, s->intr, s->hup, s->exit_timer};
    for (size_t i = 0; i < 4; i++)
        if (evs[i])
            event_free(evs[i]);
    s->term = s->intr = s->hup = s->exit_timer = NULL;
}
