/* The votequorum double (see fake_votequorum.h). */
#include "fake_votequorum.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

unsigned fvq_flags = VOTEQUORUM_INFO_QUORATE | VOTEQUORUM_INFO_TWONODE;

static struct {
    void *ctx[FVQ_HANDLES];
    int efd[FVQ_HANDLES];
    bool used[FVQ_HANDLES];
} fvq;

cs_error_t votequorum_initialize(votequorum_handle_t *h, votequorum_callbacks_t *cb)
{
    (void)cb;
    for (size_t i = 0; i < FVQ_HANDLES; i++)
        if (!fvq.used[i]) {
            fvq.used[i] = true;
            fvq.efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            fvq.ctx[i] = NULL;
            *h = i + 1;
            return CS_OK;
        }
    return CS_ERR_NO_RESOURCES;
}

cs_error_t votequorum_finalize(votequorum_handle_t h)
{
    if (h < 1 || h > FVQ_HANDLES || !fvq.used[h - 1])
        return CS_ERR_BAD_HANDLE;
    fvq.used[h - 1] = false;
    close(fvq.efd[h - 1]);
    return CS_OK;
}

cs_error_t votequorum_fd_get(votequorum_handle_t h, int *fd)
{
    *fd = fvq.efd[h - 1];
    return CS_OK;
}

cs_error_t votequorum_dispatch(votequorum_handle_t h, cs_dispatch_flags_t f)
{
    (void)h, (void)f;
    return CS_OK;
}

cs_error_t votequorum_trackstart(votequorum_handle_t h, uint64_t ctx, unsigned int flags)
{
    (void)h, (void)ctx, (void)flags;
    return CS_OK;
}

cs_error_t votequorum_trackstop(votequorum_handle_t h)
{
    (void)h;
    return CS_OK;
}

cs_error_t votequorum_context_set(votequorum_handle_t h, void *ctx)
{
    fvq.ctx[h - 1] = ctx;
    return CS_OK;
}

cs_error_t votequorum_context_get(votequorum_handle_t h, void **ctx)
{
    *ctx = fvq.ctx[h - 1];
    return CS_OK;
}

cs_error_t votequorum_getinfo(votequorum_handle_t h, unsigned int nodeid,
                              struct votequorum_info *info)
{
    (void)h;
    memset(info, 0, sizeof(*info));
    info->node_id = nodeid;
    info->flags = fvq_flags;
    return CS_OK;
}
