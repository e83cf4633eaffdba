/* Helpers for the tshark wire check: a minimal pcap writer (Ethernet /
 * IPv4 / UDP, port 500 or 4500 with the non-ESP marker), running tshark
 * without a shell, and the table of fields it prints. */
#ifndef HELPER_WIRE_H
#define HELPER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HELPER_WIRE_PORT_IKE  500
#define HELPER_WIRE_PORT_NATT 4500

struct helper_wire_pcap {
    FILE *f;
    uint32_t count;
};

/* Creates path with the pcap global header (link type Ethernet). */
void helper_wire_pcap_open(struct helper_wire_pcap *p, const char *path);
/* One UDP datagram carrying the IKE message ike between 198.51.100.1
 * (initiator) and 198.51.100.2 (responder); port 4500 gets the 4-octet
 * non-ESP marker in front of the IKE header. */
void helper_wire_pcap_add(struct helper_wire_pcap *p, bool from_initiator, uint16_t port,
                          const uint8_t *ike, size_t len);
void helper_wire_pcap_close(struct helper_wire_pcap *p);

/* true when a tshark binary runs (tshark -v exits 0). */
bool helper_wire_tshark_found(void);

/* Runs tshark with args (NULL-terminated, without argv[0]) and
 * WIRESHARK_CONFIG_DIR=config_dir so no personal preferences interfere.
 * Returns its standard output (NUL-terminated, free()) and the exit status
 * in *status (-1 if it did not exit normally). stderr is discarded. */
char *helper_wire_tshark(const char *config_dir, const char *const *args, int *status);

/* tshark -T fields output: one row per frame, one column per field. */
struct helper_wire_rows {
    size_t n_rows, n_cols;
    char **cells; /* n_rows * n_cols strings */
};
/* Splits text at newlines and tabs; every row must have n_cols columns. */
bool helper_wire_rows_parse(char *text, size_t n_cols, struct helper_wire_rows *rows);
const char *helper_wire_cell(const struct helper_wire_rows *rows, size_t row, size_t col);
void helper_wire_rows_free(struct helper_wire_rows *rows);

/* A fresh self-signed P-256 certificate (DER; subject = issuer =
 * O=haiked lab, CN=moon.lab.example), so tshark's X.509 dissector gets a
 * real one to parse. */
void helper_wire_make_cert(uint8_t *der, size_t cap, size_t *len);

#endif
