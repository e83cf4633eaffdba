/* hactl status */
#include "ctlclient.h"
#include "hactl.h"

static void print_filter(FILE *f, const Ctl__DebugFilter *d)
{
    if (!d)
        return;
    fprintf(f, "debug ike: level %u", d->level);
    if (d->active) {
        fprintf(f, ", filter:");
        if (d->gateway)
            fprintf(f, " gateway=%s", d->gateway);
        if (d->peer)
            fprintf(f, " peer=%s", d->peer);
    } else
        fprintf(f, ", no filter");
    fputc('\n', f);
}

static void print_status(FILE *f, const Ctl__StatusResult *s)
{
    char up[32];
    fprintf(f, "haiked %s, pid %u, up %s\n", hactl_str(s->version), s->pid,
            hactl_duration(s->uptime, up, sizeof(up)));
    fprintf(f, "gateways: %u  IKE SAs: %u  CHILD SAs: %u\n", s->gateways, s->ike_sas, s->child_sas);
    for (size_t i = 0; i < s->n_vdoms; i++) {
        const Ctl__VdomStatus *v = s->vdoms[i];
        fprintf(f, "vd: %-16s gateways: %u  IKE SAs: %u  CHILD SAs: %u\n", hactl_str(v->name),
                v->gateways, v->ike_sas, v->child_sas);
        if (v->net) {
            const Ctl__NetStats *n = v->net;
            /* Each kind on its own: a tunnel's ESP-in-UDP is not IKE. */
            fprintf(f,
                    "    IKE datagrams in/out: %llu/%llu  ESP-in-UDP in/out: %llu/%llu  "
                    "NAT-keepalives in/out: %llu/%llu\n"
                    "    all datagrams in/out: %llu/%llu  bytes in/out: %llu/%llu  "
                    "send/recv errors: %llu/%llu\n    dropped (no gateway):",
                    (unsigned long long)n->ike_in, (unsigned long long)n->ike_out,
                    (unsigned long long)n->esp_in, (unsigned long long)n->esp_out,
                    (unsigned long long)n->keepalives_in, (unsigned long long)n->keepalives_out,
                    (unsigned long long)n->dgrams_in, (unsigned long long)n->dgrams_out,
                    (unsigned long long)n->bytes_in, (unsigned long long)n->bytes_out,
                    (unsigned long long)n->send_errors, (unsigned long long)n->recv_errors);
            hactl_print_drops(f, n->dropped, n->n_dropped);
            fputc('\n', f);
        }
    }
    print_filter(f, s->debug);
    hactl_print_dataplane(f, s->dataplane);
    hactl_print_cluster(f, s);
}

static int run_status(struct hactl *h, int argc, char **argv)
{
    if (argc > 1)
        return hactl_usage(h, &hactl_cmd_status, "unexpected argument '%s'", argv[1]);
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__StatusRequest q = CTL__STATUS_REQUEST__INIT;
    Ctl__Response *resp;
    req.command_case = CTL__REQUEST__COMMAND_STATUS;
    req.status = &q;
    int rc = hactl_call(h, &req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    if (resp->result_case != CTL__RESPONSE__RESULT_STATUS) {
        ctl_client_response_free(resp);
        fprintf(h->err, "hactl: haiked answered status without a result\n");
        return HACTL_EXIT_ERROR;
    }
    if (h->json)
        hactl_json_message(h->out, &resp->status->base);
    else
        print_status(h->out, resp->status);
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

const struct hactl_cmd hactl_cmd_status = {
    .name = "status",
    .args = "",
    .summary = "daemon version, uptime, per-VDOM counts, the HA cluster",
    .help = "Shows haiked's version, pid and uptime, how many gateways, IKE SAs and\n"
            "CHILD SAs exist in total and per VDOM, and the `debug ike` filter.\n"
            "The data plane: its backend, CHILD SA installs, UDP GSO (userspace:\n"
            "on/off, refusals, paths without it) or the XFRM event counters per\n"
            "network namespace (kernel).\n"
            "With HA: the CPG group, every node (up/down, uptime, priority per\n"
            "virtual cluster), each virtual cluster (VDOMs, master, this node's role\n"
            "and why, sync state, mirrored IKE/CHILD SAs, last failover: when, why,\n"
            "how long), corosync's links and quorum. Without HA: \"HA: standalone\".\n",
    .run = run_status,
};
