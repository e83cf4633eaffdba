/* Human-readable names of protocol numbers, and a one-line summary of a
 * message for logs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ike/message.h>

struct ike_name {
    uint16_t num;
    const char *name;
};

#define N(x) {IKE_N_##x, #x}

static const struct ike_name notify_names[] = {
    N(UNSUPPORTED_CRITICAL_PAYLOAD),
    N(INVALID_IKE_SPI),
    N(INVALID_MAJOR_VERSION),
    N(INVALID_SYNTAX),
    N(INVALID_MESSAGE_ID),
    N(INVALID_SPI),
    N(NO_PROPOSAL_CHOSEN),
    N(INVALID_KE_PAYLOAD),
    N(AUTHENTICATION_FAILED),
    N(SINGLE_PAIR_REQUIRED),
    N(NO_ADDITIONAL_SAS),
    N(INTERNAL_ADDRESS_FAILURE),
    N(FAILED_CP_REQUIRED),
    N(TS_UNACCEPTABLE),
    N(INVALID_SELECTORS),
    N(TEMPORARY_FAILURE),
    N(CHILD_SA_NOT_FOUND),
    N(INITIAL_CONTACT),
    N(SET_WINDOW_SIZE),
    N(ADDITIONAL_TS_POSSIBLE),
    N(IPCOMP_SUPPORTED),
    N(NAT_DETECTION_SOURCE_IP),
    N(NAT_DETECTION_DESTINATION_IP),
    N(COOKIE),
    N(USE_TRANSPORT_MODE),
    N(HTTP_CERT_LOOKUP_SUPPORTED),
    N(REKEY_SA),
    N(ESP_TFC_PADDING_NOT_SUPPORTED),
    N(NON_FIRST_FRAGMENTS_ALSO),
    N(MOBIKE_SUPPORTED),
    N(MULTIPLE_AUTH_SUPPORTED),
    N(REDIRECT_SUPPORTED),
    N(IKEV2_MESSAGE_ID_SYNC_SUPPORTED),
    N(IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED),
    N(IKEV2_MESSAGE_ID_SYNC),
    N(IPSEC_REPLAY_COUNTER_SYNC),
    N(IKEV2_FRAGMENTATION_SUPPORTED),
    N(SIGNATURE_HASH_ALGORITHMS),
};

#undef N

/* Registered numbers without an IKE_N_* constant yet, so logs of real
 * peers stay readable (IANA "IKEv2 Notify Message Types"). */
static const struct ike_name notify_names_extra[] = {
    {40, "UNACCEPTABLE_ADDRESSES"},
    {41, "UNEXPECTED_NAT_DETECTED"},
    {42, "USE_ASSIGNED_HoA"},
    {16397, "ADDITIONAL_IP4_ADDRESS"},
    {16398, "ADDITIONAL_IP6_ADDRESS"},
    {16399, "NO_ADDITIONAL_ADDRESSES"},
    {16400, "UPDATE_SA_ADDRESSES"},
    {16401, "COOKIE2"},
    {16402, "NO_NATS_ALLOWED"},
    {16403, "AUTH_LIFETIME"},
    {16405, "ANOTHER_AUTH_FOLLOWS"},
    {16407, "REDIRECT"},
    {16408, "REDIRECTED_FROM"},
    {16417, "EAP_ONLY_AUTHENTICATION"},
    {16418, "CHILDLESS_IKEV2_SUPPORTED"},
    {16419, "QUICK_CRASH_DETECTION"},
    {16435, "USE_PPK"},
    {16436, "PPK_IDENTITY"},
    {16437, "NO_PPK_AUTH"},
    {16438, "INTERMEDIATE_EXCHANGE_SUPPORTED"},
    {16439, "IP4_ALLOWED"},
    {16440, "IP6_ALLOWED"},
    {16441, "ADDITIONAL_KEY_EXCHANGE"},
    {16442, "USE_AGGFRAG"},
};

static const struct ike_name exchange_names[] = {
    {IKE_EXCH_IKE_SA_INIT, "IKE_SA_INIT"},
    {IKE_EXCH_IKE_AUTH, "IKE_AUTH"},
    {IKE_EXCH_CREATE_CHILD_SA, "CREATE_CHILD_SA"},
    {IKE_EXCH_INFORMATIONAL, "INFORMATIONAL"},
    {43, "IKE_INTERMEDIATE"}, /* RFC 9242 */
};

