/* What tshark must show for a packet libike encoded: the expected value
 * of every checked field, in tshark's -T fields notation (occurrences
 * joined with ','), computed from the struct ike_msg that was encoded. */
#ifndef HELPER_WIRE_EXPECT_H
#define HELPER_WIRE_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ike/message.h>

/* One datagram of the capture and where it came from. */
struct helper_wire_pkt {
    const struct ike_msg *msg; /* the message that was encoded */
    int sa;                    /* the test's IKE SA index */
    uint8_t *buf;              /* the IKE message (malloc()ed) */
    size_t len;
    uint16_t port; /* 500, or 4500 with the non-ESP marker */
    bool from_initiator;
    bool decrypted;                   /* tshark has the keys and the cipher */
    uint16_t frag_num, frag_total;    /* SKF; 0 for SK / plain */
    size_t pad_len;                   /* SK/SKF Pad Length as encoded */
    size_t body_off, iv_len, icv_len; /* SK/SKF body layout */
};

/* The fields compared, in the order of helper_wire_field_names. */
extern const char *const helper_wire_field_names[];
extern const size_t helper_wire_n_fields;

struct helper_wire_expect {
    char **val; /* helper_wire_n_fields strings; NULL: not compared */
};

/* inner: whether tshark shows the inner payloads in this frame (a
 * decrypted SK, or the SKF frame where tshark completes the reassembly). */
void helper_wire_expect_build(const struct helper_wire_pkt *p, bool inner,
                              struct helper_wire_expect *e);
void helper_wire_expect_free(struct helper_wire_expect *e);

#endif
