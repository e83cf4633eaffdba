/* hactl tunnel summary | show NAME | up NAME | down NAME | flush NAME
 * `show` follows FortiOS's `diagnose vpn tunnel list`, `summary` its
 * `get vpn ipsec tunnel summary`. */
#include <string.h>

#include "ctlclient.h"
#include "hactl.h"

static void print_summary(FILE *f, const Ctl__TunnelSummaryResult *res)
{
    char ep[96];
    for (size_t i = 0; i < res->n_tunnels; i++) {
        const Ctl__TunnelSummary *t = res->tunnels[i];
        const Ctl__Counters *c = t->counters;
        fprintf(f, "'%s' %s vd=%s state=%s selectors(total,up): %u/%u", hactl_str(t->name),
                hactl_endpoint(t->remote, ep, sizeof(ep)), hactl_str(t->vdom), hactl_str(t->state),
                t->selectors_total, t->selectors_up);
        fprintf(f, " rx(pkt,err): %llu/%llu tx(pkt,err): %llu/%llu\n",
                (unsigned long long)(c ? c->rx_packets : 0),
                (unsigned long long)(c ? c->rx_errors : 0),
                (unsigned long long)(c ? c->tx_packets : 0),
                (unsigned long long)(c ? c->tx_errors : 0));
    }
    if (!res->n_tunnels)
        fprintf(f, "no tunnels configured\n");
}

static void print_selectors(FILE *f, const char *what, Ctl__Selector **ts, size_t n)
{
    char buf[160];
    fprintf(f, "%s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s", hactl_selector(ts[i], buf, sizeof(buf)));
    if (!n)
        fprintf(f, " -");
    fputc('\n', f);
}

static void print_child_keys(FILE *f, const Ctl__ChildKeys *k)
{
    fprintf(f, "    dec: key=");
    hactl_print_hex(f, &k->encr_in);
    fprintf(f, " ah=");
    hactl_print_hex(f, &k->integ_in);
    fprintf(f, "\n    enc: key=");
    hactl_print_hex(f, &k->encr_out);
    fprintf(f, " ah=");
    hactl_print_hex(f, &k->integ_out);
    fputc('\n', f);
}

static void print_child(FILE *f, const Ctl__ChildSa *c)
{
    fprintf(f, "  SA: spi in=");
    hactl_print_hex(f, &c->spi_in);
    fprintf(f, " out=");
    hactl_print_hex(f, &c->spi_out);
    fprintf(f, " mode=%s esp=%s ah=%s esn=%d life=%llu/%llu rekey=%llu ike=", hactl_str(c->mode),
            hactl_str(c->encr), c->integ ? c->integ : "none", c->esn ? 1 : 0,
            (unsigned long long)c->age, (unsigned long long)c->lifetime,
            (unsigned long long)c->rekey_left);
    hactl_print_hex(f, &c->ike_spi_i);
    fputc('/', f);
    hactl_print_hex(f, &c->ike_spi_r);
    fputc('\n', f);
    fprintf(f, "    ");
    print_selectors(f, "src", c->local_ts, c->n_local_ts);
    fprintf(f, "    ");
    print_selectors(f, "dst", c->remote_ts, c->n_remote_ts);
    if (c->counters) {
        const Ctl__Counters *k = c->counters;
        fprintf(f,
                "    dec:pkts/bytes=%llu/%llu, enc:pkts/bytes=%llu/%llu seqno=%llu "
                "errors replay/integrity=%llu/%llu\n",
                (unsigned long long)k->rx_packets, (unsigned long long)k->rx_bytes,
                (unsigned long long)k->tx_packets, (unsigned long long)k->tx_bytes,
                (unsigned long long)c->tx_seq, (unsigned long long)k->replay_errors,
                (unsigned long long)k->integrity_errors);
    }
    if (c->keys)
        print_child_keys(f, c->keys);
}

