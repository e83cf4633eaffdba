/* Control-socket framing (see ctl_frame.h). */
#include "ctl_frame.h"

#include <stdlib.h>

const char *ctl_frame_status_str(enum ctl_frame_status st)
{
    switch (st) {
    case CTL_FRAME_OK: return "ok";
    case CTL_FRAME_NEED_MORE: return "incomplete frame";
    case CTL_FRAME_E_MAGIC: return "not a control frame (bad magic)";
    case CTL_FRAME_E_VERSION: return "unsupported frame version";
    case CTL_FRAME_E_TOO_LARGE: return "frame too large";
    }
    return "unknown frame status";
}

const char *ctl_build_version(void)
{
    return CTL_BUILD_VERSION;
}

void ctl_frame_hdr_encode(uint8_t out[CTL_FRAME_HDR_LEN], uint32_t len)
{
    out[0] = CTL_FRAME_MAGIC0;
    out[1] = CTL_FRAME_MAGIC1;
    out[2] = CTL_FRAME_VERSION;
    out[3] = 0;
    out[4] = (uint8_t)(len >> 24);
    out[5] = (uint8_t)(len >> 16);
    out[6] = (uint8_t)(len >> 8);
    out[7] = (uint8_t)len;
}

enum ctl_frame_status ctl_frame_hdr_decode(const uint8_t *data, size_t avail, size_t max_len,
                                           struct ctl_frame_hdr *hdr)
{
    if (avail >= 1 && data[0] != CTL_FRAME_MAGIC0)
        return CTL_FRAME_E_MAGIC;
    if (avail >= 2 && data[1] != CTL_FRAME_MAGIC1)
        return CTL_FRAME_E_MAGIC;
    if (avail < CTL_FRAME_HDR_LEN)
        return CTL_FRAME_NEED_MORE;
    hdr->version = data[2];
    hdr->flags = data[3];
    hdr->len = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 |
               (uint32_t)data[7];
    if (hdr->version != CTL_FRAME_VERSION)
        return CTL_FRAME_E_VERSION;
    if (hdr->len > max_len)
        return CTL_FRAME_E_TOO_LARGE;
    return CTL_FRAME_OK;
}

int ctl_frame_pack(const ProtobufCMessage *msg, size_t max_len, uint8_t **out, size_t *out_len)
{
    size_t body = protobuf_c_message_get_packed_size(msg);
    if (body > max_len || body > UINT32_MAX)
        return -1;
    uint8_t *buf = malloc(CTL_FRAME_HDR_LEN + body);
    if (!buf)
        return -1;
    ctl_frame_hdr_encode(buf, (uint32_t)body);
    size_t packed = protobuf_c_message_pack(msg, buf + CTL_FRAME_HDR_LEN);
    if (packed != body) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = CTL_FRAME_HDR_LEN + body;
    return 0;
}
