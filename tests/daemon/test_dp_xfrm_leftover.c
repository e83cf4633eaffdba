/*
 * A state left in the kernel by a killed haiked is replaced only when it is
 * the very SA being installed (dp_xfrm_leftover.c): xf_sa_same() on states
 * built by the backend and parsed back from their netlink messages, as a
 * GETSA answer is. Without a kernel; the replacement itself runs in
 * test_dp_xfrm_kernel.c (inside UML, where the kernel has ESP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/xfrm/sa.h>

#include <ike/const.h>

#include "esp/dp_xfrm.h"
#include "xf_test_util.h"

struct fixture {
    struct ike_addr src, dst;
    struct xf_alg alg;
    struct ike_key_export encr, integ;
    struct xf_sa_params p;
};

static void gcm(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->src = xft_addr4("203.0.113.10", 500);
    f->dst = xft_addr4("203.0.113.2", 500);
    char err[160];
    assert_int_equal(xf_alg_map(IKE_ENCR_AES_GCM_16, 256, 0, &f->alg, err, sizeof(err)), 0);
    f->encr.len = 36;
    memset(f->encr.data, 0x42, 36);
    f->p = (struct xf_sa_params){.spi = 0xc0de0001,
                                 .src = &f->src,
                                 .dst = &f->dst,
                                 .reqid = 1,
                                 .alg = &f->alg,
                                 .encr = &f->encr,
                                 .integ = &f->integ,
                                 .esn = true,
                                 .replay_window = 1024,
                                 .etimer = 100};
}

static void cbc(struct fixture *f)
{
    gcm(f);
    char err[160];
    assert_int_equal(
        xf_alg_map(IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_512_256, &f->alg, err, sizeof(err)),
        0);
    f->encr.len = 32;
    f->integ.len = 64;
    memset(f->integ.data, 0x17, 64);
    f->p.esn = false;
}

static bool same(const struct xf_sa_params *a, const struct xf_sa_params *b)
{
    struct xfrmnl_sa *x = xft_sa_round_trip(a, NULL), *y = xft_sa_round_trip(b, NULL);
    bool r = xf_sa_same(x, y);
    assert_int_equal(xf_sa_same(y, x), r); /* symmetric */
    xfrmnl_sa_put(x);
    xfrmnl_sa_put(y);
    return r;
}

/* What a restarted node installs again differs from its predecessor's
 * state only in what the kernel counts or what haiked picks per run (the
 * reqid, the replay state, the event thresholds): the same SA. */
static void test_same_sa(void **state)
{
    (void)state;
    struct fixture f, g;
    gcm(&f);
    gcm(&g);
    g.p.reqid = 9;
    g.p.oseq = 1048576;
    g.p.etimer = 250;
    g.p.replay_thresh = 1024;
    assert_true(same(&f.p, &g.p));
    cbc(&f);
    cbc(&g);
    g.p.reqid = 3;
    assert_true(same(&f.p, &g.p));
}

/* Anything that makes it another SA: left alone (the install fails). */
static void test_other_sa(void **state)
{
    (void)state;
    struct fixture f, g;
    gcm(&f);
    gcm(&g);
    g.encr.data[35] ^= 1; /* the salt */
    assert_false(same(&f.p, &g.p));
    gcm(&g);
    g.encr.data[0] ^= 0x80;
    assert_false(same(&f.p, &g.p));
    gcm(&g);
    g.src = xft_addr4("203.0.113.3", 500);
    assert_false(same(&f.p, &g.p));
    gcm(&g);
    g.dst = xft_addr4("203.0.113.4", 500);
    assert_false(same(&f.p, &g.p));
    gcm(&g);
    g.p.spi = 0xc0de0002;
    assert_false(same(&f.p, &g.p));
    cbc(&g); /* the same key octets, another algorithm */
    assert_false(same(&f.p, &g.p));
    cbc(&f);
    cbc(&g);
    g.integ.data[63] ^= 1; /* only the HMAC key differs */
    assert_false(same(&f.p, &g.p));
    cbc(&g);
    char err[160];
    assert_int_equal(
        xf_alg_map(IKE_ENCR_AES_CBC, 256, IKE_INTEG_HMAC_SHA2_256_128, &g.alg, err, sizeof(err)),
        0);
    g.integ.len = 32;
    memcpy(f.integ.data, g.integ.data, 32);
    assert_false(same(&f.p, &g.p)); /* the same key prefix, another HMAC */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_sa),
        cmocka_unit_test(test_other_sa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
