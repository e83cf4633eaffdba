/* Export marker: libike is built with -fvisibility=hidden; only
 * declarations carrying IKE_API are part of the shared library's ABI. */
#ifndef IKE_API_H
#define IKE_API_H

#define IKE_API __attribute__((visibility("default")))

#endif
