/* With --server ARGV…, the keeper runs the Node server itself, as its child, and runs
 * it again when it dies without having asked for a shutdown: after 0.5 s, then twice as
 * long each time up to 30 s, back to 0.5 s once a server has lived a minute. The new
 * server connects, reads the table and takes over (see docs/DESIGN.md, "Re-adoption").
 * The server is tend itself, not a service: it gets the keeper's environment, cwd,
 * stdin, stdout and stderr. */
#include "keeper.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIRST_DELAY_MS 500
#define MAX_DELAY_MS 30000
#define STABLE_MS 60000

extern char **environ;

static char **command;
static char program[4096];
static mode_t start_umask;
static pid_t pid;
static int64_t started_at, due = -1, delay = FIRST_DELAY_MS;

bool server_configure(char **argv, mode_t umask_at_start)
{
    command = argv;
    start_umask = umask_at_start;
    const char *path = getenv("PATH");
    return spawn_resolve(argv[0], path != NULL ? path : "/usr/local/bin:/usr/bin:/bin", program, sizeof program);
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

static void start(void)
{
    due = -1;
    pid_t child = fork();
    if (child < 0) {
        complain("cannot start the server: fork: %s", strerror(errno));
        due = now_ms() + delay;
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
        execve(program, command, environ);
        dprintf(STDERR_FILENO, "tend-keeper: cannot run the server %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    pid = child;
    started_at = now_ms();
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
    if (shutting_down)
        return true; /* it asked for the end, or the keeper is going: not started again */
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
