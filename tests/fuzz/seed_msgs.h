/*
 * Representative protected IKEv2 messages built with libike's builders
 * (everything inside SK): the seeds of the SK fuzz target and the
 * messages of the codec benchmark.
 */
#ifndef FUZZ_SEED_MSGS_H
#define FUZZ_SEED_MSGS_H

#include <stddef.h>
#include <stdint.h>

#include <ike/message.h>

struct seed_msg {
    const char *name;
    /* Fills an initialised-by-it message; returns false if a builder
     * failed (msg->build_err says why). */
    bool (*build)(struct ike_msg *msg, const uint8_t *spi_i, const uint8_t *spi_r);
    /* Split into this many SKF fragments for the fragment seeds (0: none). */
    unsigned frags;
};

extern const struct seed_msg seed_msgs[];
extern const size_t seed_n_msgs;

/* The seed called name, or NULL. */
const struct seed_msg *seed_msg_find(const char *name);

#endif
