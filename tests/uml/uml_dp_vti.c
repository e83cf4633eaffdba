/*
 * uml_dp_vti: drives the kernel data plane's route-based mode by hand, for
 * test_uml_kernel_vti.py inside the UML guest: the CHILD SA pairs of one
 * route-based gateway "vti" (device hk-vti, selector "net" with add-route)
 * installed from different peer addresses, as after a peer moved (NAT
 * rebinding to a new address, a reauthentication from elsewhere), which
 * the lab cannot make strongSwan do; and the gateway removed under a
 * pair that is still installed.
 *
 *   uml_dp_vti LOCAL LOCAL_NET REMOTE_NET [vdom=NETNS]
 *
 * (vdom=NETNS: the gateway is in a VDOM whose namespace is /run/netns/NETNS,
 * which the backend works in from here.)
 *
 * Commands on stdin, one a line, each answered with one JSON line
 * ({"ok": true} or {"error": "..."}):
 *
 *   install SPI_IN SPI_OUT REMOTE   a new AES-GCM-16/256 pair to REMOTE
 *   remove SPI_IN                   the pair goes
 *   gone                            the gateway is removed (reload)
 *   quit (or EOF)                   dp_close, exit 0
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <ike/const.h>
#include <ike/export.h>

#include "config/config.h"
#include "daemon.h"
#include "dataplane.h"
#include "gateway.h"

static int parse_addr(const char *s, struct ike_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = IKE_AF_INET;
    return inet_pton(AF_INET, s, out->addr) == 1 ? 0 : -1;
}

/* "192.0.2.0/25" as an IPv4 address-range traffic selector. */
static int parse_net(const char *s, struct ike_ts_export *ts)
{
    char buf[32];
    unsigned plen;
    struct in_addr a;
    if (sscanf(s, "%31[0-9.]/%u", buf, &plen) != 2 || plen > 32 || inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    uint32_t mask = plen ? 0xffffffffu << (32 - plen) : 0;
    uint32_t lo = htonl(ntohl(a.s_addr) & mask), hi = htonl(ntohl(a.s_addr) | ~mask);
    memset(ts, 0, sizeof(*ts));
    ts->type = IKE_TS_IPV4_ADDR_RANGE;
    ts->end_port = 65535;
    memcpy(ts->start_addr, &lo, 4);
    memcpy(ts->end_addr, &hi, 4);
    return 0;
}

int main(int argc, char **argv)
{
    struct ike_addr local;
    struct ike_child_export ex;
    memset(&ex, 0, sizeof(ex));
    ex.n_ts_local = ex.n_ts_remote = 1;
    struct vdom_rt vdom;
    memset(&vdom, 0, sizeof(vdom));
    bool in_vdom = argc == 5 && !strncmp(argv[4], "vdom=", 5) && argv[4][5] &&
                   strlen(argv[4] + 5) < sizeof(vdom.netns);
    if ((argc != 4 && !in_vdom) || parse_addr(argv[1], &local) ||
        parse_net(argv[2], &ex.ts_local[0]) || parse_net(argv[3], &ex.ts_remote[0])) {
        fprintf(stderr, "usage: uml_dp_vti LOCAL LOCAL_NET REMOTE_NET [vdom=NETNS]\n");
        return 2;
    }
    if (in_vdom) {
        snprintf(vdom.name, sizeof(vdom.name), "vti");
        snprintf(vdom.netns, sizeof(vdom.netns), "%s", argv[4] + 5);
    }
    ex.version = IKE_EXPORT_VERSION;
    snprintf(ex.cfg_name, sizeof(ex.cfg_name), "net");
    ex.protocol = IKE_PROTO_ESP;
    ex.tunnel = true;
    ex.encr_id = IKE_ENCR_AES_GCM_16;
    ex.encr_key_bits = 256;
    ex.encr_in.len = ex.encr_out.len = 36;
    memset(ex.encr_in.data, 0x11, 36);
    memset(ex.encr_out.data, 0x22, 36);

    /* gateway "vti", route-based, one selector "net" with add-route */
    struct cfg_selector sel;
    struct cfg_gateway g;
    struct gateway gw;
    struct gw_sa owner;
    memset(&sel, 0, sizeof(sel));
    memset(&g, 0, sizeof(g));
    memset(&gw, 0, sizeof(gw));
    memset(&owner, 0, sizeof(owner));
    sel.name = "net";
    sel.add_route = true;
    g.route_based = true;
    g.selectors = &sel;
    g.n_selectors = 1;
    gw.name = "vti";
    gw.cfg = &g;
    owner.gw = &gw;
    owner.vdom = in_vdom ? &vdom : NULL;
    TAILQ_INIT(&owner.children);

    struct event_base *base = event_base_new();
    struct dp dp;
    char err[256];
    if (!base || dp_open(&dp, "kernel", base, err, sizeof(err)) < 0) {
        fprintf(stderr, "uml_dp_vti: %s\n", base ? err : "event_base_new failed");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char line[160];
    while (fgets(line, sizeof(line), stdin)) {
        char remote_s[64];
        unsigned spi_in, spi_out;
        struct ike_addr remote;
        if (!strcmp(line, "quit\n"))
            break;
        if (sscanf(line, "install %x %x %63s", &spi_in, &spi_out, remote_s) == 3 &&
            !parse_addr(remote_s, &remote)) {
            ex.spi_in = spi_in;
            ex.spi_out = spi_out;
            if (dp_child_install(&dp, &owner, &ex, &local, &remote, false, 0, err, sizeof(err)))
                printf("{\"ok\": true}\n");
            else
                printf("{\"error\": \"%s\"}\n", err);
        } else if (sscanf(line, "remove %x", &spi_in) == 1) {
            struct dp_child *c = dp_child_find(&dp, spi_in);
            if (c)
                dp_child_delete(&dp, c);
            printf(c ? "{\"ok\": true}\n" : "{\"error\": \"no such pair\"}\n");
        } else if (!strcmp(line, "gone\n")) {
            dp_gateway_removed(&dp, "vti");
            printf("{\"ok\": true}\n");
        } else {
            printf("{\"error\": \"unknown command\"}\n");
        }
    }
    ike_export_wipe(&ex, sizeof(ex));
    dp_close(&dp);
    event_base_free(base);
    return 0;
}
