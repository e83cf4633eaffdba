/* Gateway functions the daemon's modules share (not part of the stable
 * <gateway.h> surface ctl uses). */
#ifndef HAIKED_GW_INTERNAL_H
#define HAIKED_GW_INTERNAL_H

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

#endif
