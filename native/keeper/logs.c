/* Service logs. Output is cut into lines, each written as `TIMESTAMP LINE` to the
 * service's `current` (`TIMESTAMP [stderr] LINE` from a stderr pipe of its own), which
 * rotates by size (current → current.1 → … → current.KEEP). Nothing accumulates but a
 * partial line per stream (at most MAX_LINE). When the file cannot be
 * written — a full disk, a directory that cannot be made — lines are dropped and
 * counted, the server is told once, and a marker line says how many were lost as soon
 * as writing works again. A `current` deleted under the keeper is made again.
 *
 * Nothing planted in the way makes the keeper write elsewhere: the log root and the
 * service's directory are opened with O_DIRECTORY|O_NOFOLLOW (the directory must be
 * the keeper's own), and `current` and the rotated files are opened and renamed
 * relative to that checked directory, `current` with O_NOFOLLOW. The directory is
 * 0750 and the files 0640, of the service's group when the server names one
 * (`log-group`), so that the service's user can read its own logs and others cannot.
 *
 * Stdout mode, and a file log that echoes, hand each line to the console (console.c). */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Lines are gathered here and written with one system call per chunk of output. */
static char batch[256 * 1024];
static size_t batch_length;
static size_t batch_lines;
static char stamp[96];

/* How long a log that cannot be opened waits before the next try. */
#define RETRY_MS 1000

void log_configure(struct log *log, enum log_mode mode, const char *dir, const char *name, uint64_t max_size, unsigned keep, long long group)
{
    bool same = log->mode == mode && (mode != LOG_FILE || (log->dir != NULL && strcmp(log->dir, dir) == 0));
    if (!same) {
        log_close(log);
        log->mode = mode;
        if (mode == LOG_FILE)
            log->dir = strdup(dir);
    }
    if (log->name == NULL || strcmp(log->name, name) != 0) {
        free(log->name);
        log->name = strdup(name);
    }
    log->max_size = max_size;
    log->keep = keep;
    if (group >= 0 && (!log->has_group || log->group != (gid_t)group)) {
        log->has_group = true;
        log->group = (gid_t)group;
        if (log->fd >= 0) { /* opened again at the next line, and given to the group then */
            close(log->fd);
            log->fd = -1;
        }
    }
}

static void set_stamp(void)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void fail(struct log *log, int error)
{
    if (log->error != error)
        log->trouble_unsent = true;
    log->error = error;
    log->dropped_error = error;
}

/* Gives `fd` (the directory or a file of the log) the mode and, when one is named, the group it must have. */
static void set_owner(struct log *log, int fd, const struct stat *st, mode_t mode, const char *what)
{
    if (log->has_group && st->st_gid != log->group && fchown(fd, (uid_t)-1, log->group) != 0)
        complain("cannot give %s/%s to group %u: %s", log->dir, what, (unsigned)log->group, strerror(errno));
    if ((st->st_mode & 07777) != mode && fchmod(fd, mode) != 0)
        complain("cannot set the mode of %s/%s: %s", log->dir, what, strerror(errno));
}

/* The service's log directory, made if missing, opened without following a symlink at
 * it or at the log root; -1 (the failure recorded) when it cannot be, or is not ours. */
static int open_directory(struct log *log)
{
    if (log->dir == NULL) {
        fail(log, ENOMEM);
        return -1;
    }
    const char *slash = strrchr(log->dir, '/');
    char root[4096];
    snprintf(root, sizeof root, "%.*s", slash == log->dir ? 1 : (int)(slash - log->dir), log->dir);
    int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root_fd < 0) {
        fail(log, errno);
        return -1;
    }
    const char *name = slash + 1;
    if (mkdirat(root_fd, name, 0750) != 0 && errno != EEXIST) {
        fail(log, errno);
        close(root_fd);
        return -1;
    }
    int fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int error = errno;
    close(root_fd);
    if (fd < 0) {
        fail(log, error);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) { /* someone else's directory: whatever is in it is theirs to plant */
        fail(log, EPERM);
        close(fd);
        return -1;
    }
    set_owner(log, fd, &st, 0750, ".");
    return fd;
}

