/* The sd_notify protocol: a service sends datagrams of NAME=VALUE lines (READY=1,
 * STATUS=…, MAINPID=…, STOPPING=1, RELOADING=1, WATCHDOG=1) to the unix datagram socket
 * named in NOTIFY_SOCKET. Each service has a socket of its own, which only its user
 * may write to, so the socket a message arrives on says who sent it. File descriptors
 * sent along (systemd-notify's BARRIER=1 does) are closed at once. */
#include "keeper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int notify_open(const char *path, bool chown_to, uid_t uid, gid_t gid, char *error, size_t error_size)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) {
        snprintf(error, error_size, "the notify socket path %s is too long", path);
        return -1;
    }
    strcpy(address.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(error, error_size, "cannot make the notify socket: %s", strerror(errno));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(error, error_size, "cannot replace %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* lchown: a symlink swapped in after the bind must not hand someone else's file over.
     * The keeper's umask (077) made the socket 0700 already. */
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || (chown_to && lchown(path, uid, gid) != 0)) {
        snprintf(error, error_size, "cannot set up the notify socket %s: %s", path, strerror(errno));
        unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}

void close_passed_fds(struct msghdr *header)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(header); c != NULL; c = CMSG_NXTHDR(header, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
    }
}

static bool has_prefix(const char *line, size_t length, const char *prefix)
{
    size_t n = strlen(prefix);
    return length >= n && memcmp(line, prefix, n) == 0;
}

/* One line of a datagram; returns true for READY=1. A READY=1 after RELOADING=1 ends a
 * reload (systemd's Type=notify-reload): it is told as `reloaded`, since the first
 * READY=1 of a process is its readiness, told once. */
static bool take_line(const char *line, size_t length, struct notice *n, unsigned *changed)
{
    if (length == 7 && memcmp(line, "READY=1", 7) == 0) {
        if (n->reloading) {
            n->reloading = false;
            *changed |= 32;
        }
        return true;
    }
    if (has_prefix(line, length, "STATUS=")) {
        size_t text_length = length - 7 < MAX_STATUS_TEXT ? length - 7 : MAX_STATUS_TEXT;
        char *text = malloc(text_length + 1);
        if (text == NULL)
            return false;
        memcpy(text, line + 7, text_length);
        text[text_length] = '\0';
        free(n->status);
        n->status = text;
        *changed |= 1;
    } else if (has_prefix(line, length, "MAINPID=")) {
        if (length == 8 || length > 8 + 10)
            return false; /* no pid, or longer than any pid */
        long long pid = 0;
        for (size_t i = 8; i < length; i++) {
            if (line[i] < '0' || line[i] > '9')
                return false;
            pid = pid * 10 + (line[i] - '0');
        }
        n->mainpid = pid;
        *changed |= 2;
    } else if (length == 10 && memcmp(line, "STOPPING=1", 10) == 0) {
        n->stopping = true;
        *changed |= 4;
    } else if (length == 11 && memcmp(line, "RELOADING=1", 11) == 0) {
        n->reloading = true;
        *changed |= 8;
    } else if (length == 10 && memcmp(line, "WATCHDOG=1", 10) == 0) {
        n->watchdog = true;
        *changed |= 16;
    }
    return false;
}

bool notify_read(int fd, struct notice *n, unsigned *changed)
{
    bool ready = false;
    /* At most 64 datagrams a turn: a service sending without pause must not hold the keeper. */
    for (int round = 0; round < 64; round++) {
        char data[4096];
        union { struct cmsghdr align; char bytes[CMSG_SPACE(sizeof(int) * 16)]; } control;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
        struct msghdr header = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
        ssize_t got = recvmsg(fd, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                complain("notify socket: %s", strerror(errno));
            return ready;
        }
        close_passed_fds(&header);
        size_t length = (size_t)got;
        for (size_t start = 0; start < length;) {
            const char *nl = memchr(data + start, '\n', length - start);
            size_t end = nl == NULL ? length : (size_t)(nl - data);
            if (take_line(data + start, end - start, n, changed))
                ready = true;
            start = end + 1;
        }
    }
    return ready;
}
