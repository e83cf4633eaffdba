/* hactl gateway list [NAME] | gateway clear [NAME]
 * The listing follows FortiOS's `diagnose vpn ike gateway list`. */
#include <string.h>

#include "ctlclient.h"
#include "hactl.h"

static const char *nat_text(const Ctl__IkeSa *sa)
{
    if (sa->nat_local && sa->nat_remote)
        return "both";
    if (sa->nat_local)
        return "local";
    if (sa->nat_remote)
        return "remote";
    return "none";
}

static void print_ike_keys(FILE *f, const Ctl__IkeKeys *k)
{
    const struct {
        const char *name;
        const ProtobufCBinaryData *b;
    } keys[] = {{"SK_d", &k->sk_d},   {"SK_ei", &k->sk_ei}, {"SK_er", &k->sk_er},
                {"SK_ai", &k->sk_ai}, {"SK_ar", &k->sk_ar}, {"SK_pi", &k->sk_pi},
                {"SK_pr", &k->sk_pr}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!keys[i].b->len)
            continue;
        fprintf(f, "  %s: ", keys[i].name);
        hactl_print_key(f, keys[i].b);
        fputc('\n', f);
    }
}

static void print_ike_sa(FILE *f, const Ctl__IkeSa *sa)
{
    char a[96], b[96], age[32];
    fprintf(f, "\n  id/spi: %u ", sa->serial);
    hactl_print_hex(f, &sa->spi_i);
    fputc('/', f);
    hactl_print_hex(f, &sa->spi_r);
    fprintf(f, "\n  direction: %s\n", sa->initiator ? "initiator" : "responder");
    fprintf(f, "  status: %s %s ago\n", hactl_str(sa->state),
            hactl_duration(sa->age, age, sizeof(age)));
    fprintf(f, "  addr: %s -> %s  nat: %s\n", hactl_endpoint(sa->local, a, sizeof(a)),
            hactl_endpoint(sa->remote, b, sizeof(b)), nat_text(sa));
    fprintf(f, "  proposal: %s\n", hactl_str(sa->proposal));
    if (sa->local_id || sa->remote_id)
        fprintf(f, "  id: %s -> %s\n", hactl_str(sa->local_id), hactl_str(sa->remote_id));
    fprintf(f, "  message-id sent/recv: %u/%u\n", sa->msgid_sent, sa->msgid_recv);
    fprintf(f, "  lifetime/rekey: %llu/%llu\n", (unsigned long long)sa->lifetime,
            (unsigned long long)sa->rekey_left);
    fprintf(f, "  fragmentation: %s  msgid-sync: %s\n", sa->fragmentation ? "yes" : "no",
            sa->msgid_sync ? "yes" : "no");
    if (sa->stats) {
        const Ctl__IkeStats *s = sa->stats;
        fprintf(f,
                "  dropped malformed/integrity/msgid/unhandled: %llu/%llu/%llu/%llu  "
                "retransmits: %llu  resent responses: %llu\n",
                (unsigned long long)s->dropped_malformed, (unsigned long long)s->dropped_integrity,
                (unsigned long long)s->dropped_msgid, (unsigned long long)s->dropped_unhandled,
                (unsigned long long)s->retransmits_sent, (unsigned long long)s->responses_resent);
    }
    if (sa->keys)
        print_ike_keys(f, sa->keys);
}

