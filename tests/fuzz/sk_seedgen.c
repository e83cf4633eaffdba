/*
 * Writes (--write) or verifies (--check) the generated seeds of the fuzz
 * corpora, octet for octet, so they can be regenerated and CI notices when
 * the codec's output drifts from the stored seeds:
 *
 *   corpus/fuzz_sk_unprotect/  gen_<suite>_<msg>_{raw,seal,frag}[,_multi]:
 *       the messages of seed_msgs.c sealed with the fixed keys of
 *       sk_fixed.c and a fixed IV, in each input mode of the target;
 *       capture_<suite>_<file>: the captured strongSwan datagrams in RAW
 *       mode (they decrypt with the same keys);
 *   corpus/fuzz_msg_decode/  gen_<msg>_sk_plain: the same messages with
 *       the unencrypted inner chain as SK body, for the inner decoder.
 *
 * Every generated datagram is received back (decode + unprotect or
 * reassembly) before it is written; each captured one must decrypt.
 *   sk_seedgen --write|--check SK_CORPUS MSG_CORPUS FIXTURES_DIR
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ike/const.h>
#include <ike/message.h>
#include <ike/sk.h>

#include "seed_msgs.h"
#include "sk_fixed.h"

#define GEN_MAX (IKE_MSG_MAX_LEN + 64)

static const char *const gen_fixture_dir[SK_FIXED_N_SUITES] = {
    "strongswan/aes256gcm16-prfsha512-ecp521",
    "strongswan/aes256-sha512-ecp521",
};

static bool gen_check_mode;
static unsigned gen_files, gen_errors;

__attribute__((format(printf, 1, 2))) static void gen_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sk_seedgen: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    gen_errors++;
}

/* Writes or compares one seed file. */
static void gen_emit(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    gen_files++;
    if (!gen_check_mode) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
            gen_error("cannot write %s", path);
        return;
    }
    static uint8_t have[GEN_MAX + 1];
    FILE *f = fopen(path, "rb");
    if (!f) {
        gen_error("%s missing (run sk_seedgen --write)", path);
        return;
    }
    size_t n = fread(have, 1, sizeof(have), f);
    fclose(f);
    if (n != len || memcmp(have, data, len) != 0)
        gen_error("%s differs from what libike produces now", path);
}

/* Prefix octet + body into buf. */
static size_t gen_with_prefix(uint8_t *buf, const uint8_t *prefix, size_t plen,
                              const uint8_t *body, size_t blen)
{
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, body, blen);
    return plen + blen;
}

/* decode + unprotect (SK) or reassemble (SKF) must succeed. */
static bool gen_receive(enum sk_fixed_suite s, const uint8_t *d, size_t len,
                        struct ike_sk_reasm *r, bool *complete)
{
    struct ike_msg msg = {0}, whole = {0};
    struct ike_diag diag = {0};
    enum ike_status st = ike_msg_decode(&msg, d, len, &diag);
    if (st == IKE_OK && msg.sk && msg.sk->type == IKE_PLD_SK) {
        st = ike_sk_unprotect(&msg, sk_fixed_cipher_for(s, &msg.hdr), &diag);
        if (st == IKE_OK)
            st = ike_msg_check_rules(&msg, &diag);
        *complete = true;
    } else if (st == IKE_OK && msg.sk) {
        enum ike_sk_reasm_result res;
        st = ike_sk_reasm_add(r, &msg, sk_fixed_cipher_for(s, &msg.hdr), &whole, &res, &diag);
        *complete = st == IKE_OK && res == IKE_SK_REASM_COMPLETE;
        if (*complete)
            st = ike_msg_check_rules(&whole, &diag);
    }
    if (st != IKE_OK)
        fprintf(stderr, "sk_seedgen: received back: %s (%s)\n", ike_status_str(st), diag.reason);
    ike_msg_clear(&whole);
    ike_msg_clear(&msg);
    return st == IKE_OK;
}