static void print_phase2(FILE *f, const Ctl__Gateway *g, const Ctl__Phase2 *p)
{
    fprintf(f, "proxyid=%s up=%d auto-negotiate=%d proposal=%s", hactl_str(p->name), p->up ? 1 : 0,
            p->auto_negotiate ? 1 : 0, hactl_str(p->proposal));
    if (p->has_pfs_group)
        fprintf(f, " pfs=%u", p->pfs_group);
    fputc('\n', f);
    fprintf(f, "  ");
    print_selectors(f, "src", p->local_ts, p->n_local_ts);
    fprintf(f, "  ");
    print_selectors(f, "dst", p->remote_ts, p->n_remote_ts);
    for (size_t i = 0; i < g->n_child_sas; i++)
        if (g->child_sas[i]->name && p->name && strcmp(g->child_sas[i]->name, p->name) == 0)
            print_child(f, g->child_sas[i]);
}

static void print_show(FILE *f, const Ctl__Gateway *g)
{
    char a[96], b[96];
    const Ctl__IkeSa *sa = g->n_ike_sas ? g->ike_sas[0] : NULL;
    fprintf(f, "name=%s ver=%u vd=%s %s->%s", hactl_str(g->name), g->ike_version,
            hactl_str(g->vdom), hactl_endpoint(sa ? sa->local : g->local, a, sizeof(a)),
            hactl_endpoint(sa ? sa->remote : g->remote, b, sizeof(b)));
    fprintf(f, " mode=%s ike_sas=%zu child_sas=%zu\n",
            g->passive          ? "passive"
            : g->auto_negotiate ? "auto"
                                : "manual",
            g->n_ike_sas, g->n_child_sas);
    if (g->counters)
        fprintf(f, "stat: rxp=%llu txp=%llu rxb=%llu txb=%llu\n",
                (unsigned long long)g->counters->rx_packets,
                (unsigned long long)g->counters->tx_packets,
                (unsigned long long)g->counters->rx_bytes,
                (unsigned long long)g->counters->tx_bytes);
    if (g->dpd)
        fprintf(f, "dpd: mode=%s interval=%us retry=%u sent=%llu recv=%llu failures=%llu\n",
                hactl_str(g->dpd->mode), g->dpd->interval, g->dpd->retries,
                (unsigned long long)g->dpd->sent, (unsigned long long)g->dpd->recv,
                (unsigned long long)g->dpd->failures);
    fprintf(f, "natt: mode=%s active=%s\n", hactl_str(g->nat_t),
            sa && (sa->nat_local || sa->nat_remote) ? "yes" : "no");
    hactl_print_device(f, g->device, true);
    for (size_t i = 0; i < g->n_phase2s; i++)
        print_phase2(f, g, g->phase2s[i]);
    /* CHILD SAs of a selector no longer configured (after a reload). */
    for (size_t i = 0; i < g->n_child_sas; i++) {
        bool listed = false;
        for (size_t k = 0; k < g->n_phase2s && !listed; k++)
            listed = g->child_sas[i]->name && g->phase2s[k]->name &&
                     strcmp(g->child_sas[i]->name, g->phase2s[k]->name) == 0;
        if (!listed) {
            fprintf(f, "proxyid=%s (not configured)\n", hactl_str(g->child_sas[i]->name));
            print_child(f, g->child_sas[i]);
        }
    }
}

