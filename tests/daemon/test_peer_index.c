/*
 * The peer ID index (daemon/peer_index.c) on its own: IKE SAs (struct
 * gw_sa with only the fields the index reads) filed by (gateway, peer
 * ID). Lookups must list exactly the SAs of that gateway with that ID, in
 * serial order, after files, removals, ID changes and with many SAs;
 * peer_index_check() must agree with a recount and catch an SA whose ID
 * changed behind the index's back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ike/const.h>

#include "gateway.h"
#include "peer_index.h"

/* A gw_sa and the peer ID its libike SA would report. */
struct fake_sa {
    struct gw_sa gs; /* first: id_of casts back */
    struct ike_id_export id;
};

static char dummy_ike_sa; /* gs.sa only has to be set: never dereferenced */

static const struct ike_id_export *id_of(const struct gw_sa *gs)
{
    return &((const struct fake_sa *)gs)->id;
}

static struct ike_id_export fqdn(const char *name)
{
    struct ike_id_export id = {.type = IKE_ID_FQDN, .len = (uint16_t)strlen(name)};
    memcpy(id.data, name, id.len);
    return id;
}

static void gw_init(struct gateway *gw, const char *name)
{
    memset(gw, 0, sizeof(*gw));
    gw->name = name;
    TAILQ_INIT(&gw->sas);
}

/* A new SA of gw (serial as given), on gw's list, not filed yet. */
static struct fake_sa *sa_new(struct gateway *gw, uint32_t serial, const char *id)
{
    struct fake_sa *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->gs.gw = gw;
    f->gs.serial = serial;
    f->gs.sa = (struct ike_sa *)&dummy_ike_sa;
    if (id)
        f->id = fqdn(id);
    TAILQ_INSERT_TAIL(&gw->sas, &f->gs, link);
    gw->n_sas++;
    return f;
}

static void sa_file(struct peer_index *x, struct fake_sa *f)
{
    assert_int_equal(peer_index_file(x, &f->gs, &f->id), 0);
}

static void sa_free(struct peer_index *x, struct fake_sa *f)
{
    peer_index_remove(x, &f->gs);
    TAILQ_REMOVE(&f->gs.gw->sas, &f->gs, link);
    f->gs.gw->n_sas--;
    free(f);
}

#define ASSERT_CHECK(x, gw)                                                                        \
    do {                                                                                           \
        char why_[256] = "";                                                                       \
        if (peer_index_check((x), (gw), id_of, why_, sizeof(why_)) != 0)                           \
            fail_msg("%s: %s", (gw)->name, why_);                                                  \
    } while (0)

/* The serials peer_index_first/next list for (gw, name), in order, as
 * "1,4,7" (empty: none). */
static const char *listed(const struct peer_index *x, const struct gateway *gw, const char *name)
{
    static char buf[512];
    struct ike_id_export id = fqdn(name);
    size_t n = 0;
    buf[0] = '\0';
    for (struct gw_sa *gs = peer_index_first(x, gw, &id); gs; gs = peer_index_next(gs)) {
        assert_true(n + 12 < sizeof(buf));
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u", n ? "," : "", gs->serial);
    }
    return buf;
}

static void test_file_and_lookup(void **state)
{
    (void)state;
    struct peer_index x;
    struct gateway g1, g2;
    assert_int_equal(peer_index_init(&x), 0);
    gw_init(&g1, "g1");
    gw_init(&g2, "g2");
    struct fake_sa *a = sa_new(&g1, 1, "alice.test"), *b = sa_new(&g1, 2, "bob.test");
    struct fake_sa *c = sa_new(&g1, 3, "alice.test"), *d = sa_new(&g2, 4, "alice.test");
    sa_file(&x, a);
    sa_file(&x, b);
    sa_file(&x, c);
    sa_file(&x, d);
    /* Filing again under the same ID changes nothing. */
    sa_file(&x, c);
    assert_string_equal(listed(&x, &g1, "alice.test"), "1,3");
    assert_string_equal(listed(&x, &g1, "bob.test"), "2");
    /* The same ID on another gateway is another group. */
    assert_string_equal(listed(&x, &g2, "alice.test"), "4");
    assert_string_equal(listed(&x, &g2, "bob.test"), "");
    struct ike_id_export alice = fqdn("alice.test");
    assert_int_equal(peer_index_count(&x, &g1, &alice), 2);
    assert_int_equal(x.n_filed, 4);
    assert_int_equal(x.n_groups, 3);
    assert_true(peer_index_complete(&x, &alice));
    ASSERT_CHECK(&x, &g1);
    ASSERT_CHECK(&x, &g2);

    /* Same octets, other type; same prefix, other length: other IDs. */
    struct ike_id_export email = alice;
    email.type = IKE_ID_RFC822_ADDR;
    assert_null(peer_index_first(&x, &g1, &email));
    struct ike_id_export shorter = alice;
    shorter.len--;
    assert_null(peer_index_first(&x, &g1, &shorter));
    assert_false(peer_id_equal(&alice, &email));
    assert_false(peer_id_equal(&alice, &shorter));
    assert_true(peer_id_equal(&alice, &c->id));

    sa_free(&x, a);
    sa_free(&x, b);
    sa_free(&x, c);
    sa_free(&x, d);
    assert_int_equal(x.n_filed, 0);
    assert_int_equal(x.n_groups, 0);
    peer_index_fini(&x);
}

