/* The IKE_AUTH exchange with a pre-shared key (RFC 7296 §1.2, §2.15), both
 * roles, carrying the first CHILD SA (child_sa.c) or none (RFC 6023).
 *
 *   initiator: HDR, SK{IDi, N(INITIAL_CONTACT), AUTH, [N(MSGID_SYNC_SUP)],
 *                      [SAi2, TSi, TSr]}
 *   responder: HDR, SK{IDr, AUTH, [N(MSGID_SYNC_SUP)], [SAr2, TSi, TSr] or
 *                      [N(child error)]}  or  SK{N(AUTHENTICATION_FAILED)}
 *
 * IKEV2_MESSAGE_ID_SYNC_SUPPORTED travels in IKE_AUTH as RFC 6311 §3 says.
 */
#include <string.h>

#include <ike/auth.h>

#include "sa_internal.h"

#define ID_BODY_MAX (4 + IKE_EXPORT_ID_MAX)

/* The AUTH octets of one side (§2.15): the initiator signs its IKE_SA_INIT
 * request with Nr and SK_pi, the responder its response with Ni and SK_pr. */
static struct ike_auth_octets auth_octets(const struct ike_sa *sa, bool of_initiator,
                                          const uint8_t *id_body, size_t id_len)
{
    const struct ike_sa_init_data *in = sa->init;
    return (struct ike_auth_octets){
        .message = of_initiator ? in->req : in->resp,
        .message_len = of_initiator ? in->req_len : in->resp_len,
        .nonce = of_initiator ? in->nr : in->ni,
        .nonce_len = of_initiator ? in->nr_len : in->ni_len,
        .id_body = id_body,
        .id_body_len = id_len,
    };
}

/* Adds our ID payload and our AUTH payload. */
static enum ike_status add_id_auth(struct ike_sa *sa, struct ike_msg *msg)
{
    uint8_t body[ID_BODY_MAX], auth[IKE_PRF_MAX_LEN];
    size_t body_len = ike_sa_id_body(&sa->local_id, body, sizeof(body)), auth_len = 0;
    struct ike_auth_octets oct = auth_octets(sa, sa->initiator, body, body_len);
    const struct ike_secret *sk_p = sa->initiator ? sa->keys.sk_pi : sa->keys.sk_pr;
    enum ike_status st =
        ike_auth_psk_compute(sa->prf, sa->cfg->psk, sk_p, &oct, auth, sizeof(auth), &auth_len);
    if (st != IKE_OK)
        return st;
    ike_msg_add_id(msg, sa->initiator ? IKE_PLD_IDI : IKE_PLD_IDR, sa->local_id.type,
                   sa->local_id.data, sa->local_id.len);
    ike_msg_add_auth(msg, IKE_AUTH_SHARED_KEY_MIC, auth, auth_len);
    return IKE_OK;
}

/* The peer's ID and AUTH: configured ID, method, PSK. */
static enum ike_status check_peer(struct ike_sa *sa, const struct ike_msg *msg,
                                  struct ike_diag *diag)
{
    uint8_t id_type = sa->initiator ? IKE_PLD_IDR : IKE_PLD_IDI;
    const struct ike_pld *id = ike_msg_find(msg, id_type);
    const struct ike_pld *auth = ike_msg_find(msg, IKE_PLD_AUTH);
    char got[320], want[320];
    if (!id || !auth)
        return ike_diag_fail(diag, IKE_E_AUTH, "no %s or AUTH payload (EAP is not supported)",
                             ike_payload_name(id_type));
    if (id->id.data.len > IKE_EXPORT_ID_MAX)
        return ike_diag_fail(diag, IKE_E_AUTH, "peer ID of %zu octets > %u", id->id.data.len,
                             IKE_EXPORT_ID_MAX);
    struct ike_id_export peer = {.type = id->id.type, .len = (uint16_t)id->id.data.len};
    memcpy(peer.data, id->id.data.ptr, id->id.data.len);
    struct ike_id_export cfg;
    ike_sa_id_from_cfg(&sa->cfg->remote_id, &cfg);
    ike_sa_id_str(&peer, got, sizeof(got));
    if (cfg.type &&
        (cfg.type != peer.type || cfg.len != peer.len || memcmp(cfg.data, peer.data, cfg.len) != 0))
        return ike_diag_fail(diag, IKE_E_AUTH, "peer ID %s does not match configured %s", got,
                             ike_sa_id_str(&cfg, want, sizeof(want)));
    if (auth->auth.method != IKE_AUTH_SHARED_KEY_MIC)
        return ike_diag_fail(diag, IKE_E_AUTH, "peer %s uses AUTH method %u, configured PSK (%u)",
                             got, auth->auth.method, IKE_AUTH_SHARED_KEY_MIC);
    struct ike_auth_octets oct = auth_octets(sa, !sa->initiator, id->raw.ptr, id->raw.len);
    const struct ike_secret *sk_p = sa->initiator ? sa->keys.sk_pr : sa->keys.sk_pi;
    struct ike_diag why = {0};
    if (ike_auth_psk_verify(sa->prf, sa->cfg->psk, sk_p, &oct, auth->auth.data.ptr,
                            auth->auth.data.len, &why) != IKE_OK)
        return ike_diag_fail(diag, IKE_E_AUTH,
                             "AUTH of peer %s does not verify with the configured PSK (%s)", got,
                             why.reason);
    sa->remote_id = peer;
    return IKE_OK;
}

