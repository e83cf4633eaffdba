/* The data plane's own state: `status`'s "data plane" part and a
 * gateway's device in the gateway listings. */
#include "hactl.h"

static unsigned long long u(uint64_t v)
{
    return (unsigned long long)v;
}

/* A namespace name as printed: haiked's own has none. */
static const char *ns_text(const char *name)
{
    return name && name[0] ? name : "(haiked's own)";
}

void hactl_print_dataplane(FILE *f, const Ctl__DataplaneStatus *d)
{
    if (!d)
        return;
    fprintf(f,
            "data plane: %s  CHILD SA installs/removes/failures: %llu/%llu/%llu  "
            "ESP-in-UDP dropped: %llu\n",
            hactl_str(d->backend), u(d->installs), u(d->removes), u(d->install_failures),
            u(d->esp_in_dropped));
    if (d->has_udp_gso)
        fprintf(f,
                "    UDP GSO: %s  segmented messages: %llu  refused: %llu  "
                "paths without GSO: %u  evicted: %llu\n",
                d->udp_gso ? "on" : "off (HAIKED_UDP_GSO=0)", u(d->gso_messages), u(d->gso_refused),
                d->gso_paths_off, u(d->gso_evictions));
    for (size_t i = 0; i < d->n_netns; i++) {
        const Ctl__DataplaneNetns *n = d->netns[i];
        fprintf(f,
                "    XFRM events netns %s: messages %llu  NEWAE %llu  expire %llu  "
                "not ours %llu  errors %llu  overruns %llu\n",
                ns_text(n->name), u(n->events), u(n->ae_events), u(n->expires), u(n->unknown),
                u(n->errors), u(n->overruns));
    }
    if (d->netns_omitted)
        fprintf(f, "    (%u more namespaces not shown)\n", d->netns_omitted);
}

void hactl_print_device(FILE *f, const Ctl__DataplaneDevice *d, bool fortios)
{
    if (!d)
        return;
    if (fortios) { /* `tunnel show`: key=value like FortiOS's tunnel list */
        fprintf(f, "dev: name=%s kind=%s ifindex=%u", hactl_str(d->name), hactl_str(d->kind),
                d->ifindex);
        if (d->has_key)
            fprintf(f, " key=0x%08x", d->key);
        fprintf(f, " netns=%s\n", ns_text(d->netns));
        return;
    }
    fprintf(f, "device: %s (%s) ifindex %u", hactl_str(d->name), hactl_str(d->kind), d->ifindex);
    if (d->has_key)
        fprintf(f, "  key 0x%08x", d->key);
    fprintf(f, "  netns %s\n", ns_text(d->netns));
}
