/* A service's listening sockets (socket activation). The keeper opens them itself (as
 * root a privileged port needs no helper, and they outlive the server as the pipes do),
 * holds them for as long as the service's listen set is installed, and passes them to
 * each main process as fds 3… (spawn.c). A connection made while the service is down
 * or restarting waits in the backlog: nothing is refused.
 *
 * The set is given as specs (docs/keeper-protocol.md, `listen`):
 *   NAME=tcp:ADDR:PORT   NAME=udp:ADDR:PORT   (ADDR dotted IPv4 or [IPv6])
 *   NAME=unix:MODE:UID:GID:PATH               (UID and GID -1: left as made)
 * A set asked for again is compared socket by socket with the one held: a socket in both
 * (the same spec after NAME=) is kept as it is, with its backlog. */
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

/* Closes one socket, and removes its file if it is still the one the keeper made. */
static void close_one(struct listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    struct stat st;
    /* Only the socket file the keeper made, never what replaced it (lstat: no symlink followed). */
    if (l->path != NULL && lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l->dev && st.st_ino == l->ino && unlink(l->path) != 0)
        complain("cannot remove the socket %s: %s", l->path, strerror(errno));
    free(l->path);
    l->fd = -1;
    l->path = NULL;
}

void listen_close(struct service *s, int epoll_fd)
{
    for (size_t i = 0; i < s->listener_count; i++) {
        struct listener *l = &s->listeners[i];
        if (s->watching && epoll_fd >= 0 && l->fd >= 0 && epoll_ctl(epoll_fd, EPOLL_CTL_DEL, l->fd, NULL) != 0)
            complain("epoll_ctl: %s", strerror(errno));
        close_one(l);
        free(l->spec);
    }
    s->watching = false;
    free(s->listeners);
    free(s->listen_names);
    s->listeners = NULL;
    s->listen_names = NULL;
    s->listener_count = 0;
}

/* What a socket is, after NAME=: two specs with the same one are the same socket (a new NAME is a new label only). */
static const char *where_of(const char *spec)
{
    return strchr(spec, '=') + 1;
}

/* Where a socket binds as another could collide with it: a tcp or udp one's port (0.0.0.0:80 and
 * 127.0.0.1:80 collide, as [::]:80 and 0.0.0.0:80 do), a unix one's path (after MODE:UID:GID:). */
static const char *place_of(const char *where)
{
    if (strncmp(where, "unix:", 5) != 0) {
        const char *colon = strrchr(where, ':');
        return colon != NULL ? colon + 1 : where;
    }
    const char *p = where;
    for (int i = 0; i < 4 && p != NULL; i++)
        if ((p = strchr(p, ':')) != NULL)
            p++;
    return p != NULL ? p : where;
}

static bool collide(const char *a, const char *b)
{
    return strncmp(a, b, 4) == 0 && strcmp(place_of(a), place_of(b)) == 0; /* "tcp:", "udp:", "unix" */
}

