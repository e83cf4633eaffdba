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
#include <event2/event.h>

#include "config/config.h"
#include "dataplane.h"
#include "uml_dp_util.h"

int main(int argc, char **argv)
{
    struct ike_addr local;
    struct ike_child_export ex;
    uml_child_init(&ex, "net");
    struct vdom_rt vdom;
    memset(&vdom, 0, sizeof(vdom));
    bool in_vdom = argc == 5 && uml_parse_vdom(argv[4], "vti", &vdom);
    if ((argc != 4 && !in_vdom) || uml_parse_addr(argv[1], &local) ||
        uml_parse_net(argv[2], &ex.ts_local[0]) || uml_parse_net(argv[3], &ex.ts_remote[0])) {
        fprintf(stderr, "usage: uml_dp_vti LOCAL LOCAL_NET REMOTE_NET [vdom=NETNS]\n");
        return 2;
    }
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
    sel.name = "net";
    sel.add_route = true;
    g.route_based = true;
    g.selectors = &sel;
    g.n_selectors = 1;
    uml_owner_init(&owner, &gw, "vti");
    gw.cfg = &g;
    owner.vdom = in_vdom ? &vdom : NULL;

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
            !uml_parse_addr(remote_s, &remote)) {
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
