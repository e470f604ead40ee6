/* The syslog(3) socket. Daemons that log only through syslog (cron) send datagrams to
 * /dev/log; with no syslog daemon there they are lost. When the server asks, the keeper
 * listens there itself: SO_PASSCRED makes the kernel attach the sender's pid to every
 * datagram, tree.c says which service that process belongs to, and the message becomes
 * a line of that service's log, `[syslog PRIORITY] TAG[PID]: MESSAGE` (the `<PRI>` and
 * the timestamp taken off, RFC 3164 or 5424); a message no service sent goes to the
 * `syslog` log. A socket another program listens on (rsyslog, journald) is never
 * taken over: only one left by a listener that is gone is replaced.
 *
 * Bounded: at most `max` datagrams are read per call (the event loop's other work comes
 * between), a datagram longer than the buffer is cut and says so, and nothing is kept
 * between datagrams. A process that has ended by the time its message is read cannot be
 * placed any more (unless it was a service's main process, not yet reaped: the keeper
 * reads this socket before it reaps); its message goes to the `syslog` log. */
#include "keeper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The longest message kept whole; the rest of a longer one is cut. */
#define SYSLOG_MAX 8192u

static int fd = -1;
static char *path;
static dev_t bound_dev; /* the socket file the keeper made: only that one is removed */
static ino_t bound_ino;
static struct log other = {.fd = -1};

int syslog_fd(void) { return fd; }
const char *syslog_path(void) { return fd >= 0 ? path : NULL; }
struct log *syslog_log(void) { return &other; }

void syslog_stop(void)
{
    if (fd < 0)
        return;
    close(fd);
    fd = -1;
    struct stat st;
    if (lstat(path, &st) == 0 && st.st_dev == bound_dev && st.st_ino == bound_ino && unlink(path) != 0)
        complain("cannot remove the syslog socket %s: %s", path, strerror(errno));
    free(path);
    path = NULL;
}

int unix_listened(const struct sockaddr_un *address)
{
    static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int probe = socket(AF_UNIX, types[i] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return -1;
        int r = connect(probe, (const struct sockaddr *)address, sizeof *address), error = errno;
        close(probe);
        if (r == 0 || error == EAGAIN || error == EINPROGRESS) /* EAGAIN: a stream listener with a full backlog */
            return 1;
        if (error == ECONNREFUSED)
            return 0;
        if (error != EPROTOTYPE) {
            errno = error;
            return -1;
        }
    }
    return 1; /* neither type: a seqpacket listener, someone's */
}

const char *syslog_listen(const char *where, char *error, size_t size)
{
    if (fd >= 0 && strcmp(path, where) == 0)
        return NULL; /* a server that comes again asks for what the keeper does already */
    syslog_stop();
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (where[0] != '/' || strlen(where) >= sizeof address.sun_path) {
        snprintf(error, size, "the syslog socket must be an absolute path of at most %zu bytes", sizeof address.sun_path - 1);
        return error;
    }
    strcpy(address.sun_path, where);
    struct stat st;
    if (lstat(where, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(error, size, "%s exists and is not a socket: it is left alone", where);
            return error;
        }
        int live = unix_listened(&address);
        if (live != 0) {
            if (live > 0)
                snprintf(error, size, "%s is in use: another program (a syslog daemon?) listens on it, and keeps it", where);
            else
                snprintf(error, size, "cannot tell whether a program listens on %s (%s): it is left alone", where, strerror(errno));
            return error;
        }
        if (unlink(where) != 0 && errno != ENOENT) { /* a socket its listener left behind */
            snprintf(error, size, "cannot replace the stale socket %s: %s", where, strerror(errno));
            return error;
        }
    } else if (errno != ENOENT) {
        snprintf(error, size, "%s: %s", where, strerror(errno));
        return error;
    }
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
        snprintf(error, size, "cannot make the syslog socket: %s", strerror(errno));
        if (s >= 0)
            close(s);
        return error;
    }
    /* Made with its mode (no chmod by path to race with): as root it is the system's
     * /dev/log, which every user's daemons write to; a user's keeper keeps it to itself. */
    mode_t mask = umask(geteuid() == 0 ? 0111 : 0177);
    int bound = bind(s, (struct sockaddr *)&address, sizeof address), bind_error = errno;
    umask(mask);
    if (bound != 0 || lstat(where, &st) != 0 || (path = strdup(where)) == NULL) {
        snprintf(error, size, "cannot listen on %s: %s", where, strerror(bound != 0 ? bind_error : errno));
        if (bound == 0)
            unlink(where);
        close(s);
        return error;
    }
    bound_dev = st.st_dev;
    bound_ino = st.st_ino;
    fd = s;
    return NULL;
}

/* ---- a datagram into a line ---- */

/* The next space-separated word of [*p, end), and *p past it and its space. */
static size_t word(const char **p, const char *end, const char **start)
{
    const char *space = memchr(*p, ' ', (size_t)(end - *p));
    *start = *p;
    size_t length = (size_t)((space != NULL ? space : end) - *p);
    *p = space != NULL ? space + 1 : end;
    return length;
}

static bool digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* `Mmm dd hh:mm:ss ` (RFC 3164, what glibc and logger send to /dev/log), or an ISO 8601
 * time and its space; the length to skip, 0 for none. */
static size_t timestamp(const char *p, size_t n)
{
    if (n >= 16 && p[0] >= 'A' && p[0] <= 'Z' && p[3] == ' ' && (p[4] == ' ' || digits(p + 4, 1)) && digits(p + 5, 1) && p[6] == ' ' &&
        digits(p + 7, 2) && p[9] == ':' && digits(p + 10, 2) && p[12] == ':' && digits(p + 13, 2) && p[15] == ' ')
        return 16;
    const char *space = n >= 20 && digits(p, 4) && p[4] == '-' && p[10] == 'T' ? memchr(p, ' ', n) : NULL;
    return space != NULL ? (size_t)(space - p) + 1 : 0;
}

