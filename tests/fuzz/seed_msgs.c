/* The seed messages (see seed_msgs.h): what a PSK IKE_AUTH, a Child SA
 * rekey and the INFORMATIONAL exchanges of a real IKE SA carry. */
#include <string.h>

#include <ike/const.h>
#include <ike/transform.h>

#include "seed_msgs.h"

static const uint8_t seed_psk_auth[64] = {
    0x5e, 0x1f, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f, 0x80, 0x91, 0xa2, 0xb3, 0xc4,
    0xd5, 0xe6, 0xf7, 0x08, 0x19, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e, 0x7f, 0x80, 0x91,
    0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e,
    0x8f, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x28, 0x39, 0x4a, 0x5b,
    0x6c, 0x7d, 0x8e, 0x9f, 0xa0, 0xb1, 0xc2, 0xd3, 0xe4, 0xf5, 0x06, 0x17,
};

/* A request offers GCM and CBC; a response carries the chosen (first). */
static void seed_child_sa(struct ike_msg *msg, uint32_t spi, bool with_dh, bool response)
{
    struct ike_transform t[] = {
        {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_GCM_16, .key_bits = 256},
        {.type = IKE_TRANS_ENCR, .id = IKE_ENCR_AES_CBC, .key_bits = 256},
        {.type = IKE_TRANS_INTEG, .id = IKE_INTEG_HMAC_SHA2_512_256},
        {.type = IKE_TRANS_DH, .id = IKE_DH_ECP_521},
        {.type = IKE_TRANS_ESN, .id = IKE_ESN_NO},
    };
    struct ike_transform gcm[] = {t[0], t[3], t[4]};
    struct ike_transform cbc[] = {t[1], t[2], t[3], t[4]};
    struct ike_proposal p[2] = {
        {.num = 1, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 3, .transforms = gcm},
        {.num = 2, .protocol = IKE_PROTO_ESP, .spi_len = 4, .n_transforms = 4, .transforms = cbc},
    };
    for (size_t i = 0; i < 2; i++) {
        p[i].spi[0] = (uint8_t)(spi >> 24);
        p[i].spi[1] = (uint8_t)(spi >> 16);
        p[i].spi[2] = (uint8_t)(spi >> 8);
        p[i].spi[3] = (uint8_t)spi;
        if (!with_dh) { /* drop the DH transform (IKE_AUTH's Child SA) */
            struct ike_transform *tr = p[i].transforms;
            size_t n = p[i].n_transforms, k = 0;
            for (size_t j = 0; j < n; j++)
                if (tr[j].type != IKE_TRANS_DH)
                    tr[k++] = tr[j];
            p[i].n_transforms = k;
        }
    }
    struct ike_pld_sa sa = {.n_proposals = response ? 1 : 2, .proposals = p};
    ike_msg_add_sa(msg, &sa);
}

static void seed_ts(struct ike_msg *msg, uint8_t a, uint8_t b)
{
    struct ike_ts v4 = {.type = IKE_TS_IPV4_ADDR_RANGE,
                        .end_port = 65535,
                        .start_addr = {10, a, b, 0},
                        .end_addr = {10, a, b, 255}};
    struct ike_ts v6 = {.type = IKE_TS_IPV6_ADDR_RANGE,
                        .ip_proto = 17,
                        .start_port = 500,
                        .end_port = 4500,
                        .start_addr = {0xfd, 0, a, b},
                        .end_addr = {0xfd, 0, a, b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff}};
    struct ike_ts ts[2] = {v4, v6};
    ike_msg_add_ts(msg, IKE_PLD_TSI, ts, 2);
    ts[0].start_addr[1] = ts[0].end_addr[1] = (uint8_t)(a + 1);
    ts[1].start_addr[2] = ts[1].end_addr[2] = (uint8_t)(a + 1);
    ike_msg_add_ts(msg, IKE_PLD_TSR, ts, 2);
}

static bool seed_ok(const struct ike_msg *msg)
{
    return msg->build_err.status == IKE_OK;
}

static bool auth_req(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr, size_t cert_len)
{
    static const char id[] = "moon.haiked.test";
    ike_msg_init(msg, si, sr, IKE_EXCH_IKE_AUTH, IKE_FLAG_INITIATOR, 1);
    ike_msg_add_id(msg, IKE_PLD_IDI, IKE_ID_FQDN, (const uint8_t *)id, sizeof(id) - 1);
    if (cert_len) {
        uint8_t cert[1400];
        for (size_t i = 0; i < cert_len && i < sizeof(cert); i++)
            cert[i] = (uint8_t)(0x30 + i * 7);
        ike_msg_add_cert(msg, IKE_PLD_CERT, IKE_CERT_X509_SIGNATURE, cert,
                         cert_len < sizeof(cert) ? cert_len : sizeof(cert));
        ike_msg_add_cert(msg, IKE_PLD_CERTREQ, IKE_CERT_X509_SIGNATURE, cert, 40);
    }
    ike_msg_add_auth(msg, IKE_AUTH_SHARED_KEY_MIC, seed_psk_auth, sizeof(seed_psk_auth));
    ike_msg_add_notify(msg, IKE_N_INITIAL_CONTACT, NULL, 0);
    struct ike_cp_attr cp[] = {{.type = IKE_CFG_INTERNAL_IP4_ADDRESS},
                               {.type = IKE_CFG_INTERNAL_IP4_DNS}};
    ike_msg_add_cp(msg, IKE_CFG_REQUEST, cp, 2);
    seed_child_sa(msg, 0xc1a0e001, false, false);
    seed_ts(msg, 1, 2);
    ike_msg_add_notify(msg, IKE_N_ESP_TFC_PADDING_NOT_SUPPORTED, NULL, 0);
    ike_msg_add_notify(msg, IKE_N_NON_FIRST_FRAGMENTS_ALSO, NULL, 0);
    return seed_ok(msg);
}

