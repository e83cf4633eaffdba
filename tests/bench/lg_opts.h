/*
 * ike_loadgen's command line and the libike configuration built from it:
 * one template struct ike_sa_cfg (proposals, PSK, peer) and, per tunnel,
 * the IDs and inner selector that make each initiator a distinct branch.
 */
#ifndef LG_OPTS_H
#define LG_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/sa.h>

#define LG_MAX_LOCAL 64 /* source addresses */

struct lg_opts {
    struct ike_addr remote;              /* the responder (port 500 unless given) */
    struct ike_addr local[LG_MAX_LOCAL]; /* source addresses (port 0: ephemeral) */
    size_t n_local;
    unsigned ports_per_addr; /* sockets (source ports) per source address */
    uint64_t count;          /* tunnels to establish in total */
    unsigned concurrency;    /* exchanges in flight at once */
    bool keep;               /* leave the tunnels up (no Delete phase) */
    unsigned hold_s;         /* with keep: stay this long after establishing, answering the
                              * responder's exchanges (rekeys, DPD); 0 = exit at once */
    bool churn;              /* delete each tunnel as soon as it is up */
    bool json;
    bool initial_contact;    /* INITIAL_CONTACT in every IKE_AUTH */
    int peer_pid;               /* responder process to sample (0: none) */
    unsigned timeout_s;         /* whole run */
    uint32_t retransmit_ms;     /* libike's first retransmission */
    const char *local_id_fmt;   /* "%u" becomes the tunnel index */
    const char *remote_id;      /* NULL: accept any */
    struct ike_ts remote_ts;    /* behind the responder */
    uint32_t inner_base;        /* tunnel i proposes TSi inner_base + i (/32) */
    struct ike_sa_cfg tmpl;     /* proposals, PSK, flags shared by all */
    struct ike_cfg_child child; /* proposals + remote_ts shared by all */
    char ike_proposal_text[256], esp_proposal_text[256];
};

/* Parses argv (prints the usage or the reason on error); returns 0 or -1.
 * The PSK comes from --psk-file (first line) or $IKE_LOADGEN_PSK, never
 * from argv (it would show in ps). */
int lg_opts_parse(int argc, char **argv, struct lg_opts *o);
/* Frees the PSK. */
void lg_opts_free(struct lg_opts *o);

/* An ID string: "@fqdn", "user@domain", an IPv4/IPv6 address or a plain
 * name (FQDN), with every "%u" replaced by index. Returns 0 or -1. */
int lg_id_make(const char *fmt, unsigned index, struct ike_cfg_id *out);

/* The tunnel's own configuration: tmpl plus IDs and its inner /32. */
void lg_cfg_for(const struct lg_opts *o, uint64_t index, struct ike_sa_cfg *cfg,
                struct ike_cfg_child *child);

#endif
