/*
 * Serves the populated test runtime (ctl_fixture.c) on a control socket
 * until SIGTERM/SIGINT, printing the socket path first: for trying hactl
 * by hand and for scripts (`ctl_fixture_serve & hactl --socket PATH ...`).
 */
#include <signal.h>
#include <stdio.h>

#include <event2/event.h>

#include "ctl_fixture.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int main(void)
{
    struct ctl_fixture fx;
    if (ctl_fixture_init(&fx) != 0)
        return 1;
    struct event *term = evsignal_new(fx.base, SIGTERM, on_signal, fx.base);
    struct event *intr = evsignal_new(fx.base, SIGINT, on_signal, fx.base);
    event_add(term, NULL);
    event_add(intr, NULL);
    printf("%s\n", fx.sock);
    fflush(stdout);
    event_base_dispatch(fx.base);
    event_free(term);
    event_free(intr);
    ctl_fixture_free(&fx);
    return 0;
}
