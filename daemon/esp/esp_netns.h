/*
 * Doing something inside a VDOM's network namespace (/run/netns/NAME): a
 * TUN device is created in the namespace of the thread that opens
 * /dev/net/tun, and its MTU, routes and the preferred source lookup go
 * through sockets that must live there too. esp_netns_enter() switches
 * the calling thread over and returns how to come back;
 * esp_netns_leave() returns. "" / NULL is the daemon's own namespace
 * (nothing to do). Sockets opened inside keep their namespace afterwards.
 */
#ifndef HAIKED_ESP_NETNS_H
#define HAIKED_ESP_NETNS_H

#include <stddef.h>

/* Enters ns: 0 with *back set (-1: there was nothing to enter), or -errno
 * with err (the thread stays where it was). */
int esp_netns_enter(const char *ns, int *back, char *err, size_t errlen);
/* Returns to where esp_netns_enter() was called; exits the process if the
 * kernel refuses (the daemon must never go on in the wrong namespace). */
void esp_netns_leave(int back);

#endif
