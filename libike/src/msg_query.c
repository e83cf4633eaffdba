/* Finding payloads in a message. */
#include <ike/message.h>

const struct ike_pld *ike_msg_find_next(const struct ike_pld *after, uint8_t type)
{
    for (const struct ike_pld *p = after ? after->next : NULL; p; p = p->next)
        if (p->type == type && !p->unknown)
            return p;
    return NULL;
}

const struct ike_pld *ike_msg_find(const struct ike_msg *msg, uint8_t type)
{
    const struct ike_pld *p = msg->first;
    if (p && p->type == type && !p->unknown)
        return p;
    return ike_msg_find_next(p, type);
}

const struct ike_pld *ike_msg_find_notify(const struct ike_msg *msg, uint16_t ntype)
{
    for (const struct ike_pld *p = ike_msg_find(msg, IKE_PLD_NOTIFY); p;
         p = ike_msg_find_next(p, IKE_PLD_NOTIFY))
        if (p->notify.type == ntype)
            return p;
    return NULL;
}

const struct ike_pld *ike_msg_find_error(const struct ike_msg *msg)
{
    for (const struct ike_pld *p = ike_msg_find(msg, IKE_PLD_NOTIFY); p;
         p = ike_msg_find_next(p, IKE_PLD_NOTIFY))
        if (p->notify.type != 0 && p->notify.type <= IKE_N_ERROR_MAX)
            return p;
    return NULL;
}

size_t ike_msg_count(const struct ike_msg *msg, uint8_t type)
{
    size_t n = 0;
    for (const struct ike_pld *p = ike_msg_find(msg, type); p; p = ike_msg_find_next(p, type))
        n++;
    return n;
}
