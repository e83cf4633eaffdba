/* CREATE_CHILD_SA test helpers on top of helper_pair: the ike_rekeyed
 * callback (IKE rekey hands over new SAs; each side keeps every SA it had,
 * its current one in side.sa), delivery routed by the IKE SPIs of each
 * datagram, a second selector pair, and key checks. */
#ifndef HELPER_CCS_H
#define HELPER_CCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/export.h>
#include <ike/sa.h>

#include "helper_pair.h"

#define CCS_SAS_MAX 6

struct ccs_side {
    struct ike_sa *sas[CCS_SAS_MAX]; /* [0]: the original; then rekeyed ones */
    size_t n_sas;
    size_t n_rekeyed; /* ike_rekeyed calls */
};

struct ccs {
    struct pair *p;
    struct ccs_side side[2];
};

/* A pair whose contexts have ike_rekeyed (every new SA is recorded and,
 * if it got the CHILD SAs, becomes side.sa). Not started. */
struct ccs *ccs_new(void);
/* pair_establish + records the first SAs; clears events afterwards when
 * clear_events. */
void ccs_establish(struct ccs *c, bool clear_events);
/* Frees everything (the SAs not in side.sa too). */
void ccs_free(struct ccs *c);
/* Delivers queue[i] to the SA of its receiver whose SPIs it carries. */
enum ike_status ccs_deliver(struct ccs *c, size_t i);
/* Delivers the queue head until empty; returns count. */
size_t ccs_run(struct ccs *c);
/* The SA of side idx with these SPIs, or NULL. */
struct ike_sa *ccs_find(struct ccs *c, int idx, const uint8_t *spi_i, const uint8_t *spi_r);
/* Adds a second selector pair 10.3.0.0/16 (side 0) <-> 10.4.0.0/16 to both
 * sides (children[1], name "p2b-left"/"p2b-right"). */
void ccs_second_pair(struct pair *p);
/* Adds PFS group `group` to every ESP proposal of side idx. */
void ccs_pfs(struct pair *p, int idx, uint16_t group);
/* PFS that costs one INVALID_KE_PAYLOAD round: side 0 offers ECP-384
 * first, then ECP-256; side 1 takes only ECP-256. */
void ccs_pfs_retry(struct pair *p);
/* A installed on one side and B on the other are the two ends of one CHILD
 * SA pair: SPIs and keys cross over, and differ between directions. */
void ccs_assert_pair(const struct ike_child_export *a, const struct ike_child_export *b);
/* The installed CHILD SA of side idx with inbound SPI spi, or NULL. */
const struct ike_child_export *ccs_installed(const struct pair *p, int idx, uint32_t spi_in);
/* The CHILD SA of sa with inbound SPI spi, exported (asserts it exists). */
struct ike_child_export ccs_child(const struct ike_sa *sa, size_t i);

/* The Nonce of datagram p->trace[t] (an SK message of the IKE SA ex,
 * decrypted with its keys); false if it has none or does not decrypt. */
bool ccs_trace_nonce(const struct pair *p, size_t t, const struct ike_sa_export *ex, uint8_t *out,
                     size_t *out_len);

#endif
