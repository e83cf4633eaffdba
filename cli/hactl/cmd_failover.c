/* hactl failover [--vcluster N] */
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"
#include "hactl.h"

static int parse_args(struct hactl *h, int argc, char **argv, Ctl__FailoverRequest *q)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--vcluster") != 0)
            return hactl_usage(h, &hactl_cmd_failover, "unknown argument '%s'", argv[i]);
        if (i + 1 >= argc)
            return hactl_usage(h, &hactl_cmd_failover, "--vcluster needs a number");
        const char *v = argv[++i];
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || v[0] == '-' || n == 0 || n > UINT32_MAX)
            return hactl_usage(h, &hactl_cmd_failover,
                               "--vcluster: '%s' is not a virtual cluster id (1, 2, ...)", v);
        q->has_vcluster = true;
        q->vcluster = (uint32_t)n;
    }
    return HACTL_EXIT_OK;
}

static void print_result(FILE *f, const Ctl__FailoverResult *res)
{
    fprintf(f, "failover started: vcluster");
    for (size_t i = 0; i < res->n_vclusters; i++)
        fprintf(f, "%s%u", i ? ", " : " ", res->vclusters[i]);
    fputc('\n', f);
    if (res->has_outstanding && res->outstanding)
        fprintf(f,
                "%u IKE exchange(s) of ours outstanding: answered before the handover "
                "(drain, at most %u ms; `hactl status` shows how long it took)\n",
                res->outstanding, res->drain_timeout_ms);
    if (res->message)
        fprintf(f, "%s\n", res->message);
}

static int run_failover(struct hactl *h, int argc, char **argv)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__FailoverRequest q = CTL__FAILOVER_REQUEST__INIT;
    int rc = parse_args(h, argc, argv, &q);
    if (rc != HACTL_EXIT_OK)
        return rc;
    Ctl__Response *resp;
    req.command_case = CTL__REQUEST__COMMAND_FAILOVER;
    req.failover = &q;
    rc = hactl_call(h, &req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    if (resp->result_case != CTL__RESPONSE__RESULT_FAILOVER) {
        ctl_client_response_free(resp);
        fprintf(h->err, "hactl: haiked answered failover without a result\n");
        return HACTL_EXIT_ERROR;
    }
    if (h->json)
        hactl_json_message(h->out, &resp->failover->base);
    else
        print_result(h->out, resp->failover);
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

const struct hactl_cmd hactl_cmd_failover = {
    .name = "failover",
    .args = "[--vcluster N]",
    .summary = "hand this node's virtual cluster(s) over to the other node",
    .help = "Graceful failover: this node waits until the peer has acknowledged every\n"
            "sync message (a barrier), then announces priority 0 for the virtual\n"
            "cluster, and the best other node takes over without renegotiating any\n"
            "tunnel. Before it releases, this node starts no new IKE exchange and\n"
            "waits until those it has in flight are answered (ha drain-timeout-ms,\n"
            "default 2000). Without --vcluster: every virtual cluster this node masters.\n"
            "The command returns once the handover has started; `hactl status` shows\n"
            "the new master. Refused when this node is not master, when no other node\n"
            "can take over (absent, still syncing, priority 0) or without HA.\n"
            "The yield lasts until the peer leaves the group: this node does not take\n"
            "the virtual cluster back by itself, even with override on.\n",
    .run = run_failover,
};
