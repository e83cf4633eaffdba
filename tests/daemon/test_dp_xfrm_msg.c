/*
 * The kernel data plane's message building, without a kernel: algorithm
 * mapping, range -> prefix/port blocks, TS pairs -> XFRM selectors, and
 * states/policies encoded into netlink messages (libnl) and parsed back,
 * attribute by attribute. Plus the HZ arithmetic of the AE timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/sp.h>

#include <ike/const.h>

#include "esp/dp_xfrm.h"
#include "xf_test_util.h"

/* ---- algorithms ------------------------------------------------------------- */

static void test_alg_map(void **state)
{
    (void)state;
    struct xf_alg a;
    char err[160];
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_NONE, &a, err, sizeof(err)), 0);
    assert_true(a.aead);
    assert_string_equal(a.enc, "rfc4106(gcm(aes))");
    assert_int_equal(a.icv_bits, 128);
    assert_int_equal(a.enc_key_len, 36); /* key + 4-octet salt */
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_GCM_12, 128, 0, &a, err, sizeof(err)), 0);
    assert_int_equal(a.icv_bits, 96);
    assert_int_equal(a.enc_key_len, 20);
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_GCM_8, 192, 0, &a, err, sizeof(err)), 0);
    assert_int_equal(a.icv_bits, 64);
    assert_int_equal(a.enc_key_len, 28);
    assert_int_equal(xf_alg_map(IKE_ENCR_CHACHA20_POLY1305, 256, 0, &a, err, sizeof(err)), 0);
    assert_string_equal(a.enc, "rfc7539esp(chacha20,poly1305)");
    assert_int_equal(a.enc_key_len, 36);
    assert_int_equal(a.icv_bits, 128);

    static const struct {
        uint16_t id;
        const char *name;
        unsigned trunc;
        size_t key;
    } h[] = {
        {IKE_INTEG_HMAC_SHA1_96, "hmac(sha1)", 96, 20},
        {IKE_INTEG_HMAC_SHA2_256_128, "hmac(sha256)", 128, 32},
        {IKE_INTEG_HMAC_SHA2_384_192, "hmac(sha384)", 192, 48},
        {IKE_INTEG_HMAC_SHA2_512_256, "hmac(sha512)", 256, 64},
    };
    for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
        assert_int_equal(xf_alg_map(IKE_ENCR_AES_CBC, 256, h[i].id, &a, err, sizeof(err)), 0);
        assert_false(a.aead);
        assert_string_equal(a.enc, "cbc(aes)");
        assert_int_equal(a.enc_key_len, 32);
        assert_string_equal(a.auth, h[i].name);
        assert_int_equal(a.trunc_bits, h[i].trunc);
        assert_int_equal(a.auth_key_len, h[i].key);
    }
}

static void test_alg_refused(void **state)
{
    (void)state;
    struct xf_alg a;
    char err[160] = "";
    assert_int_equal(
        xf_alg_map(IKE_ENCR_AES_GCM_16, 256, IKE_INTEG_HMAC_SHA1_96, &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "AEAD"));
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_CBC, 128, IKE_INTEG_NONE, &a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs an integrity"));
    assert_int_equal(xf_alg_map(IKE_ENCR_3DES, 0, IKE_INTEG_HMAC_SHA1_96, &a, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "not supported"));
    assert_int_equal(
        xf_alg_map(IKE_ENCR_AES_CBC, 100, IKE_INTEG_HMAC_SHA1_96, &a, err, sizeof(err)), -1);
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_MD5_96, &a, err, sizeof(err)),
                     -1);
}

/* ---- ranges and selectors ------------------------------------------------------ */

struct got {
    size_t n;
    uint8_t v[40][16];
    unsigned plen[40];
    size_t len;
};

static void collect(void *arg, const uint8_t *value, unsigned plen)
{
    struct got *g = arg;
    assert_true(g->n < 40);
    memcpy(g->v[g->n], value, g->len);
    g->plen[g->n++] = plen;
}

