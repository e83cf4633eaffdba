/* hactl debug ike [--gateway NAME] [--peer ADDR] [--level N] | debug ike off */
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"
#include "hactl.h"

static int parse_level(const char *v, uint32_t *out)
{
    static const char *const names[] = {"err", "warn", "info", "debug"};
    for (uint32_t i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*v && !*end && n <= 3) {
        *out = (uint32_t)n;
        return 0;
    }
    return -1;
}

/* Fills q from argv[2..]; HACTL_EXIT_OK or a usage error. */
static int parse_args(struct hactl *h, int argc, char **argv, Ctl__DebugIkeRequest *q)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "off") == 0 && argc == 3) {
            q->has_off = q->off = true;
            return HACTL_EXIT_OK;
        }
        if (i + 1 >= argc)
            return hactl_usage(h, &hactl_cmd_debug, "'%s' is not an option with a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--gateway") == 0)
            q->gateway = (char *)v;
        else if (strcmp(a, "--peer") == 0)
            q->peer = (char *)v;
        else if (strcmp(a, "--level") == 0) {
            if (parse_level(v, &q->level) != 0)
                return hactl_usage(h, &hactl_cmd_debug,
                                   "--level: '%s' is not 0-3 or err/warn/info/debug", v);
            q->has_level = true;
        } else
            return hactl_usage(h, &hactl_cmd_debug, "unknown option '%s'", a);
    }
    return HACTL_EXIT_OK;
}

static void print_filter(FILE *f, const Ctl__DebugFilter *d)
{
    if (!d->active) {
        fprintf(f, "debug ike: no filter, level %u\n", d->level);
        return;
    }
    fprintf(f, "debug ike: level %u, gateway %s, peer %s\n", d->level, hactl_str(d->gateway),
            hactl_str(d->peer));
}

static int run_debug(struct hactl *h, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "ike") != 0)
        return hactl_usage(h, &hactl_cmd_debug, "expected 'debug ike'");
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__DebugIkeRequest q = CTL__DEBUG_IKE_REQUEST__INIT;
    int rc = parse_args(h, argc, argv, &q);
    if (rc != HACTL_EXIT_OK)
        return rc;
    Ctl__Response *resp;
    req.command_case = CTL__REQUEST__COMMAND_DEBUG_IKE;
    req.debug_ike = &q;
    rc = hactl_call(h, &req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    if (resp->result_case == CTL__RESPONSE__RESULT_DEBUG_IKE) {
        if (h->json)
            hactl_json_message(h->out, &resp->debug_ike->base);
        else
            print_filter(h->out, resp->debug_ike);
    }
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

const struct hactl_cmd hactl_cmd_debug = {
    .name = "debug",
    .args = "ike [--gateway NAME] [--peer ADDR] [--level N] | ike off",
    .summary = "filter IKE log lines by gateway/peer, set the level",
    .help = "debug ike [--gateway NAME] [--peer ADDR] [--level N]\n"
            "    Only IKE log lines about gateway NAME and/or peer address ADDR (IPv4\n"
            "    or IPv6, no port) are written, up to level N (0 err, 1 warn, 2 info,\n"
            "    3 debug; names work too). Without --level the level is 3 (debug):\n"
            "    a filter is for looking closely at one tunnel. With no option at\n"
            "    all: every IKE line, level 3. Each call replaces the whole filter.\n"
            "debug ike off\n"
            "    Removes the filters; the level goes back to the configured one.\n",
    .run = run_debug,
};