static bool seed_auth_req(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    return auth_req(msg, si, sr, 0);
}

static bool seed_auth_req_cert(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    return auth_req(msg, si, sr, 1100);
}

static bool seed_auth_resp(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    static const uint8_t id[] = {192, 0, 2, 17};
    ike_msg_init(msg, si, sr, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    ike_msg_add_id(msg, IKE_PLD_IDR, IKE_ID_IPV4_ADDR, id, sizeof(id));
    ike_msg_add_auth(msg, IKE_AUTH_SHARED_KEY_MIC, seed_psk_auth, sizeof(seed_psk_auth));
    uint8_t addr[4] = {10, 99, 0, 7};
    struct ike_cp_attr cp = {.type = IKE_CFG_INTERNAL_IP4_ADDRESS, .value = {addr, 4}};
    ike_msg_add_cp(msg, IKE_CFG_REPLY, &cp, 1);
    seed_child_sa(msg, 0xc1a0e002, false, true);
    seed_ts(msg, 1, 2);
    return seed_ok(msg);
}

static bool seed_auth_fail(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    ike_msg_init(msg, si, sr, IKE_EXCH_IKE_AUTH, IKE_FLAG_RESPONSE, 1);
    ike_msg_add_notify(msg, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
    return seed_ok(msg);
}

static bool child(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr, bool response)
{
    uint8_t nonce[32], ke[133];
    for (size_t i = 0; i < sizeof(nonce); i++)
        nonce[i] = (uint8_t)(0xa5 ^ i ^ response);
    for (size_t i = 0; i < sizeof(ke); i++)
        ke[i] = (uint8_t)(i * 3 + response);
    ike_msg_init(msg, si, sr, IKE_EXCH_CREATE_CHILD_SA,
                 response ? IKE_FLAG_RESPONSE : IKE_FLAG_INITIATOR, 2);
    if (!response)
        ike_msg_add_n_rekey_sa(msg, IKE_PROTO_ESP, 0xc1a0e001);
    seed_child_sa(msg, response ? 0xc1a0e004 : 0xc1a0e003, true, response);
    ike_msg_add_nonce(msg, nonce, sizeof(nonce));
    ike_msg_add_ke(msg, IKE_DH_ECP_521, ke, sizeof(ke));
    seed_ts(msg, 3, 4);
    return seed_ok(msg);
}

static bool seed_child_req(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    return child(msg, si, sr, false);
}

static bool seed_child_resp(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    return child(msg, si, sr, true);
}

static bool seed_delete_esp(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    static const uint32_t spis[] = {0xc1a0e001, 0xc1a0e003};
    ike_msg_init(msg, si, sr, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 3);
    ike_msg_add_delete(msg, IKE_PROTO_ESP, spis, 2);
    return seed_ok(msg);
}

static bool seed_delete_ike(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    ike_msg_init(msg, si, sr, IKE_EXCH_INFORMATIONAL, IKE_FLAG_RESPONSE, 4);
    ike_msg_add_delete(msg, IKE_PROTO_IKE, NULL, 0);
    return seed_ok(msg);
}

static bool seed_liveness(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    ike_msg_init(msg, si, sr, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 5);
    return seed_ok(msg);
}

static bool seed_sync(struct ike_msg *msg, const uint8_t *si, const uint8_t *sr)
{
    struct ike_n_msgid_sync s = {.nonce = {1, 2, 3, 4},
                                 .expected_send_req_message_id = 9,
                                 .expected_recv_req_message_id = 7};
    ike_msg_init(msg, si, sr, IKE_EXCH_INFORMATIONAL, IKE_FLAG_INITIATOR, 0);
    ike_msg_add_n_msgid_sync(msg, &s);
    ike_msg_add_n_replay_sync(msg, 1u << 20);
    return seed_ok(msg);
}

const struct seed_msg seed_msgs[] = {
    {"ike_auth_req", seed_auth_req, 0},
    {"ike_auth_req_cert", seed_auth_req_cert, 3},
    {"ike_auth_resp", seed_auth_resp, 0},
    {"ike_auth_fail", seed_auth_fail, 0},
    {"child_req", seed_child_req, 2},
    {"child_resp", seed_child_resp, 0},
    {"delete_esp", seed_delete_esp, 0},
    {"delete_ike", seed_delete_ike, 0},
    {"liveness", seed_liveness, 0},
    {"msgid_sync", seed_sync, 0},
};
const size_t seed_n_msgs = sizeof(seed_msgs) / sizeof(seed_msgs[0]);

const struct seed_msg *seed_msg_find(const char *name)
{
    for (size_t i = 0; i < seed_n_msgs; i++)
        if (strcmp(seed_msgs[i].name, name) == 0)
            return &seed_msgs[i];
    return NULL;
}