static void test_range_blocks(void **state)
{
    (void)state;
    struct got g = {.len = 4};
    uint8_t s[4] = {192, 0, 2, 0}, e[4] = {192, 0, 2, 127};
    xf_range_blocks(s, e, 4, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.plen[0], 25);
    assert_memory_equal(g.v[0], s, 4);

    memset(&g, 0, sizeof(g));
    g.len = 4;
    uint8_t s2[4] = {10, 0, 0, 1}, e2[4] = {10, 0, 0, 6};
    xf_range_blocks(s2, e2, 4, collect, &g);
    assert_int_equal(g.n, 4); /* .1/32 .2/31 .4/31 .6/32 */
    static const uint8_t last[] = {1, 2, 4, 6};
    static const unsigned plen[] = {32, 31, 31, 32};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(g.v[i][3], last[i]);
        assert_int_equal(g.plen[i], plen[i]);
    }

    memset(&g, 0, sizeof(g));
    g.len = 4;
    uint8_t z[4] = {0}, f[4] = {255, 255, 255, 255};
    xf_range_blocks(z, f, 4, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.plen[0], 0);

    memset(&g, 0, sizeof(g));
    g.len = 4;
    xf_range_blocks(e, s, 4, collect, &g); /* start > end: nothing */
    assert_int_equal(g.n, 0);

    memset(&g, 0, sizeof(g));
    g.len = 2;
    uint8_t p0[2] = {0x04, 0x00}, p1[2] = {0xff, 0xff}; /* 1024-65535 */
    xf_range_blocks(p0, p1, 2, collect, &g);
    assert_int_equal(g.n, 6); /* 1024/6 2048/5 4096/4 8192/3 16384/2 32768/1 */
    assert_int_equal(g.plen[0], 6);
    assert_int_equal(g.plen[5], 1);
    assert_int_equal(g.v[5][0], 0x80);

    memset(&g, 0, sizeof(g));
    g.len = 16;
    uint8_t v6s[16] = {0x20, 0x01, 0x0d, 0xb8}, v6e[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0};
    memset(v6e + 8, 0xff, 8);
    xf_range_blocks(v6s, v6e, 16, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.plen[0], 64);
}

static struct ike_ts_export ts4(const char *lo, const char *hi, uint8_t proto, uint16_t p0,
                                uint16_t p1)
{
    struct ike_ts_export t = {
        .type = IKE_TS_IPV4_ADDR_RANGE, .ip_proto = proto, .start_port = p0, .end_port = p1};
    inet_pton(AF_INET, lo, t.start_addr);
    inet_pton(AF_INET, hi, t.end_addr);
    return t;
}

