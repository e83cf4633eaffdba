/*
 * haiked --cleanup, kernel side: the XFRM states and policies, routes and
 * VTI devices a dead haiked left in one namespace, recognised by the
 * markers only haiked sets (dp_xfrm_cleanup.h). Each kind is dumped and
 * what is ours deleted one by one; a refusal is reported and the rest is
 * still tried, so a second run finds only what the kernel kept refusing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ip6vti.h>
#include <netlink/route/link/ipvti.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <netlink/xfrm/sa.h>

#include "dp_xfrm.h"
#include "dp_xfrm_cleanup.h"
#include "dp_xfrm_vti.h"
#include "esp_netns.h"

/* A netlink socket of protocol bound to namespace ns. NULL with *nlerr. */
static struct nl_sock *open_in(const char *ns, int protocol, int *nlerr, char *err, size_t errlen)
{
    int back;
    *nlerr = 0;
    if (esp_netns_enter(ns, &back, err, errlen) < 0)
        return NULL;
    struct nl_sock *sk = nl_socket_alloc();
    int r = sk ? nl_connect(sk, protocol) : -NLE_NOMEM;
    esp_netns_leave(back);
    if (r < 0) {
        nl_socket_free(sk);
        *nlerr = r;
        snprintf(err, errlen, "%s netlink in netns '%s': %s",
                 protocol == NETLINK_XFRM ? "XFRM" : "route", ns, nl_geterror(r));
        return NULL;
    }
    return sk;
}

static void note(char *err, size_t errlen, int *rc, const char *what, int r)
{
    if (*rc == 0) /* the first failure tells; the others are alike */
        snprintf(err, errlen, "%s: %s", what, nl_geterror(r));
    *rc = -1;
}

/* A policy to delete: what DELPOLICY needs to name it. */
struct pol_ref {
    struct xfrm_userpolicy_id id; /* by index (and direction) */
    struct xfrm_mark mark;        /* part of the identity when set */
    uint32_t if_id;
    bool has_mark, has_if_id;
};

struct pol_list {
    struct pol_ref *v;
    size_t n, cap;
    bool nomem;
};

/* Every template's reqid in haiked's range (the HA standby's blocked out
 * policies keep theirs); socket policies (dir >= XFRM_POLICY_MAX) never. */
static int collect_policy(struct nl_msg *msg, void *arg)
{
    struct pol_list *l = arg;
    struct nlmsghdr *h = nlmsg_hdr(msg);
    const struct xfrm_userpolicy_info *pi = nlmsg_data(h);
    struct nlattr *tb[XFRMA_MAX + 1];
    if (h->nlmsg_type != XFRM_MSG_NEWPOLICY || !nlmsg_valid_hdr(h, sizeof(*pi)) ||
        pi->dir >= XFRM_POLICY_MAX || nlmsg_parse(h, sizeof(*pi), tb, XFRMA_MAX, NULL) < 0 ||
        !tb[XFRMA_TMPL])
        return NL_OK;
    const struct xfrm_user_tmpl *t = nla_data(tb[XFRMA_TMPL]);
    size_t nt = (size_t)nla_len(tb[XFRMA_TMPL]) / sizeof(*t);
    for (size_t i = 0; i < nt; i++)
        if (!xf_reqid_ours(t[i].reqid))
            return NL_OK;
    if (nt == 0)
        return NL_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct pol_ref *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->nomem = true;
            return NL_STOP;
        }
        l->v = v, l->cap = cap;
    }
    struct pol_ref *p = &l->v[l->n++];
    memset(p, 0, sizeof(*p));
    p->id.sel = pi->sel;
    p->id.index = pi->index;
    p->id.dir = pi->dir;
    if (tb[XFRMA_MARK] && nla_len(tb[XFRMA_MARK]) >= (int)sizeof(p->mark)) {
        memcpy(&p->mark, nla_data(tb[XFRMA_MARK]), sizeof(p->mark));
        p->has_mark = true;
    }
    if (tb[XFRMA_IF_ID] && nla_len(tb[XFRMA_IF_ID]) >= 4) {
        p->if_id = nla_get_u32(tb[XFRMA_IF_ID]);
        p->has_if_id = true;
    }
    return NL_OK;
}

/* Raw dump and DELPOLICY: libnl's policy parser leaks addresses. */
static int dump_policies(struct nl_sock *sk, struct pol_list *l)
{
    struct xfrm_userpolicy_id none;
    memset(&none, 0, sizeof(none));
    int r = nl_send_simple(sk, XFRM_MSG_GETPOLICY, NLM_F_DUMP, &none, sizeof(none));
    if (r < 0)
        return r;
    struct nl_cb *base = nl_socket_get_cb(sk);
    struct nl_cb *cb = base ? nl_cb_clone(base) : NULL;
    nl_cb_put(base);
    if (!cb)
        return -NLE_NOMEM;
    nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, collect_policy, l);
    r = nl_recvmsgs(sk, cb);
    nl_cb_put(cb);
    return l->nomem ? -NLE_NOMEM : r;
}

static int delete_policy(struct nl_sock *sk, const struct pol_ref *p)
{
    struct nl_msg *msg = nlmsg_alloc_simple(XFRM_MSG_DELPOLICY, 0);
    if (!msg || nlmsg_append(msg, (void *)&p->id, sizeof(p->id), NLMSG_ALIGNTO) < 0 ||
        (p->has_mark && nla_put(msg, XFRMA_MARK, sizeof(p->mark), &p->mark) < 0) ||
        (p->has_if_id && nla_put_u32(msg, XFRMA_IF_ID, p->if_id) < 0)) {
        nlmsg_free(msg);
        return -NLE_NOMEM;
    }
    return nl_send_sync(sk, msg); /* frees msg, waits for the ack */
}

