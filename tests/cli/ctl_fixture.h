/*
 * A populated haiked runtime for control-protocol tests: a daemon built
 * from a small config (record data plane, no sockets), with gateway "hq"
 * holding one ESTABLISHED IKE SA (imported into libike with known SPIs,
 * algorithms and keys, like the seed's FortiOS listing) and one CHILD SA
 * in the data plane with counters; gateway "branch" passive and idle.
 * The control server listens on a socket in a temp directory.
 */
#ifndef CTL_FIXTURE_H
#define CTL_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "daemon.h"

struct ctl_server;
struct event_base;

struct ctl_fixture {
    char dir[32];
    char sock[64];
    struct event_base *base;
    struct daemon d;
    struct ctl_server *srv;
};

/* The values the listings must show. */
#define FX_IKE_SPI_I     "e870277e2268318c"
#define FX_IKE_SPI_R     "acb0001b24748673"
#define FX_CHILD_SPI_IN  0x154ccf99u
#define FX_CHILD_SPI_OUT 0xbf67d15du
#define FX_SK_EI_BYTE    0x3a /* every octet of SK_ei */
#define FX_ESP_ENC_IN    0x53 /* every octet of the inbound ESP key */

/* 0, or -1 after printing why. */
int ctl_fixture_init(struct ctl_fixture *fx);
/* Also gateway "dial" (remote-gw any, selector "road") with established
 * IKE SAs from 198.51.100.7:4500 (two: old and new) and 198.51.100.9:500. */
int ctl_fixture_init_dialup(struct ctl_fixture *fx);
/* Without the socket (for the fuzz target): the runtime only, the temp
 * directory already removed. */
int ctl_fixture_init_runtime(struct ctl_fixture *fx);
void ctl_fixture_free(struct ctl_fixture *fx);

/* Runs the server's loop until child pid exits (at most timeout_ms); its
 * wait status, or -1 on timeout (the child is killed). */
int ctl_fixture_wait(struct ctl_fixture *fx, pid_t pid, int timeout_ms);

#endif
