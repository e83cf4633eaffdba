/* Per-sender order and write-ahead acks (hasync_seq.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hasync_seq.h"

static const struct hasync_member A = {.node = 1, .pid = 100};
static const struct hasync_member B = {.node = 2, .pid = 200};

static void test_rxseq_order(void **state)
{
    struct hasync_rxseq rx;
    uint64_t exp;

    (void)state;
    hasync_rxseq_clear(&rx);
    assert_int_equal(hasync_rxseq_check(&rx, A, 7, &exp), HASYNC_SEQ_FIRST);
    assert_int_equal(hasync_rxseq_check(&rx, A, 8, &exp), HASYNC_SEQ_NEXT);
    assert_int_equal(exp, 8);
    /* duplicate and reordered: dropped, and the edge does not move */
    assert_int_equal(hasync_rxseq_check(&rx, A, 8, &exp), HASYNC_SEQ_STALE);
    assert_int_equal(hasync_rxseq_check(&rx, A, 3, &exp), HASYNC_SEQ_STALE);
    assert_int_equal(exp, 9);
    assert_int_equal(hasync_rxseq_check(&rx, A, 9, NULL), HASYNC_SEQ_NEXT);
    /* a gap is accepted but reported */
    assert_int_equal(hasync_rxseq_check(&rx, A, 12, &exp), HASYNC_SEQ_GAP);
    assert_int_equal(exp, 10);
    /* senders are independent */
    assert_int_equal(hasync_rxseq_check(&rx, B, 1, NULL), HASYNC_SEQ_FIRST);
    assert_int_equal(hasync_rxseq_check(&rx, A, 13, NULL), HASYNC_SEQ_NEXT);
    /* after a leave the sender starts afresh */
    hasync_rxseq_forget(&rx, A);
    assert_int_equal(hasync_rxseq_check(&rx, A, 2, NULL), HASYNC_SEQ_FIRST);
    assert_int_equal(hasync_rxseq_check(&rx, B, 1, NULL), HASYNC_SEQ_STALE);
}

static void test_rxseq_full(void **state)
{
    struct hasync_rxseq rx;

    (void)state;
    hasync_rxseq_clear(&rx);
    for (uint32_t i = 0; i < HASYNC_MAX_PEERS; i++)
        assert_int_equal(hasync_rxseq_check(&rx, (struct hasync_member){i + 1, 1}, 1, NULL),
                         HASYNC_SEQ_FIRST);
    assert_int_equal(hasync_rxseq_check(&rx, (struct hasync_member){99, 1}, 1, NULL),
                     HASYNC_SEQ_FULL);
}

struct fired {
    uint64_t seq[128];
    size_t n;
    struct hasync_acks *acks; /* for the re-entrant case */
};

static void on_acked(void *arg, uint64_t seq)
{
    struct fired *f = arg;

    f->seq[f->n++] = seq;
}

static void test_acks_cumulative(void **state)
{
    struct hasync_acks a;
    struct fired f = {0};

    (void)state;
    hasync_acks_init(&a);
    for (uint64_t s = 1; s <= 3; s++)
        assert_int_equal(hasync_acks_add(&a, s, &B, 1, on_acked, &f), 0);
    hasync_acks_on_ack(&a, A, 3); /* not someone we wait for */
    assert_int_equal(f.n, 0);
    hasync_acks_on_ack(&a, B, 2);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.seq[0], 1);
    assert_int_equal(f.seq[1], 2);
    assert_int_equal(hasync_acks_count(&a), 1);
    hasync_acks_on_ack(&a, B, 2); /* repeated ack: nothing more */
    assert_int_equal(f.n, 2);
    hasync_acks_on_ack(&a, B, 3);
    assert_int_equal(f.n, 3);
    assert_int_equal(hasync_acks_count(&a), 0);
    hasync_acks_free(&a);
}

static void test_acks_two_peers_and_leave(void **state)
{
    struct hasync_acks a;
    struct fired f = {0};
    const struct hasync_member both[2] = {A, B};

    (void)state;
    hasync_acks_init(&a);
    assert_int_equal(hasync_acks_add(&a, 10, both, 2, on_acked, &f), 0);
    assert_int_equal(hasync_acks_add(&a, 11, both, 2, on_acked, &f), 0);
    hasync_acks_on_ack(&a, A, 11);
    assert_int_equal(f.n, 0); /* B still owes */
    hasync_acks_on_leave(&a, B);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.seq[0], 10);
    assert_int_equal(f.seq[1], 11);
    /* release_all: our corosync gone, nobody left to wait for */
    assert_int_equal(hasync_acks_add(&a, 12, &A, 1, on_acked, &f), 0);
    hasync_acks_release_all(&a);
    assert_int_equal(f.n, 3);
    hasync_acks_free(&a);
}

static void on_acked_add(void *arg, uint64_t seq)
{
    struct fired *f = arg;

    f->seq[f->n++] = seq;
    if (seq < 40) /* a callback that sends again (the write-ahead pattern) */
        assert_int_equal(hasync_acks_add(f->acks, seq + 100, &B, 1, on_acked, f), 0);
}

static void test_acks_reentrant_and_growth(void **state)
{
    struct hasync_acks a;
    struct fired f = {0};

    (void)state;
    hasync_acks_init(&a);
    f.acks = &a;
    for (uint64_t s = 1; s <= 40; s++) /* past the ring's initial size with the re-adds */
        assert_int_equal(hasync_acks_add(&a, s, &B, 1, on_acked_add, &f), 0);
    hasync_acks_on_ack(&a, B, 40);
    assert_int_equal(f.n, 40);
    for (size_t i = 0; i < 40; i++)
        assert_int_equal(f.seq[i], i + 1);
    assert_int_equal(hasync_acks_count(&a), 39);
    assert_int_equal(hasync_acks_add(&a, 5, &B, 0, on_acked, &f), -1); /* no peers */
    hasync_acks_on_leave(&a, B);
    assert_int_equal(hasync_acks_count(&a), 0);
    assert_int_equal(f.n, 79); /* the 39 re-added ones, released by the leave */
    assert_int_equal(f.seq[40], 101);
    assert_int_equal(f.seq[78], 139);
    hasync_acks_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rxseq_order),
        cmocka_unit_test(test_rxseq_full),
        cmocka_unit_test(test_acks_cumulative),
        cmocka_unit_test(test_acks_two_peers_and_leave),
        cmocka_unit_test(test_acks_reentrant_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
