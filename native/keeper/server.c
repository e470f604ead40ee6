/* With --server ARGV…, the keeper runs the Node server itself, as its child, and runs
 * it again when it dies without having asked for a shutdown: after 0.5 s, then twice as
 * long each time up to 30 s, back to 0.5 s once a server has lived a minute. The new
 * server connects, reads the table and takes over (see docs/DESIGN.md, "Re-adoption").
 * A first server that ends before it ever said hello is not run again: nothing was
 * started, and a boot that cannot begin (no database) must end the container, not loop.
 *
 * Without --socket the server does not look for the keeper: it is handed one end of a
 * socket pair as fd 3 (TEND_KEEPER_FD=3), so a keeper that is PID 1 needs no path.
 * Either way its stdout and stderr are a pipe the keeper reads, so that its lines and the
 * services' reach the console through one writer (TEND_CONSOLE=1 tells it so). It gets
 * the keeper's environment, cwd and stdin. */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIRST_DELAY_MS 500
#define MAX_DELAY_MS 30000
#define STABLE_MS 60000
#define PAIR_FD 3

extern char **environ;

static char **command;
static char **tend_argv; /* made by server_tend_command */
static char **server_env; /* the keeper's environment, TEND_KEEPER_FD and TEND_CONSOLE set */
static char program[4096];
static mode_t start_umask;
static bool pair;
static int output[2] = {-1, -1};
static struct log output_log;
static pid_t pid;
static int64_t started_at, due = -1, delay = FIRST_DELAY_MS;
static bool connected_once, ended;
static int last_status;

static bool ours(const char *entry)
{
    return strncmp(entry, "TEND_KEEPER_FD=", 15) == 0 || strncmp(entry, "TEND_CONSOLE=", 13) == 0;
}

char **server_tend_command(char **args)
{
    static char main_js[4096 + 32];
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        complain("cannot find the keeper's own path (/proc/self/exe: %s): use --server node PATH/dist/bin/main.js instead", n < 0 ? strerror(errno) : "empty");
        return NULL;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0'; /* readlink gives an absolute path: there is a slash */
    snprintf(main_js, sizeof main_js, "%s/../bin/main.js", exe);
    size_t count = 0;
    while (args[count] != NULL)
        count++;
    if ((tend_argv = calloc(count + 3, sizeof *tend_argv)) == NULL) {
        complain("out of memory");
        return NULL;
    }
    tend_argv[0] = "node";
    tend_argv[1] = main_js;
    memcpy(tend_argv + 2, args, count * sizeof *tend_argv);
    return tend_argv;
}

bool server_configure(char **argv, mode_t umask_at_start, bool by_pair)
{
    command = argv;
    start_umask = umask_at_start;
    pair = by_pair;
    const char *path = getenv("PATH");
    if (!spawn_resolve(argv[0], path != NULL ? path : "/usr/local/bin:/usr/bin:/bin", program, sizeof program)) {
        complain("no program %s in PATH", argv[0]);
        return false;
    }
    /* Everything the child needs is made now: nothing is allocated between fork and exec. */
    size_t count = 0;
    while (environ[count] != NULL)
        count++;
    if ((server_env = calloc(count + 3, sizeof *server_env)) == NULL) {
        complain("out of memory");
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (!ours(environ[i]))
            server_env[n++] = environ[i];
    server_env[n++] = "TEND_CONSOLE=1";
    if (pair)
        server_env[n++] = "TEND_KEEPER_FD=3";
    if (pipe2(output, O_CLOEXEC) != 0 || fcntl(output[0], F_SETFL, O_NONBLOCK) != 0) {
        complain("cannot make the server's output pipe: %s", strerror(errno));
        return false;
    }
    output_log.fd = -1;
    log_configure(&output_log, LOG_STDOUT, NULL, "tend", 0, 0, -1);
    return true;
}

bool server_wanted(void)
{
    return command != NULL;
}

pid_t server_pid(void)
{
    return pid;
}

int64_t server_due(void)
{
    return due;
}

void server_release(void)
{
    log_close(&output_log);
    free(server_env);
    free(tend_argv);
}

int server_output_fd(void)
{
    return output[0];
}

void server_read_output(void)
{
    char chunk[65536];
    for (int round = 0; round < 16; round++) {
        ssize_t n = read(output[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        log_output(&output_log, STREAM_OUT, chunk, (size_t)n);
    }
}

void server_said_hello(void)
{
    connected_once = true;
}

bool server_ended(void)
{
    return ended;
}

int server_exit_code(void)
{
    return WIFSIGNALED(last_status) ? 128 + WTERMSIG(last_status) : WEXITSTATUS(last_status);
}

/* Where the child's fd `to` comes from: a dup2, or the same fd made to survive exec. */
static int place(int from, int to)
{
    return from == to ? fcntl(to, F_SETFD, 0) : dup2(from, to);
}

static void start(void)
{
    due = -1;
    int ends[2] = {-1, -1};
    if (pair && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
        complain("cannot start the server: socketpair: %s", strerror(errno));
        due = now_ms() + delay;
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        complain("cannot start the server: fork: %s", strerror(errno));
        due = now_ms() + delay;
        if (pair)
            close(ends[0]), close(ends[1]);
        return;
    }
    if (child == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        umask(start_umask);
        /* 0-2 are open (the keeper made sure), so neither end can be 1 or 2. */
        if (place(output[1], STDOUT_FILENO) < 0 || place(output[1], STDERR_FILENO) < 0 || (pair && place(ends[1], PAIR_FD) < 0)) {
            dprintf(STDERR_FILENO, "tend-keeper: cannot give the server its fds: %s\n", strerror(errno));
            _exit(127);
        }
        execve(program, command, server_env);
        dprintf(STDERR_FILENO, "tend-keeper: cannot run the server %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    pid = child;
    started_at = now_ms();
    if (pair) {
        close(ends[1]);
        if (fcntl(ends[0], F_SETFL, O_NONBLOCK) != 0)
            complain("cannot make the server connection non-blocking: %s", strerror(errno));
        server_connection(ends[0]);
    }
}

void server_start(void)
{
    if (command != NULL && pid == 0)
        start();
}

void server_tick(bool shutting_down)
{
    if (command != NULL && pid == 0 && due >= 0 && now_ms() >= due && !shutting_down)
        start();
}

bool server_reaped(pid_t reaped, int status, bool shutting_down)
{
    if (pid == 0 || reaped != pid)
        return false;
    pid = 0;
    last_status = status;
    server_read_output(); /* its last words, before anything said about its end */
    if (shutting_down)
        return true; /* it asked for the end, or the keeper is going: not started again */
    if (!connected_once) {
        complain("the server (pid %d) ended with status %d before it connected: the keeper ends too", (int)reaped, server_exit_code());
        ended = true;
        return true;
    }
    if (now_ms() - started_at >= STABLE_MS)
        delay = FIRST_DELAY_MS;
    if (WIFSIGNALED(status))
        complain("the server (pid %d) was killed by signal %d: starting it again in %lld ms", (int)reaped, WTERMSIG(status), (long long)delay);
    else
        complain("the server (pid %d) exited with status %d: starting it again in %lld ms", (int)reaped, WEXITSTATUS(status), (long long)delay);
    due = now_ms() + delay;
    delay = delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2;
    return true;
}
