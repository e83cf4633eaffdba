/* The server's state, shared by ctl_server.c and ctl_conn.c only. */
#ifndef HAIKED_CTL_SERVER_INT_H
#define HAIKED_CTL_SERVER_INT_H

#include <stdarg.h>

#include "ctl/ctl_conn.h"
#include "ctl/ctl_dispatch.h"
#include "ctl/ctl_server.h"

struct evconnlistener;
struct event;

struct ctl_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *resume; /* re-enables accept after EMFILE & co */
    char *path;
    struct ctl_ctx ctx;
    struct ctl_server_opts opts; /* defaults filled in */
    struct ctl_conn_list conns;
    size_t n_conns;
    unsigned next_serial;
    struct ctl_server_stats stats;
};

void ctl_srv_log(struct ctl_server *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
