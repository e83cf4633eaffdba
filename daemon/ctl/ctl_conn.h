/* One control client connection (ctl_conn.c), owned by the server. */
#ifndef HAIKED_CTL_CONN_H
#define HAIKED_CTL_CONN_H

#include <stdbool.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "control.pb-c.h"

struct ctl_server;
struct bufferevent;

struct ctl_conn {
    LIST_ENTRY(ctl_conn) link;
    struct ctl_server *srv;
    struct bufferevent *bev;
    pid_t pid;
    uid_t uid;
    unsigned serial; /* for log lines */
    bool closing;    /* close once the output is written */
    bool eof;        /* the peer shut down its sending side */
};

LIST_HEAD(ctl_conn_list, ctl_conn);

/* Takes fd (non-blocking). A refused peer (code != ERR_NONE) gets one error
 * reply with msg and is closed once it is written. NULL if out of memory
 * (fd closed) or when the connection is already gone. */
struct ctl_conn *ctl_conn_new(struct ctl_server *srv, int fd, pid_t pid, uid_t uid,
                              Ctl__ErrorCode refuse, const char *msg);
void ctl_conn_free(struct ctl_conn *c);

#endif
