/*
 * uml_dp_seq: drives haiked's kernel data plane (daemon/dataplane.h,
 * backend "kernel") by hand, for test_uml_dp_seq.py inside the UML guest.
 * The daemon sets an SA's sequence numbers only on HA takeover or a peer's
 * IPSEC_REPLAY_COUNTER_SYNC, neither of which a test can provoke from
 * outside; this program makes the same backend calls directly:
 *
 *   uml_dp_seq LOCAL REMOTE LOCAL_NET REMOTE_NET SPI_IN SPI_OUT KEY_IN KEY_OUT [esn]
 *              [vdom=NETNS]
 *
 * installs one AES-GCM-16/256 CHILD SA pair in tunnel mode (keys: 36
 * octets of hex each, salt included) in this program's network namespace,
 * or with vdom=NETNS as the pair of a gateway in a VDOM whose namespace is
 * /run/netns/NETNS (the backend works there from here), then reads
 * commands on stdin, one a
 * line, and answers each with one JSON line of the pair's counters as the
 * backend reports them:
 *
 *   counters                 refresh (GETSA) and print
 *   seq SEQ_OUT REPLAY_EDGE  set_seq() through the backend, then print
 *   quit (or EOF)            remove the pair (dp_close) and exit 0
 *
 * A failing call prints {"error": "..."} and the program goes on.
 */
#include <ctype.h>
#include <inttypes.h>
#include <time.h>

#include <event2/event.h>

#include "dataplane.h"
#include "uml_dp_util.h"

#define KEY_LEN 36 /* AES-256 + 4-octet salt */

static int parse_spi(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 16);
    if (*end || !*s || v == 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_key(const char *s, struct ike_key_export *k)
{
    if (strlen(s) != 2 * KEY_LEN)
        return -1;
    for (size_t i = 0; i < KEY_LEN; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        k->data[i] = (uint8_t)v;
    }
    k->len = KEY_LEN;
    return 0;
}

static void print_counters(struct dp *dp, struct dp_child *c)
{
    if (dp_child_counters(dp, c) < 0) {
        printf("{\"error\": \"the backend could not read the counters\"}\n");
        return;
    }
    const struct dp_counters *k = &c->ctr;
    printf("{\"packets_in\": %" PRIu64 ", \"bytes_in\": %" PRIu64 ", \"packets_out\": %" PRIu64
           ", \"bytes_out\": %" PRIu64 ", \"dropped_replay\": %" PRIu64
           ", \"dropped_integrity\": %" PRIu64 ", \"seq_out\": %" PRIu64
           ", \"replay_in_edge\": %" PRIu64 "}\n",
           k->packets_in, k->bytes_in, k->packets_out, k->bytes_out, k->dropped_replay,
           k->dropped_integrity, k->seq_out, k->replay_in_edge);
}

static int usage(void)
{
    fprintf(stderr, "usage: uml_dp_seq LOCAL REMOTE LOCAL_NET REMOTE_NET SPI_IN SPI_OUT "
                    "KEY_IN KEY_OUT [esn] [vdom=NETNS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    /* the owner of a pair in a VDOM: a gateway's IKE SA in that VDOM */
    struct vdom_rt vdom;
    struct gateway gw;
    struct gw_sa owner;
    memset(&vdom, 0, sizeof(vdom));
    uml_owner_init(&owner, &gw, "seq");
    owner.vdom = &vdom;
    bool esn = false, in_vdom = false;
    for (int i = 9; i < argc; i++) {
        if (!strcmp(argv[i], "esn"))
            esn = true;
        else if (uml_parse_vdom(argv[i], "seq", &vdom))
            in_vdom = true;
        else
            return usage();
    }
    if (argc < 9)
        return usage();
    struct ike_addr local, remote;
    struct ike_child_export ex;
    uml_child_init(&ex, "seq");
    ex.esn = esn;
    if (uml_parse_addr(argv[1], &local) || uml_parse_addr(argv[2], &remote) ||
        uml_parse_net(argv[3], &ex.ts_local[0]) || uml_parse_net(argv[4], &ex.ts_remote[0]) ||
        parse_spi(argv[5], &ex.spi_in) || parse_spi(argv[6], &ex.spi_out) ||
        parse_key(argv[7], &ex.encr_in) || parse_key(argv[8], &ex.encr_out))
        return usage();

    struct event_base *base = event_base_new();
    struct dp dp;
    char err[256];
    if (!base || dp_open(&dp, "kernel", base, err, sizeof(err)) < 0) {
        fprintf(stderr, "uml_dp_seq: %s\n", base ? err : "event_base_new failed");
        return 1;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct dp_child *c = dp_child_install(&dp, in_vdom ? &owner : NULL, &ex, &local, &remote, false,
                                          (uint64_t)now.tv_sec * 1000, err, sizeof(err));
    ike_export_wipe(&ex, sizeof(ex));
    if (!c) {
        fprintf(stderr, "uml_dp_seq: install: %s\n", err);
        dp_close(&dp);
        event_base_free(base);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_counters(&dp, c);

    char line[128];
    while (fgets(line, sizeof(line), stdin)) {
        uint64_t seq, edge;
        if (!strcmp(line, "quit\n"))
            break;
        if (!strcmp(line, "counters\n")) {
            print_counters(&dp, c);
        } else if (sscanf(line, "seq %" SCNu64 " %" SCNu64, &seq, &edge) == 2) {
            if (!dp.ops->set_seq || dp.ops->set_seq(&dp, c, seq, edge) < 0)
                printf("{\"error\": \"set_seq(%" PRIu64 ", %" PRIu64 ") failed\"}\n", seq, edge);
            else
                print_counters(&dp, c);
        } else {
            printf("{\"error\": \"unknown command\"}\n");
        }
    }
    dp_close(&dp);
    event_base_free(base);
    return 0;
}