static int call_print(struct hactl *h, Ctl__Request *req, Ctl__Response__ResultCase want)
{
    Ctl__Response *resp;
    int rc = hactl_call(h, req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    if (resp->result_case != want) {
        ctl_client_response_free(resp);
        fprintf(h->err, "hactl: haiked answered without the expected result\n");
        return HACTL_EXIT_ERROR;
    }
    switch (want) {
    case CTL__RESPONSE__RESULT_TUNNEL_SUMMARY:
        if (h->json)
            hactl_json_message(h->out, &resp->tunnel_summary->base);
        else
            print_summary(h->out, resp->tunnel_summary);
        break;
    case CTL__RESPONSE__RESULT_TUNNEL_SHOW:
        if (h->json)
            hactl_json_message(h->out, &resp->tunnel_show->base);
        else
            print_show(h->out, resp->tunnel_show);
        break;
    default:
        if (h->json)
            hactl_json_message(h->out, &resp->tunnel_action->base);
        else
            fprintf(h->out, "%s\n", hactl_str(resp->tunnel_action->message));
        break;
    }
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

static int run_tunnel(struct hactl *h, int argc, char **argv)
{
    Ctl__Request req = CTL__REQUEST__INIT;
    if (argc < 2)
        return hactl_usage(h, &hactl_cmd_tunnel, "expected summary, show, up, down or flush");
    const char *sub = argv[1];
    if (strcmp(sub, "summary") == 0) {
        Ctl__TunnelSummaryRequest q = CTL__TUNNEL_SUMMARY_REQUEST__INIT;
        if (argc > 2)
            return hactl_usage(h, &hactl_cmd_tunnel, "unexpected argument '%s'", argv[2]);
        req.command_case = CTL__REQUEST__COMMAND_TUNNEL_SUMMARY;
        req.tunnel_summary = &q;
        return call_print(h, &req, CTL__RESPONSE__RESULT_TUNNEL_SUMMARY);
    }
    if (argc != 3)
        return hactl_usage(h, &hactl_cmd_tunnel, "'tunnel %s' needs exactly one NAME", sub);
    if (strcmp(sub, "show") == 0) {
        Ctl__TunnelShowRequest q = CTL__TUNNEL_SHOW_REQUEST__INIT;
        q.name = argv[2];
        req.command_case = CTL__REQUEST__COMMAND_TUNNEL_SHOW;
        req.tunnel_show = &q;
        return call_print(h, &req, CTL__RESPONSE__RESULT_TUNNEL_SHOW);
    }
    Ctl__TunnelActionRequest q = CTL__TUNNEL_ACTION_REQUEST__INIT;
    if (strcmp(sub, "up") == 0)
        q.action = CTL__TUNNEL_ACTION__TUNNEL_ACTION_UP;
    else if (strcmp(sub, "down") == 0)
        q.action = CTL__TUNNEL_ACTION__TUNNEL_ACTION_DOWN;
    else if (strcmp(sub, "flush") == 0)
        q.action = CTL__TUNNEL_ACTION__TUNNEL_ACTION_FLUSH;
    else
        return hactl_usage(h, &hactl_cmd_tunnel, "unknown tunnel command '%s'", sub);
    q.has_action = true;
    q.name = argv[2];
    req.command_case = CTL__REQUEST__COMMAND_TUNNEL_ACTION;
    req.tunnel_action = &q;
    return call_print(h, &req, CTL__RESPONSE__RESULT_TUNNEL_ACTION);
}

const struct hactl_cmd hactl_cmd_tunnel = {
    .name = "tunnel",
    .args = "summary | show NAME | up NAME | down NAME | flush NAME",
    .summary = "tunnel list, CHILD SA details, bring up/down, flush",
    .help = "tunnel summary\n"
            "    One line per gateway: peer, state, selectors (total/up), packets and\n"
            "    errors (like FortiOS `get vpn ipsec tunnel summary`). A dial-up\n"
            "    gateway (remote-gw any) has one line per peer, NAME_0, NAME_1, ...\n"
            "    (numbered by the peer's oldest IKE SA); without peers, one line NAME.\n"
            "tunnel show NAME\n"
            "    Gateway NAME's selectors (phase 2) and their CHILD SAs: SPIs in/out,\n"
            "    algorithms, selectors, age/lifetime/rekey, packet/byte/error counters\n"
            "    (like FortiOS `diagnose vpn tunnel list name NAME`); its data-plane\n"
            "    device (dev: the route-based VTI with its ifindex and key, or the\n"
            "    userspace TUN). ESP keys only with --show-keys.\n"
            "tunnel up NAME       negotiate now (not for passive gateways)\n"
            "tunnel down NAME     delete the IKE SAs (Delete sent), stay down until up\n"
            "tunnel flush NAME    drop the CHILD SAs\n",
    .run = run_tunnel,
};