static int clean_xfrm(struct nl_sock *sk, struct xf_cleanup_counts *n, char *err, size_t errlen)
{
    int rc = 0;
    /* Policies first: no packet picks a state of ours meanwhile. */
    struct pol_list pl = {0};
    int r = dump_policies(sk, &pl);
    if (r < 0)
        note(err, errlen, &rc, "XFRM policy dump", r);
    for (size_t i = 0; r >= 0 && i < pl.n; i++) {
        int d = delete_policy(sk, &pl.v[i]);
        if (d >= 0)
            n->policies++;
        else if (d != -NLE_OBJ_NOTFOUND)
            note(err, errlen, &rc, "deleting an XFRM policy", d);
    }
    free(pl.v);
    struct nl_cache *cache = NULL;
    r = xfrmnl_sa_alloc_cache(sk, &cache);
    if (r < 0)
        note(err, errlen, &rc, "XFRM state dump", r);
    for (struct nl_object *o = cache ? nl_cache_get_first(cache) : NULL; o;
         o = nl_cache_get_next(o)) {
        struct xfrmnl_sa *sa = (struct xfrmnl_sa *)o;
        if (!xf_reqid_ours((uint32_t)xfrmnl_sa_get_reqid(sa)))
            continue;
        r = xfrmnl_sa_delete(sk, sa, 0); /* by destination, SPI, protocol */
        if (r >= 0)
            n->states++;
        else if (r != -NLE_OBJ_NOTFOUND)
            note(err, errlen, &rc, "deleting an XFRM state", r);
    }
    nl_cache_free(cache);
    return rc;
}

static bool key_ours(uint32_t be_key)
{
    uint32_t k = ntohl(be_key);
    return k > XF_VTI_KEY_BASE && k <= XF_VTI_KEY_BASE + XF_VTI_KEY_MAX;
}

static bool vti_ours(struct rtnl_link *l)
{
    const char *name = rtnl_link_get_name(l), *kind = rtnl_link_get_type(l);
    if (!name || strncmp(name, "hk-", 3) || !kind)
        return false;
    uint32_t ik = 0, ok = 0;
    if (!strcmp(kind, "vti")) {
        ik = rtnl_link_ipvti_get_ikey(l);
        ok = rtnl_link_ipvti_get_okey(l);
    } else if (!strcmp(kind, "vti6")) {
        if (rtnl_link_ip6vti_get_ikey(l, &ik) < 0 || rtnl_link_ip6vti_get_okey(l, &ok) < 0)
            return false;
    } else {
        return false; /* a TUN of the userspace backend goes with its process */
    }
    return ik == ok && key_ours(ik);
}

/* Routes of protocol XF_RTPROT_HAIKED, then haiked's VTI devices. */
static int clean_rtnl(struct nl_sock *sk, struct xf_cleanup_counts *n, char *err, size_t errlen)
{
    int rc = 0;
    struct nl_cache *cache = NULL;
    int r = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
    if (r < 0)
        note(err, errlen, &rc, "route dump", r);
    for (struct nl_object *o = cache ? nl_cache_get_first(cache) : NULL; o;
         o = nl_cache_get_next(o)) {
        struct rtnl_route *rt = (struct rtnl_route *)o;
        if (rtnl_route_get_protocol(rt) != XF_RTPROT_HAIKED ||
            rtnl_route_get_table(rt) != RT_TABLE_MAIN)
            continue;
        r = rtnl_route_delete(sk, rt, 0);
        if (r >= 0)
            n->routes++;
        else if (r != -NLE_OBJ_NOTFOUND)
            note(err, errlen, &rc, "deleting a route", r);
    }
    nl_cache_free(cache);
    cache = NULL;
    r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
    if (r < 0)
        note(err, errlen, &rc, "link dump", r);
    for (struct nl_object *o = cache ? nl_cache_get_first(cache) : NULL; o;
         o = nl_cache_get_next(o)) {
        struct rtnl_link *l = (struct rtnl_link *)o;
        if (!vti_ours(l))
            continue;
        r = rtnl_link_delete(sk, l);
        if (r >= 0)
            n->devices++;
        else if (r != -NLE_OBJ_NOTFOUND && r != -NLE_NODEV)
            note(err, errlen, &rc, "deleting a VTI device", r);
    }
    nl_cache_free(cache);
    return rc;
}

/* Keeps the first failure's text in err. */
static void first_error(int *rc, char *err, size_t errlen, const char *e)
{
    if (*rc == 0)
        snprintf(err, errlen, "%s", e);
    *rc = -1;
}

int xf_cleanup_ns(const char *ns, struct xf_cleanup_counts *n, char *err, size_t errlen)
{
    int nlerr, rc = 0;
    char e[256] = "";
    struct nl_sock *rt = open_in(ns, NETLINK_ROUTE, &nlerr, err, errlen);
    if (!rt)
        return -1;
    struct nl_sock *x = open_in(ns, NETLINK_XFRM, &nlerr, e, sizeof(e));
    /* Without xfrm_user no kernel data plane ran here: nothing of it to
     * remove (a host on the userspace backend). */
    bool no_xfrm = !x && nlerr == -NLE_PROTO_MISMATCH;
    if (!x && !no_xfrm)
        first_error(&rc, err, errlen, e);
    if (x && clean_xfrm(x, n, e, sizeof(e)) < 0)
        first_error(&rc, err, errlen, e);
    if (clean_rtnl(rt, n, e, sizeof(e)) < 0)
        first_error(&rc, err, errlen, e);
    nl_socket_free(x);
    nl_socket_free(rt);
    return rc < 0 ? -1 : no_xfrm ? 1 : 0;
}