/* LISTEN_FDNAMES: the NAMEs of the set, colon-separated, into listen_names (made large enough by the caller). */
static void name_set(struct service *s)
{
    char *p = s->listen_names;
    for (size_t i = 0; i < s->listener_count; i++) {
        size_t length = (size_t)(strchr(s->listeners[i].spec, '=') - s->listeners[i].spec);
        if (i > 0)
            *p++ = ':';
        memcpy(p, s->listeners[i].spec, length);
        p += length;
    }
    *p = '\0';
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

static int open_one(const char *where, struct listener *l, char *error, size_t size)
{
    if (strncmp(where, "tcp:", 4) == 0)
        return inet_socket(where + 4, SOCK_STREAM, error, size);
    if (strncmp(where, "udp:", 4) == 0)
        return inet_socket(where + 4, SOCK_DGRAM, error, size);
    if (strncmp(where, "unix:", 5) == 0)
        return unix_socket(where + 5, l, error, size);
    snprintf(error, size, "bad request: a socket's kind is tcp, udp or unix");
    return -1;
}

/* The set held, less the sockets closed (dropped first for a new one's sake). */
static void drop_closed(struct service *s)
{
    size_t kept = 0;
    for (size_t j = 0; j < s->listener_count; j++)
        if (s->listeners[j].fd >= 0)
            s->listeners[kept++] = s->listeners[j];
        else
            free(s->listeners[j].spec);
    s->listener_count = kept;
    name_set(s);
}

/* The new set, compared socket by socket with the one held: a socket in both stays open as it
 * is (its backlog too), one dropped is closed, a new one opened, in the new set's order. */
const char *listen_set(struct service *s, char **specs, size_t count, char *error, size_t size)
{
    if (count > MAX_LISTEN) {
        snprintf(error, size, "bad request: at most %u sockets a service", MAX_LISTEN);
        return error;
    }
    size_t names_length = 1;
    for (size_t i = 0; i < count; i++) {
        const char *equals = strchr(specs[i], '=');
        if (equals == NULL || equals == specs[i] || (size_t)(equals - specs[i]) > 255 || memchr(specs[i], ':', (size_t)(equals - specs[i])) != NULL) {
            snprintf(error, size, "bad request: a socket is NAME=KIND:WHERE, NAME without ':'");
            return error;
        }
        names_length += (size_t)(equals - specs[i]) + 1;
    }
    if (count == 0) {
        listen_close(s, -1);
        return NULL;
    }
    struct listener *set = calloc(count, sizeof *set);
    char *names = malloc(names_length);
    bool made = set != NULL && names != NULL;
    for (size_t i = 0; made && i < count; i++)
        made = (set[i].spec = strdup(specs[i])) != NULL;
    /* from[i]: the socket held that new socket i is, or -1: it is to be opened. */
    int from[MAX_LISTEN];
    bool taken[MAX_LISTEN] = {false}, dropped = false;
    for (size_t i = 0; made && i < count; i++) {
        from[i] = -1;
        set[i].fd = -1;
        for (size_t j = 0; j < s->listener_count && from[i] < 0; j++)
            if (!taken[j] && strcmp(where_of(s->listeners[j].spec), where_of(specs[i])) == 0) {
                taken[j] = true;
                from[i] = (int)j;
            }
    }
    /* A socket dropped where a new one binds goes first, or the new one could not bind (the same
     * unix path in another mode, a port from one address to another): an error cannot give it back. */
    for (size_t i = 0; made && i < count; i++)
        for (size_t j = 0; from[i] < 0 && j < s->listener_count; j++)
            if (!taken[j] && s->listeners[j].fd >= 0 && collide(where_of(s->listeners[j].spec), where_of(specs[i]))) {
                close_one(&s->listeners[j]);
                dropped = true;
            }
    const char *problem = made ? NULL : "out of memory";
    for (size_t i = 0; problem == NULL && i < count; i++)
        if (from[i] < 0 && (set[i].fd = open_one(where_of(specs[i]), &set[i], error, size)) < 0)
            problem = error;
    if (problem != NULL) {
        /* All or nothing: the new sockets go, the set held stays (less what went first). */
        for (size_t i = 0; set != NULL && i < count; i++) {
            if (made)
                close_one(&set[i]); /* one held is not in set yet: fd -1 */
            free(set[i].spec);
        }
        free(set);
        free(names);
        if (dropped)
            drop_closed(s);
        return problem;
    }
    for (size_t i = 0; i < count; i++)
        if (from[i] >= 0) {
            struct listener *held = &s->listeners[from[i]];
            char *spec = set[i].spec;
            set[i] = *held;
            set[i].spec = spec; /* its NAME may be another */
            held->fd = -1;
            held->path = NULL;
        }
    listen_close(s, -1); /* what is left of it: the sockets dropped */
    s->listeners = set;
    s->listener_count = count;
    s->listen_names = names;
    name_set(s);
    return NULL;
}