static void test_sel_expand(void **state)
{
    (void)state;
    struct xf_sel s[64];
    size_t n;
    char err[160] = "";
    struct ike_ts_export l = ts4("192.0.2.0", "192.0.2.127", 0, 0, 0xffff);
    struct ike_ts_export r = ts4("192.0.2.128", "192.0.2.255", IPPROTO_TCP, 443, 443);
    assert_int_equal(xf_sel_expand(&l, &r, s, 64, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].family, AF_INET);
    assert_int_equal(s[0].plen_s, 25);
    assert_int_equal(s[0].plen_d, 25);
    assert_int_equal(s[0].saddr[3], 0);
    assert_int_equal(s[0].daddr[3], 128);
    assert_int_equal(s[0].proto, IPPROTO_TCP);
    assert_int_equal(s[0].sport_mask, 0);
    assert_int_equal(s[0].dport, 443);
    assert_int_equal(s[0].dport_mask, 0xffff);
    /* more specific than "any to any" */
    struct xf_sel any = {.family = AF_INET};
    assert_true(xf_sel_priority(&s[0]) < xf_sel_priority(&any));

    /* ranges multiply: 2 x 4 prefixes */
    struct ike_ts_export l2 = ts4("10.0.0.0", "10.0.1.255", 0, 0, 0xffff); /* one /23 */
    struct ike_ts_export l3 = ts4("10.0.0.1", "10.0.0.6", 0, 0, 0xffff);   /* 4 blocks */
    struct ike_ts_export r2 = ts4("10.1.0.0", "10.1.0.1", 0, 0, 0xffff);   /* one /31 */
    assert_int_equal(xf_sel_expand(&l3, &r2, s, 64, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 4);
    assert_int_equal(xf_sel_expand(&l2, &r2, s, 64, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].plen_s, 23);
    assert_int_equal(s[0].plen_d, 31);
    assert_int_equal(xf_sel_expand(&l3, &r2, s, 3, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 3"));

    /* ICMP echo request (type 8, any code) */
    struct ike_ts_export ic =
        ts4("192.0.2.128", "192.0.2.255", IPPROTO_ICMP, 8 << 8, 8 << 8 | 0xff);
    assert_int_equal(xf_sel_expand(&l, &ic, s, 64, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].sport, 8);
    assert_int_equal(s[0].sport_mask, 0xffff);
    assert_int_equal(s[0].dport_mask, 0);
    struct ike_ts_export icbad = ts4("192.0.2.128", "192.0.2.255", IPPROTO_ICMP, 0, 8 << 8);
    assert_int_equal(xf_sel_expand(&l, &icbad, s, 64, &n, err, sizeof(err)), -1);

    /* disagreeing TSs */
    struct ike_ts_export udp = ts4("192.0.2.128", "192.0.2.255", IPPROTO_UDP, 0, 0xffff);
    struct ike_ts_export tcp = ts4("192.0.2.0", "192.0.2.127", IPPROTO_TCP, 0, 0xffff);
    assert_int_equal(xf_sel_expand(&tcp, &udp, s, 64, &n, err, sizeof(err)), -1);
    struct ike_ts_export v6 = {.type = IKE_TS_IPV6_ADDR_RANGE, .end_port = 0xffff};
    memset(v6.end_addr, 0xff, 16);
    assert_int_equal(xf_sel_expand(&l, &v6, s, 64, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "families"));
}

/* ---- states: build, encode, parse back -------------------------------------------- */

static void test_state_gcm_esn_encap(void **state)
{
    (void)state;
    struct ike_addr src = xft_addr4("203.0.113.1", 4500), dst = xft_addr4("203.0.113.2", 4501);
    struct xf_alg alg;
    char err[160];
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_GCM_16, 256, 0, &alg, err, sizeof(err)), 0);
    struct ike_key_export k = {.len = 36};
    for (int i = 0; i < 36; i++)
        k.data[i] = (uint8_t)i;
    struct ike_key_export none = {0};
    struct xf_sa_params p = {.spi = 0xc0ffee01,
                             .src = &src,
                             .dst = &dst,
                             .reqid = 7,
                             .alg = &alg,
                             .encr = &k,
                             .integ = &none,
                             .esn = true,
                             .replay_window = 1024,
                             .encap = true,
                             .lim = {.soft_bytes = 1000, .hard_bytes = 2000},
                             .etimer = 250,
                             .replay_thresh = 64};
    struct nl_msg *msg;
    struct xfrmnl_sa *sa = xft_sa_round_trip(&p, &msg);
    assert_int_equal((uint32_t)xfrmnl_sa_get_spi(sa), 0xc0ffee01);
    assert_int_equal(xfrmnl_sa_get_proto(sa), IPPROTO_ESP);
    assert_int_equal(xfrmnl_sa_get_family(sa), AF_INET);
    assert_int_equal(xfrmnl_sa_get_mode(sa), XFRM_MODE_TUNNEL);
    assert_int_equal(xfrmnl_sa_get_reqid(sa), 7);
    assert_int_equal(xfrmnl_sa_get_flags(sa), XFRM_STATE_ESN | XFRM_STATE_AF_UNSPEC);
    assert_memory_equal(nl_addr_get_binary_addr(xfrmnl_sa_get_daddr(sa)), dst.addr, 4);
    assert_memory_equal(nl_addr_get_binary_addr(xfrmnl_sa_get_saddr(sa)), src.addr, 4);
    /* the kernel rejects a legacy window next to XFRMA_REPLAY_ESN_VAL */
    assert_int_equal(xfrmnl_sa_get_replay_window(sa), 0);

    char name[64];
    unsigned klen, icv;
    char key[64];
    assert_int_equal(xfrmnl_sa_get_aead_params(sa, name, &klen, &icv, key), 0);
    assert_string_equal(name, "rfc4106(gcm(aes))");
    assert_int_equal(klen, 288);
    assert_int_equal(icv, 128);
    assert_memory_equal(key, k.data, 36);
    assert_null(nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct xfrm_usersa_info), XFRMA_ALG_CRYPT));

    unsigned oseq, seq, oseq_hi, seq_hi, win, bmp_len, bmp[128];
    assert_int_equal(
        xfrmnl_sa_get_replay_state_esn(sa, &oseq, &seq, &oseq_hi, &seq_hi, &win, &bmp_len, bmp), 0);
    assert_int_equal(win, 1024);
    assert_int_equal(bmp_len, 32);
    assert_int_equal(oseq | seq | oseq_hi | seq_hi, 0);

    unsigned type, sport, dport;
    struct nl_addr *oa = NULL;
    assert_int_equal(xfrmnl_sa_get_encap_tmpl(sa, &type, &sport, &dport, &oa), 0);
    assert_int_equal(type, UDP_ENCAP_ESPINUDP);
    assert_int_equal(sport, 4500);
    assert_int_equal(dport, 4501);
    nl_addr_put(oa);

    struct xfrmnl_ltime_cfg *lt = xfrmnl_sa_get_lifetime_cfg(sa);
    assert_non_null(lt);
    assert_int_equal(xfrmnl_ltime_cfg_get_soft_bytelimit(lt), 1000);
    assert_int_equal(xfrmnl_ltime_cfg_get_hard_bytelimit(lt), 2000);
    assert_true(xfrmnl_ltime_cfg_get_soft_packetlimit(lt) == XFRM_INF); /* 0 = none */
    assert_true(xfrmnl_ltime_cfg_get_hard_packetlimit(lt) == XFRM_INF);
    assert_int_equal(xfrmnl_ltime_cfg_get_hard_addexpires(lt), 0); /* libike times them */

    assert_int_equal(xfrmnl_sa_get_replay_maxage(sa), 250);
    assert_int_equal(xfrmnl_sa_get_replay_maxdiff(sa), 64);
    xfrmnl_sa_put(sa);
    nlmsg_free(msg);
}

