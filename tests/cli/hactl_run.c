/* Running hactl in tests and the shared assertions (see hactl_run.h). */
#include "hactl_run.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hactl.h"

void slurp(FILE *f, char *buf, size_t size)
{
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* hactl --socket SOCK args... */
void hactl_run(struct ctl_fixture *fx, struct run *r, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "hactl";
    argv[argc++] = "--socket";
    argv[argc++] = fx->sock;
    for (; *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = hactl_main(argc, argv, out, err);
        fflush(out);
        fflush(err);
        _exit(rc);
    }
    int status = ctl_fixture_wait(fx, pid, 10000);
    assert_true(status != -1 && WIFEXITED(status));
    r->rc = WEXITSTATUS(status);
    slurp(out, r->out, sizeof(r->out));
    slurp(err, r->err, sizeof(r->err));
    if (getenv("HACTL_TEST_SHOW")) /* see what the assertions look at */
        fprintf(stderr, "--- hactl exit %d\n%s%s", r->rc, r->out, r->err);
}

void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

/* The JSON parses and the Python expression `check` (on `j`) holds. */
void assert_json(const char *json, const char *check)
{
    char path[] = "/tmp/hactl_json_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    char cmd[256];
    /* The expression travels in the environment: no shell quoting. */
    setenv("HACTL_JSON_CHECK", check, 1);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,os,sys; j=json.load(open(sys.argv[1])); "
             "sys.exit(0 if eval(os.environ[\"HACTL_JSON_CHECK\"]) else 1)' %s",
             path);
    int rc = system(cmd);
    unlink(path);
    if (rc != 0)
        fail_msg("JSON check failed: %s\non: %s", check, json);
}
