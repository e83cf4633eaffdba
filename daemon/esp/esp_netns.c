/* Entering and leaving a VDOM's network namespace (see esp_netns.h). */
#include "esp_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ESP_NETNS_DIR "/run/netns/"

int esp_netns_enter(const char *ns, int *back, char *err, size_t errlen)
{
    *back = -1;
    if (!ns || !ns[0])
        return 0;
    if (strchr(ns, '/') || strlen(ns) > 200) {
        snprintf(err, errlen, "netns '%s' is not a namespace name", ns);
        return -EINVAL;
    }
    char path[sizeof(ESP_NETNS_DIR) + 201];
    snprintf(path, sizeof(path), ESP_NETNS_DIR "%s", ns);
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) {
        int e = errno;
        snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(e));
        return -e;
    }
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        close(self);
        return -e;
    }
    int r = setns(target, CLONE_NEWNET);
    int e = errno;
    close(target);
    if (r < 0) {
        snprintf(err, errlen, "entering netns %s: %s", ns, strerror(e));
        close(self);
        return -e;
    }
    *back = self;
    return 0;
}

void esp_netns_leave(int back)
{
    if (back < 0)
        return;
    if (setns(back, CLONE_NEWNET) < 0) {
        perror("haiked: setns back to the daemon's namespace");
        _exit(70);
    }
    close(back);
}
