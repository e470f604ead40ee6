/* The console: the keeper's stdout, which is the container's when the keeper is PID 1.
 * Lines of `log=stdout` services, of `log=file` services that echo (`log-console=1`),
 * of the server run with --server and the keeper's own complaints all go out here, one
 * writer, whole lines only, so that they never tear into each other.
 *
 * Text: `NAME: LINE`; stderr lines of a service that keeps stderr apart go to stderr.
 * JSON: one object a line on stdout, {"time","service","stream","line"}; bytes that are
 * not UTF-8 become U+FFFD, so every line is valid JSON whatever a service printed.
 *
 * With a server of its own the keeper owns its stdout (a container's log), and never
 * waits on it: writes that would block keep what is left, the main loop tries again,
 * and lines that find no room are dropped and counted, said once writing works again.
 * A console nobody reads (a paused terminal, a stuck log driver) costs lines, never
 * the keeper's reaping or its services. */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum console_format format = CONSOLE_TEXT;
/* Gathered by stream, written at console_flush: one system call per burst of output. */
static struct { char data[128 * 1024]; size_t length; } pending[2];
static bool nonblocking;
static unsigned long long dropped;

void console_set_format(enum console_format f)
{
    format = f;
}

static int fd_of(enum log_stream stream)
{
    return stream == STREAM_ERR && format == CONSOLE_TEXT ? STDERR_FILENO : STDOUT_FILENO;
}

void console_own(void)
{
    for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
            return complain("cannot make fd %d non-blocking: %s (a console nobody reads would stall the keeper)", fd, strerror(errno));
    }
    nonblocking = true;
}

static void write_out(enum log_stream stream)
{
    size_t at = 0;
    while (at < pending[stream].length) {
        ssize_t n = write(fd_of(stream), pending[stream].data + at, pending[stream].length - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN && nonblocking)
            break; /* the rest waits for the next try */
        if (n <= 0) {
            at = pending[stream].length; /* a console that is gone (EPIPE) loses lines, never the keeper */
            break;
        }
        at += (size_t)n;
    }
    memmove(pending[stream].data, pending[stream].data + at, pending[stream].length - at);
    pending[stream].length -= at;
}

void console_flush(void)
{
    write_out(STREAM_OUT);
    write_out(STREAM_ERR);
    if (dropped > 0 && pending[STREAM_OUT].length == 0) {
        char text[128];
        int n = snprintf(text, sizeof text, "%llu lines dropped: the console was not read", dropped);
        dropped = 0;
        console_line("tend-keeper", STREAM_OUT, text, (size_t)n, "", 0);
        write_out(STREAM_OUT);
    }
}

bool console_waiting(void)
{
    return pending[STREAM_OUT].length > 0 || pending[STREAM_ERR].length > 0;
}

static void put(enum log_stream stream, const char *data, size_t length)
{
    memcpy(pending[stream].data + pending[stream].length, data, length);
    pending[stream].length += length;
}

/* The length of the valid UTF-8 sequence at `p` (RFC 3629: no overlongs, no surrogates), 0 if none. */
static size_t utf8_length(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

/* `text` as the inside of a JSON string; at most 6 bytes of output per input byte. */
static void put_json_text(enum log_stream stream, const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    char escaped[8];
    for (size_t i = 0; i < length;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            escaped[0] = '\\', escaped[1] = (char)c;
            put(stream, escaped, 2), i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(escaped, sizeof escaped, "\\u%04x", c);
            put(stream, escaped, 6), i++;
        } else if (c < 0x80) {
            put(stream, (const char *)p + i, 1), i++;
        } else {
            size_t n = utf8_length(p + i, length - i);
            if (n == 0)
                put(stream, "\\ufffd", 6), i++;
            else
                put(stream, (const char *)p + i, n), i += n;
        }
    }
}

void console_line(const char *name, enum log_stream stream, const char *a, size_t a_length, const char *b, size_t b_length)
{
    enum log_stream into = format == CONSOLE_TEXT ? stream : STREAM_OUT;
    size_t name_length = strnlen(name, 255);
    /* The most a line can take: every byte escaped, and the object's frame around it. */
    size_t most = format == CONSOLE_TEXT ? name_length + a_length + b_length + 3 : 6 * (name_length + a_length + b_length) + 128;
    if (pending[into].length + most > sizeof pending[into].data)
        write_out(into);
    if (pending[into].length + most > sizeof pending[into].data) {
        dropped++; /* still full: the console is not read */
        return;
    }
    if (format == CONSOLE_TEXT) {
        put(into, name, name_length);
        put(into, ": ", 2);
        put(into, a, a_length);
        put(into, b, b_length);
        put(into, "\n", 1);
        return;
    }
    struct timespec ts;
    struct tm tm;
    char head[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(head, sizeof head, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"service\":\"", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    put(into, head, (size_t)n);
    put_json_text(into, name, name_length);
    put(into, stream == STREAM_ERR ? "\",\"stream\":\"stderr\",\"line\":\"" : "\",\"stream\":\"stdout\",\"line\":\"", 28);
    put_json_text(into, a, a_length);
    put_json_text(into, b, b_length);
    put(into, "\"}\n", 3);
}