static bool open_current(struct log *log)
{
    int dir = open_directory(log);
    if (dir < 0)
        return false;
    /* O_NOFOLLOW: a symlink planted in a log directory must not make the keeper write elsewhere. */
    /* O_NONBLOCK: a FIFO planted as `current` must not stall the keeper (S_ISREG refuses it below). */
    int fd = openat(dir, "current", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0640);
    int error = errno;
    close(dir);
    if (fd < 0) {
        fail(log, error);
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(log, fstat(fd, &st) != 0 ? errno : EINVAL);
        close(fd);
        return false;
    }
    if (st.st_nlink != 1) { /* a hard link to someone else's file: not ours to write */
        fail(log, EMLINK);
        close(fd);
        return false;
    }
    set_owner(log, fd, &st, 0640, "current");
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        complain("cannot make %s/current blocking: %s", log->dir, strerror(errno));
    log->fd = fd;
    log->size = (uint64_t)st.st_size;
    return true;
}

static void rotate(struct log *log)
{
    char from[32], to[32];
    close(log->fd);
    log->fd = -1;
    int dir = open_directory(log);
    if (dir < 0)
        return; /* the next line finds out again, and says so */
    for (unsigned i = log->keep; i >= 1; i--) {
        if (i == 1)
            snprintf(from, sizeof from, "current");
        else
            snprintf(from, sizeof from, "current.%u", i - 1);
        snprintf(to, sizeof to, "current.%u", i);
        if (renameat(dir, from, dir, to) != 0 && errno != ENOENT)
            complain("cannot rotate %s/%s: %s", log->dir, from, strerror(errno));
    }
    if (log->keep == 0 && unlinkat(dir, "current", 0) != 0 && errno != ENOENT)
        complain("cannot remove %s/current: %s", log->dir, strerror(errno));
    close(dir);
}

static size_t count_lines(const char *data, size_t length)
{
    size_t n = 0;
    for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + length - p))) != NULL; p++)
        n++;
    return n;
}

/* Is the file still there? A `current` removed by hand is made again. */
static bool usable(struct log *log)
{
    if (log->fd >= 0) {
        struct stat st;
        if (fstat(log->fd, &st) == 0 && st.st_nlink > 0)
            return true;
        close(log->fd);
        log->fd = -1;
    }
    if (log->error != 0 && now_ms() < log->retry_at)
        return false;
    if (!open_current(log)) {
        log->retry_at = now_ms() + RETRY_MS;
        return false;
    }
    return true;
}

