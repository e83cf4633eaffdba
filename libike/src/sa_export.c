/* Export of an established IKE SA (and its CHILD SAs) to plain structs and
 * import into a fresh context: how a standby rebuilds an SA it never
 * negotiated. See <ike/export.h>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <ike/transform.h>

#include "sa_internal.h"

void ike_export_wipe(void *ex, size_t size)
{
    if (ex)
        OPENSSL_cleanse(ex, size);
}

static enum ike_status key_out(struct ike_key_export *k, const struct ike_secret *s)
{
    if (!s || s->len > IKE_EXPORT_KEY_MAX)
        return IKE_E_TOO_BIG;
    k->len = (uint16_t)s->len;
    memcpy(k->data, s->data, s->len);
    return IKE_OK;
}

static enum ike_status key_in(const struct ike_key_export *k, struct ike_secret **s)
{
    if (k->len > IKE_EXPORT_KEY_MAX)
        return IKE_E_MALFORMED;
    return ike_secret_from(k->data, k->len, s);
}

enum ike_status ike_sa_export(const struct ike_sa *sa, struct ike_sa_export *ex,
                              struct ike_diag *diag)
{
    memset(ex, 0, sizeof(*ex));
    if (sa->state != IKE_SA_STATE_ESTABLISHED)
        return ike_diag_fail(diag, IKE_E_STATE, "export in state %s", ike_sa_state_name(sa->state));
    ex->version = IKE_EXPORT_VERSION;
    snprintf(ex->cfg_name, sizeof(ex->cfg_name), "%s", sa->cfg->name ? sa->cfg->name : "");
    memcpy(ex->spi_i, sa->spi_i, IKE_SPI_LEN);
    memcpy(ex->spi_r, sa->spi_r, IKE_SPI_LEN);
    ex->initiator = sa->initiator;
    ex->local = sa->local;
    ex->remote = sa->remote;
    ex->nat_local = sa->nat_local;
    ex->nat_remote = sa->nat_remote;
    ex->fragmentation = sa->fragmentation;
    ex->peer_msgid_sync = sa->peer_msgid_sync;
    ex->peer_initial_contact = sa->peer_initial_contact;
    ex->encr_id = sa->algs.encr_id;
    ex->encr_key_bits = sa->algs.encr_key_bits;
    ex->integ_id = sa->algs.integ_id;
    ex->prf_id = sa->algs.prf_id;
    ex->dh_group = sa->algs.dh_group;
    const struct ike_keys_sa *k = &sa->keys;
    enum ike_status st = key_out(&ex->sk_d, k->sk_d);
    if (st == IKE_OK)
        st = key_out(&ex->sk_ai, k->sk_ai);
    if (st == IKE_OK)
        st = key_out(&ex->sk_ar, k->sk_ar);
    if (st == IKE_OK)
        st = key_out(&ex->sk_ei, k->sk_ei);
    if (st == IKE_OK)
        st = key_out(&ex->sk_er, k->sk_er);
    if (st == IKE_OK)
        st = key_out(&ex->sk_pi, k->sk_pi);
    if (st == IKE_OK)
        st = key_out(&ex->sk_pr, k->sk_pr);
    ex->local_id = sa->local_id;
    ex->remote_id = sa->remote_id;
    ex->msgid_send_next = sa->send_next;
    ex->msgid_recv_next = sa->recv_next;
    ike_life_export(sa, ex); /* lifetimes left, RFC 6311 replay support */
    if (st != IKE_OK) {
        OPENSSL_cleanse(ex, sizeof(*ex));
        return ike_diag_fail(diag, st, "export: key longer than %u", IKE_EXPORT_KEY_MAX);
    }
    return IKE_OK;
}

size_t ike_sa_child_count(const struct ike_sa *sa)
{
    return sa->n_children;
}

enum ike_status ike_sa_export_child(const struct ike_sa *sa, size_t i, struct ike_child_export *ex,
                                    struct ike_diag *diag)
{
    if (i >= sa->n_children)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "CHILD SA %zu of %zu", i, sa->n_children);
    *ex = sa->children[i];
    ike_life_export_child(sa, ex);
    return IKE_OK;
}

/* The key lengths must be those the algorithms need. */
static enum ike_status check_lengths(const struct ike_sa_export *ex, struct ike_diag *diag)
{
    struct ike_prf_info prf;
    struct ike_keys_suite suite = {ex->encr_id, ex->encr_key_bits, ex->integ_id};
    size_t el = 0, il = 0;
    if (ike_prf_lookup(ex->prf_id, &prf) != IKE_OK ||
        ike_keys_suite_lengths(&suite, &el, &il) != IKE_OK)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "import: algorithms %u/%u/%u/prf %u",
                             ex->encr_id, ex->encr_key_bits, ex->integ_id, ex->prf_id);
    if (ex->sk_d.len != prf.out_len || ex->sk_pi.len != prf.out_len ||
        ex->sk_pr.len != prf.out_len || ex->sk_ei.len != el || ex->sk_er.len != el ||
        ex->sk_ai.len != il || ex->sk_ar.len != il)
        return ike_diag_fail(diag, IKE_E_MALFORMED,
                             "import: key lengths do not fit the algorithms (prf %zu, encr %zu, "
                             "integ %zu)",
                             prf.out_len, el, il);
    if (ex->local_id.len > IKE_EXPORT_ID_MAX || ex->remote_id.len > IKE_EXPORT_ID_MAX)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "import: ID length");
    return IKE_OK;
}

