/*
 * hactl internals: a table of subcommands (one file each, cmd_*.c), the
 * global options, and the output helpers they share. hactl talks to
 * haiked only through the client library (cli/ctlclient/).
 *
 * Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,
 * 3 the daemon could not be reached (or its answer was unreadable).
 */
#ifndef HACTL_H
#define HACTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "control.pb-c.h"

#define HACTL_EXIT_OK          0
#define HACTL_EXIT_ERROR       1
#define HACTL_EXIT_USAGE       2
#define HACTL_EXIT_UNREACHABLE 3

#define HACTL_TIMEOUT_MS_DEFAULT 10000

struct hactl {
    const char *socket; /* --socket; NULL: the default path */
    bool json;          /* --json */
    bool show_keys;     /* --show-keys */
    int timeout_ms;     /* --timeout */
    FILE *out, *err;
};

struct hactl_cmd {
    const char *name;
    const char *args;    /* synopsis after the name */
    const char *summary; /* one line for `hactl --help` */
    const char *help;    /* the full `hactl NAME --help` text */
    /* argv[0] is the command name. */
    int (*run)(struct hactl *h, int argc, char **argv);
};

extern const struct hactl_cmd hactl_cmd_status;
extern const struct hactl_cmd hactl_cmd_tunnel;
extern const struct hactl_cmd hactl_cmd_gateway;
extern const struct hactl_cmd hactl_cmd_debug;
extern const struct hactl_cmd hactl_cmd_failover;
extern const struct hactl_cmd hactl_cmd_ha;

/* The whole program, testable: parses argv, runs the command, returns the
 * exit code. */
int hactl_main(int argc, char **argv, FILE *out, FILE *err);

/* Sends req (show_keys from the options), prints a transport failure or an
 * error reply to h->err (or as JSON to h->out), and returns the exit code;
 * on 0 *resp is the successful response (free with
 * ctl_client_response_free). */
int hactl_call(struct hactl *h, Ctl__Request *req, Ctl__Response **resp);

/* Prints a usage error about cmd and returns HACTL_EXIT_USAGE. */
int hactl_usage(struct hactl *h, const struct hactl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True if argv holds -h/--help; then the command's help was printed. */
bool hactl_want_help(struct hactl *h, const struct hactl_cmd *cmd, int argc, char **argv);

/* ---- output (fmt.c, json.c) ------------------------------------------- */

/* Any protobuf-c message as JSON (bytes as hex strings, enums as names,
 * repeated fields always as arrays), one line plus newline. */
void hactl_json_message(FILE *f, const ProtobufCMessage *msg);
/* A JSON string literal with escaping (control characters, quotes,
 * invalid UTF-8). */
void hactl_json_string(FILE *f, const char *s);

/* Lower-case hex of data; "-" when empty. */
void hactl_print_hex(FILE *f, const ProtobufCBinaryData *b);
/* FortiOS style key: 16-hex-digit groups joined by '-'. */
void hactl_print_key(FILE *f, const ProtobufCBinaryData *b);
/* "1h02m03s" style durations. */
const char *hactl_duration(uint64_t secs, char *buf, size_t size);
/* "17:192.0.2.0/25:500" (proto:range:ports, FortiOS order). */
const char *hactl_selector(const Ctl__Selector *s, char *buf, size_t size);
/* "192.0.2.1:500" or "[2001:db8::1]:500" ("-" when missing). */
const char *hactl_endpoint(const Ctl__Endpoint *e, char *buf, size_t size);
const char *hactl_str(const char *s); /* s or "-" */
/* " reason=count" for each non-zero drop counter, or " none". */
void hactl_print_drops(FILE *f, Ctl__DropCount **d, size_t n);
/* status's data-plane part and a gateway's device (fmt_dp.c); fortios:
 * `tunnel show`'s key=value style. Nothing for NULL. */
void hactl_print_dataplane(FILE *f, const Ctl__DataplaneStatus *d);
void hactl_print_device(FILE *f, const Ctl__DataplaneDevice *d, bool fortios);
/* status's cluster part ("HA: standalone" without one; fmt_ha.c). */
void hactl_print_cluster(FILE *f, const Ctl__StatusResult *s);

#endif