static void test_removal(void **state)
{
    (void)state;
    struct peer_index x;
    struct gateway g;
    assert_int_equal(peer_index_init(&x), 0);
    gw_init(&g, "g");
    struct fake_sa *s[4];
    for (uint32_t i = 0; i < 4; i++) {
        s[i] = sa_new(&g, 10 + i, "peer.test");
        sa_file(&x, s[i]);
    }
    assert_string_equal(listed(&x, &g, "peer.test"), "10,11,12,13");
    sa_free(&x, s[1]); /* middle */
    assert_string_equal(listed(&x, &g, "peer.test"), "10,12,13");
    sa_free(&x, s[0]); /* head */
    sa_free(&x, s[3]); /* tail */
    assert_string_equal(listed(&x, &g, "peer.test"), "12");
    ASSERT_CHECK(&x, &g);
    /* Removing twice, or an SA never filed, is harmless. */
    peer_index_remove(&x, &s[2]->gs);
    peer_index_remove(&x, &s[2]->gs);
    assert_string_equal(listed(&x, &g, "peer.test"), "");
    assert_int_equal(x.n_groups, 0); /* the empty group went */
    /* An SA without an ID (before IKE_AUTH), or a NULL ID, is not filed. */
    struct fake_sa *anon = sa_new(&g, 20, NULL);
    sa_file(&x, anon);
    assert_null(anon->gs.id_group);
    assert_false(peer_index_complete(&x, &anon->id)); /* type 0: the caller walks */
    sa_file(&x, s[2]);
    ASSERT_CHECK(&x, &g);
    assert_int_equal(peer_index_file(&x, &s[2]->gs, NULL), 0); /* a NULL ID unfiles */
    assert_null(s[2]->gs.id_group);
    assert_int_equal(x.n_filed, 0);
    sa_free(&x, anon);
    sa_free(&x, s[2]);
    peer_index_fini(&x);
}

