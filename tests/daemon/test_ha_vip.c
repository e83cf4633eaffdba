/*
 * VIPs (daemon/ha/ha_vip.c) in a network namespace this test creates
 * (`ip netns add`, removed in teardown) with a veth pair (d0, d1): add is
 * idempotent, the address lands inside that namespace only, gratuitous ARP
 * (request and reply, sender = target = the VIP) and an unsolicited NA
 * leave the interface, removal is idempotent, a missing interface is an
 * error, never a crash. Needs root (skipped otherwise).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/addr_parse.h"
#include "daemon.h"
#include "ha/ha_role.h"
#include "net.h"

struct vt {
    char ns[32];
    struct daemon d;
    struct vdom_rt v;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int setup(void **state)
{
    if (geteuid() != 0) {
        *state = NULL;
        return 0;
    }
    struct vt *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    snprintf(t->ns, sizeof(t->ns), "hkvip%d", (int)getpid());
    if (sh("ip netns add %s && ip -n %s link add d0 type veth peer name d1 && ip -n %s link set d0 "
           "up && ip -n %s link set d1 up && "
           "ip -n %s link set lo up",
           t->ns, t->ns, t->ns, t->ns, t->ns) != 0) {
        sh("ip netns del %s 2>/dev/null", t->ns);
        free(t);
        *state = NULL;
        return 0;
    }
    snprintf(t->v.name, sizeof(t->v.name), "cust");
    snprintf(t->v.netns, sizeof(t->v.netns), "%s", t->ns);
    t->d.vdoms = &t->v;
    t->d.n_vdoms = 1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct vt *t = *state;
    if (t) {
        sh("ip netns del %s", t->ns);
        free(t);
    }
    return 0;
}

/* `ip -o addr show dev d0` inside ns (or in ours when ns is NULL). */
static bool has_addr(const char *ns, const char *what)
{
    char cmd[160], line[512];
    bool found = false;
    if (ns)
        snprintf(cmd, sizeof(cmd), "ip -n %s -o addr show dev d0 2>/dev/null", ns);
    else
        snprintf(cmd, sizeof(cmd), "ip -o addr show 2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p))
        if (strstr(line, what) && !strstr(line, "tentative"))
            found = true;
    pclose(p);
    return found;
}

static struct cfg_vip vip(const char *addr, uint8_t len, const char *ifname)
{
    struct cfg_vip v = {.vdom = "cust", .ifname = (char *)ifname, .prefix_len = len};
    char err[128];
    assert_int_equal(cfg_addr_parse(addr, &v.addr, err, sizeof(err)), 0);
    v.addr.port = 0;
    return v;
}

struct arp_pkt {
    uint16_t htype, ptype;
    uint8_t hlen, plen;
    uint16_t oper;
    uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

static void test_ipv4_vip(void **state)
{
    struct vt *t = *state;
    if (!t)
        skip();
    struct cfg_vip v = vip("192.0.2.77", 24, "d0");
    char err[256] = "";
    assert_string_equal(ha_vip_netns(&t->d, &v), t->ns);
    assert_false(has_addr(t->ns, "192.0.2.77/24"));
    assert_int_equal(ha_vip_add(&t->d, &v, err, sizeof(err)), 0);
    assert_true(has_addr(t->ns, "inet 192.0.2.77/24"));
    assert_false(has_addr(NULL, "192.0.2.77")); /* not in the test's own namespace */
    assert_int_equal(ha_vip_add(&t->d, &v, err, sizeof(err)), 0); /* already there: fine */

    /* the announcement, seen by a packet socket in the namespace */
    int cap = net_socket_netns(t->ns, AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
    assert_true(cap >= 0);
    assert_int_equal(ha_vip_announce(&t->d, &v, err, sizeof(err)), 0);
    bool req = false, rep = false;
    for (int i = 0; i < 20 && !(req && rep); i++) {
        struct pollfd pf = {.fd = cap, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        struct arp_pkt p;
        ssize_t n = recv(cap, &p, sizeof(p), 0);
        if (n != (ssize_t)sizeof(p) || memcmp(p.spa, v.addr.addr, 4) ||
            memcmp(p.tpa, v.addr.addr, 4))
            continue;
        req |= ntohs(p.oper) == 1;
        rep |= ntohs(p.oper) == 2;
    }
    close(cap);
    assert_true(req);
    assert_true(rep);

    assert_int_equal(ha_vip_del(&t->d, &v, err, sizeof(err)), 0);
    assert_false(has_addr(t->ns, "192.0.2.77"));
    assert_int_equal(ha_vip_del(&t->d, &v, err, sizeof(err)), 0); /* already gone: fine */
}

static void test_ipv6_vip(void **state)
{
    struct vt *t = *state;
    if (!t)
        skip();
    struct cfg_vip v = vip("2001:db8::77", 64, "d0");
    char err[256] = "";
    int cap = net_socket_netns(t->ns, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IPV6));
    assert_true(cap >= 0);
    assert_int_equal(ha_vip_add(&t->d, &v, err, sizeof(err)), 0);
    /* NODAD: usable at once, not "tentative" */
    assert_true(has_addr(t->ns, "inet6 2001:db8::77/64"));
    assert_int_equal(ha_vip_announce(&t->d, &v, err, sizeof(err)), 0);
    bool na = false;
    for (int i = 0; i < 20 && !na; i++) {
        struct pollfd pf = {.fd = cap, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        uint8_t pkt[256];
        ssize_t n = recv(cap, pkt, sizeof(pkt), 0);
        /* IPv6 header (40) + NA: type 136, Override, target = the VIP */
        if (n >= 40 + 24 && pkt[6] == IPPROTO_ICMPV6 && pkt[7] == 255 && pkt[40] == 136 &&
            (pkt[44] & 0x20) && !memcmp(pkt + 48, v.addr.addr, 16))
            na = true;
    }
    close(cap);
    assert_true(na);
    assert_int_equal(ha_vip_del(&t->d, &v, err, sizeof(err)), 0);
    assert_false(has_addr(t->ns, "2001:db8::77"));
}

static void test_errors(void **state)
{
    struct vt *t = *state;
    if (!t)
        skip();
    struct cfg_vip v = vip("192.0.2.78", 32, "nope0");
    char err[256] = "";
    assert_int_equal(ha_vip_add(&t->d, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "interface nope0: "));
    assert_int_equal(ha_vip_announce(&t->d, &v, err, sizeof(err)), -1);
    /* lo has no Ethernet address: nothing to announce, not an error */
    struct cfg_vip l = vip("192.0.2.79", 32, "lo");
    assert_int_equal(ha_vip_add(&t->d, &l, err, sizeof(err)), 0);
    assert_int_equal(ha_vip_announce(&t->d, &l, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "no Ethernet address"));
    assert_int_equal(ha_vip_del(&t->d, &l, err, sizeof(err)), 0);
    /* a VDOM whose namespace is gone */
    snprintf(t->v.netns, sizeof(t->v.netns), "hkvip-missing");
    assert_int_equal(ha_vip_add(&t->d, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "netlink socket in hkvip-missing"));
    snprintf(t->v.netns, sizeof(t->v.netns), "%s", t->ns);
}

/* haiked --cleanup's removal: only the configured address with the
 * configured prefix, said whether it was there, idempotent; an interface
 * that is gone is nothing to remove, not an error. */
static void test_del_in(void **state)
{
    struct vt *t = *state;
    if (!t)
        skip();
    struct cfg_vip v = vip("192.0.2.80", 24, "d0");
    char err[256] = "";
    bool removed = true;
    assert_int_equal(sh("ip -n %s addr add 192.0.2.80/25 dev d0", t->ns), 0); /* not ours */
    assert_int_equal(ha_vip_del_in(t->ns, &v, &removed, err, sizeof(err)), 0);
    assert_false(removed);
    assert_true(has_addr(t->ns, "inet 192.0.2.80/25"));
    assert_int_equal(ha_vip_add(&t->d, &v, err, sizeof(err)), 0);
    assert_true(has_addr(t->ns, "inet 192.0.2.80/24"));
    assert_int_equal(ha_vip_del_in(t->ns, &v, &removed, err, sizeof(err)), 0);
    assert_true(removed);
    assert_false(has_addr(t->ns, "192.0.2.80/24"));
    assert_true(has_addr(t->ns, "inet 192.0.2.80/25"));
    assert_int_equal(ha_vip_del_in(t->ns, &v, &removed, err, sizeof(err)), 0);
    assert_false(removed);
    struct cfg_vip gone = vip("192.0.2.81", 24, "nope0");
    removed = true;
    assert_int_equal(ha_vip_del_in(t->ns, &gone, &removed, err, sizeof(err)), 0);
    assert_false(removed);
    /* the daemon's own removal still reports the missing interface */
    assert_int_equal(ha_vip_add(&t->d, &gone, err, sizeof(err)), -1);
    assert_int_equal(ha_vip_del_in("hkvip-missing", &v, &removed, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ipv4_vip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_vip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_in, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
