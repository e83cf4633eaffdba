/*
 * IKEv2 messages (RFC 7296 §3): the decoded data model, the decoder, the
 * encoder, builder helpers and the per-exchange payload rules.
 *
 * OWNERSHIP. A struct ike_msg owns every byte its payloads point to:
 *  - ike_msg_decode() and ike_msg_decode_inner() COPY their input into the
 *    message; all slices (struct ike_slice) point into those copies, so the
 *    caller may free or reuse its datagram / plaintext buffer at once.
 *  - the ike_msg_add_*() builders COPY (deep) everything they are given.
 *  - ike_msg_clear() wipes and frees all of it at once. Never copy a
 *    struct ike_msg by value (two copies would free the same memory).
 * A payload pointer (struct ike_pld *) stays valid until ike_msg_clear().
 * Slices inside a payload may be re-pointed by the caller to memory it
 * owns, as long as that memory outlives every encode of the message.
 *
 * DECODING A DATAGRAM (who calls what):
 *   ike_hdr_decode()        peek at the header only (dispatch by SPI);
 *   ike_msg_decode()        header + payload chain up to and including the
 *                           SK or SKF payload, which must be the last one.
 *                           msg->sk then points at it: its first_inner
 *                           type, its opaque body (IV | ciphertext | ICV)
 *                           and body_off, the body's offset in msg->raw,
 *                           which is also the length of the AEAD/ICV
 *                           associated data (header .. end of SK(F) header).
 *   [SK layer decrypts msg->sk->sk.body, strips the padding]
 *   ike_msg_decode_inner()  parses the decrypted inner payload chain and
 *                           appends those payloads with inside_sk = true.
 *   ike_msg_check_rules()   per-exchange payload rules, after decryption.
 *
 * ENCODING:
 *   ike_msg_encode()        header + the payloads NOT marked inside_sk, in
 *                           list order. An SK/SKF payload in the list is
 *                           written with its body as is (ptr NULL: zeros).
 *                           encode(decode(bytes)) == bytes for well-formed
 *                           input, encrypted messages included.
 *   For encrypted messages the SK layer uses:
 *   ike_msg_encode_inner()  the chain of payloads marked inside_sk alone
 *                           (the SK plaintext before padding) and the type
 *                           of its first payload;
 *   ike_msg_encode_outer()  header + unencrypted payloads + an SK or SKF
 *                           payload whose body the caller supplies, or
 *                           reserves (body.ptr NULL) to fill in place at
 *                           *body_off; every length field is final, so the
 *                           ICV can be computed over the output directly.
 *   All encoders compute every length and next-payload field themselves and
 *   validate the payloads as strictly as the decoder does, so the decoder
 *   accepts whatever the encoder produces.
 *
 * Errors: IKE_E_MALFORMED (syntax; the reason names the numbers),
 * IKE_E_CRITICAL (unknown payload with the critical bit; diag->payload_type
 * is set for the UNSUPPORTED_CRITICAL_PAYLOAD answer), IKE_E_UNSUPPORTED
 * (major version other than 2), IKE_E_RULES (ike_msg_check_rules),
 * IKE_E_NOMEM, IKE_E_TOO_BIG (a cap in this file exceeded while encoding),
 * IKE_E_INVALID_ARG (caller misuse).
 */
#ifndef IKE_MESSAGE_H
#define IKE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/api.h>
#include <ike/const.h>
#include <ike/error.h>

/* Caps. A peer's message exceeding one is rejected with a reason. */
#define IKE_MSG_MAX_LEN 65535u       /* UDP / RFC 8229 TCP framing limit */
#define IKE_MSG_MAX_PAYLOADS 256u    /* outer + inner, unknown ones included */
#define IKE_SA_MAX_PROPOSALS 64u
#define IKE_PROP_MAX_TRANSFORMS 255u /* the count field is one octet */
#define IKE_TS_MAX 128u              /* selectors per TS payload */
#define IKE_CP_MAX_ATTRS 256u
#define IKE_MSG_ARENA_MAX (4u << 20) /* bytes one message may allocate */

