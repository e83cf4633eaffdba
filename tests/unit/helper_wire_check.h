/* The tshark check of a whole exchange test: a scratch directory holding
 * the capture of a pair's trace and Wireshark's IKEv2 decryption table,
 * one field compared per call, and the cleanup (kept when
 * HAIKED_WIRE_KEEP is set, to look at the capture by hand). */
#ifndef HELPER_WIRE_CHECK_H
#define HELPER_WIRE_CHECK_H

#include <stddef.h>

#include <ike/export.h>

#include "helper_pair.h"

/* Wireshark's names of the IKE SA algorithms our default proposal picks. */
#define HELPER_WIRE_WS_AES_CBC_256  "AES-CBC-256 [RFC3602]"
#define HELPER_WIRE_WS_SHA2_256_128 "HMAC_SHA2_256_128 [RFC4868]"

struct helper_wire_check {
    char dir[64];   /* also tshark's WIRESHARK_CONFIG_DIR */
    char pcap[128]; /* dir/x.pcap */
};

/* Creates the directory from a mkdtemp template ("/tmp/...-XXXXXX") and
 * writes p's trace to the capture: one datagram per trace entry, port
 * 4500 with the non-ESP marker when either end used it (the responder
 * answers the NAT's mapped port), 500 otherwise. */
void helper_wire_check_open(struct helper_wire_check *w, const char *tmpl, const struct pair *p);

/* The decryption table (UAT): one line per IKE SA in e[0..n), SPIi,
 * SPIr, SK_ei, SK_er, encryption, SK_ai, SK_ar, integrity, with the
 * algorithms in Wireshark's names. */
void helper_wire_check_keys(const struct helper_wire_check *w, const struct ike_sa_export *e,
                            size_t n, const char *ws_encr, const char *ws_integ);

/* tshark -Y filter -T fields -e field on the capture (free()); fails the
 * test when tshark does not exit 0. */
char *helper_wire_check_fields(const struct helper_wire_check *w, const char *filter,
                               const char *field);
/* Fails the test unless that output is exactly want. */
void helper_wire_check_expect(const struct helper_wire_check *w, const char *filter,
                              const char *field, const char *want);
/* Fails the test on a malformed frame, a warning or error (a bad ICV is
 * one) anywhere in the capture. */
void helper_wire_check_clean(const struct helper_wire_check *w);

/* Removes the directory, or keeps it and says where with HAIKED_WIRE_KEEP. */
void helper_wire_check_close(const struct helper_wire_check *w);

#endif
