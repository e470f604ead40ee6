/* A service's listening sockets (socket activation). The keeper opens them itself (as
 * root a privileged port needs no helper, and they outlive the server as the pipes do),
 * holds them for as long as the service's listen set is installed, and passes them to
 * each main process as fds 3… (spawn.c). A connection made while the service is down
 * or restarting waits in the backlog: nothing is refused.
 *
 * The set is given as specs (docs/keeper-protocol.md, `listen`):
 *   NAME=tcp:ADDR:PORT   NAME=udp:ADDR:PORT   (ADDR dotted IPv4 or [IPv6])
 *   NAME=unix:MODE:UID:GID:PATH               (UID and GID -1: left as made)
 * A set asked for again unchanged is kept as it is (the same sockets, their backlogs). */
#include "keeper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void listen_close(struct service *s, int epoll_fd)
{
    for (size_t i = 0; i < s->listener_count; i++) {
        struct listener *l = &s->listeners[i];
        if (s->watching && l->fd >= 0 && epoll_ctl(epoll_fd, EPOLL_CTL_DEL, l->fd, NULL) != 0)
            complain("epoll_ctl: %s", strerror(errno));
        if (l->fd >= 0)
            close(l->fd);
        struct stat st;
        /* Only the socket file the keeper made, never what replaced it (lstat: no symlink followed). */
        if (l->path != NULL && lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l->dev && st.st_ino == l->ino && unlink(l->path) != 0)
            complain("cannot remove the socket %s: %s", l->path, strerror(errno));
        free(l->spec);
        free(l->path);
    }
    s->watching = false;
    free(s->listeners);
    free(s->listen_names);
    s->listeners = NULL;
    s->listen_names = NULL;
    s->listener_count = 0;
}

static bool same_set(const struct service *s, char **specs, size_t count)
{
    if (count != s->listener_count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (strcmp(specs[i], s->listeners[i].spec) != 0)
            return false;
    return true;
}

static bool parse_port(const char *text, uint16_t *port)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* ADDR:PORT into an address; false when it is not one. */
static bool parse_inet(const char *text, struct sockaddr_storage *out, socklen_t *length)
{
    char host[64];
    const char *port;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof host)
            return false;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        *a = (struct sockaddr_in6){.sin6_family = AF_INET6};
        *length = sizeof *a;
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 && parse_port(port, &a->sin6_port) && ((a->sin6_port = htons(a->sin6_port)), true);
    }
    const char *colon = strrchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof host)
        return false;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    *a = (struct sockaddr_in){.sin_family = AF_INET};
    *length = sizeof *a;
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 && parse_port(colon + 1, &a->sin_port) && ((a->sin_port = htons(a->sin_port)), true);
}

