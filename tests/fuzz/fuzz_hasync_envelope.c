/*
 * libFuzzer target for the HA sync stream as a node receives it from CPG:
 * hasync_codec_unpack() (unpack + validation) on arbitrary bytes from node 7.
 * What it accepts must hold up: it validates again, packs again and unpacks
 * to the same verdict; an accepted IkeSaAdd / ChildSaAdd converts to
 * libike's export struct and back to a message that is accepted and
 * converts to the identical struct. Anything else aborts.
 * Seeds: tests/hasync/make_seeds.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hasync_codec.h"
#include "hasync_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODE 7

static void check_ike(const Hasync__IkeSaAdd *m)
{
    struct ike_sa_export a, b;
    struct hasync_ike_msg again;

    if (hasync_ike_from_msg(m, &a, NULL, 0) != 0)
        abort(); /* the codec accepted it, so it converts */
    hasync_ike_to_msg(&a, &again);
    if (hasync_ike_from_msg(&again.m, &b, NULL, 0) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
        abort();
}

static void check_child(const Hasync__ChildSaAdd *m)
{
    struct ike_child_export a, b;
    struct hasync_child_msg again;

    if (hasync_child_from_msg(m, &a, NULL, 0) != 0)
        abort();
    hasync_child_to_msg(&a, &again);
    if (hasync_child_from_msg(&again.m, &b, NULL, 0) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum hasync_drop why;
    char err[160];
    Hasync__Envelope *e = hasync_codec_unpack(data, size, NODE, &why, err, sizeof(err));
    uint8_t *buf;
    size_t len;

    if (!e) {
        if (why == HASYNC_OK || why >= HASYNC_DROP__COUNT || !err[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    if (why != HASYNC_OK || hasync_codec_validate(e, err, sizeof(err)) != HASYNC_OK)
        abort();
    if (e->body_case == HASYNC__ENVELOPE__BODY_IKE_SA_ADD)
        check_ike(e->ike_sa_add);
    if (e->body_case == HASYNC__ENVELOPE__BODY_CHILD_SA_ADD)
        check_child(e->child_sa_add);
    if (e->body_case == HASYNC__ENVELOPE__BODY_SNAPSHOT_CHUNK) {
        for (size_t i = 0; i < e->snapshot_chunk->n_ike; i++)
            check_ike(e->snapshot_chunk->ike[i]);
        for (size_t i = 0; i < e->snapshot_chunk->n_child; i++)
            check_child(e->snapshot_chunk->child[i]);
    }
    if (hasync_codec_pack(e, &buf, &len) == 0) {
        Hasync__Envelope *e2 = hasync_codec_unpack(buf, len, NODE, &why, err, sizeof(err));

        if (!e2 || e2->body_case != e->body_case || e2->seq != e->seq)
            abort();
        hasync_codec_free(e2);
        free(buf);
    }
    hasync_codec_free(e);
    return 0;
}
