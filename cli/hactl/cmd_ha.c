/* hactl ha stats */
#include <string.h>

#include "ctlclient.h"
#include "hactl.h"

static void print_messages(FILE *f, const Ctl__HaStatsResult *s)
{
    fprintf(f, "%-16s %12s %12s %12s\n", "HA sync messages", "sent", "received", "dropped");
    for (size_t i = 0; i < s->n_messages; i++) {
        const Ctl__HaMessageCount *m = s->messages[i];
        fprintf(f, "  %-14s %12llu %12llu %12llu\n", hactl_str(m->type),
                (unsigned long long)m->sent, (unsigned long long)m->received,
                (unsigned long long)m->dropped);
    }
}

static void print_channel(FILE *f, const Ctl__HaChannelStats *c)
{
    if (!c) {
        fprintf(f, "channel: none\n");
        return;
    }
    fprintf(f,
            "channel: %s, sent %llu, received %llu, acks sent/received %llu/%llu, "
            "pending acks %llu\n",
            c->connected ? "connected" : "NOT connected", (unsigned long long)c->sent,
            (unsigned long long)c->received, (unsigned long long)c->acks_sent,
            (unsigned long long)c->acks_received, (unsigned long long)c->pending_acks);
    fprintf(f,
            "    queue %llu (peak %llu), try-again %llu, send errors %llu, gaps %llu, "
            "disconnects %llu, joins %llu, sent unconnected %llu\n",
            (unsigned long long)c->queue_len, (unsigned long long)c->queue_peak,
            (unsigned long long)c->try_again, (unsigned long long)c->send_errors,
            (unsigned long long)c->gaps, (unsigned long long)c->disconnects,
            (unsigned long long)c->joins, (unsigned long long)c->unconnected);
    fprintf(f, "    dropped on receive:");
    hactl_print_drops(f, c->dropped, c->n_dropped);
    fputc('\n', f);
}

static void print_stats(FILE *f, const Ctl__HaStatsResult *s)
{
    print_messages(f, s);
    fprintf(f, "bulk syncs: requested %llu, served %llu\n",
            (unsigned long long)s->bulk_syncs_requested, (unsigned long long)s->bulk_syncs_served);
    fprintf(f, "write-ahead: held datagrams %llu, longest hold %llu us\n",
            (unsigned long long)s->held_datagrams, (unsigned long long)s->held_max_us);
    fprintf(f, "takeovers: %llu  releases: %llu  import errors: %llu\n",
            (unsigned long long)s->takeovers, (unsigned long long)s->releases,
            (unsigned long long)s->import_errors);
    fprintf(f, "queue full: sync messages refused %llu, resyncs sent %llu\n",
            (unsigned long long)s->sync_refused, (unsigned long long)s->resyncs_sent);
    print_channel(f, s->channel);
}

static int run_ha(struct hactl *h, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "stats") != 0)
        return hactl_usage(h, &hactl_cmd_ha, "expected 'ha stats'");
    if (argc > 2)
        return hactl_usage(h, &hactl_cmd_ha, "unexpected argument '%s'", argv[2]);
    Ctl__Request req = CTL__REQUEST__INIT;
    Ctl__HaStatsRequest q = CTL__HA_STATS_REQUEST__INIT;
    Ctl__Response *resp;
    req.command_case = CTL__REQUEST__COMMAND_HA_STATS;
    req.ha_stats = &q;
    int rc = hactl_call(h, &req, &resp);
    if (rc != HACTL_EXIT_OK)
        return rc;
    if (resp->result_case != CTL__RESPONSE__RESULT_HA_STATS) {
        ctl_client_response_free(resp);
        fprintf(h->err, "hactl: haiked answered ha stats without a result\n");
        return HACTL_EXIT_ERROR;
    }
    if (h->json)
        hactl_json_message(h->out, &resp->ha_stats->base);
    else
        print_stats(h->out, resp->ha_stats);
    ctl_client_response_free(resp);
    return HACTL_EXIT_OK;
}

const struct hactl_cmd hactl_cmd_ha = {
    .name = "ha",
    .args = "stats",
    .summary = "HA sync counters: messages by type, bulk syncs, takeovers, the channel",
    .help = "ha stats\n"
            "    Sync messages sent, received and dropped per type (ike_sa_add,\n"
            "    msgid_update, esp_seq_update, ack, role, ...), bulk syncs requested and\n"
            "    served, IKE datagrams held for the peer's ack (write-ahead) and the\n"
            "    longest hold, takeovers and releases, sync messages libike refused,\n"
            "    sync messages refused on a full send queue and the resyncs sent for them,\n"
            "    and the corosync CPG channel's own counters (queue, retries, gaps,\n"
            "    reconnects, received messages dropped by reason).\n",
    .run = run_ha,
};
