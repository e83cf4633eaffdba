/* Gateway functions the daemon's modules share (not part of the stable
 * <gateway.h> surface ctl uses). */
#ifndef HAIKED_GW_INTERNAL_H
#define HAIKED_GW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "gateway.h"

struct gateway *gw_create(struct daemon *d, const struct cfg_gateway *cg);
void gw_destroy(struct gateway *gw);
/* Initiates if the gateway auto-negotiates. */
void gw_start(struct gateway *gw);
int gw_initiate(struct gateway *gw, char *err, size_t errlen);
/* A new IKE SA that replaces SA `old_serial` once ESTABLISHED (reauth). */
int gw_initiate_reauth(struct gateway *gw, uint32_t old_serial, char *err, size_t errlen);
void gw_delete_all(struct gateway *gw, const char *reason);
struct gateway *gw_find_cfg(struct daemon *d, const struct cfg_gateway *cg);
/* Recounts from every SA what gw_sa.c keeps incrementally (n_sas, n_live,
 * n_established, the reap queue) and the state derived from them: 0 when
 * all agree, else -1 with the first difference in why. O(n), for tests. */
int gw_check_counts(const struct gateway *gw, char *why, size_t whylen);

/* ---- retirement (gw_retire.c) ------------------------------------------ */
struct cfg;
/* Reload removed or changed gw (its cfg still in prev, the outgoing
 * config): gw moves to daemon.retiring and takes its cfg out of prev.
 * Its IKE SAs are deleted (Delete exchange; CHILD SAs stay installed until
 * answered or timed out), or with hold (a successor of the same name will
 * initiate) kept until that one is up or gave up. Freed with its last SA;
 * at once when it has none. */
void gw_retire(struct gateway *gw, struct cfg *prev, bool hold, const char *why);
/* gw_refresh_state of a configured gateway: a retiring namesake holding
 * for it starts its Deletes once it is up (or not negotiating). */
void gw_retire_note(struct gateway *gw);
/* After a reload started the new gateways: holds for one that is not
 * negotiating end. */
void gw_retire_check_holds(struct daemon *d);
/* From gw_sa_reap: retiring gateways without SAs are freed. */
void gw_retire_collect(struct daemon *d);
/* A retiring gateway called name still has SAs (INITIAL_CONTACT must not
 * make the peer drop them). */
bool gw_retire_pending(const struct daemon *d, const char *name);
size_t gw_retire_sas(const struct daemon *d);
/* daemon_shutdown: held Deletes start (or HA keeps them for the peer node). */
void gw_retire_shutdown(struct daemon *d);
/* daemon_free: every retiring gateway freed now. */
void gw_retire_free_all(struct daemon *d);

#endif
