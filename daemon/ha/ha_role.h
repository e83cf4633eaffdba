/*
 * Private to ha_role.c, ha_takeover.c and ha_vip.c (and their tests): the
 * calls between election, takeover and the VIPs that ha.h does not list.
 */
#ifndef HAIKED_HA_ROLE_H
#define HAIKED_HA_ROLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ha.h"

struct cfg_vip;

/* votequorum's view (its notification, or a test): re-runs the election.
 * known false: votequorum cannot be asked (then nobody becomes master). */
void ha_role_quorum(struct ha *ha, bool known, bool quorate, bool wait_for_all, bool two_node);
/* Whether votequorum answered at least once, and its flags. */
bool ha_role_quorum_known(const struct ha *ha, bool *wait_for_all, bool *two_node);
/* Our corosync node id (0 before the first connection). */
uint32_t ha_role_self(const struct ha *ha);
/* The hostname we announce. */
const char *ha_role_name(const struct ha *ha);

/* ha_name.c: this node's name from corosync's nodelist: the entry whose
 * nodeid is self gives its name, else its ring0_addr. The getters return
 * 0 and a value (*str malloc'd) or -1 when the key is absent (cmap, or a
 * test's table). 0 with out set, -1 when the nodelist does not name us. */
typedef int (*ha_name_get_u32)(void *arg, const char *key, uint32_t *v);
typedef int (*ha_name_get_str)(void *arg, const char *key, char **v);
int ha_name_from_nodelist(uint32_t self, ha_name_get_u32 get_u32, ha_name_get_str get_str,
                          void *arg, char *out, size_t len);
/* The same through cmap; the hostname when corosync does not name us. */
void ha_name_resolve(uint32_t self, char *out, size_t len);

/* ha_quorum.c: votequorum on the loop; it reports through ha_role_quorum.
 * refresh: (re)connect, or re-read the flags, once our node id is known;
 * a failure is retried every second while CPG is connected. */
struct ha_quorum;
struct ha_quorum *ha_quorum_new(struct ha *ha);
void ha_quorum_free(struct ha_quorum *q);
void ha_quorum_refresh(struct ha_quorum *q, uint32_t self);

/* ha_takeover.c: the auto gateways of vc that have no IKE SA initiate. */
void ha_takeover_start_gateways(struct ha *ha, struct ha_vc *vc);

/* ha_shutdown.c: a member peer that announced vcluster id in sync (not
 * syncing, not waiting) with a priority > 0: who can take it over. */
const struct ha_peer *ha_eligible_peer(const struct ha *ha, uint32_t id);

/* ha_vip.c: address vip into its VDOM's namespace / out of it. Adding an
 * address already present and removing one already gone are success.
 * 0, or -1 with err (the caller logs; never fatal). */
int ha_vip_add(struct daemon *d, const struct cfg_vip *vip, char *err, size_t errlen);
int ha_vip_del(struct daemon *d, const struct cfg_vip *vip, char *err, size_t errlen);
/* ha_vip_del without a daemon (haiked --cleanup, cleanup.c): in namespace
 * ns ("" = ours); *removed tells whether the address was there (only with
 * vip's prefix length); an interface that is gone is success. */
int ha_vip_del_in(const char *ns, const struct cfg_vip *vip, bool *removed, char *err,
                  size_t errlen);
/* Gratuitous ARP (IPv4: an ARP request for the VIP from the VIP, to the
 * broadcast address, on vip's interface) or, for IPv6, an unsolicited
 * Neighbor Advertisement to all-nodes. 0 sent, 1 nothing to send (the
 * interface has no Ethernet address; err says so), -1 with err. */
int ha_vip_announce(struct daemon *d, const struct cfg_vip *vip, char *err, size_t errlen);
/* The namespace path of vip's VDOM ("" = ours). */
const char *ha_vip_netns(const struct daemon *d, const struct cfg_vip *vip);

#endif
