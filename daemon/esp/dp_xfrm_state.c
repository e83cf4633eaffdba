/*
 * One XFRM state (an ESP SA, one direction) through libnl-xfrm-3's
 * xfrmnl_sa, which covers every attribute we need: AEAD or cipher +
 * truncated HMAC, the ESN replay state, UDP encapsulation, byte/packet
 * lifetimes and the async-event thresholds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/sa.h>

#include <ike/const.h>

#include "dp_xfrm.h"
#include "dp_xfrm_netns.h"

/* XFRMA_REPLAY_ESN_VAL is limited to 4096 bits (XFRMA_REPLAY_ESN_MAX). */
#define XF_REPLAY_MAX 4096
/* With ESN the kernel refuses a zero window (xfrm_init_replay): the
 * smallest bitmap stands in for "off". */
#define XF_REPLAY_ESN_MIN 32

int xf_family(const struct ike_addr *a)
{
    return a->family == IKE_AF_INET6 ? AF_INET6 : AF_INET;
}

struct nl_addr *xf_nl_addr(const struct ike_addr *a)
{
    return nl_addr_build(xf_family(a), a->addr, a->family == IKE_AF_INET6 ? 16 : 4);
}

void xf_nl_error(char *err, size_t errlen, const struct xf_priv *xp, const char *what, uint32_t spi,
                 int nlerr)
{
    if (xp && xp->last_errno)
        snprintf(err, errlen, "%s SPI %08x: %s%s%s%s", what, spi, strerror(xp->last_errno),
                 xp->last_ext[0] ? " (" : "", xp->last_ext, xp->last_ext[0] ? ")" : "");
    else
        snprintf(err, errlen, "%s SPI %08x: %s", what, spi, nl_geterror(nlerr));
}

uint32_t xf_replay_window(uint32_t configured, bool esn)
{
    if (configured > XF_REPLAY_MAX)
        return XF_REPLAY_MAX;
    if (esn && configured == 0)
        return XF_REPLAY_ESN_MIN;
    return configured;
}

uint32_t xf_replay_bmp_len(uint32_t window)
{
    uint32_t n = (window + 31) / 32;
    return n ? n : 1;
}

static int set_limits(struct xfrmnl_sa *sa, const struct dp_limits *l)
{
    struct xfrmnl_ltime_cfg *lt = xfrmnl_ltime_cfg_alloc();
    if (!lt)
        return -NLE_NOMEM;
    /* 0 would mean "expired at once" to the kernel: no limit is XFRM_INF.
     * Seconds stay unset: libike runs the time lifetimes. */
    xfrmnl_ltime_cfg_set_soft_bytelimit(lt, l->soft_bytes ? l->soft_bytes : XFRM_INF);
    xfrmnl_ltime_cfg_set_hard_bytelimit(lt, l->hard_bytes ? l->hard_bytes : XFRM_INF);
    xfrmnl_ltime_cfg_set_soft_packetlimit(lt, l->soft_packets ? l->soft_packets : XFRM_INF);
    xfrmnl_ltime_cfg_set_hard_packetlimit(lt, l->hard_packets ? l->hard_packets : XFRM_INF);
    int r = xfrmnl_sa_set_lifetime_cfg(sa, lt);
    xfrmnl_ltime_cfg_put(lt);
    return r;
}

static int set_keys(struct xfrmnl_sa *sa, const struct xf_sa_params *p, char *err, size_t errlen)
{
    const struct xf_alg *a = p->alg;
    if (p->encr->len != a->enc_key_len || (!a->aead && p->integ->len != a->auth_key_len)) {
        snprintf(err, errlen, "SPI %08x: key lengths %u/%u do not fit %s%s%s", p->spi, p->encr->len,
                 a->aead ? 0 : p->integ->len, a->enc, a->aead ? "" : " + ", a->auth);
        return -1;
    }
    if (a->aead)
        return xfrmnl_sa_set_aead_params(sa, a->enc, (unsigned)(p->encr->len * 8), a->icv_bits,
                                         (const char *)p->encr->data) < 0
                   ? -1
                   : 0;
    if (xfrmnl_sa_set_crypto_params(sa, a->enc, (unsigned)(p->encr->len * 8),
                                    (const char *)p->encr->data) < 0 ||
        xfrmnl_sa_set_auth_params(sa, a->auth, (unsigned)(p->integ->len * 8), a->trunc_bits,
                                  (const char *)p->integ->data) < 0)
        return -1;
    return 0;
}

