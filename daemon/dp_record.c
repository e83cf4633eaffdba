/*
 * The "record" data-plane backend: accepts every CHILD SA pair and keeps
 * only what the front already records (no keys, no ESP). Its counters are
 * the front's and stay zero: there is no traffic without an ESP data plane.
 */
#include "dataplane.h"

static int record_install(struct dp *dp, struct dp_child *c, const struct ike_child_export *ex,
                          char *err, size_t errlen)
{
    (void)dp, (void)c, (void)ex, (void)err, (void)errlen;
    return 0;
}

static int record_counters(struct dp *dp, struct dp_child *c)
{
    (void)dp, (void)c;
    return 0;
}

static int record_set_seq(struct dp *dp, struct dp_child *c, uint64_t seq_out,
                          uint64_t replay_in_edge)
{
    (void)dp;
    c->ctr.seq_out = seq_out;
    c->ctr.replay_in_edge = replay_in_edge;
    return 0;
}

const struct dp_backend_ops dp_record_ops = {
    .name = "record",
    .install = record_install,
    .counters = record_counters,
    .set_seq = record_set_seq,
};