static void print_stats(FILE *f, const Ctl__GatewayStats *s)
{
    fprintf(f, "IKE datagrams in/out: %llu/%llu  bytes in/out: %llu/%llu  retransmits: %llu\n",
            (unsigned long long)s->dgrams_in, (unsigned long long)s->dgrams_out,
            (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
            (unsigned long long)s->retransmits);
    fprintf(f,
            "rekeys IKE/CHILD: %llu/%llu  reauths: %llu  deletes sent: %llu  "
            "failed: %llu  deleted: %llu\n",
            (unsigned long long)s->ike_rekeys, (unsigned long long)s->child_rekeys,
            (unsigned long long)s->reauths, (unsigned long long)s->deletes_sent,
            (unsigned long long)s->ike_sa_failed, (unsigned long long)s->ike_sa_deleted);
    fprintf(f, "dropped:");
    hactl_print_drops(f, s->dropped, s->n_dropped);
    fputc('\n', f);
}

static void print_gateway(FILE *f, const Ctl__Gateway *g)
{
    char a[96], b[96], age[32];
    fprintf(f, "vd: %s\nname: %s\nversion: %u\n", hactl_str(g->vdom), hactl_str(g->name),
            g->ike_version);
    fprintf(f, "addr: %s -> %s\n", hactl_endpoint(g->local, a, sizeof(a)),
            hactl_endpoint(g->remote, b, sizeof(b)));
    fprintf(f, "mode: %s  nat-t: %s  %s\n",
            g->passive          ? "passive"
            : g->auto_negotiate ? "auto-negotiate"
                                : "manual",
            hactl_str(g->nat_t), hactl_str(g->rekey_mode));
    if (g->retiring)
        fprintf(f, "retiring: removed or changed by reload, its IKE SAs are being deleted\n");
    if (g->has_age)
        fprintf(f, "created: %s ago\n", hactl_duration(g->age, age, sizeof(age)));
    fprintf(f, "IKE SA: created %llu established %llu\n", (unsigned long long)g->ike_created,
            (unsigned long long)g->ike_established);
    fprintf(f, "IPsec SA: created %llu established %llu\n", (unsigned long long)g->child_created,
            (unsigned long long)g->child_established);
    if (g->dpd)
        fprintf(f, "DPD: %s interval %us retries %u  sent/recv: %llu/%llu  failures: %llu\n",
                hactl_str(g->dpd->mode), g->dpd->interval, g->dpd->retries,
                (unsigned long long)g->dpd->sent, (unsigned long long)g->dpd->recv,
                (unsigned long long)g->dpd->failures);
    if (g->stats)
        print_stats(f, g->stats);
    hactl_print_device(f, g->device, false);
    for (size_t i = 0; i < g->n_ike_sas; i++)
        print_ike_sa(f, g->ike_sas[i]);
    if (!g->n_ike_sas)
        fprintf(f, "  (no IKE SA)\n");
}

static int run_list(struct hactl *h, const char *name)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__GatewayListRequest q = CTL__GATEWAY_LIST_REQUEST__INIT;
    Ctl__Response *resp;
    q.name = (char *)name;
    req.command_case = CTL__REQUEST__COMMAND_GATEWAY_LIST;
    req.gateway_list = &q;
    int rc = hactl_call(h, &req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    const Ctl__GatewayListResult *res =
        resp->result_case == CTL__RESPONSE__RESULT_GATEWAY_LIST ? resp->gateway_list : NULL;
    if (res && h->json)
        hactl_json_message(h->out, &res->base);
    else if (res)
        for (size_t i = 0; i < res->n_gateways; i++) {
            if (i)
                fputc('\n', h->out);
            print_gateway(h->out, res->gateways[i]);
        }
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

static int run_clear(struct hactl *h, const char *name)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__GatewayClearRequest q = CTL__GATEWAY_CLEAR_REQUEST__INIT;
    Ctl__Response *resp;
    q.name = (char *)name;
    req.command_case = CTL__REQUEST__COMMAND_GATEWAY_CLEAR;
    req.gateway_clear = &q;
    int rc = hactl_call(h, &req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    if (resp->result_case == CTL__RESPONSE__RESULT_GATEWAY_CLEAR) {
        if (h->json)
            hactl_json_message(h->out, &resp->gateway_clear->base);
        else
            fprintf(h->out, "%s\n", hactl_str(resp->gateway_clear->message));
    }
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

static int run_gateway(struct hactl *h, int argc, char **argv)
{
    if (argc < 2)
        return hactl_usage(h, &hactl_cmd_gateway, "expected 'list' or 'clear'");
    if (argc > 3)
        return hactl_usage(h, &hactl_cmd_gateway, "unexpected argument '%s'", argv[3]);
    const char *name = argc == 3 ? argv[2] : NULL;
    if (strcmp(argv[1], "list") == 0)
        return run_list(h, name);
    if (strcmp(argv[1], "clear") == 0)
        return run_clear(h, name);
    return hactl_usage(h, &hactl_cmd_gateway, "unknown gateway command '%s'", argv[1]);
}

const struct hactl_cmd hactl_cmd_gateway = {
    .name = "gateway",
    .args = "list [NAME] | clear [NAME]",
    .summary = "IKE SAs per gateway; delete them and reset counters",
    .help = "gateway list [NAME]\n"
            "    Every gateway (or NAME): addresses, counters, DPD, its data-plane\n"
            "    device (VTI or TUN: ifindex, key), and each IKE SA with\n"
            "    its SPIs, role, state, proposal, message IDs, lifetime/rekey, NAT and\n"
            "    drop counters (like FortiOS `diagnose vpn ike gateway list`).\n"
            "    Keys only with --show-keys.\n"
            "gateway clear [NAME]\n"
            "    Deletes every IKE SA of NAME (all gateways without NAME), telling the\n"
            "    peer, and resets the counters; auto-negotiate gateways come back up.\n",
    .run = run_gateway,
};
