/*
 * Secrets file loading. The permission check runs on the opened file
 * descriptor (fstat), so what is checked is what is read. The file is read
 * into a buffer we wipe, and libconfig's copies of the values are wiped
 * before it frees them; flex's internal buffer is beyond our reach.
 */
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/addr_parse.h"
#include "config/secrets.h"

/* Owner, mode and type of the opened file; *size is its size. */
static int check_file(int fd, const char *path, size_t *size, struct cfg_errors *errs)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        cfg_errors_add(errs, path, 0, "cannot stat: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    if (!S_ISREG(st.st_mode)) {
        cfg_errors_add(errs, path, 0, "secrets file is not a regular file");
        return -1;
    }
    if (st.st_uid != 0) {
        cfg_errors_add(errs, path, 0, "secrets file must be owned by root (owner uid is %u)",
                       (unsigned)st.st_uid);
        rc = -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        cfg_errors_add(errs, path, 0,
                       "secrets file must not be accessible by group or others (mode %04o; "
                       "chmod 600 it)",
                       (unsigned)(st.st_mode & 07777));
        rc = -1;
    }
    if (st.st_size > CFG_SECRETS_MAX_SIZE) {
        cfg_errors_add(errs, path, 0, "secrets file is larger than %d bytes", CFG_SECRETS_MAX_SIZE);
        rc = -1;
    }
    *size = (size_t)st.st_size;
    return rc;
}

/* The whole file (size octets per fstat) into a NUL-terminated buffer of
 * *cap bytes, to be wiped by the caller. One spare octet detects a file
 * that grew since fstat. */
static char *read_all(int fd, const char *path, size_t size, size_t *cap, struct cfg_errors *errs)
{
    *cap = size + 2;
    char *buf = calloc(1, *cap);
    size_t len = 0;
    if (!buf) {
        cfg_errors_add(errs, path, 0, "out of memory");
        return NULL;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, *cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || len + (size_t)r == *cap - 1) {
            if (r < 0)
                cfg_errors_add(errs, path, 0, "cannot read: %s", strerror(errno));
            else
                cfg_errors_add(errs, path, 0, "secrets file changed while being read");
            explicit_bzero(buf, *cap);
            free(buf);
            return NULL;
        }
        if (r == 0)
            return buf;
        len += (size_t)r;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes into out (room for strlen(s) octets); returns length or -1. */
static long decode_hex(const char *s, uint8_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n % 2)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

static long decode_b64(const char *s, uint8_t *out)
{
    size_t n = strlen(s), len = 0;
    uint32_t acc = 0;
    int bits = 0;
    size_t pad = 0;
    if (n == 0 || n % 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') {
            if (i < n - 2)
                return -1;
            pad++;
            continue;
        }
        int v = b64val(s[i]);
        if (v < 0 || pad)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    explicit_bzero(&acc, sizeof(acc));
    return len ? (long)len : -1;
}

/* "0x<hex>", "0s<base64>" or the string's own octets. The reason never
 * quotes the value. */
static int psk_decode(const char *v, struct ike_secret **out, const char **why)
{
    size_t n = strlen(v);
    if (n == 0) {
        *why = "psk is empty";
        return -1;
    }
    if (n > IKE_SECRET_MAX) {
        *why = "psk is too long";
        return -1;
    }
    bool hex = strncasecmp(v, "0x", 2) == 0, b64 = strncmp(v, "0s", 2) == 0;
    if (!hex && !b64) {
        if (ike_secret_from((const uint8_t *)v, n, out) == IKE_OK)
            return 0;
        *why = "out of memory";
        return -1;
    }
    struct ike_secret *tmp;
    if (ike_secret_new(n, &tmp) != IKE_OK) {
        *why = "out of memory";
        return -1;
    }
    long len = hex ? decode_hex(v + 2, tmp->data) : decode_b64(v + 2, tmp->data);
    int rc = 0;
    if (len < 0) {
        *why = hex ? "psk starting with 0x must be followed by an even number of hex digits"
                   : "psk starting with 0s must be followed by valid base64";
        rc = -1;
    } else if (ike_secret_from(tmp->data, (size_t)len, out) != IKE_OK) {
        *why = "out of memory";
        rc = -1;
    }
    ike_secret_free(tmp);
    return rc;
}

static bool entry_dup(const struct cfg_secrets *s, const struct cfg_secret_entry *e,
                      const struct cfg_secret_entry **first)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct cfg_secret_entry *o = &s->v[i];
        bool same = e->gateway
                        ? (o->gateway && strcmp(o->gateway, e->gateway) == 0)
                        : (!o->gateway && o->id.type == e->id.type && o->id.len == e->id.len &&
                           memcmp(o->id.data, e->id.data, e->id.len) == 0);
        if (same) {
            *first = o;
            return true;
        }
    }
    return false;
}