static void established(struct ike_sa *sa)
{
    char a[128], l[IKE_ADDR_STR_MAX], r[IKE_ADDR_STR_MAX], id[320];
    ike_proposal_describe_algs(&sa->algs, a, sizeof(a));
    uint64_t ms = sa->ctx.ops->now_ms(sa->ctx.user) - sa->created_ms;
    ike_sa_log(sa, IKE_LOG_INFO, "IKE SA established as %s, %s<->%s, peer %s, %s%s, in %llu ms",
               sa->initiator ? "initiator" : "responder", ike_addr_str(&sa->local, l, sizeof(l)),
               ike_addr_str(&sa->remote, r, sizeof(r)),
               ike_sa_id_str(&sa->remote_id, id, sizeof(id)), a,
               ike_sa_nat_detected(sa) ? ", NAT-T" : "", (unsigned long long)ms);
}

/* ---- initiator ----------------------------------------------------------- */

enum ike_status ike_exch_ike_auth_start(struct ike_sa *sa, struct ike_diag *diag)
{
    struct ike_msg msg;
    ike_msg_init(&msg, sa->spi_i, sa->spi_r, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, sa->send_next);
    enum ike_status st = add_id_auth(sa, &msg);
    if (sa->cfg->initial_contact)
        ike_msg_add_notify(&msg, IKE_N_INITIAL_CONTACT, NULL, 0);
    if (sa->cfg->msgid_sync)
        ike_msg_add_notify(&msg, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NULL, 0);
    if (sa->cfg->replay_counter_sync)
        ike_msg_add_notify(&msg, IKE_N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED, NULL, 0);
    if (st == IKE_OK && sa->cfg->n_children)
        st = ike_child_build_request(sa, &msg);
    if (st == IKE_OK)
        st = ike_sa_transition(sa, IKE_SA_STATE_AUTH_SENT);
    if (st == IKE_OK)
        st = ike_sa_send_request(sa, &msg);
    ike_msg_clear(&msg);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "IKE_AUTH request: %s", ike_status_str(st));
    return IKE_OK;
}

enum ike_status ike_exch_ike_auth_reply(struct ike_sa *sa, const struct ike_msg *resp,
                                        struct ike_diag *diag)
{
    const struct ike_pld *err = ike_msg_find_error(resp);
    char me[320];
    ike_sa_id_str(&sa->local_id, me, sizeof(me));
    if (err &&
        (err->notify.type == IKE_N_AUTHENTICATION_FAILED || !ike_msg_find(resp, IKE_PLD_AUTH))) {
        ike_sa_fail(sa, IKE_LOG_ERR,
                    "peer rejected IKE_AUTH with %s (we sent ID %s): check PSK and IDs",
                    ike_notify_name(err->notify.type), me);
        return ike_diag_fail(diag, IKE_E_AUTH, "IKE_AUTH answered with %s",
                             ike_notify_name(err->notify.type));
    }
    enum ike_status st = check_peer(sa, resp, diag);
    if (st != IKE_OK) {
        ike_info_send_auth_failed(sa); /* the responder thinks it is established */
        ike_sa_fail(sa, IKE_LOG_ERR, "AUTHENTICATION_FAILED: %s", diag->reason);
        return st;
    }
    ike_sa_request_done(sa);
    sa->peer_msgid_sync = ike_msg_find_notify(resp, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED);
    sa->sync.peer_replay = ike_msg_find_notify(resp, IKE_N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED);
    st = ike_sa_transition(sa, IKE_SA_STATE_ESTABLISHED);
    if (st != IKE_OK)
        return ike_diag_fail(diag, st, "IKE_AUTH response in state %s",
                             ike_sa_state_name(sa->state));
    established(sa);
    ike_sa_emit_ike_add(sa);
    if (sa->cfg->n_children)
        ike_child_handle_reply(sa, resp);
    else if (ike_msg_find(resp, IKE_PLD_SA))
        ike_sa_log(sa, IKE_LOG_WARN, "responder created a CHILD SA we did not ask for: ignored");
    ike_sa_init_data_free(sa);
    ike_exch_child_create_more(sa); /* further selector pairs: CREATE_CHILD_SA each */
    return IKE_OK;
}