static int inet_socket(const char *where, int type, char *error, size_t size)
{
    struct sockaddr_storage address;
    socklen_t length;
    if (!parse_inet(where, &address, &length)) {
        snprintf(error, size, "bad request: %s is not ADDR:PORT", where);
        return -1;
    }
    int fd = socket(address.ss_family, type | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0) {
        snprintf(error, size, "cannot make a socket for %s: %s", where, strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 || bind(fd, (struct sockaddr *)&address, length) != 0 ||
        (type == SOCK_STREAM && listen(fd, SOMAXCONN) != 0)) {
        snprintf(error, size, "cannot listen on %s: %s", where, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* MODE:UID:GID:PATH. A socket file nobody listens on any more is replaced; anything else at PATH is left alone. */
static int unix_socket(const char *text, struct listener *l, char *error, size_t size)
{
    char *end;
    unsigned long mode = strtoul(text, &end, 8);
    long long ids[2] = {-2, -2}; /* -2: missing, refused below */
    for (int i = 0; i < 2 && *end == ':'; i++)
        ids[i] = strtoll(end + 1, &end, 10);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    const char *path = end + 1;
    if (*end != ':' || mode > 0777 || ids[0] < -1 || ids[0] > 0xfffffffeLL || ids[1] < -1 || ids[1] > 0xfffffffeLL || path[0] != '/' ||
        strlen(path) >= sizeof address.sun_path) {
        snprintf(error, size, "bad request: unix is MODE:UID:GID:PATH, PATH absolute and shorter than %zu bytes", sizeof address.sun_path);
        return -1;
    }
    strcpy(address.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        int live = S_ISSOCK(st.st_mode) ? unix_listened(&address) : 1;
        if (live != 0) {
            snprintf(error, size, live > 0 ? "%s is in use: another program listens on it, or it is not a socket" : "cannot tell whether a program listens on %s", path);
            return -1;
        }
        if (unlink(path) != 0 && errno != ENOENT) {
            snprintf(error, size, "cannot replace the stale socket %s: %s", path, strerror(errno));
            return -1;
        }
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(error, size, "cannot make a socket for %s: %s", path, strerror(errno));
        return -1;
    }
    /* Made with no access at all, then given its mode and owner. */
    mode_t mask = umask(0777);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof address), failure = errno;
    umask(mask);
    /* Its mode and owner set by path with no symlink followed (the path was just made, mode 0: nobody else connects meanwhile). */
    if (bound != 0 || (failure = 0, fchmodat(AT_FDCWD, path, (mode_t)mode, AT_SYMLINK_NOFOLLOW) != 0) ||
        ((ids[0] >= 0 || ids[1] >= 0) && fchownat(AT_FDCWD, path, (uid_t)ids[0], (gid_t)ids[1], AT_SYMLINK_NOFOLLOW) != 0) ||
        lstat(path, &st) != 0 || listen(fd, SOMAXCONN) != 0 || (l->path = strdup(path)) == NULL) {
        snprintf(error, size, "cannot listen on %s: %s", path, strerror(failure != 0 ? failure : errno));
        if (bound == 0)
            unlink(path);
        close(fd);
        return -1;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return fd;
}

static int open_one(const char *spec, struct listener *l, char *error, size_t size)
{
    const char *equals = strchr(spec, '=');
    if (equals == NULL || equals == spec || (size_t)(equals - spec) > 255 || memchr(spec, ':', (size_t)(equals - spec)) != NULL) {
        snprintf(error, size, "bad request: a socket is NAME=KIND:WHERE, NAME without ':'");
        return -1;
    }
    const char *kind = equals + 1;
    if (strncmp(kind, "tcp:", 4) == 0)
        return inet_socket(kind + 4, SOCK_STREAM, error, size);
    if (strncmp(kind, "udp:", 4) == 0)
        return inet_socket(kind + 4, SOCK_DGRAM, error, size);
    if (strncmp(kind, "unix:", 5) == 0)
        return unix_socket(kind + 5, l, error, size);
    snprintf(error, size, "bad request: a socket's kind is tcp, udp or unix");
    return -1;
}

const char *listen_set(struct service *s, char **specs, size_t count, int epoll_fd, char *error, size_t size)
{
    if (same_set(s, specs, count))
        return NULL;
    /* The old set goes first: the new one may bind the same addresses. */
    listen_close(s, epoll_fd);
    if (count == 0)
        return NULL;
    if (count > MAX_LISTEN) {
        snprintf(error, size, "bad request: at most %u sockets a service", MAX_LISTEN);
        return error;
    }
    size_t names_length = 1;
    for (size_t i = 0; i < count; i++)
        names_length += strlen(specs[i]) + 1;
    s->listeners = calloc(count, sizeof *s->listeners);
    s->listen_names = calloc(names_length, 1);
    if (s->listeners == NULL || s->listen_names == NULL) {
        listen_close(s, epoll_fd);
        return "out of memory";
    }
    for (size_t i = 0; i < count; i++) {
        struct listener *l = &s->listeners[i];
        s->listener_count = i + 1;
        l->fd = -1;
        if ((l->spec = strdup(specs[i])) == NULL) {
            listen_close(s, epoll_fd);
            return "out of memory";
        }
        if ((l->fd = open_one(specs[i], l, error, size)) < 0) {
            listen_close(s, epoll_fd);
            return error;
        }
        if (i > 0)
            strcat(s->listen_names, ":");
        strncat(s->listen_names, specs[i], (size_t)(strchr(specs[i], '=') - specs[i]));
    }
    return NULL;
}