static void gen_iv(uint8_t *iv, unsigned seed)
{
    for (size_t i = 0; i < 16; i++)
        iv[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* The RFC 7383 fragment set of msg, as a MULTI-mode input. */
static void gen_fragments(const char *dir, const char *base, enum sk_fixed_suite s,
                          const struct ike_msg *msg, const uint8_t *pt, size_t pt_len,
                          uint8_t first, unsigned n)
{
    static uint8_t out[GEN_MAX], padded[GEN_MAX];
    struct ike_sk_cipher *c = sk_fixed_cipher(s, (msg->hdr.flags & IKE_FLAG_INITIATOR) != 0);
    struct ike_sk_reasm *r = ike_sk_reasm_new(0, 0);
    size_t o = 0;
    bool complete = false;
    out[o++] = (uint8_t)(s | 3 << 1);
    for (unsigned i = 0; i < n && r; i++) {
        size_t from = i * pt_len / n, to = (i + 1) * pt_len / n;
        size_t plen = sk_fixed_pad(c, pt + from, to - from, padded, sizeof(padded));
        struct ike_pld_sk frame = {.first_inner = i == 0 ? first : IKE_PLD_NONE,
                                   .frag_num = (uint16_t)(i + 1),
                                   .frag_total = (uint16_t)n};
        uint8_t iv[16], *d = NULL;
        size_t dlen = 0;
        gen_iv(iv, 100 + i);
        if (plen == 0 || sk_fixed_seal(msg, IKE_PLD_SKF, &frame, padded, plen, c, iv, &d,
                                       &dlen) != IKE_OK) {
            gen_error("%s: sealing a fragment failed", base);
            break;
        }
        if (!gen_receive(s, d, dlen, r, &complete) || complete != (i + 1 == n))
            gen_error("%s: fragment set does not reassemble", base);
        out[o++] = (uint8_t)(dlen >> 8);
        out[o++] = (uint8_t)dlen;
        memcpy(out + o, d, dlen);
        o += dlen;
        ike_msg_free_buf(d, dlen);
    }
    ike_sk_reasm_free(r);
    char name[256];
    snprintf(name, sizeof(name), "%s_multi", base);
    gen_emit(dir, name, out, o);
}

static void gen_message(const char *sk_dir, const char *msg_dir, enum sk_fixed_suite s,
                        const struct seed_msg *m, unsigned index)
{
    static uint8_t padded[GEN_MAX], buf[GEN_MAX];
    struct ike_msg msg = {0};
    struct ike_diag diag = {0};
    uint8_t *pt = NULL, *dgram = NULL, first = 0;
    size_t pt_len = 0, dlen = 0;
    char base[160], name[200];
    snprintf(base, sizeof(base), "gen_%s_%s", sk_fixed_suite_name[s], m->name);
    if (!m->build(&msg, sk_fixed_spi_i[s], sk_fixed_spi_r[s]) ||
        ike_msg_encode_inner(&msg, &pt, &pt_len, &first, &diag) != IKE_OK) {
        gen_error("%s: building failed: %s%s", base, msg.build_err.reason, diag.reason);
        goto out;
    }
    struct ike_sk_cipher *c = sk_fixed_cipher(s, (msg.hdr.flags & IKE_FLAG_INITIATOR) != 0);
    size_t plen = sk_fixed_pad(c, pt, pt_len, padded, sizeof(padded));
    uint8_t iv[16];
    gen_iv(iv, index);
    struct ike_pld_sk frame = {.first_inner = first};
    bool complete = false;
    if (plen == 0 ||
        sk_fixed_seal(&msg, IKE_PLD_SK, &frame, padded, plen, c, iv, &dgram, &dlen) != IKE_OK ||
        !gen_receive(s, dgram, dlen, NULL, &complete)) {
        gen_error("%s: sealing or receiving back failed", base);
        goto out;
    }
    uint8_t pre[6] = {(uint8_t)s, msg.hdr.exchange, msg.hdr.flags, first, 0, 0};
    snprintf(name, sizeof(name), "%s_raw", base);
    gen_emit(sk_dir, name, buf, gen_with_prefix(buf, pre, 1, dgram, dlen));
    pre[0] = (uint8_t)(s | 1 << 1);
    snprintf(name, sizeof(name), "%s_seal", base);
    gen_emit(sk_dir, name, buf, gen_with_prefix(buf, pre, 4, padded, plen));
    pre[0] = (uint8_t)(s | 2 << 1);
    pre[4] = (uint8_t)(m->frags ? m->frags - 1 : 1); /* 1..4 fragments */
    snprintf(name, sizeof(name), "%s_frag", base);
    gen_emit(sk_dir, name, buf, gen_with_prefix(buf, pre, 6, pt, pt_len));
    if (m->frags)
        gen_fragments(sk_dir, base, s, &msg, pt, pt_len, first, m->frags);

    if (s == SK_FIXED_GCM && pt_len) { /* the inner chain in clear as SK body */
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        struct ike_pld_sk body = {.first_inner = first, .body = {pt, pt_len}};
        if (ike_msg_encode_outer(&msg, IKE_PLD_SK, &body, &plain, &plain_len, NULL, &diag) !=
            IKE_OK) {
            gen_error("%s: encode_outer failed: %s", base, diag.reason);
        } else {
            snprintf(name, sizeof(name), "gen_%s_sk_plain", m->name);
            gen_emit(msg_dir, name, plain, plain_len);
        }
        ike_msg_free_buf(plain, plain_len);
    }
out:
    ike_msg_free_buf(pt, pt_len);
    ike_msg_free_buf(dgram, dlen);
    ike_msg_clear(&msg);
}

static int gen_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The captured datagrams of suite s in RAW mode; the encrypted ones must
 * decrypt with the fixed keys. */
static void gen_captures(const char *sk_dir, const char *fixtures, enum sk_fixed_suite s)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/messages", fixtures, gen_fixture_dir[s]);
    DIR *d = opendir(path);
    if (!d) {
        gen_error("cannot open %s", path);
        return;
    }
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64)
        if (strstr(e->d_name, ".bin"))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), gen_name_cmp);
    for (size_t i = 0; i < n; i++) {
        static uint8_t buf[GEN_MAX + 1];
        char file[4600], name[300];
        snprintf(file, sizeof(file), "%s/%s", path, names[i]);
        FILE *f = fopen(file, "rb");
        size_t len = f ? fread(buf + 1, 1, GEN_MAX, f) : 0;
        if (f)
            fclose(f);
        buf[0] = (uint8_t)s;
        bool complete = false;
        if (len == 0 || (!strstr(names[i], "IKE_SA_INIT") &&
                         !gen_receive(s, buf + 1, len, NULL, &complete)))
            gen_error("captured %s does not decrypt with the fixed keys", file);
        snprintf(name, sizeof(name), "capture_%s_%s", sk_fixed_suite_name[s], names[i]);
        gen_emit(sk_dir, name, buf, len + 1);
        free(names[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "--write") && strcmp(argv[1], "--check"))) {
        fprintf(stderr, "usage: %s --write|--check SK_CORPUS MSG_CORPUS FIXTURES_DIR\n",
                argv[0]);
        return 2;
    }
    gen_check_mode = strcmp(argv[1], "--check") == 0;
    for (int s = 0; s < SK_FIXED_N_SUITES; s++) {
        for (size_t i = 0; i < seed_n_msgs; i++)
            gen_message(argv[2], argv[3], (enum sk_fixed_suite)s, &seed_msgs[i], (unsigned)i);
        gen_captures(argv[2], argv[4], (enum sk_fixed_suite)s);
    }
    printf("sk_seedgen: %u seeds %s, %u problems\n", gen_files,
           gen_check_mode ? "checked" : "written", gen_errors);
    return gen_errors ? 1 : 0;
}
