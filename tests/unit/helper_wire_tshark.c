/* Runs tshark through posix_spawnp (no shell, so the arguments need no
 * quoting) and splits its -T fields output. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helper_wire.h"

extern char **environ;

/* environ without WIRESHARK_CONFIG_DIR, plus ours. */
static char **child_env(const char *config_dir, char *own, size_t own_len)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof(*env));
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "WIRESHARK_CONFIG_DIR=", 21) != 0)
            env[k++] = environ[i];
    snprintf(own, own_len, "WIRESHARK_CONFIG_DIR=%s", config_dir);
    env[k++] = own;
    env[k] = NULL;
    return env;
}

static char *read_all(int fd)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return buf;
}

char *helper_wire_tshark(const char *config_dir, const char *const *args, int *status)
{
    const char *argv[256];
    size_t n = 0;
    argv[n++] = "tshark";
    for (; args[n - 1] && n < 255; n++)
        argv[n] = args[n - 1];
    assert_null(args[n - 1]);
    argv[n] = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    char own[4200];
    char **env = child_env(config_dir, own, sizeof(own));
    pid_t pid;
    int rc = posix_spawnp(&pid, "tshark", &fa, NULL, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        *status = -1;
        return NULL;
    }
    char *out = read_all(fds[0]);
    close(fds[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    return out;
}

bool helper_wire_tshark_found(void)
{
    static const char *const args[] = {"-v", NULL};
    int status = -1;
    char *out = helper_wire_tshark("/nonexistent", args, &status);
    free(out);
    return status == 0;
}

bool helper_wire_rows_parse(char *text, size_t n_cols, struct helper_wire_rows *rows)
{
    size_t lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    rows->n_cols = n_cols;
    rows->n_rows = 0;
    rows->cells = calloc(lines * n_cols + 1, sizeof(*rows->cells));
    assert_non_null(rows->cells);
    char *line = text;
    while (*line) {
        char *end = strchr(line, '\n');
        if (!end)
            return false; /* tshark ends every row with a newline */
        *end = '\0';
        char *cell = line;
        for (size_t c = 0; c < n_cols; c++) {
            char *tab = strchr(cell, '\t');
            if ((tab == NULL) != (c + 1 == n_cols))
                return false;
            if (tab)
                *tab = '\0';
            rows->cells[rows->n_rows * n_cols + c] = cell;
            cell = tab ? tab + 1 : cell;
        }
        rows->n_rows++;
        line = end + 1;
    }
    return true;
}

const char *helper_wire_cell(const struct helper_wire_rows *rows, size_t row, size_t col)
{
    assert_true(row < rows->n_rows && col < rows->n_cols);
    return rows->cells[row * rows->n_cols + col];
}

void helper_wire_rows_free(struct helper_wire_rows *rows)
{
    free(rows->cells);
    rows->cells = NULL;
    rows->n_rows = rows->n_cols = 0;
}
