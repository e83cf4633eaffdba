/*
 * The IKE SA table: finds the SA a datagram belongs to by its IKE SPIs,
 * and counts half-open (responder, awaiting IKE_AUTH) SAs per peer address
 * and in total for the admission limits.
 *
 * Keys: every SA is found by OUR SPI (the initiator SPI when we initiated,
 * the responder SPI otherwise), which we chose at random. A responder SA
 * is also found by (peer's initiator SPI, peer address) so a retransmitted
 * IKE_SA_INIT request (responder SPI still 0) reaches the same SA.
 */
#ifndef HAIKED_SA_TABLE_H
#define HAIKED_SA_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/ctx.h>
#include <ike/message.h>

struct gw_sa;
struct sat_entry;
struct sat_peer;

struct sa_table {
    struct sat_entry **by_ours;  /* buckets */
    struct sat_entry **by_init;  /* responder SAs by (peer SPI_i, peer) */
    size_t n_buckets;            /* power of two, both tables */
    size_t n;                    /* SAs in by_ours */
    struct sat_peer **peers;     /* half-open counts per peer address */
    size_t n_peer_buckets;
    size_t half_open;            /* total */
};

int sat_init(struct sa_table *t);
/* Frees the table (not the SAs). */
void sat_fini(struct sa_table *t);

/* Registers gs (its SPIs and role from gs->sa). -1 if our SPI is taken
 * or out of memory. */
int sat_add(struct sa_table *t, struct gw_sa *gs);
void sat_remove(struct sa_table *t, struct gw_sa *gs);

/* The SA a message with this header belongs to (the I flag says which
 * SPI is ours), checking that the other SPI matches when it is set. */
struct gw_sa *sat_lookup(const struct sa_table *t, const struct ike_hdr *hdr);
/* A responder SA created by an IKE_SA_INIT with this SPI_i from peer. */
struct gw_sa *sat_lookup_init(const struct sa_table *t, const uint8_t spi_i[IKE_SPI_LEN],
                              const struct ike_addr *peer);

/* Half-open accounting (the caller keeps gs->half_open in step). */
size_t sat_half_open_peer(const struct sa_table *t, const struct ike_addr *peer);
void sat_half_open_inc(struct sa_table *t, const struct ike_addr *peer);
void sat_half_open_dec(struct sa_table *t, const struct ike_addr *peer);

#endif
