/* Signals on the event loop: SIGTERM/SIGINT shut down cleanly, SIGHUP
 * reloads the configuration. libevent turns them into loop events, so the
 * handlers run as ordinary callbacks (no async-signal-safety concerns). */
#ifndef HAIKED_SIGNALS_H
#define HAIKED_SIGNALS_H

struct daemon;
struct event;

struct signals {
    struct daemon *d;
    struct event *term, *intr, *hup, *exit_timer;
    int exit_code;
    unsigned waited_ms; /* since the shutdown began */
};

int signals_init(struct signals *s, struct daemon *d);
void signals_fini(struct signals *s);

#endif
