/*
 * corosync's own view for `hactl status`: link (ring) status through
 * libcfg, quorum through libvotequorum, node names from cmap's nodelist.
 *
 * Asked per request, never kept open: the answer is a snapshot and haiked
 * holds no extra corosync connection for a command an operator runs now
 * and then. libqb's client calls block without a timeout
 * (CS_IPC_TIMEOUT_MS is -1), and a control request must not hang the
 * daemon's event loop on a stuck corosync: the queries run in a detached
 * worker thread and the caller waits at most timeout_ms. A part that could
 * not be read says why ("unavailable: ...") and the rest is still filled.
 */
#ifndef HAIKED_CTL_COROSYNC_H
#define HAIKED_CTL_COROSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_CS_MAX_RINGS  8  /* CFG_MAX_LINKS */
#define CTL_CS_MAX_NODES  16 /* nodelist entries and peers looked at */
#define CTL_CS_MAX_LINKS  (CTL_CS_MAX_NODES * CTL_CS_MAX_RINGS)
#define CTL_CS_TIMEOUT_MS 1000

struct ctl_cs_ring {
    char name[64];
    char status[256]; /* whitespace runs collapsed to one space */
};

struct ctl_cs_link {
    uint32_t node, link;
    bool enabled, connected;
    uint32_t mtu;
    char src[64], dst[64];
};

struct ctl_cs_node_name {
    uint32_t node;
    char name[64];
};

struct ctl_corosync {
    uint32_t local_node;   /* 0: unknown */
    char rings_error[160]; /* "" when rings/links were read */
    struct ctl_cs_ring rings[CTL_CS_MAX_RINGS];
    size_t n_rings;
    struct ctl_cs_link links[CTL_CS_MAX_LINKS];
    size_t n_links;
    char quorum_error[160]; /* "" when the quorum fields are valid */
    bool quorate, two_node, wait_for_all;
    uint32_t expected_votes, total_votes, quorum;
    struct ctl_cs_node_name names[CTL_CS_MAX_NODES]; /* cmap nodelist */
    size_t n_names;
};

/* Fills out (always: unreadable parts carry their *_error). peers: the node
 * ids whose knet links are listed (the local node is skipped). */
void ctl_corosync_query(const uint32_t *peers, size_t n_peers, unsigned timeout_ms,
                        struct ctl_corosync *out);

/* The nodelist name of node, NULL if cmap did not give one. */
const char *ctl_corosync_node_name(const struct ctl_corosync *cs, uint32_t node);

#endif