/* RFC 7296 §3.10.1 / RFC 3947-style fixed notify data sizes. */
#define IKE_NAT_DETECTION_LEN 20 /* SHA-1 digest */
#define IKE_COOKIE_MIN 1
#define IKE_COOKIE_MAX 64

/* A borrowed byte range; see OWNERSHIP above. */
struct ike_slice {
    const uint8_t *ptr;
    size_t len;
};

/* ---- SA payload (§3.3) ------------------------------------------------ */

struct ike_transform {
    uint8_t type;      /* IKE_TRANS_* (unknown types are kept as is) */
    uint16_t id;       /* IKE_ENCR_*, IKE_PRF_*, ... */
    uint16_t key_bits; /* Key Length attribute; 0 = no attribute */
    /* §3.3.6: a transform with an attribute we do not understand (or a
     * malformed/duplicated Key Length) MUST be considered unacceptable,
     * while the rest of the SA payload is processed as usual. The decoder
     * then sets this flag and keeps the whole attribute area verbatim in
     * raw_attrs, which the encoder writes back instead of key_bits. */
    bool unacceptable;
    struct ike_slice raw_attrs;
};

struct ike_proposal {
    uint8_t num;      /* requests: 1, 2, 3...; responses: the chosen one */
    uint8_t protocol; /* IKE_PROTO_IKE, _AH, _ESP */
    uint8_t spi_len;  /* IKE: 0 or 8; AH/ESP: 4 */
    uint8_t spi[8];   /* network order, spi_len octets used */
    size_t n_transforms;
    struct ike_transform *transforms;
};

struct ike_pld_sa {
    size_t n_proposals;
    struct ike_proposal *proposals;
};

/* ---- simple payloads -------------------------------------------------- */

struct ike_pld_ke {          /* §3.4 */
    uint16_t group;          /* IKE_DH_* */
    struct ike_slice data;   /* public value, >= 1 octet */
};

struct ike_pld_id {          /* §3.5, IDi and IDr */
    uint8_t type;            /* IKE_ID_*: IPV4 = 4 octets, IPV6 = 16, others >= 1 */
    struct ike_slice data;
};

struct ike_pld_cert {        /* §3.6 CERT and §3.7 CERTREQ */
    uint8_t encoding;        /* IKE_CERT_* */
    struct ike_slice data;   /* CERTREQ X.509: concatenated SHA-1 CA key hashes */
};

struct ike_pld_auth {        /* §3.8 */
    uint8_t method;          /* IKE_AUTH_* */
    struct ike_slice data;
};

struct ike_pld_nonce {       /* §3.9, IKE_NONCE_MIN..IKE_NONCE_MAX octets */
    struct ike_slice data;
};

struct ike_pld_notify {      /* §3.10 */
    uint8_t protocol;        /* IKE_PROTO_*; 0 when there is no SPI */
    uint8_t spi_len;         /* 0, 4 (AH/ESP) or 8 (IKE) */
    uint8_t spi[8];
    uint16_t type;           /* IKE_N_* */
    struct ike_slice data;   /* format checked for the types listed at
                              * ike_notify_check() */
};

struct ike_pld_delete {      /* §3.11 */
    uint8_t protocol;        /* IKE_PROTO_IKE: no SPIs; AH/ESP: >= 1 SPI */
    size_t n_spis;
    uint32_t *spis;          /* host order */
};

struct ike_pld_vendor {      /* §3.12 */
    struct ike_slice data;
};

struct ike_ts {              /* §3.13.1 one traffic selector */
    uint8_t type;            /* IKE_TS_IPV4_ADDR_RANGE (16-octet selector)
                              * or IKE_TS_IPV6_ADDR_RANGE (40 octets) */
    uint8_t ip_proto;        /* 0 = any */
    uint16_t start_port, end_port;
    uint8_t start_addr[16];  /* IPv4 uses the first 4 octets */
    uint8_t end_addr[16];
    /* Unknown selector types are kept: ip_proto holds the second octet
     * and opaque everything after the 4-octet selector header. */
    struct ike_slice opaque;
};

