/* hactl: global options, the subcommand table, calls to the daemon. */
#include "hactl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_frame.h"
#include "ctlclient.h"

static const struct hactl_cmd *const hactl_cmds[] = {
    &hactl_cmd_status,
    &hactl_cmd_tunnel,
    &hactl_cmd_gateway,
    &hactl_cmd_debug,
    &hactl_cmd_failover,
    &hactl_cmd_ha,
};
#define HACTL_N_CMDS (sizeof(hactl_cmds) / sizeof(hactl_cmds[0]))

static void print_main_help(FILE *f)
{
    fprintf(f,
            "usage: hactl [--socket PATH] [--json] [--show-keys] [--timeout MS] COMMAND ...\n"
            "\n"
            "Talks to haiked over its control socket (default %s, root only).\n"
            "\n"
            "commands:\n",
            CTL_DEFAULT_SOCKET);
    for (size_t i = 0; i < HACTL_N_CMDS; i++)
        fprintf(f, "  %s %s\n      %s\n", hactl_cmds[i]->name, hactl_cmds[i]->args,
                hactl_cmds[i]->summary);
    fprintf(f,
            "\n"
            "options (anywhere before a lone --):\n"
            "  --socket PATH  control socket of haiked\n"
            "  --json         machine-readable output (one JSON object)\n"
            "  --show-keys    include IKE and ESP keys in listings (secret!)\n"
            "  --timeout MS   give up waiting for haiked after MS ms (default %d)\n"
            "  --version      print hactl's version\n"
            "  -h, --help     this text; `hactl COMMAND --help` for a command\n"
            "\n"
            "exit codes: 0 ok, 1 haiked answered with an error, 2 usage error,\n"
            "            3 haiked unreachable\n",
            HACTL_TIMEOUT_MS_DEFAULT);
}

int hactl_usage(struct hactl *h, const struct hactl_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(h->err, "hactl: ");
    va_start(ap, fmt);
    vfprintf(h->err, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(h->err, "\nusage: hactl %s %s\n", cmd->name, cmd->args);
    else
        fprintf(h->err, "\n(try hactl --help)\n");
    return HACTL_EXIT_USAGE;
}

bool hactl_want_help(struct hactl *h, const struct hactl_cmd *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fprintf(h->out, "usage: hactl %s %s\n\n%s", cmd->name, cmd->args, cmd->help);
            return true;
        }
    return false;
}

static void print_reply_error(struct hactl *h, const Ctl__Error *e)
{
    const char *msg = e->message ? e->message : "";
    if (h->json) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&ctl__error_code__descriptor, e->code);
        fprintf(h->out, "{\"error\":{\"code\":");
        hactl_json_string(h->out, v ? v->name : "ERR_UNKNOWN");
        fprintf(h->out, ",\"message\":");
        hactl_json_string(h->out, msg);
        fprintf(h->out, "}}\n");
        return;
    }
    fprintf(h->err, "hactl: %s: %s\n", ctl_client_error_name(e->code), msg);
}

int hactl_call(struct hactl *h, Ctl__Request *req, Ctl__Response **resp)
{
    char errbuf[512];
    struct ctl_client *c = NULL;
    req->has_show_keys = h->show_keys;
    req->show_keys = h->show_keys;
    *resp = NULL;
    enum ctl_client_status st =
        ctl_client_open(h->socket, h->timeout_ms, &c, errbuf, sizeof(errbuf));
    if (st == CTL_CLIENT_OK)
        st = ctl_client_call(c, req, resp, errbuf, sizeof(errbuf));
    ctl_client_close(c);
    if (st != CTL_CLIENT_OK) {
        fprintf(h->err, "hactl: %s\n", errbuf);
        return st == CTL_CLIENT_E_PROTOCOL || st == CTL_CLIENT_E_NOMEM ? HACTL_EXIT_ERROR
                                                                       : HACTL_EXIT_UNREACHABLE;
    }
    if ((*resp)->error) {
        print_reply_error(h, (*resp)->error);
        ctl_client_response_free(*resp);
        *resp = NULL;
        return HACTL_EXIT_ERROR;
    }
    return HACTL_EXIT_OK;
}

static int take_global(struct hactl *h, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0)
        h->json = true;
    else if (strcmp(a, "--show-keys") == 0)
        h->show_keys = true;
    else if (strcmp(a, "--socket") == 0 || strcmp(a, "--timeout") == 0) {
        if (*i + 1 >= argc)
            return hactl_usage(h, NULL, "%s needs a value", a);
        const char *v = argv[++*i];
        if (a[2] == 's') {
            h->socket = v;
        } else {
            char *end;
            long ms = strtol(v, &end, 10);
            if (*end || end == v || ms <= 0 || ms > 3600000)
                return hactl_usage(h, NULL, "--timeout: '%s' is not a number of ms", v);
            h->timeout_ms = (int)ms;
        }
    } else
        return -1; /* not a global option */
    return 0;
}

/* Removes the global options from argv (they may appear anywhere before a
 * lone "--"); returns the new argc, or -HACTL_EXIT_USAGE. */
static int strip_globals(struct hactl *h, int argc, char **argv)
{
    int n = 0;
    bool rest = false;
    for (int i = 0; i < argc; i++) {
        if (!rest && strcmp(argv[i], "--") == 0) {
            rest = true;
            continue;
        }
        int rc = rest ? -1 : take_global(h, argc, argv, &i);
        if (rc > 0)
            return -rc;
        if (rc < 0)
            argv[n++] = argv[i];
    }
    return n;
}

int hactl_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct hactl h = {.out = out, .err = err, .timeout_ms = HACTL_TIMEOUT_MS_DEFAULT};
    /* argv[0] is the program; work on the rest. */
    int n = argc > 0 ? strip_globals(&h, argc - 1, argv + 1) : 0;
    char **args = argv + 1;
    if (n < 0)
        return -n;
    if (n == 0)
        return hactl_usage(&h, NULL, "no command given");
    if (strcmp(args[0], "-h") == 0 || strcmp(args[0], "--help") == 0 ||
        strcmp(args[0], "help") == 0) {
        print_main_help(out);
        return HACTL_EXIT_OK;
    }
    if (strcmp(args[0], "--version") == 0) {
        fprintf(out, "hactl %s\n", ctl_build_version());
        return HACTL_EXIT_OK;
    }
    for (size_t i = 0; i < HACTL_N_CMDS; i++)
        if (strcmp(args[0], hactl_cmds[i]->name) == 0) {
            if (hactl_want_help(&h, hactl_cmds[i], n, args))
                return HACTL_EXIT_OK;
            return hactl_cmds[i]->run(&h, n, args);
        }
    return hactl_usage(&h, NULL, "unknown command '%s'", args[0]);
}