static void test_identity_change(void **state)
{
    (void)state;
    struct peer_index x;
    struct gateway g;
    assert_int_equal(peer_index_init(&x), 0);
    gw_init(&g, "g");
    /* IKE_AUTH gives each its ID, the younger ones first. */
    struct fake_sa *a = sa_new(&g, 5, NULL), *b = sa_new(&g, 6, NULL), *c = sa_new(&g, 7, NULL);
    sa_file(&x, a);
    sa_file(&x, b);
    sa_file(&x, c);
    assert_int_equal(x.n_filed, 0);
    c->id = fqdn("one.test");
    sa_file(&x, c);
    a->id = fqdn("one.test");
    sa_file(&x, a);
    b->id = fqdn("one.test");
    sa_file(&x, b);
    /* Serial order (the gateway's list order), not filing order. */
    assert_string_equal(listed(&x, &g, "one.test"), "5,6,7");
    ASSERT_CHECK(&x, &g);

    /* b's ID changes behind the index's back: the check sees it... */
    b->id = fqdn("two.test");
    char why[256] = "";
    assert_int_equal(peer_index_check(&x, &g, id_of, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "SA 6"));
    /* ...and filing it again moves it. */
    sa_file(&x, b);
    assert_string_equal(listed(&x, &g, "one.test"), "5,7");
    assert_string_equal(listed(&x, &g, "two.test"), "6");
    ASSERT_CHECK(&x, &g);
    /* An SA that should be filed and is not: the check says so. */
    peer_index_remove(&x, &a->gs);
    assert_int_equal(peer_index_check(&x, &g, id_of, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not filed"));
    sa_file(&x, a);
    ASSERT_CHECK(&x, &g);
    /* A dying SA need not be filed. */
    c->gs.dying = true;
    peer_index_remove(&x, &c->gs);
    ASSERT_CHECK(&x, &g);
    assert_string_equal(listed(&x, &g, "one.test"), "5");
    sa_free(&x, a);
    sa_free(&x, b);
    sa_free(&x, c);
    peer_index_fini(&x);
}

/* Filing that fails (here: an index never initialised, as out of memory
 * would) leaves the SA counted as unfiled: lookups must not be trusted
 * (the caller walks) until it is filed or removed. */
static void test_unfiled_fallback(void **state)
{
    (void)state;
    struct peer_index x;
    memset(&x, 0, sizeof(x));
    struct gateway g;
    gw_init(&g, "g");
    struct fake_sa *a = sa_new(&g, 1, "peer.test");
    assert_int_equal(peer_index_file(&x, &a->gs, &a->id), -1);
    assert_true(a->gs.id_unfiled);
    assert_int_equal(x.n_unfiled, 1);
    assert_false(peer_index_complete(&x, &a->id));
    assert_null(peer_index_first(&x, &g, &a->id));
    ASSERT_CHECK(&x, &g); /* unfiled and counted is consistent */
    /* Failing again does not count it twice; removal uncounts it. */
    assert_int_equal(peer_index_file(&x, &a->gs, &a->id), -1);
    assert_int_equal(x.n_unfiled, 1);
    peer_index_remove(&x, &a->gs);
    assert_int_equal(x.n_unfiled, 0);
    assert_false(a->gs.id_unfiled);
    /* Once the index works, filing succeeds and lookups are complete. */
    assert_int_equal(peer_index_init(&x), 0);
    assert_int_equal(peer_index_file(&x, &a->gs, &a->id), 0);
    assert_true(peer_index_complete(&x, &a->id));
    assert_ptr_equal(peer_index_first(&x, &g, &a->id), &a->gs);
    sa_free(&x, a);
    peer_index_fini(&x);
}

#define MANY_IDS 5000
#define PER_ID   3

/* 2 gateways x 5,000 IDs x 3 SAs: every lookup exact after the table grew,
 * after removing a third of them and after moving others to new IDs. */
static void test_many(void **state)
{
    (void)state;
    struct peer_index x;
    struct gateway g[2];
    assert_int_equal(peer_index_init(&x), 0);
    gw_init(&g[0], "g0");
    gw_init(&g[1], "g1");
    static struct fake_sa *s[2][PER_ID][MANY_IDS];
    uint32_t serial = 0;
    char name[64];
    for (int k = 0; k < PER_ID; k++)
        for (int i = 0; i < MANY_IDS; i++)
            for (int gi = 0; gi < 2; gi++) {
                snprintf(name, sizeof(name), "peer%d.test", i);
                s[gi][k][i] = sa_new(&g[gi], ++serial, name);
                sa_file(&x, s[gi][k][i]);
            }
    assert_int_equal(x.n_filed, 2 * PER_ID * MANY_IDS);
    assert_int_equal(x.n_groups, 2 * MANY_IDS);
    assert_true(x.n_buckets >= x.n_groups); /* grew */
    ASSERT_CHECK(&x, &g[0]);
    ASSERT_CHECK(&x, &g[1]);
    for (int i = 0; i < MANY_IDS; i += 97) {
        snprintf(name, sizeof(name), "peer%d.test", i);
        struct ike_id_export id = fqdn(name);
        for (int gi = 0; gi < 2; gi++) {
            assert_int_equal(peer_index_count(&x, &g[gi], &id), PER_ID);
            int k = 0;
            for (struct gw_sa *gs = peer_index_first(&x, &g[gi], &id); gs; gs = peer_index_next(gs))
                assert_ptr_equal(gs, &s[gi][k++][i]->gs);
            assert_int_equal(k, PER_ID);
        }
    }
    /* The middle SA of every ID of g0 goes; the oldest of g1's moves to a
     * new ID. */
    for (int i = 0; i < MANY_IDS; i++) {
        sa_free(&x, s[0][1][i]);
        s[0][1][i] = NULL;
        snprintf(name, sizeof(name), "moved%d.test", i);
        s[1][0][i]->id = fqdn(name);
        sa_file(&x, s[1][0][i]);
    }
    ASSERT_CHECK(&x, &g[0]);
    ASSERT_CHECK(&x, &g[1]);
    for (int i = 0; i < MANY_IDS; i += 89) {
        snprintf(name, sizeof(name), "peer%d.test", i);
        struct ike_id_export id = fqdn(name);
        assert_int_equal(peer_index_count(&x, &g[0], &id), PER_ID - 1);
        assert_ptr_equal(peer_index_first(&x, &g[0], &id), &s[0][0][i]->gs);
        assert_ptr_equal(peer_index_next(&s[0][0][i]->gs), &s[0][2][i]->gs);
        assert_ptr_equal(peer_index_first(&x, &g[1], &id), &s[1][1][i]->gs);
        snprintf(name, sizeof(name), "moved%d.test", i);
        id = fqdn(name);
        assert_int_equal(peer_index_count(&x, &g[1], &id), 1);
        assert_null(peer_index_first(&x, &g[0], &id));
    }
    for (int gi = 0; gi < 2; gi++)
        for (int k = 0; k < PER_ID; k++)
            for (int i = 0; i < MANY_IDS; i++)
                if (s[gi][k][i])
                    sa_free(&x, s[gi][k][i]);
    assert_int_equal(x.n_filed, 0);
    assert_int_equal(x.n_groups, 0);
    peer_index_fini(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_lookup),
        cmocka_unit_test(test_removal),
        cmocka_unit_test(test_identity_change),
        cmocka_unit_test(test_unfiled_fallback),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