static void test_state_cbc_no_esn(void **state)
{
    (void)state;
    struct ike_addr src = xft_addr4("203.0.113.1", 500), dst = xft_addr4("203.0.113.2", 500);
    struct xf_alg alg;
    char err[160];
    assert_int_equal(
        xf_alg_map(IKE_ENCR_AES_CBC, 128, IKE_INTEG_HMAC_SHA2_256_128, &alg, err, sizeof(err)), 0);
    struct ike_key_export e = {.len = 16}, i = {.len = 32};
    memset(e.data, 0xe5, 16);
    memset(i.data, 0x1a, 32);
    struct xf_sa_params p = {.spi = 0x1234,
                             .src = &src,
                             .dst = &dst,
                             .reqid = 1,
                             .alg = &alg,
                             .encr = &e,
                             .integ = &i,
                             .replay_window = 0,
                             .etimer = 100};
    struct nl_msg *msg;
    struct xfrmnl_sa *sa = xft_sa_round_trip(&p, &msg);
    char name[64], key[64];
    unsigned klen, trunc;
    assert_int_equal(xfrmnl_sa_get_crypto_params(sa, name, &klen, key), 0);
    assert_string_equal(name, "cbc(aes)");
    assert_int_equal(klen, 128);
    assert_int_equal(xfrmnl_sa_get_auth_params(sa, name, &klen, &trunc, key), 0);
    assert_string_equal(name, "hmac(sha256)");
    assert_int_equal(klen, 256);
    assert_int_equal(trunc, 128); /* RFC 4868: 128, not the kernel's 96 default */
    assert_memory_equal(key, i.data, 32);
    assert_non_null(
        nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct xfrm_usersa_info), XFRMA_ALG_AUTH_TRUNC));
    assert_int_equal(xfrmnl_sa_get_flags(sa), XFRM_STATE_AF_UNSPEC); /* no ESN */
    unsigned oseq, seq, oseq_hi, seq_hi, win, bmp_len, bmp[128];
    assert_int_equal(
        xfrmnl_sa_get_replay_state_esn(sa, &oseq, &seq, &oseq_hi, &seq_hi, &win, &bmp_len, bmp), 0);
    assert_int_equal(win, 0); /* replay protection off */
    assert_int_equal(bmp_len, 1);
    unsigned type, sport, dport;
    struct nl_addr *oa = NULL;
    assert_int_equal(xfrmnl_sa_get_encap_tmpl(sa, &type, &sport, &dport, &oa), -1);
    /* sent even when 0: the kernel's default would be an event every 2 packets */
    assert_int_equal(xfrmnl_sa_get_replay_maxdiff(sa), 0);
    assert_non_null(
        nlmsg_find_attr(nlmsg_hdr(msg), sizeof(struct xfrm_usersa_info), XFRMA_REPLAY_THRESH));
    xfrmnl_sa_put(sa);
    nlmsg_free(msg);
}

