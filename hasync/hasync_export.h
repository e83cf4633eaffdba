/*
 * IkeSaAdd / ChildSaAdd <-> libike's export structs (<ike/export.h>). The
 * to-struct direction is also the validation of those bodies: every length
 * and range the fixed-size struct imposes is checked there, so a message
 * that converts is one ike_sa_import() can be given.
 *
 * The to-message direction fills caller-owned storage whose byte fields
 * point into the export struct (no copies of keys): keep the export alive
 * until the message is packed, then wipe both.
 */
#ifndef HASYNC_EXPORT_H
#define HASYNC_EXPORT_H

#include <stddef.h>

#include <ike/export.h>

#include "hasync.pb-c.h"

struct hasync_ike_msg {
    Hasync__IkeSaAdd m;
    Hasync__Addr local, remote;
    Hasync__Identity local_id, remote_id;
};

struct hasync_child_msg {
    Hasync__ChildSaAdd m;
    Hasync__TrafficSelector ts[2 * IKE_EXPORT_TS_MAX];
    Hasync__TrafficSelector *ts_local[IKE_EXPORT_TS_MAX];
    Hasync__TrafficSelector *ts_remote[IKE_EXPORT_TS_MAX];
};

void hasync_ike_to_msg(const struct ike_sa_export *ex, struct hasync_ike_msg *out);
void hasync_child_to_msg(const struct ike_child_export *ex, struct hasync_child_msg *out);

/* 0, or -1 with a reason in err (no key material). ex is zeroed first and
 * holds keys on success: ike_export_wipe() it. */
int hasync_ike_from_msg(const Hasync__IkeSaAdd *m, struct ike_sa_export *ex, char *err,
                        size_t errlen);
int hasync_child_from_msg(const Hasync__ChildSaAdd *m, struct ike_child_export *ex, char *err,
                          size_t errlen);

#endif
