/* Hex text to bytes for test vectors, fixtures and seeds. Plain C without
 * cmocka, so the unit tests, the KAT checker, the fuzz seed generator and
 * the benchmarks share one parser. */
#ifndef HELPER_HEX_H
#define HELPER_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parses pairs of hex digits (either case) into out. Whitespace and ':'
 * between digits are ignored. false on any other character, an odd number
 * of digits or more than cap octets; *len is then 0.
 */
bool helper_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len);

/* helper_hex_decode() for vectors written in the test's own source: a
 * malformed one is a bug in the test, so it prints where and aborts (the
 * test program fails). Returns the number of octets. */
#define helper_unhex(hex, out, cap) helper_hex_must((hex), (out), (cap), __FILE__, __LINE__)
size_t helper_hex_must(const char *hex, uint8_t *out, size_t cap, const char *file, int line);

#endif