/* Always the ESN-style replay state (bitmap mode without ESN): windows
 * over 32 need it, and one representation keeps set_seq simple. */
static int set_replay(struct xfrmnl_sa *sa, const struct xf_sa_params *p)
{
    uint32_t w = xf_replay_window(p->replay_window, p->esn);
    uint32_t len = xf_replay_bmp_len(w);
    uint32_t bmp[XF_REPLAY_MAX / 32] = {0};
    return xfrmnl_sa_set_replay_state_esn(sa, (unsigned)p->oseq, 0, (unsigned)(p->oseq >> 32), 0, w,
                                          len, bmp);
}

static int set_encap(struct xfrmnl_sa *sa, const struct xf_sa_params *p)
{
    static const uint8_t zero[16];
    /* encap_oa (the original address for transport-mode checksum fixup)
     * is unused in tunnel mode, but libnl copies it unconditionally */
    struct nl_addr *oa =
        nl_addr_build(xf_family(p->src), zero, p->src->family == IKE_AF_INET6 ? 16 : 4);
    if (!oa)
        return -NLE_NOMEM;
    int r = xfrmnl_sa_set_encap_tmpl(sa, UDP_ENCAP_ESPINUDP, p->src->port, p->dst->port, oa);
    nl_addr_put(oa);
    return r;
}

int xf_sa_build(const struct xf_sa_params *p, struct xfrmnl_sa **out, char *err, size_t errlen)
{
    *out = NULL;
    struct xfrmnl_sa *sa = xfrmnl_sa_alloc();
    struct nl_addr *src = xf_nl_addr(p->src), *dst = xf_nl_addr(p->dst);
    int r = sa && src && dst ? 0 : -NLE_NOMEM;
    if (!r) {
        xfrmnl_sa_set_family(sa, (unsigned)xf_family(p->dst));
        r = xfrmnl_sa_set_daddr(sa, dst);
    }
    if (!r)
        r = xfrmnl_sa_set_saddr(sa, src);
    if (!r) {
        xfrmnl_sa_set_spi(sa, p->spi);
        xfrmnl_sa_set_proto(sa, IPPROTO_ESP);
        xfrmnl_sa_set_mode(sa, XFRM_MODE_TUNNEL);
        xfrmnl_sa_set_reqid(sa, p->reqid);
        /* AF_UNSPEC: the SA carries IPv4 and IPv6 inner packets alike; the
         * policies decide what goes in (as strongSwan does) */
        xfrmnl_sa_set_flags(sa, XFRM_STATE_AF_UNSPEC | (p->esn ? XFRM_STATE_ESN : 0));
        r = set_limits(sa, &p->lim);
    }
    if (!r)
        r = set_replay(sa, p);
    if (!r && p->encap)
        r = set_encap(sa, p);
    if (!r)
        r = xfrmnl_sa_set_replay_maxage(sa, p->etimer);
    if (!r)
        r = xfrmnl_sa_set_replay_maxdiff(sa, p->replay_thresh);
    nl_addr_put(src);
    nl_addr_put(dst);
    if (r < 0) {
        snprintf(err, errlen, "SPI %08x: building the state failed (out of memory)", p->spi);
        if (sa)
            xfrmnl_sa_put(sa);
        return -1;
    }
    if (set_keys(sa, p, err, errlen) < 0) {
        if (!err[0])
            snprintf(err, errlen, "SPI %08x: bad algorithm parameters", p->spi);
        xfrmnl_sa_put(sa);
        return -1;
    }
    *out = sa;
    return 0;
}

