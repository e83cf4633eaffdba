/*
 * A votequorum double for tests that run haiked's HA in one process
 * (tests/daemon/test_ha_role.c, tests/fuzz/fuzz_ha_apply.c): defines the
 * votequorum_* functions ha_quorum.c calls, so a program linking
 * fake_votequorum.c gets them instead of libvotequorum's (the executable's
 * definitions win at link time). Up to FVQ_HANDLES handles, each with its
 * own eventfd (never readable: the double has no events to dispatch).
 *
 * Test control: fvq_flags, the VOTEQUORUM_INFO_* flags every handle's
 * votequorum_getinfo() reports (default: a quorate two-node cluster).
 */
#ifndef FAKE_VOTEQUORUM_H
#define FAKE_VOTEQUORUM_H

#include <corosync/votequorum.h>

#define FVQ_HANDLES 8

extern unsigned fvq_flags;

#endif