struct ike_pld_ts {          /* TSi, TSr */
    size_t n_ts;             /* 1..IKE_TS_MAX */
    struct ike_ts *ts;
};

struct ike_cp_attr {         /* §3.15.1 */
    uint16_t type;           /* 15 bits, IKE_CFG_* */
    struct ike_slice value;  /* length checked for the known types */
};

struct ike_pld_cp {          /* §3.15 */
    uint8_t cfg_type;        /* IKE_CFG_REQUEST, _REPLY, _SET, _ACK */
    size_t n_attrs;
    struct ike_cp_attr *attrs;
};

struct ike_pld_eap {         /* §3.16: one complete EAP message */
    struct ike_slice data;   /* >= 4 octets, EAP Length == data.len */
};

struct ike_pld_sk {          /* §3.14 SK and RFC 7383 §2.5 SKF */
    uint8_t first_inner;     /* Next Payload field: first inner payload */
    uint16_t frag_num;       /* SKF: 1..frag_total; SK: 0 */
    uint16_t frag_total;     /* SKF: >= 1; SK: 0 */
    struct ike_slice body;   /* IV | ciphertext | ICV, opaque here */
    size_t body_off;         /* decode: offset of body in msg->raw = the
                              * length of the authenticated header part */
};

/* ---- payloads and messages ------------------------------------------- */

struct ike_pld {
    struct ike_pld *next;
    uint8_t type;            /* IKE_PLD_*, or the wire number if unknown */
    bool inside_sk;          /* carried inside the SK/SKF payload */
    bool unknown;            /* non-critical type we skip; body in raw */
    size_t offset;           /* decode: generic header offset in msg->raw
                              * (outer) or in msg->inner (inner) */
    struct ike_slice raw;    /* decode: the body after the generic header
                              * as received (AUTH signs IDi' from this) */
    union {
        struct ike_pld_sa sa;
        struct ike_pld_ke ke;
        struct ike_pld_id id;
        struct ike_pld_cert cert;
        struct ike_pld_auth auth;
        struct ike_pld_nonce nonce;
        struct ike_pld_notify notify;
        struct ike_pld_delete del;
        struct ike_pld_vendor vendor;
        struct ike_pld_ts ts;
        struct ike_pld_cp cp;
        struct ike_pld_eap eap;
        struct ike_pld_sk sk;
    };
};

struct ike_hdr {             /* §3.1 */
    uint8_t spi_i[IKE_SPI_LEN];
    uint8_t spi_r[IKE_SPI_LEN];
    uint8_t next_payload;    /* decode only: encode computes it */
    uint8_t version;         /* IKE_VERSION_2 (minor version ignored) */
    uint8_t exchange;        /* IKE_EXCH_* */
    uint8_t flags;           /* IKE_FLAG_INITIATOR | _RESPONSE | _VERSION */
    uint32_t message_id;
    uint32_t length;         /* decode only: encode computes it */
};

struct ike_arena;

struct ike_msg {
    struct ike_hdr hdr;
    struct ike_pld *first, *last;
    size_t n_payloads;
    size_t n_unknown;        /* non-critical unknown payloads skipped */
    const struct ike_pld *sk; /* decode: the SK/SKF payload, or NULL */
    bool inner_decoded;      /* ike_msg_decode_inner() succeeded */
    /* Builders mark new payloads inside_sk with this; ike_msg_init() sets
     * it for every exchange but IKE_SA_INIT. Change it between adds. */
    bool add_inside_sk;
    struct ike_slice raw;    /* decode: copy of the datagram */
    struct ike_slice inner;  /* decode_inner: copy of the plaintext */
    /* First builder failure (sticky): reported by every encoder. */
    struct ike_diag build_err;
    struct ike_arena *arena; /* private */
};

/* ---- names (never NULL; "UNKNOWN" for numbers we do not know) --------- */

IKE_API const char *ike_exchange_name(uint8_t exchange);
IKE_API const char *ike_payload_name(uint8_t type); /* "SA", "IDi", "N"... */
IKE_API const char *ike_notify_name(uint16_t type);
IKE_API const char *ike_protocol_name(uint8_t protocol);
/* One line for logs: "IKE_AUTH request 1 [ IDi AUTH N(INITIAL_CONTACT)
 * SA TSi TSr ]"; inner payloads inside "SK{...}". Always NUL-terminated,
 * truncated with "..." if buf is too small. Returns buf. */
