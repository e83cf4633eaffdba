/*
 * Everything libike knows about an established IKE SA and its CHILD SAs as
 * plain structs (fixed-size arrays, no pointers), so the daemon can copy
 * them into a sync message and a standby can rebuild the SA it never
 * negotiated:
 *
 *   master:  ike_sa_export(sa, &ex)  ->  sync  ->  standby:
 *            ike_sa_import(ctx, cfg, &ex, &sa); ike_sa_import_child(sa, &c)...
 *
 * The IKE SA add and CHILD SA add events (<ike/events.h>) carry the same
 * structs, so the live event stream and a bulk snapshot are applied alike.
 * They hold keys: wipe them with ike_export_wipe() when done.
 */
#ifndef IKE_EXPORT_H
#define IKE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/const.h>
#include <ike/ctx.h>
#include <ike/error.h>

#define IKE_EXPORT_VERSION 1
/* Largest key: SK_d/SK_p* of HMAC-SHA-512 and its integrity key. */
#define IKE_EXPORT_KEY_MAX  64
#define IKE_EXPORT_ID_MAX   255
#define IKE_EXPORT_NAME_MAX 64
#define IKE_EXPORT_TS_MAX   8

struct ike_key_export {
    uint16_t len;
    uint8_t data[IKE_EXPORT_KEY_MAX];
};

struct ike_id_export {
    uint8_t type; /* IKE_ID_*; 0 = none */
    uint16_t len;
    uint8_t data[IKE_EXPORT_ID_MAX];
};

struct ike_sa_export {
    uint32_t version; /* IKE_EXPORT_VERSION */
    char cfg_name[IKE_EXPORT_NAME_MAX];
    uint8_t spi_i[IKE_SPI_LEN];
    uint8_t spi_r[IKE_SPI_LEN];
    bool initiator;                /* our role in IKE_SA_INIT */
    struct ike_addr local, remote; /* current, ports included */
    bool nat_local;                /* we are behind a NAT */
    bool nat_remote;               /* the peer is behind a NAT */
    bool fragmentation;            /* RFC 7383 negotiated by both */
    bool peer_msgid_sync;          /* peer sent IKEV2_MESSAGE_ID_SYNC_SUPPORTED */
    bool peer_initial_contact;     /* peer sent INITIAL_CONTACT */
    uint16_t encr_id, encr_key_bits, integ_id, prf_id, dh_group;
    struct ike_key_export sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
    struct ike_id_export local_id, remote_id;
    uint32_t msgid_send_next; /* next request ID we send */
    uint32_t msgid_recv_next; /* next request ID we expect */
    bool peer_replay_sync;    /* peer sent IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED */
    /* Lifetimes left at export (jitter applied; 0 = none): import re-arms
     * them on the importer's clock. */
    uint64_t soft_left_ms, hard_left_ms;
    /* IKE SA rekey (RFC 7296 §2.18): the SPIs of the IKE SA this one
     * replaces, whose CHILD SAs now belong to this one; all zero if none. */
    uint8_t replaces_spi_i[IKE_SPI_LEN];
    uint8_t replaces_spi_r[IKE_SPI_LEN];
};

/* A traffic selector (RFC 7296 §3.13.1), plain: IKE_TS_IPV4_ADDR_RANGE
 * uses the first 4 octets of the addresses. */
struct ike_ts_export {
    uint8_t type;     /* IKE_TS_IPV4_ADDR_RANGE or IKE_TS_IPV6_ADDR_RANGE */
    uint8_t ip_proto; /* 0 = any */
    uint16_t start_port, end_port;
    uint8_t start_addr[16];
    uint8_t end_addr[16];
};

struct ike_child_export {
    uint32_t version;               /* IKE_EXPORT_VERSION */
    uint8_t ike_spi_i[IKE_SPI_LEN]; /* the owning IKE SA */
    uint8_t ike_spi_r[IKE_SPI_LEN];
    char cfg_name[IKE_EXPORT_NAME_MAX]; /* the selector config (phase 2) */
    uint8_t protocol;                   /* IKE_PROTO_ESP */
    bool tunnel;                        /* tunnel mode (transport is not negotiated yet) */
    uint32_t spi_in, spi_out;           /* host order */
    uint16_t encr_id, encr_key_bits, integ_id;
    bool esn;
    struct ike_key_export encr_in, integ_in, encr_out, integ_out;
    size_t n_ts_local, n_ts_remote;
    struct ike_ts_export ts_local[IKE_EXPORT_TS_MAX];
    struct ike_ts_export ts_remote[IKE_EXPORT_TS_MAX];
    /* Lifetimes counted from installation (jitter applied; 0 = none):
     * rekeyed after soft_ms, deleted after hard_ms. age_ms: installed that
     * long ago when exported (ike_sa_import_child() continues from there).
     * installed_ms is the holder's clock, meaningless elsewhere. */
    uint64_t soft_ms, hard_ms, age_ms, installed_ms;
    bool rekey_due; /* soft lifetime passed, rekey queued */
    /* CHILD rekey: inbound SPI of the CHILD SA this one replaces (it stays
     * until its Delete); 0 if none. */
    uint32_t replaces_spi_in;
    uint16_t pfs_group; /* DH group of the CREATE_CHILD_SA that made it; 0 = no PFS */
};

struct ike_sa;
struct ike_sa_cfg;

/* Fills ex from an ESTABLISHED SA; IKE_E_STATE otherwise. */
IKE_API enum ike_status ike_sa_export(const struct ike_sa *sa, struct ike_sa_export *ex,
                                      struct ike_diag *diag);
IKE_API size_t ike_sa_child_count(const struct ike_sa *sa);
/* The i-th CHILD SA, i < ike_sa_child_count(). */
IKE_API enum ike_status ike_sa_export_child(const struct ike_sa *sa, size_t i,
                                            struct ike_child_export *ex, struct ike_diag *diag);

/* A new ESTABLISHED SA from ex (checked: version, lengths, algorithms
 * against the key lengths). cfg and ctx as for ike_sa_initiate(). No event
 * is emitted and nothing is sent or installed: the caller decides. */
IKE_API enum ike_status ike_sa_import(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                                      const struct ike_sa_export *ex, struct ike_sa **out,
                                      struct ike_diag *diag);
/* Adds a CHILD SA; its IKE SPIs must be sa's. Not installed (the caller
 * decides when the data plane gets it). */
IKE_API enum ike_status ike_sa_import_child(struct ike_sa *sa, const struct ike_child_export *ex,
                                            struct ike_diag *diag);

/* The peer's authenticated ID (type 0 before IKE_AUTH), e.g. to find the
 * older SAs of ike_ctx_ops.initial_contact. */
IKE_API const struct ike_id_export *ike_sa_peer_id(const struct ike_sa *sa);

/* OPENSSL_cleanse over an export struct (size: sizeof of it). */
IKE_API void ike_export_wipe(void *ex, size_t size);

#endif
