/* Spawning. Everything the child needs is built before fork; between fork and exec the
 * child only makes system calls (no allocation, no stdio), in a fixed order, and
 * reports the first one that fails on a close-on-exec pipe the keeper reads later from
 * its event loop: the keeper never waits on a child beyond its vfork. */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The steps a child reports, by number. */
static const char *const steps[] = {
    "setsid", "join the cgroup", "set up fds", "setrlimit", "chdir", "setgroups", "setgid", "setuid", "no-new-privileges", "exec",
};
enum { STEP_SETSID, STEP_CGROUP, STEP_FDS, STEP_LIMITS, STEP_CHDIR, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_NNP, STEP_EXEC };

static struct rlimit original_nofile;
static bool have_original_nofile;

void spawn_save_limits(void)
{
    have_original_nofile = getrlimit(RLIMIT_NOFILE, &original_nofile) == 0;
}

void spawn_reset_signals(void)
{
    /* Whatever the keeper's own parent ignored or caught is not the services' business. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL); /* EINVAL for the signals glibc reserves: harmless */
}

static const struct { const char *name; int resource; } resources[] = {
    {"as", RLIMIT_AS}, {"core", RLIMIT_CORE}, {"cpu", RLIMIT_CPU}, {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE}, {"locks", RLIMIT_LOCKS}, {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE}, {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC}, {"rss", RLIMIT_RSS}, {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME}, {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

int spawn_resource(const char *name)
{
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++)
        if (strcmp(resources[i].name, name) == 0)
            return resources[i].resource;
    return -1;
}

bool spawn_resolve(const char *file, const char *path, char *out, size_t size)
{
    if (strchr(file, '/') != NULL) {
        if ((size_t)snprintf(out, size, "%s", file) >= size)
            return false;
        return access(out, F_OK) == 0;
    }
    for (const char *dir = path; dir != NULL && *dir != '\0';) {
        const char *colon = strchr(dir, ':');
        size_t n = colon == NULL ? strlen(dir) : (size_t)(colon - dir);
        if (n > 0 && (size_t)snprintf(out, size, "%.*s/%s", (int)n, dir, file) < size) {
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
                return true;
        }
        dir = colon == NULL ? NULL : colon + 1;
    }
    return false;
}

static void fail_step(int report, int step)
{
    int message[2] = {step, errno};
    ssize_t ignored = write(report, message, sizeof message);
    (void)ignored; /* nothing more a child can do: it exits 127 either way */
    _exit(127);
}

/* Puts `fd` at `target` without close-on-exec (dup2 onto itself would keep the flag). */
static int place(int fd, int target)
{
    if (fd == target)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* Writes `pid` in decimal into `digits` (room for 20 and a NUL): in the child, without allocating. */
static void write_pid(char *digits, pid_t pid)
{
    char reversed[24];
    size_t n = 0;
    unsigned long long v = (unsigned long long)pid;
    do
        reversed[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0 && n < sizeof reversed);
    for (size_t i = 0; i < n; i++)
        digits[i] = reversed[n - 1 - i];
    digits[n] = '\0';
}

/* Runs in the vfork child, on the keeper's memory: system calls only, nothing written
 * but its own stack and the errno every failing call sets. */
static void child(const struct spawn_request *r, int report, int ready_write)
{
    /* The keeper ignores these two; every other disposition is the default (see
     * spawn_reset_signals), and the signals it handles are only blocked. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    /* Out of the keeper's process group first: a signal sent to that group must not
     * end the child before its exec (and be taken for an exec that happened). */
    if (setsid() < 0)
        fail_step(report, STEP_SETSID);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        fail_step(report, STEP_SETSID);
    if (r->cgroup_procs >= 0 && write(r->cgroup_procs, "0", 1) != 1)
        fail_step(report, STEP_CGROUP);

    /* Keep the report pipe, the readiness pipe and the listening sockets clear of the
     * numbers being placed (0-2, 3… for the sockets, ready-fd above them). */
    int first = 3 + (int)r->listen_count;
    int high = r->ready_fd >= first ? r->ready_fd + 1 : first;
    report = fcntl(report, F_DUPFD_CLOEXEC, high);
    if (report < 0)
        _exit(127);
    if (ready_write >= 0 && (ready_write = fcntl(ready_write, F_DUPFD_CLOEXEC, high)) < 0)
        fail_step(report, STEP_FDS);
    int moved[MAX_LISTEN];
    for (size_t i = 0; i < r->listen_count; i++)
        if ((moved[i] = fcntl(r->listen_fds[i], F_DUPFD_CLOEXEC, high)) < 0)
            fail_step(report, STEP_FDS);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int out = r->out_fd >= 0 ? r->out_fd : null, err = r->err_fd >= 0 ? r->err_fd : out;
    if (null < 0 || place(null, 0) != 0 || place(out, 1) != 0 || place(err, 2) != 0)
        fail_step(report, STEP_FDS);
    if (ready_write >= 0 && place(ready_write, r->ready_fd) != 0)
        fail_step(report, STEP_FDS);
    for (size_t i = 0; i < r->listen_count; i++)
        if (dup2(moved[i], 3 + (int)i) < 0) /* a copy from above: never onto itself, so without close-on-exec */
            fail_step(report, STEP_FDS);
    if (r->listen_pid != NULL)
        write_pid(r->listen_pid, getpid());
    /* Every fd the keeper opens is close-on-exec already; this catches whatever it inherited. */
    unsigned skip = r->ready_fd >= first ? (unsigned)r->ready_fd : 0;
    if (skip != 0 && skip > (unsigned)first)
        syscall(SYS_close_range, (unsigned)first, skip - 1, CLOSE_RANGE_CLOEXEC);
    syscall(SYS_close_range, skip != 0 ? skip + 1 : (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC);
    if (ready_write >= 0)
        fcntl(r->ready_fd, F_SETFD, 0); /* the range above spared it; be sure */

    if (have_original_nofile && setrlimit(RLIMIT_NOFILE, &original_nofile) != 0)
        fail_step(report, STEP_LIMITS);
    for (size_t i = 0; i < r->limit_count; i++)
        if (setrlimit(r->limits[i].resource, &r->limits[i].value) != 0)
            fail_step(report, STEP_LIMITS);
    umask(r->umask);
    if (chdir(r->cwd) != 0)
        fail_step(report, STEP_CHDIR);
    if (r->set_ids) {
        if (setgroups(r->group_count, r->groups) != 0)
            fail_step(report, STEP_SETGROUPS);
        if (setgid(r->gid) != 0)
            fail_step(report, STEP_SETGID);
        if (setuid(r->uid) != 0)
            fail_step(report, STEP_SETUID);
    }
    if (r->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail_step(report, STEP_NNP);
    execve(r->file, r->argv, r->envp);
    fail_step(report, STEP_EXEC);
}

bool spawn_process(const struct spawn_request *r, struct spawned *out, char *error, size_t error_size)
{
    int report[2], ready[2] = {-1, -1};
    if (pipe2(report, O_CLOEXEC) != 0) {
        snprintf(error, error_size, "cannot make a pipe: %s", strerror(errno));
        return false;
    }
    if (r->ready_fd >= 0 && pipe2(ready, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(error, error_size, "cannot make the readiness pipe: %s", strerror(errno));
        close(report[0]);
        close(report[1]);
        return false;
    }
    /* The write end of the readiness pipe must block in the service, as any pipe would. */
    if (ready[1] >= 0 && fcntl(ready[1], F_SETFL, 0) != 0) {
        snprintf(error, error_size, "cannot set up the readiness pipe: %s", strerror(errno));
        close(report[0]);
        close(report[1]);
        close(ready[0]);
        close(ready[1]);
        return false;
    }
    /* vfork: no page tables to copy, no copy-on-write faults after; the keeper waits
     * only until the child has exec'd (or failed, and said so on the report pipe). */
    pid_t pid = vfork();
    if (pid == 0)
        child(r, report[1], ready[1]);
    int saved = errno;
    close(report[1]);
    if (ready[1] >= 0)
        close(ready[1]);
    if (pid < 0) {
        snprintf(error, error_size, "vfork: %s", strerror(saved));
        close(report[0]);
        if (ready[0] >= 0)
            close(ready[0]);
        return false;
    }
    if (fcntl(report[0], F_SETFL, O_NONBLOCK) != 0)
        complain("cannot make the exec status pipe of %d non-blocking: %s", (int)pid, strerror(errno));
    out->pid = pid;
    out->exec_fd = report[0];
    out->ready_fd = ready[0];
    return true;
}

int spawn_outcome(int exec_fd, const char *program, char *error, size_t size)
{
    int message[2];
    ssize_t n;
    do
        n = read(exec_fd, message, sizeof message);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return -1;
    if (n != (ssize_t)sizeof message)
        return 0; /* end of file: the exec closed the pipe */
    if (message[0] == STEP_EXEC)
        snprintf(error, size, "%s: %s", program, strerror(message[1]));
    else if (message[0] >= 0 && (size_t)message[0] < sizeof steps / sizeof steps[0])
        snprintf(error, size, "%s: %s", steps[message[0]], strerror(message[1]));
    else
        snprintf(error, size, "the set-up before exec failed");
    return 1;
}