IKE_API char *ike_msg_describe(const struct ike_msg *msg, char *buf, size_t size);

/* ---- lifecycle and building ------------------------------------------ */

/* Initialises an empty message (no memory is allocated until the first
 * payload). spi_i/spi_r may be NULL for zero. flags: IKE_FLAG_*. */
IKE_API void ike_msg_init(struct ike_msg *msg, const uint8_t *spi_i, const uint8_t *spi_r,
                          uint8_t exchange, uint8_t flags, uint32_t message_id);
/* Wipes and frees everything the message owns and zeroes it; the message
 * may be initialised or decoded into again. Safe on a zeroed message. */
IKE_API void ike_msg_clear(struct ike_msg *msg);
IKE_API bool ike_msg_is_response(const struct ike_msg *msg);

/*
 * Builders append one payload (deep copy of every argument) with
 * inside_sk = msg->add_inside_sk and return it, or NULL on failure. A
 * failure is sticky: it is kept in msg->build_err and returned by every
 * later encode, so callers can add a whole message and check once.
 * Builders check only what they must to copy; the encoders validate.
 */
IKE_API struct ike_pld *ike_msg_add_sa(struct ike_msg *msg, const struct ike_pld_sa *sa);
IKE_API struct ike_pld *ike_msg_add_ke(struct ike_msg *msg, uint16_t group, const uint8_t *data,
                                       size_t len);
/* pld_type: IKE_PLD_IDI or IKE_PLD_IDR */
IKE_API struct ike_pld *ike_msg_add_id(struct ike_msg *msg, uint8_t pld_type, uint8_t id_type,
                                       const uint8_t *data, size_t len);
/* pld_type: IKE_PLD_CERT or IKE_PLD_CERTREQ */
IKE_API struct ike_pld *ike_msg_add_cert(struct ike_msg *msg, uint8_t pld_type, uint8_t encoding,
                                         const uint8_t *data, size_t len);
IKE_API struct ike_pld *ike_msg_add_auth(struct ike_msg *msg, uint8_t method, const uint8_t *data,
                                         size_t len);
IKE_API struct ike_pld *ike_msg_add_nonce(struct ike_msg *msg, const uint8_t *data, size_t len);
/* Notify without SPI (protocol 0). data may be NULL when len is 0. */
IKE_API struct ike_pld *ike_msg_add_notify(struct ike_msg *msg, uint16_t type,
                                           const uint8_t *data, size_t len);
/* Notify about a Child SA: protocol AH/ESP and its 4-octet SPI (REKEY_SA,
 * INVALID_SELECTORS, CHILD_SA_NOT_FOUND). */
IKE_API struct ike_pld *ike_msg_add_notify_spi(struct ike_msg *msg, uint16_t type,
                                               uint8_t protocol, uint32_t spi,
                                               const uint8_t *data, size_t len);
/* protocol IKE_PROTO_IKE (n_spis 0, spis NULL) or AH/ESP with SPIs. */
IKE_API struct ike_pld *ike_msg_add_delete(struct ike_msg *msg, uint8_t protocol,
                                           const uint32_t *spis, size_t n_spis);
IKE_API struct ike_pld *ike_msg_add_vendor(struct ike_msg *msg, const uint8_t *data, size_t len);
/* pld_type: IKE_PLD_TSI or IKE_PLD_TSR */
IKE_API struct ike_pld *ike_msg_add_ts(struct ike_msg *msg, uint8_t pld_type,
                                       const struct ike_ts *ts, size_t n_ts);
IKE_API struct ike_pld *ike_msg_add_cp(struct ike_msg *msg, uint8_t cfg_type,
                                       const struct ike_cp_attr *attrs, size_t n_attrs);
IKE_API struct ike_pld *ike_msg_add_eap(struct ike_msg *msg, const uint8_t *data, size_t len);
/* Deep copy of a payload of any type (e.g. echo a peer's COOKIE, or copy
 * the SA proposal chosen); inside_sk is msg->add_inside_sk as for every
 * builder, raw and offset are not copied. */