static void test_state_refused(void **state)
{
    (void)state;
    struct ike_addr src = xft_addr4("203.0.113.1", 500), dst = xft_addr4("203.0.113.2", 500);
    struct xf_alg alg;
    char err[160] = "";
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_GCM_16, 128, 0, &alg, err, sizeof(err)), 0);
    struct ike_key_export k = {.len = 16}, none = {0}; /* salt missing */
    struct xf_sa_params p = {
        .spi = 0xabcd0001, .src = &src, .dst = &dst, .alg = &alg, .encr = &k, .integ = &none};
    struct xfrmnl_sa *sa = (struct xfrmnl_sa *)1;
    assert_int_equal(xf_sa_build(&p, &sa, err, sizeof(err)), -1);
    assert_null(sa);
    assert_non_null(strstr(err, "abcd0001"));
    assert_non_null(strstr(err, "key lengths"));
}

static void test_replay_window(void **state)
{
    (void)state;
    assert_int_equal(xf_replay_window(0, false), 0);
    assert_int_equal(xf_replay_window(0, true), 32); /* the kernel needs one with ESN */
    assert_int_equal(xf_replay_window(64, true), 64);
    assert_int_equal(xf_replay_window(100000, false), 4096);
    assert_int_equal(xf_replay_bmp_len(0), 1);
    assert_int_equal(xf_replay_bmp_len(32), 1);
    assert_int_equal(xf_replay_bmp_len(33), 2);
    assert_int_equal(xf_replay_bmp_len(4096), 128);
}

/* ---- policies ------------------------------------------------------------------- */