/* RFC 7296 notation, as the RFC's exchange diagrams and logs use it. */
static const struct ike_name payload_names[] = {
    {IKE_PLD_NONE, "NONE"},   {IKE_PLD_SA, "SA"},         {IKE_PLD_KE, "KE"},
    {IKE_PLD_IDI, "IDi"},     {IKE_PLD_IDR, "IDr"},       {IKE_PLD_CERT, "CERT"},
    {IKE_PLD_CERTREQ, "CERTREQ"}, {IKE_PLD_AUTH, "AUTH"}, {IKE_PLD_NONCE, "Nonce"},
    {IKE_PLD_NOTIFY, "N"},    {IKE_PLD_DELETE, "D"},      {IKE_PLD_VENDOR, "V"},
    {IKE_PLD_TSI, "TSi"},     {IKE_PLD_TSR, "TSr"},       {IKE_PLD_SK, "SK"},
    {IKE_PLD_CP, "CP"},       {IKE_PLD_EAP, "EAP"},       {IKE_PLD_SKF, "SKF"},
};

static const struct ike_name protocol_names[] = {
    {IKE_PROTO_NONE, "NONE"},
    {IKE_PROTO_IKE, "IKE"},
    {IKE_PROTO_AH, "AH"},
    {IKE_PROTO_ESP, "ESP"},
};

static const char *name_find(const struct ike_name *t, size_t n, uint16_t num)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].num == num)
            return t[i].name;
    return "UNKNOWN";
}

#define NAME_FIND(table, num) name_find(table, sizeof(table) / sizeof(table[0]), num)

const char *ike_exchange_name(uint8_t exchange)
{
    return NAME_FIND(exchange_names, exchange);
}

const char *ike_payload_name(uint8_t type)
{
    return NAME_FIND(payload_names, type);
}

const char *ike_notify_name(uint16_t type)
{
    const char *name = NAME_FIND(notify_names, type);
    return strcmp(name, "UNKNOWN") ? name : NAME_FIND(notify_names_extra, type);
}

const char *ike_protocol_name(uint8_t protocol)
{
    return NAME_FIND(protocol_names, protocol);
}

/* ---- ike_msg_describe ---------------------------------------------------- */

struct desc {
    char *buf;
    size_t size;
    size_t len;
    bool full;
};

__attribute__((format(printf, 2, 3))) static void desc_add(struct desc *d, const char *fmt, ...)
{
    if (d->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->buf + d->len, d->size - d->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= d->size - d->len) {
        d->full = true;
        if (d->size >= 4)
            memcpy(d->buf + d->size - 4, "...", 4);
        return;
    }
    d->len += (size_t)n;
}

static void desc_pld(struct desc *d, const struct ike_pld *p)
{
    if (p->unknown)
        desc_add(d, " UNKNOWN(%u)", p->type);
    else if (p->type == IKE_PLD_NOTIFY && !strcmp(ike_notify_name(p->notify.type), "UNKNOWN"))
        desc_add(d, " N(%u)", p->notify.type);
    else if (p->type == IKE_PLD_NOTIFY)
        desc_add(d, " N(%s)", ike_notify_name(p->notify.type));
    else if (p->type == IKE_PLD_SKF)
        desc_add(d, " SKF(%u/%u)", p->sk.frag_num, p->sk.frag_total);
    else
        desc_add(d, " %s", ike_payload_name(p->type));
}

char *ike_msg_describe(const struct ike_msg *msg, char *buf, size_t size)
{
    struct desc d = {buf, size, 0, size == 0};
    if (size)
        buf[0] = '\0';
    desc_add(&d, "%s %s %u [", ike_exchange_name(msg->hdr.exchange),
             ike_msg_is_response(msg) ? "response" : "request", msg->hdr.message_id);
    bool in_sk = false;
    uint8_t prev = IKE_PLD_NONE;
    for (const struct ike_pld *p = msg->first; p; p = p->next) {
        if (p->inside_sk && !in_sk) {
            /* A message being built has no SK payload in its list yet. */
            desc_add(&d, prev == IKE_PLD_SK || prev == IKE_PLD_SKF ? " {" : " SK {");
            in_sk = true;
        }
        desc_pld(&d, p);
        prev = p->type;
    }
    desc_add(&d, in_sk ? " } ]" : " ]");
    return buf;
}
