/*
 * XFRM states left behind by a killed predecessor.
 *
 * The kernel keeps a state until someone deletes it: after kill -9 (or a
 * crash) of haiked, the pairs it installed stay in the kernel. Under HA
 * the restarted node then mirrors the very same SAs from the master (same
 * SPIs), and its install meets them: EEXIST, the CHILD SA is not mirrored,
 * and the node stands by without it (it drops the master's counter
 * updates and has nothing to take over with). A state that is the same SA
 * (outer addresses, SPI, mode, algorithms, keys) is ours and is replaced;
 * anything else under that SPI is another SA and stays (the install fails
 * as before).
 */
#include <netinet/in.h>
#include <string.h>

#include <linux/xfrm.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/xfrm/sa.h>
#include <openssl/crypto.h>

#include "dp_xfrm.h"
#include "dp_xfrm_netns.h"

#define KEY_MAX 128 /* octets: HMAC-SHA-512 takes 64, AES-256-GCM 36 */

struct alg_view {
    int rc; /* 0: present */
    char name[XF_ALG_NAME_MAX];
    unsigned bits, extra; /* key length; ICV (AEAD) or truncation (auth) */
    unsigned char key[KEY_MAX];
};

static bool alg_equal(const struct alg_view *a, const struct alg_view *b)
{
    if (a->rc != b->rc)
        return false;
    if (a->rc != 0)
        return true; /* absent on both */
    size_t len = (a->bits + 7) / 8;
    return !strcmp(a->name, b->name) && a->bits == b->bits && a->extra == b->extra &&
           len <= KEY_MAX && CRYPTO_memcmp(a->key, b->key, len) == 0;
}

/* libnl copies the key without a bound: ask for its length first. */
static void read_aead(struct xfrmnl_sa *sa, struct alg_view *v)
{
    v->rc = xfrmnl_sa_get_aead_params(sa, NULL, &v->bits, NULL, NULL);
    if (v->rc == 0 && (v->bits + 7) / 8 > KEY_MAX)
        v->rc = -2;
    if (v->rc == 0)
        v->rc = xfrmnl_sa_get_aead_params(sa, v->name, &v->bits, &v->extra, (char *)v->key);
}

static void read_crypt(struct xfrmnl_sa *sa, struct alg_view *v)
{
    v->rc = xfrmnl_sa_get_crypto_params(sa, NULL, &v->bits, NULL);
    if (v->rc == 0 && (v->bits + 7) / 8 > KEY_MAX)
        v->rc = -2;
    if (v->rc == 0)
        v->rc = xfrmnl_sa_get_crypto_params(sa, v->name, &v->bits, (char *)v->key);
}

static void read_auth(struct xfrmnl_sa *sa, struct alg_view *v)
{
    v->rc = xfrmnl_sa_get_auth_params(sa, NULL, &v->bits, NULL, NULL);
    if (v->rc == 0 && (v->bits + 7) / 8 > KEY_MAX)
        v->rc = -2;
    if (v->rc == 0)
        v->rc = xfrmnl_sa_get_auth_params(sa, v->name, &v->bits, &v->extra, (char *)v->key);
}

static bool addr_equal(struct nl_addr *a, struct nl_addr *b)
{
    return a && b && nl_addr_cmp(a, b) == 0;
}

bool xf_sa_same(struct xfrmnl_sa *a, struct xfrmnl_sa *b)
{
    if (xfrmnl_sa_get_spi(a) != xfrmnl_sa_get_spi(b) ||
        xfrmnl_sa_get_proto(a) != xfrmnl_sa_get_proto(b) ||
        xfrmnl_sa_get_mode(a) != xfrmnl_sa_get_mode(b) ||
        !addr_equal(xfrmnl_sa_get_daddr(a), xfrmnl_sa_get_daddr(b)) ||
        !addr_equal(xfrmnl_sa_get_saddr(a), xfrmnl_sa_get_saddr(b)))
        return false;
    struct alg_view va[3] = {0}, vb[3] = {0}; /* keys: wiped below */
    read_aead(a, &va[0]), read_aead(b, &vb[0]);
    read_crypt(a, &va[1]), read_crypt(b, &vb[1]);
    read_auth(a, &va[2]), read_auth(b, &vb[2]);
    bool same = va[0].rc == 0 || va[1].rc == 0; /* an ESP SA has an AEAD or a cipher */
    for (int i = 0; i < 3; i++)
        same = same && alg_equal(&va[i], &vb[i]);
    OPENSSL_cleanse(va, sizeof(va));
    OPENSSL_cleanse(vb, sizeof(vb));
    return same;
}

int xf_sa_replace_leftover(struct xf_priv *xp, struct xf_ns *ns, const struct xf_sa_params *p,
                           char *err, size_t errlen)
{
    struct xfrmnl_sa *want = NULL, *have = NULL;
    if (xf_sa_build(p, &want, err, errlen) < 0)
        return -1;
    struct nl_addr *dst = xf_nl_addr(p->dst);
    int r = dst ? xfrmnl_sa_get_kernel(ns->cmd, dst, p->spi, IPPROTO_ESP, 0, 0, &have) : -NLE_NOMEM;
    nl_addr_put(dst);
    bool same = r >= 0 && have && xf_sa_same(want, have);
    xfrmnl_sa_put(want);
    if (have)
        xfrmnl_sa_put(have);
    if (!same)
        return 0;
    if (xf_sa_delete(xp, ns, p->spi, p->dst, err, errlen) < 0)
        return -1;
    xp->leftovers_replaced++;
    return 1;
}