IKE_API struct ike_pld *ike_msg_add_copy(struct ike_msg *msg, const struct ike_pld *src);

/* Notify data formats we build (all with protocol 0 and no SPI unless
 * stated). */
IKE_API struct ike_pld *ike_msg_add_n_invalid_ke(struct ike_msg *msg, uint16_t group);
IKE_API struct ike_pld *ike_msg_add_n_unsupported_critical(struct ike_msg *msg,
                                                           uint8_t pld_type);
IKE_API struct ike_pld *ike_msg_add_n_rekey_sa(struct ike_msg *msg, uint8_t protocol,
                                               uint32_t spi);

/* RFC 6311 §5.1 IKEV2_MESSAGE_ID_SYNC notification data (12 octets). */
struct ike_n_msgid_sync {
    uint8_t nonce[4];
    uint32_t expected_send_req_message_id; /* sender's next request ID */
    uint32_t expected_recv_req_message_id; /* next request ID it expects */
};
#define IKE_N_MSGID_SYNC_LEN 12
/* RFC 6311 §5.2 IPSEC_REPLAY_COUNTER_SYNC data: the 8-octet "Incoming
 * IPsec SA delta value" by which the peer must increase its outgoing
 * sequence numbers toward the sender. */
#define IKE_N_REPLAY_SYNC_LEN 8
IKE_API struct ike_pld *ike_msg_add_n_msgid_sync(struct ike_msg *msg,
                                                 const struct ike_n_msgid_sync *sync);
IKE_API struct ike_pld *ike_msg_add_n_replay_sync(struct ike_msg *msg, uint64_t delta);

/* ---- reading notify data ---------------------------------------------- */

/*
 * Checks the SPI and data format of the notify types we use:
 *   NAT_DETECTION_SOURCE_IP/DESTINATION_IP: 20 octets;  COOKIE: 1..64;
 *   INVALID_KE_PAYLOAD: 2;  UNSUPPORTED_CRITICAL_PAYLOAD: 1;
 *   REKEY_SA, INVALID_SELECTORS, CHILD_SA_NOT_FOUND: AH/ESP with a
 *   4-octet SPI;  IKEV2_MESSAGE_ID_SYNC: 12;  IPSEC_REPLAY_COUNTER_SYNC: 8;
 *   SET_WINDOW_SIZE: 4;  SIGNATURE_HASH_ALGORITHMS: even, >= 2;
 *   *_SUPPORTED, INITIAL_CONTACT, USE_TRANSPORT_MODE,
 *   ESP_TFC_PADDING_NOT_SUPPORTED, NON_FIRST_FRAGMENTS_ALSO: empty.
 * Others pass. The decoder runs this on every Notify it reads.
 */
IKE_API enum ike_status ike_notify_check(const struct ike_pld_notify *n, struct ike_diag *diag);
/* Typed readers: run ike_notify_check() for the expected type first. */
IKE_API enum ike_status ike_notify_get_group(const struct ike_pld_notify *n, uint16_t *group,
                                             struct ike_diag *diag);
IKE_API enum ike_status ike_notify_get_critical_type(const struct ike_pld_notify *n,
                                                     uint8_t *pld_type,
                                                     struct ike_diag *diag);
IKE_API enum ike_status ike_notify_get_spi(const struct ike_pld_notify *n, uint32_t *spi,
                                           struct ike_diag *diag);
IKE_API enum ike_status ike_notify_get_msgid_sync(const struct ike_pld_notify *n,
                                                  struct ike_n_msgid_sync *sync,
                                                  struct ike_diag *diag);
IKE_API enum ike_status ike_notify_get_replay_sync(const struct ike_pld_notify *n,
                                                   uint64_t *delta, struct ike_diag *diag);

/* ---- finding payloads ------------------------------------------------- */