static bool write_all(int fd, const char *data, size_t length, size_t *written)
{
    *written = 0;
    while (*written < length) {
        ssize_t n = write(fd, data + *written, length - *written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        *written += (size_t)n;
    }
    return true;
}

static void clear_batch(void)
{
    batch_length = batch_lines = 0;
}

static void flush_file(struct log *log)
{
    if (batch_length == 0)
        return;
    size_t written;
    if (!usable(log)) {
        log->dropped += batch_lines;
        return clear_batch();
    }
    if (log->dropped > 0) { /* lines were lost: say so before the next ones */
        char marker[256];
        int n = snprintf(marker, sizeof marker, "%s[tend] %llu lines dropped (%s)\n", stamp, (unsigned long long)log->dropped,
                         strerror(log->error != 0 ? log->error : log->dropped_error));
        if (!write_all(log->fd, marker, (size_t)n, &written)) {
            fail(log, errno == 0 ? EIO : errno);
            log->dropped += batch_lines;
            return clear_batch();
        }
        log->size += written;
        log->dropped = 0;
    }
    if (!write_all(log->fd, batch, batch_length, &written)) {
        fail(log, errno == 0 ? EIO : errno);
        log->size += written;
        log->dropped += count_lines(batch + written, batch_length - written);
        return clear_batch();
    }
    log->size += written;
    log->error = 0;
    clear_batch();
}

static void flush(struct log *log)
{
    if (log->mode == LOG_FILE)
        flush_file(log);
    if (log->mode == LOG_STDOUT || log->console)
        console_flush();
}

/* One line, given in two parts (a partial line kept from before, and the rest); `echo`: to the console too, if the log goes there. */
static void add_line(struct log *log, enum log_stream stream, const char *a, size_t a_length, const char *b, size_t b_length, bool echo)
{
    if (echo && (log->mode == LOG_STDOUT || log->console))
        console_line(log->name != NULL ? log->name : "?", stream, a, a_length, b, b_length);
    if (log->mode != LOG_FILE)
        return;
    const char *marker = stream == STREAM_ERR ? "[stderr] " : "";
    size_t stamp_length = strlen(stamp), marker_length = strlen(marker);
    size_t length = stamp_length + marker_length + a_length + b_length + 1;
    if (batch_length + length > sizeof batch)
        flush_file(log);
    if (length > sizeof batch)
        return; /* cannot happen: lines are cut at MAX_LINE, far below the batch */
    char *p = batch + batch_length;
    memcpy(p, stamp, stamp_length);
    memcpy(p += stamp_length, marker, marker_length);
    memcpy(p += marker_length, a, a_length);
    memcpy(p += a_length, b, b_length);
    p[b_length] = '\n';
    batch_length += length;
    batch_lines++;
    /* Rotation is by line: a file ends between max_size and max_size + one line. */
    if (log->size + batch_length >= log->max_size) {
        flush_file(log);
        if (log->fd >= 0 && log->size >= log->max_size) {
            rotate(log);
            log->size = 0;
        }
    }
}

static void keep_partial(struct log *log, enum log_stream stream, const char *data, size_t length)
{
    if (length == 0)
        return;
    if (log->partial[stream] == NULL && (log->partial[stream] = malloc(MAX_LINE)) == NULL) {
        log->dropped++;
        return;
    }
    memcpy(log->partial[stream] + log->partial_length[stream], data, length);
    log->partial_length[stream] += length;
}

void log_output(struct log *log, enum log_stream stream, const char *data, size_t length)
{
    if (log->mode == LOG_NONE)
        return;
    set_stamp();
    size_t *partial_length = &log->partial_length[stream];
    while (length > 0) {
        const char *nl = memchr(data, '\n', length);
        size_t room = MAX_LINE - *partial_length;
        size_t take = nl == NULL ? length : (size_t)(nl - data);
        const char *partial = log->partial[stream] != NULL ? log->partial[stream] : "";
        if (nl != NULL && take <= room) {
            add_line(log, stream, partial, *partial_length, data, take, true);
            data += take + 1;
            length -= take + 1;
        } else if (nl == NULL && length < room) {
            keep_partial(log, stream, data, length);
            break;
        } else { /* longer than a line may be: cut at MAX_LINE */
            add_line(log, stream, partial, *partial_length, data, room, true);
            data += room;
            length -= room;
        }
        *partial_length = 0;
    }
    if (*partial_length == 0) {
        free(log->partial[stream]);
        log->partial[stream] = NULL;
    }
    flush(log);
}

/* A note is for the file: on the console, the server's own line says the same. */
void log_note(struct log *log, const char *text)
{
    if (log->mode != LOG_FILE)
        return;
    set_stamp();
    add_line(log, STREAM_OUT, "[tend] ", 7, text, strnlen(text, MAX_LINE), false); /* a note is a line too */
    flush(log);
}

/* A whole line from elsewhere than the pipes (a syslog message): to the file and, if the log goes there, the console. */
void log_line(struct log *log, const char *marker, const char *text, size_t length)
{
    if (log->mode == LOG_NONE)
        return;
    set_stamp();
    add_line(log, STREAM_OUT, marker, strlen(marker), text, length < MAX_LINE ? length : MAX_LINE, true);
    flush(log);
}

void log_close(struct log *log)
{
    if (log->fd >= 0)
        close(log->fd);
    free(log->dir);
    free(log->name);
    free(log->partial[STREAM_OUT]);
    free(log->partial[STREAM_ERR]);
    memset(log, 0, sizeof *log);
    log->fd = -1;
}