/* RFC 5424 after `<PRI>1 `: TIME HOST APP PROCID MSGID STRUCTURED-DATA [MESSAGE] →
 * `APP[PROCID]: MESSAGE`. False when it is not that form. */
static bool rfc5424(const char *p, const char *end, char *out, size_t size, size_t *length)
{
    const char *app, *procid, *skipped;
    word(&p, end, &skipped); /* the time */
    word(&p, end, &skipped); /* the host */
    size_t app_length = word(&p, end, &app), procid_length = word(&p, end, &procid);
    if (word(&p, end, &skipped) == 0 || p >= end || app_length == 0 || procid_length == 0) /* MSGID, then the data */
        return false;
    if (*p == '-') {
        p++;
    } else {
        while (p < end && *p == '[') { /* elements; `\]` inside one is not its end */
            for (p++; p < end && *p != ']'; p++)
                if (*p == '\\' && p + 1 < end)
                    p++;
            if (p < end)
                p++;
        }
    }
    if (p < end && *p == ' ')
        p++;
    if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) /* the BOM that marks a UTF-8 message */
        p += 3;
    bool has_app = !(app_length == 1 && *app == '-'), has_pid = !(procid_length == 1 && *procid == '-');
    int n = snprintf(out, size, "%.*s%s%.*s%s%s", has_app ? (int)app_length : 0, app, has_pid ? "[" : "", has_pid ? (int)procid_length : 0, procid,
                     has_pid ? "]" : "", has_app || has_pid ? ": " : "");
    size_t at = n < 0 ? 0 : (size_t)n >= size ? size - 1 : (size_t)n;
    size_t rest = (size_t)(end - p) < size - 1 - at ? (size_t)(end - p) : size - 1 - at;
    memcpy(out + at, p, rest);
    *length = at + rest;
    return true;
}

/* The message without its header: `TAG[PID]: MESSAGE` into `out`; its priority (13, user.notice, when it names none). */
static size_t reshape(const char *data, size_t n, int *priority, char *out, size_t size)
{
    const char *p = data, *end = data + n;
    *priority = 13;
    if (n >= 3 && *p == '<') {
        const char *close = memchr(p, '>', n < 5 ? n : 5);
        if (close != NULL && close > p + 1 && digits(p + 1, (size_t)(close - p - 1)) && atoi(p + 1) <= 191) {
            *priority = atoi(p + 1);
            p = close + 1;
        }
    }
    size_t length;
    if (end - p >= 2 && p[0] == '1' && p[1] == ' ' && rfc5424(p + 2, end, out, size, &length))
        return length;
    p += timestamp(p, (size_t)(end - p));
    length = (size_t)(end - p) < size ? (size_t)(end - p) : size;
    memcpy(out, p, length);
    return length;
}

/* Each line of the message (a stack trace is several), trailing NULs, CRs and newlines left out. */
static void write_message(struct log *log, int priority, char *text, size_t length)
{
    static const char *const severities[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
    char marker[32];
    snprintf(marker, sizeof marker, "[syslog %s] ", severities[priority & 7]);
    for (size_t start = 0; start < length;) {
        char *nl = memchr(text + start, '\n', length - start);
        size_t end = nl != NULL ? (size_t)(nl - text) : length, cut = end;
        while (cut > start && (text[cut - 1] == '\0' || text[cut - 1] == '\r'))
            cut--;
        if (cut > start)
            log_line(log, marker, text + start, cut - start);
        start = end + 1;
    }
}

void syslog_read(struct services *t, unsigned max)
{
    static char data[SYSLOG_MAX], text[SYSLOG_MAX + 64];
    pid_t last_pid = 0; /* one sender's burst looks it up once (within one call a pid is not given out again) */
    struct service *last = NULL;
    for (unsigned round = 0; fd >= 0 && round < max; round++) {
        union { struct cmsghdr align; char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)]; } control;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
        struct msghdr header = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
        ssize_t got = recvmsg(fd, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC); /* MSG_TRUNC: the real length of a longer one */
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                complain("syslog socket %s: %s", path, strerror(errno));
            break;
        }
        close_passed_fds(&header);
        pid_t pid = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&header); c != NULL; c = CMSG_NXTHDR(&header, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
                struct ucred credentials;
                memcpy(&credentials, CMSG_DATA(c), sizeof credentials);
                pid = credentials.pid;
            }
        if (pid != last_pid || pid == 0) {
            last_pid = pid;
            last = tree_owner(t, pid);
        }
        /* A service that logs nowhere (log = none) has not asked for its syslog messages to go: they go to the syslog log. */
        struct service *s = last != NULL && last->log.mode != LOG_NONE ? last : NULL;
        int priority;
        size_t kept = (size_t)got < sizeof data ? (size_t)got : sizeof data;
        size_t length = reshape(data, kept, &priority, text, SYSLOG_MAX);
        if ((size_t)got > kept) {
            int n = snprintf(text + length, sizeof text - length, " [truncated: %zd bytes]", got);
            length += n > 0 ? (size_t)n : 0;
        }
        write_message(s != NULL ? &s->log : &other, priority, text, length);
        if (s != NULL && s->log.trouble_unsent)
            service_mark(t, s, P_LOG);
    }
    if (other.trouble_unsent) { /* the server hears of a service's log; of this one, the console */
        other.trouble_unsent = false;
        complain("the syslog log %s cannot be written: %s (its lines are dropped and counted)", other.dir != NULL ? other.dir : "", strerror(other.error));
    }
}