static enum ike_status import_keys(struct ike_sa *sa, const struct ike_sa_export *ex)
{
    struct ike_keys_sa *k = &sa->keys;
    enum ike_status st = key_in(&ex->sk_d, &k->sk_d);
    if (st == IKE_OK)
        st = key_in(&ex->sk_ai, &k->sk_ai);
    if (st == IKE_OK)
        st = key_in(&ex->sk_ar, &k->sk_ar);
    if (st == IKE_OK)
        st = key_in(&ex->sk_ei, &k->sk_ei);
    if (st == IKE_OK)
        st = key_in(&ex->sk_er, &k->sk_er);
    if (st == IKE_OK)
        st = key_in(&ex->sk_pi, &k->sk_pi);
    if (st == IKE_OK)
        st = key_in(&ex->sk_pr, &k->sk_pr);
    if (st == IKE_OK)
        st = ike_prf_new(ex->prf_id, &sa->prf);
    return st;
}

enum ike_status ike_sa_import(const struct ike_ctx *ctx, const struct ike_sa_cfg *cfg,
                              const struct ike_sa_export *ex, struct ike_sa **out,
                              struct ike_diag *diag)
{
    *out = NULL;
    if (!cfg || !ex)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "ike_sa_import: NULL argument");
    if (ike_ctx_check(ctx, diag) != IKE_OK)
        return IKE_E_INVALID_ARG;
    if (ex->version != IKE_EXPORT_VERSION)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "import: version %u, expected %u",
                             ex->version, IKE_EXPORT_VERSION);
    enum ike_status st = check_lengths(ex, diag);
    if (st != IKE_OK)
        return st;
    struct ike_sa *sa = ike_sa_alloc(ctx, cfg, ex->initiator);
    if (!sa)
        return ike_diag_fail(diag, IKE_E_NOMEM, "import");
    memcpy(sa->spi_i, ex->spi_i, IKE_SPI_LEN);
    memcpy(sa->spi_r, ex->spi_r, IKE_SPI_LEN);
    sa->local = ex->local;
    sa->remote = ex->remote;
    sa->nat_local = ex->nat_local;
    sa->nat_remote = ex->nat_remote;
    sa->fragmentation = ex->fragmentation;
    sa->peer_msgid_sync = ex->peer_msgid_sync;
    sa->peer_initial_contact = ex->peer_initial_contact;
    sa->algs = (struct ike_sa_algs){ex->encr_id, ex->encr_key_bits, ex->integ_id,
                                    ex->prf_id,  ex->dh_group,      false};
    sa->local_id = ex->local_id;
    sa->remote_id = ex->remote_id;
    sa->send_next = ex->msgid_send_next;
    sa->recv_next = ex->msgid_recv_next;
    st = import_keys(sa, ex);
    if (st == IKE_OK)
        st = ike_sa_make_ciphers(sa, diag);
    sa->live.passive = true; /* no timers until ike_sa_activate() */
    if (st == IKE_OK)
        st = ike_sa_transition(sa, IKE_SA_STATE_ESTABLISHED);
    if (st == IKE_OK)
        ike_life_import(sa, ex);
    if (st != IKE_OK) {
        ike_sa_free(sa);
        return ike_diag_fail(diag, st, "import: %s", ike_status_str(st));
    }
    *out = sa;
    return IKE_OK;
}

enum ike_status ike_sa_import_child(struct ike_sa *sa, const struct ike_child_export *ex,
                                    struct ike_diag *diag)
{
    if (ex->version != IKE_EXPORT_VERSION)
        return ike_diag_fail(diag, IKE_E_UNSUPPORTED, "import child: version %u", ex->version);
    if (memcmp(ex->ike_spi_i, sa->spi_i, IKE_SPI_LEN) != 0 ||
        memcmp(ex->ike_spi_r, sa->spi_r, IKE_SPI_LEN) != 0)
        return ike_diag_fail(diag, IKE_E_INVALID_ARG, "import child: belongs to another IKE SA");
    if (ex->n_ts_local > IKE_EXPORT_TS_MAX || ex->n_ts_remote > IKE_EXPORT_TS_MAX ||
        ex->encr_in.len > IKE_EXPORT_KEY_MAX || ex->encr_out.len > IKE_EXPORT_KEY_MAX ||
        ex->integ_in.len > IKE_EXPORT_KEY_MAX || ex->integ_out.len > IKE_EXPORT_KEY_MAX)
        return ike_diag_fail(diag, IKE_E_MALFORMED, "import child: counts or key lengths");
    struct ike_child_export *grown =
        realloc(sa->children, (sa->n_children + 1) * sizeof(*sa->children));
    if (!grown)
        return ike_diag_fail(diag, IKE_E_NOMEM, "import child");
    sa->children = grown;
    sa->children[sa->n_children++] = *ex;
    ike_life_import_child(sa, &sa->children[sa->n_children - 1]);
    return IKE_OK;
}
