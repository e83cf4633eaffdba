/*
 * The control-protocol client library: everything a program needs to talk
 * to haiked's control socket (hactl is built on this and nothing else of
 * the daemon). Blocking calls with a deadline; errors as one-line strings.
 *
 *     struct ctl_client *c;
 *     char err[256];
 *     if (ctl_client_open(path, 5000, &c, err, sizeof(err)) != CTL_CLIENT_OK) ...
 *     Ctl__Request req = CTL__REQUEST__INIT;  (set one command, see control.proto)
 *     Ctl__Response *resp;
 *     if (ctl_client_call(c, &req, &resp, err, sizeof(err)) == CTL_CLIENT_OK) {
 *         if (resp->error) ... resp->error->message
 *         ctl_client_response_free(resp);
 *     }
 *     ctl_client_close(c);
 *
 * A response carrying an error (ctl.Error) is still CTL_CLIENT_OK: the
 * transport worked, the daemon said no. The statuses below are about
 * reaching the daemon and understanding its answer.
 */
#ifndef HAIKED_CTLCLIENT_H
#define HAIKED_CTLCLIENT_H

#include <stddef.h>

#include "control.pb-c.h"
#include "ctl_frame.h"

enum ctl_client_status {
    CTL_CLIENT_OK = 0,
    CTL_CLIENT_E_CONNECT,  /* no daemon at the path, or not allowed to connect */
    CTL_CLIENT_E_TIMEOUT,  /* no (complete) answer before the deadline */
    CTL_CLIENT_E_IO,       /* the connection broke */
    CTL_CLIENT_E_PROTOCOL, /* the answer is not a valid frame / ctl.Response */
    CTL_CLIENT_E_NOMEM,
};

struct ctl_client;

/* Connects to the daemon at path (NULL: CTL_DEFAULT_SOCKET). timeout_ms
 * bounds the connect and, later, each ctl_client_call(). */
enum ctl_client_status ctl_client_open(const char *path, int timeout_ms, struct ctl_client **out,
                                       char *err, size_t errlen);

/* Sends req and waits for its response (*resp, free it with
 * ctl_client_response_free). If req has no id, the call numbers it. */
enum ctl_client_status ctl_client_call(struct ctl_client *c, const Ctl__Request *req,
                                       Ctl__Response **resp, char *err, size_t errlen);

void ctl_client_response_free(Ctl__Response *resp);
void ctl_client_close(struct ctl_client *c);

/* "ERR_NOT_FOUND" -> "not found", for messages. */
const char *ctl_client_error_name(Ctl__ErrorCode code);
const char *ctl_client_status_str(enum ctl_client_status st);

#endif