/* ---- responder ----------------------------------------------------------- */

static enum ike_status reject(struct ike_sa *sa, const uint8_t *data, size_t len,
                              const struct ike_addr *local, const struct ike_addr *remote,
                              struct ike_diag *diag)
{
    struct ike_msg msg;
    ike_msg_init(&msg, sa->spi_i, sa->spi_r, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE,
                 sa->recv_next - 1);
    ike_msg_add_notify(&msg, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
    (void)ike_sa_send_response(sa, &msg, data, len, local, remote);
    ike_msg_clear(&msg);
    ike_sa_fail(sa, IKE_LOG_ERR, "AUTHENTICATION_FAILED: %s", diag->reason);
    return diag->status;
}

enum ike_status ike_exch_ike_auth_request(struct ike_sa *sa, const struct ike_msg *req,
                                          const uint8_t *data, size_t len,
                                          const struct ike_addr *local,
                                          const struct ike_addr *remote, struct ike_diag *diag)
{
    sa->ctx.ops->timer_cancel(sa->ctx.user, sa, IKE_TIMER_HALF_OPEN);
    sa->recv_next++;
    sa->local = *local; /* the initiator may have moved to 4500 (§2.23) */
    sa->remote = *remote;
    ike_sa_emit_msgid(sa);
    if (check_peer(sa, req, diag) != IKE_OK)
        return reject(sa, data, len, local, remote, diag);
    sa->peer_initial_contact = ike_msg_find_notify(req, IKE_N_INITIAL_CONTACT) != NULL;
    sa->peer_msgid_sync = ike_msg_find_notify(req, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED);
    sa->sync.peer_replay = ike_msg_find_notify(req, IKE_N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED);
    struct ike_msg resp;
    ike_msg_init(&resp, sa->spi_i, sa->spi_r, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE,
                 req->hdr.message_id);
    enum ike_status st = add_id_auth(sa, &resp);
    if (sa->cfg->msgid_sync)
        ike_msg_add_notify(&resp, IKE_N_IKEV2_MESSAGE_ID_SYNC_SUPPORTED, NULL, 0);
    if (sa->cfg->replay_counter_sync)
        ike_msg_add_notify(&resp, IKE_N_IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED, NULL, 0);
    if (st == IKE_OK)
        st = ike_sa_transition(sa, IKE_SA_STATE_ESTABLISHED);
    if (st == IKE_OK) {
        established(sa);
        ike_sa_emit_ike_add(sa);
        if (ike_msg_find(req, IKE_PLD_SA))
            ike_child_respond(sa, req, &resp);
        else
            ike_sa_log(sa, IKE_LOG_INFO, "childless IKE SA (RFC 6023)");
        st = ike_sa_send_response(sa, &resp, data, len, local, remote);
    }
    ike_msg_clear(&resp);
    ike_sa_init_data_free(sa);
    if (st != IKE_OK) {
        ike_sa_fail(sa, IKE_LOG_ERR, "cannot answer IKE_AUTH: %s", ike_status_str(st));
        return ike_diag_fail(diag, st, "IKE_AUTH response");
    }
    if (sa->peer_initial_contact) {
        char id[320];
        ike_sa_log(sa, IKE_LOG_INFO, "peer %s sent INITIAL_CONTACT: its older SAs are stale",
                   ike_sa_id_str(&sa->remote_id, id, sizeof(id)));
        if (sa->ctx.ops->initial_contact)
            sa->ctx.ops->initial_contact(sa->ctx.user, sa);
    }
    return IKE_OK;
}