/* First payload of a type (outer or inner, list order), or NULL. */
IKE_API const struct ike_pld *ike_msg_find(const struct ike_msg *msg, uint8_t type);
/* Next payload of a type after `after`, or NULL. */
IKE_API const struct ike_pld *ike_msg_find_next(const struct ike_pld *after, uint8_t type);
IKE_API const struct ike_pld *ike_msg_find_notify(const struct ike_msg *msg, uint16_t ntype);
/* First Notify with an error type (< 16384), or NULL. */
IKE_API const struct ike_pld *ike_msg_find_error(const struct ike_msg *msg);
IKE_API size_t ike_msg_count(const struct ike_msg *msg, uint8_t type);

/* ---- decoding --------------------------------------------------------- */

/* Header only, without copying: for dispatching a datagram by SPI before
 * decoding it. Checks length (28 <= header length == len <= max), major
 * version 2 (else IKE_E_UNSUPPORTED, answer INVALID_MAJOR_VERSION) and a
 * non-zero initiator SPI. */
IKE_API enum ike_status ike_hdr_decode(const uint8_t *data, size_t len, struct ike_hdr *hdr,
                                       struct ike_diag *diag);

/* msg must be zeroed or cleared (one still owning memory is refused with
 * IKE_E_INVALID_ARG). Copies data. On any failure after the
 * header was read, msg->hdr stays filled (so an error notify can be sent
 * back); always ike_msg_clear() msg afterwards, whatever the status. */
IKE_API enum ike_status ike_msg_decode(struct ike_msg *msg, const uint8_t *data, size_t len,
                                       struct ike_diag *diag);

/* Parses the decrypted inner payload chain (plaintext without IV, padding
 * or ICV; copied) starting with first_type (msg->sk->sk.first_inner, or
 * for reassembled fragments that of fragment 1). Appends the payloads with
 * inside_sk = true. Requires msg->sk and may be called once. */
IKE_API enum ike_status ike_msg_decode_inner(struct ike_msg *msg, const uint8_t *plaintext,
                                             size_t len, uint8_t first_type,
                                             struct ike_diag *diag);

/* ---- encoding --------------------------------------------------------- */

/* Output buffers are malloc()ed and owned by the caller; free them with
 * ike_msg_free_buf(), which wipes first (inner plaintext is secret). */
IKE_API void ike_msg_free_buf(uint8_t *buf, size_t len);

IKE_API enum ike_status ike_msg_encode(const struct ike_msg *msg, uint8_t **out, size_t *out_len,
                                       struct ike_diag *diag);
/* *first_type is IKE_PLD_NONE and *out_len 0 when there is no inner
 * payload (an empty INFORMATIONAL, e.g. a liveness check). */
IKE_API enum ike_status ike_msg_encode_inner(const struct ike_msg *msg, uint8_t **out,
                                             size_t *out_len, uint8_t *first_type,
                                             struct ike_diag *diag);
/* sk_type IKE_PLD_SK or IKE_PLD_SKF; sk->body.len octets of body are
 * copied from sk->body.ptr, or zero-filled when it is NULL. body_off (may
 * be NULL) receives the body's offset: the octets before it are the
 * associated data. Any SK/SKF payload already in the list is ignored. */
IKE_API enum ike_status ike_msg_encode_outer(const struct ike_msg *msg, uint8_t sk_type,
                                             const struct ike_pld_sk *sk, uint8_t **out,
                                             size_t *out_len, size_t *body_off,
                                             struct ike_diag *diag);

/* ---- per-exchange rules ------------------------------------------------ */

/*
 * Checks the payloads of a decoded (and, for protected exchanges,
 * decrypted) message against the table for its exchange and direction:
 * count limits per payload type, inside/outside SK, payloads that come
 * together or not at all (SA, TSi, TSr), IKE_SA_INIT header rules.
 * Minimum counts are waived for error responses (a response carrying an
 * error Notify, or in IKE_SA_INIT a COOKIE). Unknown (skipped) payloads
 * are not checked. IKE_E_RULES with a reason naming the payload; an
 * exchange without table gives IKE_E_UNSUPPORTED.
 */
IKE_API enum ike_status ike_msg_check_rules(const struct ike_msg *msg, struct ike_diag *diag);

#endif