/* One NEWSA request: 0, the libnl error (< 0), or 1 when p could not be
 * built (err set). */
static int send_add(struct xf_priv *xp, struct nl_sock *sk, const struct xf_sa_params *p, char *err,
                    size_t errlen)
{
    xf_cmd_begin(xp);
    struct xfrmnl_sa *sa;
    if (xf_sa_build(p, &sa, err, errlen) < 0)
        return 1;
    struct nl_msg *msg = NULL;
    int r = xfrmnl_sa_build_add_request(sa, NLM_F_CREATE | NLM_F_EXCL, &msg);
    xfrmnl_sa_put(sa);
    if (r < 0) {
        xf_nl_error(err, errlen, NULL, "building the state for", p->spi, r);
        return 1;
    }
    /* The message holds the keys: send it ourselves to wipe it after. */
    r = nl_send_auto_complete(sk, msg);
    struct nlmsghdr *h = nlmsg_hdr(msg);
    memset(nlmsg_data(h), 0, (size_t)nlmsg_datalen(h));
    nlmsg_free(msg);
    if (r >= 0)
        r = nl_wait_for_ack(sk);
    return r < 0 ? r : 0;
}

int xf_sa_add(struct xf_priv *xp, struct xf_ns *ns, const struct xf_sa_params *p, char *err,
              size_t errlen)
{
    err[0] = '\0';
    int r = send_add(xp, ns->cmd, p, err, errlen);
    if (r == 1)
        return -1;
    /* EEXIST: a state of a killed predecessor holding this very SA is
     * replaced (dp_xfrm_leftover.c); another SA is left alone. */
    if (r < 0 && xp->last_errno == EEXIST) {
        char e2[160];
        int lr = xf_sa_replace_leftover(xp, ns, p, e2, sizeof(e2));
        if (lr == 1)
            r = send_add(xp, ns->cmd, p, err, errlen);
        else { /* the refusal reported is the add's */
            xp->last_errno = EEXIST;
            xp->last_ext[0] = '\0';
        }
        if (r == 1)
            return -1;
    }
    if (r < 0) {
        char what[96 + NET_NETNS_MAX];
        char a[IKE_ADDR_STR_MAX];
        snprintf(what, sizeof(what), "kernel refused the state to %s%s%s,",
                 ike_addr_str(p->dst, a, sizeof(a)), ns->name[0] ? " in netns " : "", ns->name);
        xf_nl_error(err, errlen, xp, what, p->spi, r);
        return -1;
    }
    return 0;
}

int xf_sa_delete(struct xf_priv *xp, struct xf_ns *ns, uint32_t spi, const struct ike_addr *dst,
                 char *err, size_t errlen)
{
    xf_cmd_begin(xp);
    struct xfrmnl_sa *sa = xfrmnl_sa_alloc();
    struct nl_addr *d = xf_nl_addr(dst);
    int r = sa && d ? 0 : -NLE_NOMEM;
    if (!r) {
        xfrmnl_sa_set_family(sa, (unsigned)xf_family(dst));
        xfrmnl_sa_set_daddr(sa, d);
        xfrmnl_sa_set_spi(sa, spi);
        xfrmnl_sa_set_proto(sa, IPPROTO_ESP);
        r = xfrmnl_sa_delete(ns->cmd, sa, 0);
    }
    nl_addr_put(d);
    if (sa)
        xfrmnl_sa_put(sa);
    if (r == -NLE_OBJ_NOTFOUND)
        return 0; /* gone already (a hard lifetime deletes it in the kernel) */
    if (r < 0) {
        xf_nl_error(err, errlen, xp, "deleting state", spi, r);
        return -1;
    }
    return 0;
}
