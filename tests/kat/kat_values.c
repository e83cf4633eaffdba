#include "kat_values.h"

#include "helper_hex.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Leaves bytes NULL when the text is not hex (suite, psk). */
static void decode_hex(struct kat_value *v)
{
    size_t cap = strlen(v->text) / 2 + 1;
    uint8_t *b = malloc(cap);
    if (!b)
        return;
    if (!helper_hex_decode(v->text, b, cap, &v->len)) {
        free(b);
        return;
    }
    v->bytes = b;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int add_line(struct kat_values *vals, char *line)
{
    char *eq = strchr(line, '=');
    if (!eq || line[0] == '#')
        return 0;
    *eq = '\0';
    struct kat_value *grown = realloc(vals->v, (vals->n + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    vals->v = grown;
    struct kat_value *v = &vals->v[vals->n++];
    memset(v, 0, sizeof(*v));
    snprintf(v->key, sizeof(v->key), "%s", trim(line));
    v->text = strdup(trim(eq + 1));
    if (!v->text)
        return -1;
    decode_hex(v);
    return 0;
}

int kat_values_load(const char *path, struct kat_values *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        if (add_line(out, line) != 0) {
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc != 0)
        kat_values_free(out);
    return rc;
}

void kat_values_free(struct kat_values *vals)
{
    for (size_t i = 0; i < vals->n; i++) {
        free(vals->v[i].bytes);
        free(vals->v[i].text);
    }
    free(vals->v);
    vals->v = NULL;
    vals->n = 0;
}

const struct kat_value *kat_values_get(const struct kat_values *vals, const char *key)
{
    for (size_t i = 0; i < vals->n; i++)
        if (strcmp(vals->v[i].key, key) == 0)
            return &vals->v[i];
    return NULL;
}