static void test_policy_encoding(void **state)
{
    (void)state;
    struct xf_sel s = {.family = AF_INET,
                       .plen_s = 25,
                       .plen_d = 25,
                       .proto = IPPROTO_TCP,
                       .dport = 443,
                       .dport_mask = 0xffff};
    inet_pton(AF_INET, "192.0.2.0", s.saddr);
    inet_pton(AF_INET, "192.0.2.128", s.daddr);
    struct ike_addr a = xft_addr4("203.0.113.1", 4500), b = xft_addr4("203.0.113.2", 4500);
    struct xfrmnl_sp *sp = NULL;
    assert_int_equal(xf_sp_build(&s, XFRM_POLICY_OUT, 4242, 9, &a, &b, &sp), 0);
    struct nl_msg *msg = NULL;
    assert_int_equal(xfrmnl_sp_build_add_request(sp, 0, &msg), 0);
    xfrmnl_sp_put(sp);
    /* the wire format itself (libnl's policy parser leaks addresses) */
    struct nlmsghdr *h = nlmsg_hdr(msg);
    assert_int_equal(h->nlmsg_type, XFRM_MSG_NEWPOLICY);
    const struct xfrm_userpolicy_info *pi = nlmsg_data(h);
    assert_int_equal(pi->dir, XFRM_POLICY_OUT);
    assert_int_equal(pi->priority, 4242);
    assert_int_equal(pi->action, XFRM_POLICY_ALLOW);
    assert_int_equal(pi->sel.family, AF_INET);
    assert_int_equal(pi->sel.prefixlen_s, 25);
    assert_int_equal(pi->sel.prefixlen_d, 25);
    assert_int_equal(pi->sel.proto, IPPROTO_TCP);
    assert_int_equal(ntohs(pi->sel.dport), 443);
    assert_int_equal(ntohs(pi->sel.dport_mask), 0xffff);
    assert_int_equal(pi->sel.sport_mask, 0);
    assert_memory_equal(&pi->sel.saddr, s.saddr, 4);
    assert_memory_equal(&pi->sel.daddr, s.daddr, 4);
    assert_true(pi->lft.hard_byte_limit == XFRM_INF); /* 0 would expire it */
    struct nlattr *ta = nlmsg_find_attr(h, sizeof(*pi), XFRMA_TMPL);
    assert_non_null(ta);
    assert_int_equal(nla_len(ta), sizeof(struct xfrm_user_tmpl)); /* exactly one */
    const struct xfrm_user_tmpl *t = nla_data(ta);
    assert_int_equal(t->reqid, 9);
    assert_int_equal(t->id.proto, IPPROTO_ESP);
    assert_int_equal(t->mode, XFRM_MODE_TUNNEL);
    assert_int_equal(t->family, AF_INET);
    assert_int_equal(t->id.spi, 0);
    assert_memory_equal(&t->saddr, a.addr, 4);
    assert_memory_equal(&t->id.daddr, b.addr, 4);
    assert_true(t->ealgos == ~0u && t->aalgos == ~0u);
    nlmsg_free(msg);
}

/* ---- AE timer arithmetic ---------------------------------------------------------- */

static void test_hz(void **state)
{
    (void)state;
    assert_int_equal(xf_hz_from_readback(100000, 10000), 100);
    assert_int_equal(xf_hz_from_readback(100000, 4000), 250);
    assert_int_equal(xf_hz_from_readback(100000, 3333), 300);
    assert_int_equal(xf_hz_from_readback(100000, 1000), 1000);
    assert_int_equal(xf_hz_from_readback(100000, 0), 0);
    assert_int_equal(xf_hz_from_readback(100000, 100000), 0); /* HZ 10: not a kernel's */
    struct xf_priv p = {.hz = 250};
    assert_int_equal(xf_etimer_for(&p, 1000), 250);
    assert_int_equal(xf_etimer_for(&p, 100), 25);
    assert_int_equal(xf_etimer_for(&p, 1), 1); /* never 0: that would stop the timer */
    p.hz = 0;                                  /* unknown: the guess, 100 */
    assert_int_equal(xf_etimer_for(&p, 500), 50);
    assert_true(xf_seq64(1, 5) == 0x100000005ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alg_map),
        cmocka_unit_test(test_alg_refused),
        cmocka_unit_test(test_range_blocks),
        cmocka_unit_test(test_sel_expand),
        cmocka_unit_test(test_state_gcm_esn_encap),
        cmocka_unit_test(test_state_cbc_no_esn),
        cmocka_unit_test(test_state_refused),
        cmocka_unit_test(test_replay_window),
        cmocka_unit_test(test_policy_encoding),
        cmocka_unit_test(test_hz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
