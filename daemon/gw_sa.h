/*
 * The lifecycle of one struct gw_sa (an IKE SA of a gateway) inside the
 * daemon: creation around ike_sa_initiate()/ike_sa_respond(), the
 * bookkeeping after every libike call (state changes, counters, half-open
 * accounting) and the deferred free of dead SAs. Internal to the daemon.
 */
#ifndef HAIKED_GW_SA_H
#define HAIKED_GW_SA_H

#include <ike/sa.h>

#include "gateway.h"

struct vdom_rt;

/* A new, SA-less gw_sa in gw (the caller sets d->creating around the
 * libike call that creates the SA). NULL when out of memory. */
struct gw_sa *gw_sa_new(struct gateway *gw, struct vdom_rt *v);
/* Binds the SA libike created and registers it in the SA table; -1 (and
 * gs destroyed) on an SPI collision. */
int gw_sa_attach(struct gw_sa *gs, struct ike_sa *sa);
/* After any call into libike for gs: counters, state change effects;
 * dead SAs are marked dying and reaped at the next loop turn. */
void gw_sa_after(struct gw_sa *gs);
/* Frees gs and its libike SA, timers and CHILD SAs now (never from
 * inside a libike callback). */
void gw_sa_destroy(struct gw_sa *gs);
/* Ends an established or negotiating SA on our initiative (reason for
 * the log): a Delete to the peer where libike can, else a local free. */
void gw_sa_delete(struct gw_sa *gs, const char *reason);
/* ike_ctx_ops.ike_rekeyed: a gw_sa for new_sa (registered in the SA
 * table) in old's gateway. NULL when out of memory. */
struct gw_sa *gw_sa_adopt_rekeyed(struct gw_sa *old, struct ike_sa *new_sa);
/* The CHILD SAs recorded under old now belong to gs (IKE rekey). */
void gw_sa_move_children(struct gw_sa *old, struct gw_sa *gs);
/* Runs deferred work (INITIAL_CONTACT drops, reauthentications), then
 * frees every dying SA of every gateway. */
void gw_sa_reap(struct daemon *d);
/* The SA of gw (other than self) with these IKE SPIs, NULL when none:
 * O(1) through the SA table (the IKE rekey callbacks look up the SA they
 * replace; a walk per rekey made a mass rekey quadratic). */
struct gw_sa *gw_sa_find_spis(struct gateway *gw, const struct gw_sa *self,
                              const uint8_t spi_i[IKE_SPI_LEN], const uint8_t spi_r[IKE_SPI_LEN]);
/* gs is dying, or has drop_pending/reauth_pending set: the next
 * gw_sa_reap looks at it (it looks at no other SA). Whoever sets one of
 * those fields outside gw_sa.c calls this right after. */
void gw_sa_defer(struct gw_sa *gs);
/* libike's SA -> ours; binds d->creating on its first callback. */
struct gw_sa *gw_sa_from_cb(struct daemon *d, const struct ike_sa *sa);

/* gateway.c, called on SA state changes. */
void gw_refresh_state(struct gateway *gw);

#endif