static void load_entry(const config_setting_t *set, size_t idx, const char *path,
                       struct cfg_secrets *out, struct cfg_errors *errs)
{
    int line = (int)config_setting_source_line(set);
    struct cfg_secret_entry e = {.line = line};
    const char *gw = NULL, *id = NULL, *psk = NULL;
    char err[300];
    int bad = 0;
    for (int i = 0; i < config_setting_length(set); i++) {
        const config_setting_t *m = config_setting_get_elem(set, (unsigned)i);
        const char *name = config_setting_name(m);
        int ml = (int)config_setting_source_line(m);
        const char **slot = strcmp(name, "gateway") == 0     ? &gw
                            : strcmp(name, "remote-id") == 0 ? &id
                            : strcmp(name, "psk") == 0       ? &psk
                                                             : NULL;
        if (!slot) {
            cfg_errors_add(errs, path, ml, "secret #%zu: unknown setting '%s'", idx + 1, name);
            bad = 1;
        } else if (config_setting_type(m) != CONFIG_TYPE_STRING) {
            cfg_errors_add(errs, path, ml, "secret #%zu: %s must be a string", idx + 1, name);
            bad = 1;
        } else {
            *slot = config_setting_get_string(m);
        }
    }
    if (bad)
        return;
    if ((gw != NULL) == (id != NULL)) {
        cfg_errors_add(errs, path, line, "secret #%zu: give exactly one of gateway or remote-id",
                       idx + 1);
        return;
    }
    if (!psk) {
        cfg_errors_add(errs, path, line, "secret #%zu: missing psk", idx + 1);
        return;
    }
    if (id && cfg_id_parse(id, false, &e.id, err, sizeof(err)) != 0) {
        cfg_errors_add(errs, path, line, "secret #%zu: remote-id: %s", idx + 1, err);
        return;
    }
    const char *why = NULL;
    const struct cfg_secret_entry *first = NULL;
    e.gateway = gw ? strdup(gw) : NULL;
    if (entry_dup(out, &e, &first)) {
        cfg_errors_add(errs, path, line,
                       "secret #%zu: duplicate entry for %s '%s' (first at line %d)", idx + 1,
                       gw ? "gateway" : "remote-id", gw ? gw : id, first->line);
    } else if (psk_decode(psk, &e.psk, &why) != 0) {
        cfg_errors_add(errs, path, line, "secret #%zu: %s", idx + 1, why);
    } else if ((gw && !e.gateway) || !(e.file = strdup(path))) {
        cfg_errors_add(errs, path, line, "out of memory");
    } else {
        out->v[out->n++] = e;
        return;
    }
    ike_secret_free(e.psk);
    free(e.gateway);
    free(e.file);
}

/* Wipes every string value libconfig holds before it frees them. */
static void wipe_strings(config_setting_t *s)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        char *v = (char *)config_setting_get_string(s); /* libconfig's own heap copy */
        if (v)
            explicit_bzero(v, strlen(v));
        return;
    }
    for (int i = 0; config_setting_is_aggregate(s) && i < config_setting_length(s); i++)
        wipe_strings(config_setting_get_elem(s, (unsigned)i));
}

/* Settings from an @include'd file were not permission-checked. */
static bool has_include(const config_setting_t *s)
{
    if (config_setting_source_file(s))
        return true;
    for (int i = 0; config_setting_is_aggregate(s) && i < config_setting_length(s); i++)
        if (has_include(config_setting_get_elem(s, (unsigned)i)))
            return true;
    return false;
}

static void parse(config_t *c, const char *path, struct cfg_secrets *out, struct cfg_errors *errs)
{
    config_setting_t *root = config_root_setting(c);
    if (has_include(root)) {
        cfg_errors_add(errs, path, 0, "@include is not allowed in the secrets file");
        return;
    }
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
        if (strcmp(config_setting_name(m), "secrets") != 0)
            cfg_errors_add(errs, path, (int)config_setting_source_line(m),
                           "unknown setting '%s' (the secrets file holds only secrets = ( ... );)",
                           config_setting_name(m));
    }
    const config_setting_t *list = config_setting_get_member(root, "secrets");
    if (!list)
        return;
    if (!config_setting_is_list(list)) {
        cfg_errors_add(errs, path, (int)config_setting_source_line(list),
                       "secrets must be a list of groups: secrets = ( { ... }, { ... } );");
        return;
    }
    size_t n = (size_t)config_setting_length(list);
    out->v = calloc(n ? n : 1, sizeof(*out->v));
    if (!out->v) {
        cfg_errors_add(errs, path, 0, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        if (!config_setting_is_group(e))
            cfg_errors_add(errs, path, (int)config_setting_source_line(e),
                           "secrets must be a list of groups: secrets = ( { ... }, { ... } );");
        else
            load_entry(e, i, path, out, errs);
    }
}

int cfg_secrets_load(const char *path, struct cfg_secrets *out, struct cfg_errors *errs)
{
    size_t before = errs->n + errs->dropped;
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        cfg_errors_add(errs, path, 0, "cannot open secrets file: %s", strerror(errno));
        return -1;
    }
    size_t cap = 0, size = 0;
    char *buf =
        check_file(fd, path, &size, errs) == 0 ? read_all(fd, path, size, &cap, errs) : NULL;
    close(fd);
    if (!buf)
        return -1;
    config_t c;
    config_init(&c);
    if (config_read_string(&c, buf) != CONFIG_TRUE)
        cfg_errors_add(errs, path, config_error_line(&c), "%s", config_error_text(&c));
    else
        parse(&c, path, out, errs);
    explicit_bzero(buf, cap);
    free(buf);
    wipe_strings(config_root_setting(&c));
    config_destroy(&c);
    return errs->n + errs->dropped > before ? -1 : 0;
}

const struct cfg_secret_entry *cfg_secrets_find(const struct cfg_secrets *s, const char *name,
                                                const struct ike_cfg_id *remote_id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].gateway && strcmp(s->v[i].gateway, name) == 0)
            return &s->v[i];
    if (!remote_id || remote_id->type == 0)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct cfg_secret_entry *e = &s->v[i];
        if (!e->gateway && e->id.type == remote_id->type && e->id.len == remote_id->len &&
            memcmp(e->id.data, remote_id->data, e->id.len) == 0)
            return e;
    }
    return NULL;
}

void cfg_secrets_free(struct cfg_secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        ike_secret_free(s->v[i].psk);
        free(s->v[i].gateway);
        free(s->v[i].file);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}
