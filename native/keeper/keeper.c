/* The keeper's start-up and event loop: one thread, one epoll set, no blocking call but
 * epoll_wait. It accepts one server connection at a time, carries out its requests,
 * reaps every child (it is a child subreaper), and tells the server what happened as
 * the connection drains. docs/keeper-protocol.md is the contract. */
#include "keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* From a SIGTERM to SIGKILL for what still runs, unless the server sets another (`settings`). */
#define DEFAULT_GRACE_MS 8000
/* After the grace, how long the server has to finish before the keeper ends without it. */
#define AFTER_GRACE_MS 2000
#define IN_START 65536u
#define OUT_SIZE (256u * 1024u)
#define MAX_FIELDS 32768u

enum kind { K_LISTEN = 1, K_CLIENT, K_SIGNAL, K_INOTIFY, K_OUT, K_ERR, K_READY, K_EXEC, K_RELOAD_EXEC, K_NOTIFY, K_SERVER_OUT, K_SYSLOG, K_MAIN, K_SOCKET };

static struct services table;
static int epoll_fd = -1, signal_fd = -1, inotify_fd = -1, listen_fd = -1, client_fd = -1;
static const char *socket_path;
static struct { char *data; size_t length, capacity; } in;
static struct outbuf out;
static bool said_hello, table_sending, shutting_down, input_paused;
static uint32_t client_events; /* what epoll watches the connection for */
static size_t table_cursor;
static uint64_t next_seq = 1;
static int terminate_unsent; /* the signal to tell the server about, 0 for none */
static bool hangup_unsent;   /* a SIGHUP the server has not been told about */
static bool terminate_asked; /* the server was told to stop everything: if it goes, the keeper does it */
static bool stopping_alone;
static int64_t grace_ms = DEFAULT_GRACE_MS;
static int64_t stop_deadline = -1, give_up_at = -1; /* monotonic ms, -1: not armed */
static bool grace_ran_out;
static bool syslog_unsent;      /* the answer to the server's last `syslog` */
static char syslog_error[512];  /* its error, empty when there is none */
static struct field fields[MAX_FIELDS];

static void stop_alone(void);
static void watch_sockets(struct service *s, bool on);

/* The keeper's own lines are the console's too, `tend-keeper: TEXT` (or JSON): on stdout
 * with the server it runs (a container's one stream of tend's lines), else on stderr. */
void complain(const char *format, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    size_t length = n < 0 ? 0 : (size_t)n >= sizeof text ? sizeof text - 1 : (size_t)n;
    console_line("tend-keeper", server_wanted() ? STREAM_OUT : STREAM_ERR, text, length, "", 0);
    console_flush();
}

static int64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
int64_t now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

static void die(const char *what)
{
    complain("%s: %s", what, strerror(errno));
    exit(1);
}

static uint64_t tag(enum kind kind, size_t index)
{
    return ((uint64_t)kind << 32) | (uint32_t)index;
}

static bool watch(int fd, enum kind kind, size_t index, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.u64 = tag(kind, index)};
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &e) == 0)
        return true;
    complain("epoll_ctl: %s", strerror(errno));
    return false;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static const char *signal_name(int sig)
{
    static const char *const names[] = {
        [SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP",
        [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",
        [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2", [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
        [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
        [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
        [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR",
        [SIGSYS] = "SIGSYS",
    };
    static char other[16];
    if (sig > 0 && (size_t)sig < sizeof names / sizeof names[0] && names[sig] != NULL)
        return names[sig];
    snprintf(other, sizeof other, "SIG%d", sig);
    return other;
}

/* ---- telling the server ---- */

static void reply_error(const char *text)
{
    if (client_fd < 0 || !out_room(&out))
        return; /* a server that does not read loses error replies, never our memory */
    out_begin(&out, "error");
    out_field(&out, "message", text);
    out_end(&out);
}

/* `unknown`: a main taken after its spawn that was not the keeper's child: its parent reaped it. */
static void emit_exit(const struct service *s, pid_t pid, uint64_t seq, int status, bool unknown, bool reload)
{
    out_begin(&out, "exited");
    out_field(&out, "service", s->name);
    out_fieldf(&out, "pid", "%d", (int)pid);
    out_fieldf(&out, "seq", "%llu", (unsigned long long)seq);
    if (reload)
        out_field(&out, "role", "reload");
    if (unknown)
        out_field(&out, "unknown", "1");
    else if (WIFSIGNALED(status))
        out_field(&out, "signal", signal_name(WTERMSIG(status)));
    else
        out_fieldf(&out, "code", "%d", WEXITSTATUS(status));
    out_end(&out);
}

static void emit_exited(struct service *s)
{
    emit_exit(s, s->last_pid, s->last_seq, s->last_status, s->last_unknown, false);
}

/* Writes what the slot has pending, in the order the protocol promises. */
static void emit_pending(struct service *s)
{
    /* A reload command's news after the service's: a RELOADING=1 its command set off comes before its exit. */
    static const unsigned order[] = {P_SPAWNED, P_FAILED, P_REFUSED, P_MAIN, P_READY, P_NOTIFY, P_EXITED, P_LOG, P_RELOAD_SPAWNED, P_RELOAD_FAILED, P_RELOAD_EXITED, P_LISTENING, P_CONNECTION};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        unsigned what = order[i];
        if (!(s->pending & what))
            continue;
        if (!out_room(&out))
            return service_mark(&table, s, 0); /* the rest when the socket drains */
        s->pending &= ~what;
        switch (what) {
        case P_SPAWNED:
        case P_READY:
            out_begin(&out, what == P_SPAWNED ? "spawned" : "ready");
            out_field(&out, "service", s->name);
            out_fieldf(&out, "pid", "%d", (int)(what == P_SPAWNED ? s->spawned_pid : s->ready_pid));
            break;
        case P_FAILED:
            out_begin(&out, "spawn-failed");
            out_field(&out, "service", s->name);
            out_field(&out, "error", s->failure != NULL ? s->failure : "the spawn failed");
            break;
        case P_MAIN:
            out_begin(&out, "main");
            out_field(&out, "service", s->name);
            out_fieldf(&out, "pid", "%d", (int)s->taken_pid);
            break;
        case P_REFUSED:
            out_begin(&out, "main-refused");
            out_field(&out, "service", s->name);
            out_fieldf(&out, "pid", "%d", (int)s->refused_pid);
            out_field(&out, "error", s->refusal != NULL ? s->refusal : "was refused");
            break;
        case P_NOTIFY:
            out_begin(&out, "notify");
            out_field(&out, "service", s->name);
            out_fieldf(&out, "pid", "%d", (int)s->spawned_pid);
            if (s->notice_changed & 1)
                out_field(&out, "status", s->notice.status != NULL ? s->notice.status : "");
            if (s->notice_changed & 4)
                out_field(&out, "stopping", "1");
            if (s->notice_changed & 8)
                out_field(&out, "reloading", "1");
            if (s->notice_changed & 16)
                out_field(&out, "watchdog", "1");
            if (s->notice_changed & 32)
                out_field(&out, "reloaded", "1");
            s->notice_changed = 0;
            break;
        case P_EXITED:
            emit_exited(s);
            continue;
        case P_RELOAD_SPAWNED:
            out_begin(&out, "spawned");
            out_field(&out, "service", s->name);
            out_fieldf(&out, "pid", "%d", (int)s->reload.spawned_pid);
            out_field(&out, "role", "reload");
            break;
        case P_RELOAD_FAILED:
            out_begin(&out, "spawn-failed");
            out_field(&out, "service", s->name);
            out_field(&out, "error", s->reload.failure != NULL ? s->reload.failure : "the spawn failed");
            out_field(&out, "role", "reload");
            break;
        case P_RELOAD_EXITED:
            emit_exit(s, s->reload.exit_pid, s->reload.seq, s->reload.exit_status, false, true);
            continue;
        case P_LISTENING:
            out_begin(&out, "listening");
            out_field(&out, "service", s->name);
            out_fieldf(&out, "count", "%zu", s->listener_count);
            if (s->listen_error != NULL)
                out_field(&out, "error", s->listen_error);
            break;
        case P_CONNECTION:
            out_begin(&out, "connection");
            out_field(&out, "service", s->name);
            break;
        case P_LOG:
            out_begin(&out, "log-trouble");
            out_field(&out, "service", s->name);
            out_field(&out, "error", strerror(s->log.error != 0 ? s->log.error : s->log.dropped_error));
            s->log.trouble_unsent = false;
            break;
        }
        out_end(&out);
    }
}

/* One slot's lines of the table, a frame at a time: `part` 0 is its live process or its
 * unacknowledged exit, 1 its reload command. */
static void emit_table_entry(struct service *s, int part)
{
    if (s->name == NULL)
        return;
    if (part == 1) {
        if (s->reload.pid == 0)
            return;
        out_begin(&out, "proc");
        out_field(&out, "service", s->name);
        out_field(&out, "role", "reload");
        out_fieldf(&out, "pid", "%d", (int)s->reload.pid);
        out_fieldf(&out, "since", "%lld", (long long)s->reload.since);
        out_field(&out, "ready", "0");
        out_end(&out);
        s->pending &= ~(unsigned)P_RELOAD_SPAWNED;
        return;
    }
    if (service_live(s)) { /* an exec not yet confirmed too: a spawn-failed follows if it fails */
        out_begin(&out, "proc");
        out_field(&out, "service", s->name);
        out_field(&out, "role", s->role);
        out_fieldf(&out, "pid", "%d", (int)(s->pid != 0 ? s->pid : s->exit_pid));
        out_fieldf(&out, "since", "%lld", (long long)s->since);
        out_field(&out, "ready", s->ready ? "1" : "0");
        out_end(&out);
        s->pending &= ~(unsigned)(P_SPAWNED | P_READY | P_MAIN);
    } else if (!service_live(s) && s->last_seq != 0 && !s->last_acked) {
        emit_exited(s);
        s->pending &= ~(unsigned)P_EXITED;
    }
}

static void fill(void)
{
    while (said_hello && out_room(&out)) {
        if (table_sending) {
            if (table_cursor < 2 * table.count) {
                emit_table_entry(&table.slots[table_cursor / 2], (int)(table_cursor % 2));
                table_cursor++;
                continue;
            }
            out_begin(&out, "table-end");
            out_end(&out);
            table_sending = false;
            continue;
        }
        if (hangup_unsent) {
            out_begin(&out, "hangup");
            out_end(&out);
            hangup_unsent = false;
            continue;
        }
        if (syslog_unsent) {
            out_begin(&out, "syslog");
            if (syslog_path() != NULL)
                out_field(&out, "path", syslog_path());
            if (syslog_error[0] != '\0')
                out_field(&out, "error", syslog_error);
            out_end(&out);
            syslog_unsent = false;
            continue;
        }
        if (terminate_unsent != 0) {
            out_begin(&out, "terminate");
            out_field(&out, "signal", signal_name(terminate_unsent));
            out_end(&out);
            terminate_unsent = 0;
            terminate_asked = true;
            continue;
        }
        if (table.queue_length == 0)
            break;
        struct service *s = &table.slots[table.queue[table.queue_head]];
        table.queue_head = (table.queue_head + 1) % table.capacity;
        table.queue_length--;
        s->queued = false;
        if (s->name != NULL)
            emit_pending(s);
    }
}

static void drop_client(const char *why)
{
    if (client_fd < 0)
        return;
    if (why != NULL)
        complain("server connection closed: %s", why);
    close_fd(&client_fd);
    said_hello = table_sending = input_paused = false;
    client_events = 0;
    in.length = out.length = 0;
    if (terminate_asked || terminate_unsent != 0)
        stop_alone(); /* it was to stop everything and is gone: the keeper does it */
}

static void flush_client(void)
{
    if (client_fd < 0)
        return;
    fill();
    size_t sent = 0;
    while (sent < out.length) {
        ssize_t n = send(client_fd, out.data + sent, out.length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0)
            return drop_client(strerror(errno));
        sent += (size_t)n;
        if (sent == out.length) { /* room again: more may be pending */
            out.length = sent = 0;
            fill();
        }
    }
    memmove(out.data, out.data + sent, out.length - sent);
    out.length -= sent;
    /* Paused, it waits for EPOLLOUT to read again, even when the buffer emptied meanwhile. */
    uint32_t events = (input_paused ? 0 : EPOLLIN) | (out.length > 0 || input_paused ? EPOLLOUT : 0);
    if (events != client_events) {
        struct epoll_event e = {.events = events, .data.u64 = tag(K_CLIENT, 0)};
        if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, client_fd, &e) != 0)
            complain("epoll_ctl: %s", strerror(errno));
        client_events = events;
    }
}

/* ---- processes ---- */

/* A spawn-failed for the service's process, or for its reload command. */
static void fail_spawn(struct service *s, bool reload, const char *text)
{
    char **failure = reload ? &s->reload.failure : &s->failure;
    free(*failure);
    *failure = strdup(text);
    service_mark(&table, s, reload ? P_RELOAD_FAILED : P_FAILED);
}

/* Reads what is in one of the service's pipes now. */
static void read_pipe(struct service *s, int fd, enum log_stream stream, bool drain)
{
    static char chunk[65536];
    for (int round = 0; fd >= 0 && (drain ? round < 64 : round < 1); round++) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        log_output(&s->log, stream, chunk, (size_t)n);
    }
    if (s->log.trouble_unsent)
        service_mark(&table, s, P_LOG);
}

/* Reads what is in the service's output pipes now (its lines reach the log before its exit is told). */
static void read_output(struct service *s, bool drain)
{
    read_pipe(s, s->out_read, STREAM_OUT, drain);
    read_pipe(s, s->err_read, STREAM_ERR, drain);
}

static void finish_exit(struct service *s)
{
    s->finishing = false;
    read_output(s, true);
    s->last_pid = s->exit_pid;
    s->last_status = s->exit_status;
    s->last_unknown = s->exit_unknown;
    s->last_seq = next_seq++;
    s->last_acked = false;
    service_mark(&table, s, P_EXITED);
}

/* The exec status pipe: tells whether the process is running its program. */
static void take_exec_outcome(struct service *s)
{
    char error[512];
    int outcome = spawn_outcome(s->exec_fd, s->program != NULL ? s->program : "exec", error, sizeof error);
    if (outcome < 0)
        return;
    close_fd(&s->exec_fd);
    if (outcome == 0) {
        s->spawned_pid = s->pid;
        service_mark(&table, s, P_SPAWNED);
        return;
    }
    /* Told once the child is reaped: until then the service still has a process. */
    s->exec_failed = true;
    free(s->failure);
    s->failure = strdup(error);
}

/* `known`: the keeper reaped it; a main taken after its spawn that was not its child
 * was reaped by its parent, which kept its status. */
static void process_ended(struct service *s, pid_t pid, int status, bool known)
{
    if (s->exec_fd >= 0)
        take_exec_outcome(s); /* the child is gone: its pipe holds the whole story */
    close_fd(&s->ready_fd);
    close_fd(&s->main_fd);
    s->pid = 0;
    if (s->exec_failed) { /* a spawn-failed, not an exit */
        s->exec_failed = false;
        service_mark(&table, s, P_FAILED);
        return;
    }
    s->exit_pid = pid;
    s->exit_status = status;
    s->exit_unknown = !known;
    if (s->kill_rest) {
        s->finishing = true; /* until the rest of its tree is gone */
        tree_kill(s);
        if (s->events_wd >= 0 && tree_populated(s))
            return; /* done when cgroup.events says "populated 0" */
    }
    finish_exit(s);
}

/* The reload command's exec status pipe, as take_exec_outcome reads the service's. */
static void take_reload_exec_outcome(struct service *s)
{
    char error[512];
    int outcome = spawn_outcome(s->reload.exec_fd, "the reload command", error, sizeof error);
    if (outcome < 0)
        return;
    close_fd(&s->reload.exec_fd);
    if (outcome == 0) {
        s->reload.spawned_pid = s->reload.pid;
        service_mark(&table, s, P_RELOAD_SPAWNED);
        return;
    }
    s->reload.exec_failed = true;
    free(s->reload.failure);
    s->reload.failure = strdup(error);
}

/* The reload command ended: its exit is told (it is not kept for a next server's table). */
static void reload_ended(struct service *s, pid_t pid, int status)
{
    if (s->reload.exec_fd >= 0)
        take_reload_exec_outcome(s);
    s->reload.pid = 0;
    if (s->reload.exec_failed) {
        s->reload.exec_failed = false;
        service_mark(&table, s, P_RELOAD_FAILED);
        return;
    }
    read_output(s, true);
    s->reload.exit_pid = pid;
    s->reload.exit_status = status;
    s->reload.seq = next_seq++;
    service_mark(&table, s, P_RELOAD_EXITED);
}

static void reap(void)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return; /* no child left to reap (ECHILD), or none has changed */
        if (server_reaped(pid, status, shutting_down)) {
            if (server_ended())
                shutting_down = true; /* a first server that never connected: there is nothing to keep */
            continue;
        }
        struct service *s = service_by_pid(&table, pid);
        if (s != NULL)
            process_ended(s, pid, status, true);
        else if ((s = service_by_reload(&table, pid)) != NULL)
            reload_ended(s, pid, status);
        else /* an orphan reparented to the keeper, now reaped; maybe a main that was replaced */
            for (size_t i = 0; i < table.count; i++)
                if (table.slots[i].name != NULL && table.slots[i].former == pid)
                    table.slots[i].former = 0;
    }
}

static bool any_live(void)
{
    for (size_t i = 0; i < table.count; i++)
        if (table.slots[i].name != NULL && service_busy(&table.slots[i]))
            return true;
    return false;
}

/* The stop grace starts with the first SIGTERM (or SIGINT), whoever carries out the stop. */
static void arm_grace(void)
{
    if (stop_deadline < 0)
        stop_deadline = now_ms() + grace_ms;
}

/* SIGTERM with no server connected: stop everything ourselves, then exit. */
static void stop_alone(void)
{
    shutting_down = true;
    arm_grace();
    if (stopping_alone)
        return;
    stopping_alone = true;
    for (size_t i = 0; i < table.count; i++) {
        struct service *s = &table.slots[i];
        if (s->name != NULL && s->pid != 0 && kill(-s->pid, SIGTERM) != 0)
            kill(s->pid, SIGTERM);
        if (s->name != NULL && s->reload.pid != 0 && kill(-s->reload.pid, SIGTERM) != 0)
            kill(s->reload.pid, SIGTERM);
    }
}

/* ---- requests ---- */

static bool valid_role(const char *role)
{
    static const char *const roles[] = {"main", "launcher", "pre-start", "up", "down", "post-stop", "reload"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

static const char *path_of(const struct message *m)
{
    for (size_t i = 0; i < m->count; i++)
        if (strncmp(m->fields[i].key, "env=", 4) == 0 && strncmp(m->fields[i].value, "PATH=", 5) == 0)
            return m->fields[i].value + 5;
    return "/usr/local/bin:/usr/bin:/bin";
}

static size_t count_key(const struct message *m, const char *key)
{
    size_t n = 0, length = strlen(key);
    for (size_t i = 0; i < m->count; i++)
        n += strncmp(m->fields[i].key, key, length) == 0 && m->fields[i].key[length] == '=';
    return n;
}

/* Collects every value of `key` into a NULL-terminated array (pointers into the message). */
static char **values_of(const struct message *m, const char *key)
{
    size_t n = count_key(m, key), length = strlen(key), j = 0;
    char **list = calloc(n + 1, sizeof *list);
    for (size_t i = 0; list != NULL && i < m->count; i++)
        if (strncmp(m->fields[i].key, key, length) == 0 && m->fields[i].key[length] == '=')
            list[j++] = (char *)m->fields[i].value;
    return list;
}

static bool parse_limit(const char *text, struct spawn_request *r)
{
    char name[16];
    const char *colon = strchr(text, ':');
    if (colon == NULL || (size_t)(colon - text) >= sizeof name || r->limit_count == sizeof r->limits / sizeof r->limits[0])
        return false;
    memcpy(name, text, (size_t)(colon - text));
    name[colon - text] = '\0';
    int resource = spawn_resource(name);
    if (resource < 0)
        return false;
    rlim_t values[2];
    const char *p = colon + 1;
    for (int i = 0; i < 2; i++) {
        if (strncmp(p, "unlimited", 9) == 0) {
            values[i] = RLIM_INFINITY;
            p += 9;
        } else {
            if (*p < '0' || *p > '9') /* strtoull would take blanks and a sign */
                return false;
            char *end;
            errno = 0;
            unsigned long long v = strtoull(p, &end, 10);
            if (errno != 0)
                return false;
            values[i] = (rlim_t)v;
            p = end;
        }
        if (i == 0 && *p++ != ':')
            return false;
    }
    if (*p != '\0')
        return false;
    r->limits[r->limit_count].resource = resource;
    r->limits[r->limit_count].value = (struct rlimit){values[0], values[1]};
    r->limit_count++;
    return true;
}

/* The output pipe (K_OUT) or the stderr pipe (K_ERR) of a service, made once and kept
 * for its life, its read end watched; NULL or what is wrong. */
static const char *keep_pipe(struct service *s, enum kind kind, int *read_end, int *write_end)
{
    if (*read_end >= 0)
        return NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return kind == K_OUT ? "cannot make the output pipe" : "cannot make the stderr pipe";
    if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0 || !watch(p[0], kind, service_index(&table, s), EPOLLIN)) {
        close(p[0]);
        close(p[1]);
        return kind == K_OUT ? "cannot watch the output pipe" : "cannot watch the stderr pipe";
    }
    *read_end = p[0];
    *write_end = p[1];
    return NULL;
}

/* log= (present), log-dir=, log-size=, log-keep=, log-group=, log-console= into `log`, named
 * `name` on the console; NULL or what is wrong. */
static const char *set_log(struct log *log, const char *name, const struct message *m)
{
    const char *mode = message_get(m, "log");
    long long size = 1 << 20, keep = 5, group = -1;
    if (strcmp(mode, "none") == 0) {
        log_configure(log, LOG_NONE, NULL, name, 0, 0, -1);
    } else if (strcmp(mode, "stdout") == 0) {
        log_configure(log, LOG_STDOUT, NULL, name, 0, 0, -1);
    } else if (strcmp(mode, "file") == 0) {
        const char *dir = message_get(m, "log-dir");
        if (dir == NULL || dir[0] != '/' || strrchr(dir, '/')[1] == '\0')
            return "log=file needs an absolute log-dir";
        if ((message_get(m, "log-size") != NULL && !message_number(m, "log-size", 1, 1LL << 50, &size)) ||
            (message_get(m, "log-keep") != NULL && !message_number(m, "log-keep", 0, 1000, &keep)) ||
            (message_get(m, "log-group") != NULL && !message_number(m, "log-group", 0, 0xfffffffe, &group)))
            return "bad log-size, log-keep or log-group";
        log_configure(log, LOG_FILE, dir, name, (uint64_t)size, (unsigned)keep, group);
        log->console = message_get(m, "log-console") != NULL && strcmp(message_get(m, "log-console"), "1") == 0;
    } else {
        return "log is none, stdout or file";
    }
    return NULL;
}

/* The log fields of a spawn or a note, and the output pipe a log needs; NULL or what is wrong. */
static const char *configure_log(struct service *s, const struct message *m)
{
    if (message_get(m, "log") == NULL)
        return NULL;
    const char *problem = set_log(&s->log, s->name, m);
    if (problem == NULL && s->log.mode != LOG_NONE)
        return keep_pipe(s, K_OUT, &s->out_read, &s->out_write);
    return problem;
}

static bool good_name(const char *name)
{
    if (name != NULL && name[0] != '\0' && strlen(name) <= 255)
        return true;
    reply_error("a service name of 1 to 255 bytes is needed");
    return false;
}

static struct service *named(const struct message *m, bool create)
{
    const char *name = message_get(m, "service");
    if (!good_name(name))
        return NULL;
    struct service *s = service_find(&table, name);
    if (s == NULL && create && (s = service_add(&table, name)) == NULL)
        reply_error("out of memory");
    return s;
}

/* Replaces the slot's copy of a string field. */
static bool keep_copy(char **slot, const char *value)
{
    if (*slot != NULL && value != NULL && strcmp(*slot, value) == 0)
        return true;
    free(*slot);
    *slot = value == NULL ? NULL : strdup(value);
    return value == NULL || *slot != NULL;
}

static const char *prepare_notify(struct service *s, const struct message *m, const struct spawn_request *r, char *error, size_t size)
{
    const char *path = message_get(m, "notify");
    if (path == NULL || (s->notify_fd >= 0 && strcmp(s->notify_path, path) != 0)) {
        close_fd(&s->notify_fd);
        if (s->notify_path != NULL)
            unlink(s->notify_path);
        keep_copy(&s->notify_path, NULL);
    }
    if (path == NULL || s->notify_fd >= 0)
        return NULL;
    s->notify_fd = notify_open(path, r->set_ids, r->uid, r->gid, error, size);
    if (s->notify_fd < 0)
        return error;
    if (!keep_copy(&s->notify_path, path) || !watch(s->notify_fd, K_NOTIFY, service_index(&table, s), EPOLLIN)) {
        close_fd(&s->notify_fd);
        unlink(path);
        return "cannot watch the notify socket";
    }
    return NULL;
}

/* A service that is not root may open /dev/stdout and /dev/stderr (its pipes, reopened
 * through /proc) only if the pipes are its own: a pipe is its maker's, mode 0600. */
static void give_pipes(const struct spawn_request *r)
{
    int fds[] = {r->out_fd, r->err_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0 && fchown(fds[i], r->uid, r->gid) != 0)
            complain("cannot give the output pipe to uid %u: %s (the service cannot open /dev/stdout)", (unsigned)r->uid, strerror(errno));
}

/* Starts the process a spawn asks for: the service's own, or its reload command beside it.
 * NULL when it runs, else why it does not (`error` may hold the text). */
static const char *start_process(struct service *s, const struct message *m, bool reload, char *error, size_t error_size)
{
    if (reload ? s->reload.pid != 0 : service_live(s)) {
        pid_t pid = reload ? s->reload.pid : s->pid != 0 ? s->pid : s->exit_pid;
        snprintf(error, error_size, reload ? "a reload command of this service is still running (pid %d)" : "a process of this service is still running (pid %d)", (int)pid);
        return error;
    }
    if (shutting_down)
        return "the keeper is shutting down";
    const char *file = message_get(m, "file");
    long long number;
    struct spawn_request r = {.cwd = "/", .umask = 022, .ready_fd = -1, .out_fd = -1, .err_fd = -1, .cgroup_procs = -1};
    if (file == NULL || file[0] == '\0' || count_key(m, "arg") == 0)
        return "bad request: file and at least one arg are needed";
    if (message_get(m, "cwd") != NULL)
        r.cwd = message_get(m, "cwd");
    const char *mask = message_get(m, "umask");
    if (mask != NULL) {
        char *end;
        unsigned long v = strtoul(mask, &end, 8);
        if (*mask == '\0' || *end != '\0' || v > 0777)
            return "bad request: umask is octal, at most 777";
        r.umask = (mode_t)v;
    }
    if (message_get(m, "uid") != NULL || message_get(m, "gid") != NULL) {
        long long uid, gid;
        if (!message_number(m, "uid", 0, 0xfffffffeLL, &uid) || !message_number(m, "gid", 0, 0xfffffffeLL, &gid))
            return "bad request: uid and gid come together, as numbers";
        r.set_ids = true;
        r.uid = (uid_t)uid;
        r.gid = (gid_t)gid;
    }
    r.nnp = message_get(m, "nnp") != NULL && strcmp(message_get(m, "nnp"), "1") == 0;
    for (size_t i = 0; i < m->count; i++)
        if (strncmp(m->fields[i].key, "limit=", 6) == 0 && !parse_limit(m->fields[i].value, &r))
            return "bad request: limit is NAME:SOFT:HARD";
    /* A reload command reports nothing but its exit: readiness and sd_notify are its service's. */
    if (!reload && message_get(m, "ready-fd") != NULL) {
        if (!message_number(m, "ready-fd", 3, 1023, &number))
            return "bad request: ready-fd is a number from 3 to 1023";
        r.ready_fd = (int)number;
    }
    const char *stderr_mode = message_get(m, "stderr");
    if (stderr_mode != NULL && strcmp(stderr_mode, "apart") != 0)
        return "bad request: stderr is apart, or absent for with stdout";
    const char *problem = configure_log(s, m);
    if (problem != NULL)
        return problem;
    bool apart = stderr_mode != NULL && s->log.mode != LOG_NONE;
    if (apart && (problem = keep_pipe(s, K_ERR, &s->err_read, &s->err_write)) != NULL)
        return problem;
    const char *cgroup = message_get(m, "cgroup");
    if (s->cgroup_dir >= 0 && (cgroup == NULL || strcmp(cgroup, s->cgroup) != 0)) {
        if (reload)
            return "bad request: a reload command runs in its service's cgroup";
        tree_remove(s, inotify_fd); /* the old cgroup goes while its name is still known */
    }
    for (size_t i = 0; cgroup != NULL && i < table.count; i++)
        if (&table.slots[i] != s && table.slots[i].cgroup != NULL && table.slots[i].name != NULL && strcmp(table.slots[i].cgroup, cgroup) == 0)
            return "bad request: another service has this cgroup";
    if (!keep_copy(&s->cgroup, cgroup))
        return "out of memory";
    char resolved[4096];
    if (!spawn_resolve(file, path_of(m), resolved, sizeof resolved)) {
        snprintf(error, error_size, "%s: no such program", file);
        return error;
    }
    if (s->cgroup != NULL && tree_prepare(s, inotify_fd, error, error_size) != 0)
        return error;
    if (!reload && (problem = prepare_notify(s, m, &r, error, error_size)) != NULL)
        return problem;
    r.file = resolved;
    r.argv = values_of(m, "arg");
    r.envp = values_of(m, "env");
    /* The listening sockets go to the service's main command (a forking daemon's launcher too), as sd_listen_fds(3) reads them. */
    const char *role = message_get(m, "role");
    int listen_fds[MAX_LISTEN];
    char count_env[32], pid_env[40] = "LISTEN_PID=", *names_env = NULL;
    bool passes = !reload && (strcmp(role, "main") == 0 || strcmp(role, "launcher") == 0);
    /* `listen=N`: the server's set has N sockets; without them all the service is not to run (a port
     * in use). A set that could not be installed leaves the one held before: not the server's either. */
    if (passes && message_get(m, "listen") != NULL && (s->listen_error != NULL || !message_number(m, "listen", 0, MAX_LISTEN, &number) || (size_t)number != s->listener_count)) {
        free(r.argv);
        free(r.envp);
        if (s->listen_error != NULL)
            snprintf(error, error_size, "cannot listen: %s", s->listen_error);
        else
            snprintf(error, error_size, "bad request: listen=%s, and the keeper holds %zu sockets for it", message_get(m, "listen"), s->listener_count);
        return error;
    }
    if (passes)
        watch_sockets(s, false); /* its own now: level-triggered, a waiting connection would wake the keeper for good */
    if (passes && s->listener_count > 0) {
        if (r.ready_fd >= 0 && r.ready_fd < 3 + (int)s->listener_count) {
            free(r.argv);
            free(r.envp);
            snprintf(error, error_size, "bad request: ready-fd %d is one of the listening sockets' (3 to %zu)", r.ready_fd, 2 + s->listener_count);
            return error;
        }
        for (size_t i = 0; i < s->listener_count; i++)
            listen_fds[i] = s->listeners[i].fd;
        r.listen_fds = listen_fds;
        r.listen_count = s->listener_count;
        r.listen_pid = pid_env + strlen(pid_env);
        snprintf(count_env, sizeof count_env, "LISTEN_FDS=%zu", s->listener_count);
        names_env = malloc(strlen(s->listen_names) + sizeof "LISTEN_FDNAMES=");
        char **envp = calloc(count_key(m, "env") + 4, sizeof *envp);
        if (names_env == NULL || envp == NULL || r.envp == NULL) {
            free(envp);
            free(r.envp);
            r.envp = NULL; /* out of memory, said below */
        } else {
            sprintf(names_env, "LISTEN_FDNAMES=%s", s->listen_names);
            size_t n = 0;
            for (char **e = r.envp; *e != NULL; e++)
                if (strncmp(*e, "LISTEN_FDS=", 11) != 0 && strncmp(*e, "LISTEN_PID=", 11) != 0 && strncmp(*e, "LISTEN_FDNAMES=", 15) != 0)
                    envp[n++] = *e;
            envp[n++] = count_env;
            envp[n++] = pid_env;
            envp[n++] = names_env;
            free(r.envp);
            r.envp = envp;
        }
    }
    size_t group_count = count_key(m, "group");
    r.groups = calloc(group_count + 1, sizeof *r.groups);
    for (size_t i = 0, j = 0; r.groups != NULL && i < m->count; i++) {
        if (strncmp(m->fields[i].key, "group=", 6) != 0)
            continue;
        const char *v = m->fields[i].value;
        char *end;
        errno = 0;
        unsigned long long g = strtoull(v, &end, 10);
        if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || g > 0xfffffffeULL)
            continue; /* counted below as bad */
        r.groups[j++] = (gid_t)g;
        r.group_count = j;
    }
    r.out_fd = s->log.mode == LOG_NONE ? -1 : s->out_write;
    r.err_fd = apart ? s->err_write : -1;
    if (r.set_ids)
        give_pipes(&r);
    r.cgroup_procs = tree_procs_fd(s);
    struct spawned child;
    bool ok = r.argv != NULL && r.envp != NULL && r.groups != NULL && r.group_count == group_count;
    if (!ok)
        snprintf(error, error_size, r.group_count != group_count ? "bad request: a group is not a number" : "out of memory");
    else if (s->cgroup_dir >= 0 && r.cgroup_procs < 0)
        snprintf(error, error_size, "cannot open the cgroup's cgroup.procs: %s", strerror(errno)), ok = false;
    else
        ok = spawn_process(&r, &child, error, error_size);
    free(r.argv);
    free(r.envp);
    free(names_env);
    free(r.groups);
    close_fd(&r.cgroup_procs);
    if (!ok)
        return error;
    size_t index = service_index(&table, s);
    if (reload) {
        s->reload.pid = child.pid;
        s->reload.since = wall_ms();
        s->reload.exec_fd = child.exec_fd;
        s->reload.exec_failed = false;
        if (!watch(s->reload.exec_fd, K_RELOAD_EXEC, index, EPOLLIN))
            take_reload_exec_outcome(s);
        return NULL;
    }
    s->pid = s->leader = child.pid;
    s->former = 0;
    close_fd(&s->main_fd);
    s->since = wall_ms();
    snprintf(s->role, sizeof s->role, "%s", message_get(m, "role"));
    s->ready = s->exec_failed = false;
    s->kill_rest = message_get(m, "kill-rest") != NULL && strcmp(message_get(m, "kill-rest"), "1") == 0;
    s->exec_fd = child.exec_fd;
    s->ready_fd = child.ready_fd;
    keep_copy(&s->program, file);
    free(s->notice.status);
    s->notice = (struct notice){.mainpid = -1};
    s->notice_changed = 0;
    if (!watch(s->exec_fd, K_EXEC, index, EPOLLIN))
        take_exec_outcome(s); /* cannot wait for it: it will be read when the child is reaped */
    if (s->ready_fd >= 0 && !watch(s->ready_fd, K_READY, index, EPOLLIN))
        close_fd(&s->ready_fd);
    return NULL;
}

static void handle_spawn(const struct message *m)
{
    struct service *s = named(m, true);
    if (s == NULL)
        return;
    const char *role = message_get(m, "role");
    if (role == NULL || !valid_role(role))
        return fail_spawn(s, false, "bad request: role is main, launcher, pre-start, up, down, post-stop or reload");
    bool reload = strcmp(role, "reload") == 0;
    char error[512];
    const char *problem = start_process(s, m, reload, error, sizeof error);
    if (problem != NULL)
        fail_spawn(s, reload, problem);
}

/* ---- a main process named after the spawn ---- */

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* Takes `pid` as the service's main process: a forking daemon's, which its pid file
 * names once its launcher has exited, or the one sd_notify MAINPID= names. A pid file
 * the service's user may write can name any process: it must be running and of the
 * service's tree. NULL, or why not in words that follow "which" (`is not running`). */
static const char *take_main(struct service *s, pid_t pid, char *why, size_t size)
{
    if (s->finishing || (s->pid != 0 && strcmp(s->role, "main") != 0)) {
        snprintf(why, size, "cannot be %s's main while its %s runs", s->name, s->finishing ? "last main ends and" : s->role);
        return why;
    }
    struct service *other = service_by_pid(&table, pid);
    if (other != NULL) {
        snprintf(why, size, "is %s's %s process", other->name, other->role);
        return why;
    }
    if ((other = service_by_reload(&table, pid)) != NULL) {
        snprintf(why, size, "is %s's reload command", other->name);
        return why;
    }
    /* Opened first: from then on the number names this process, whatever happens to it. */
    int fd = open_pidfd(pid);
    if (fd < 0 && errno == ESRCH)
        return "is not running";
    if (!tree_owns(&table, s, pid)) {
        if (fd >= 0)
            close(fd);
        snprintf(why, size, "is not a process of %s", s->name);
        return why;
    }
    /* The keeper's child (a launcher's daemon, reparented to its subreaper) is reaped
     * here; another (a child of the main that named it) is watched by its pidfd. */
    siginfo_t info = {0};
    bool child = waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
    if (child && info.si_pid == pid) { /* it has ended already: its reaping is near */
        if (fd >= 0)
            close(fd);
        return "is not running";
    }
    if (!child && fd < 0) {
        snprintf(why, size, "is not the keeper's child, and this kernel cannot watch it (pidfd_open: %s)", strerror(errno));
        return why;
    }
    if (child && fd >= 0)
        close(fd);
    if (!child && !watch(fd, K_MAIN, service_index(&table, s), EPOLLIN)) {
        close(fd);
        return "cannot be watched (epoll_ctl failed)";
    }
    s->main_fd = child ? -1 : fd;
    s->former = s->pid; /* the main it replaces lives on as one more of the service's processes */
    s->pid = pid;
    snprintf(s->role, sizeof s->role, "main");
    s->kill_rest = true; /* the rest of the tree goes with it, as with any longrun's main */
    s->since = wall_ms();
    if (s->pending & P_READY)
        s->ready_pid = pid; /* readiness said of the service's run holds for its main */
    s->taken_pid = pid;
    service_mark(&table, s, P_MAIN);
    return NULL;
}

/* `main` asked, or MAINPID= said: taken, or refused with the reason (main-refused). */
static void consider_main(struct service *s, long long pid)
{
    char why[400];
    if (pid == s->pid)
        return; /* MAINPID= naming the main itself */
    const char *problem = pid <= 0 || pid > 0x7fffffff ? "is not a process id" : take_main(s, (pid_t)pid, why, sizeof why);
    if (problem == NULL)
        return;
    free(s->refusal);
    s->refusal = strdup(problem);
    s->refused_pid = (pid_t)(pid <= 0 || pid > 0x7fffffff ? 0 : pid);
    service_mark(&table, s, P_REFUSED);
}

static void handle_main(const struct message *m)
{
    long long pid;
    struct service *s = named(m, false);
    if (s == NULL)
        return reply_error("main: the keeper knows no such service");
    if (!message_number(m, "pid", 1, 0x7fffffff, &pid))
        return reply_error("main needs a pid from 1 to 2147483647");
    consider_main(s, pid);
}

static void handle_signal(const struct message *m)
{
    long long sig;
    struct service *s = named(m, false);
    if (s == NULL)
        return;
    if (!message_number(m, "signal", 1, 64, &sig))
        return reply_error("signal is a number from 1 to 64");
    const char *to = message_get(m, "to");
    bool main_only = to != NULL && strcmp(to, "main") == 0, reload = to != NULL && strcmp(to, "reload") == 0;
    if (to != NULL && !main_only && !reload)
        return reply_error("to is main or reload, or absent for the process group");
    if (sig == SIGKILL && to == NULL) /* with no process too: what a oneshot's up left behind */
        return tree_kill(s);
    pid_t pid = reload ? s->reload.pid : s->pid;
    if (pid == 0)
        return;
    if ((main_only || kill(-pid, (int)sig) != 0) && kill(pid, (int)sig) != 0 && errno != ESRCH)
        complain("cannot signal %s (%d): %s", s->name, (int)pid, strerror(errno));
}

static void handle_note(const struct message *m)
{
    const char *text = message_get(m, "text");
    struct service *s = named(m, message_get(m, "log") != NULL);
    if (s == NULL)
        return;
    if (text == NULL)
        return reply_error("a note needs text");
    const char *problem = configure_log(s, m);
    if (problem != NULL)
        return reply_error(problem);
    log_note(&s->log, text);
    if (s->log.trouble_unsent)
        service_mark(&table, s, P_LOG);
}

static void handle_forget(const struct message *m)
{
    struct service *s = named(m, false);
    if (s == NULL)
        return;
    if (service_busy(s))
        return reply_error("a service with a running process cannot be forgotten");
    /* `keep-sockets=1` (a changed service): its sockets go to a new slot of the same name, all
     * else is forgotten; the `listen` of its new set that follows keeps those in both sets. */
    const char *keep = message_get(m, "keep-sockets");
    if (keep != NULL && strcmp(keep, "1") == 0 && s->listener_count > 0) {
        size_t at = service_index(&table, s);
        watch_sockets(s, false);
        struct service *next = service_add(&table, s->name);
        s = &table.slots[at]; /* the table may have moved */
        if (next == NULL)
            complain("out of memory: the sockets of %s are closed", s->name);
        else {
            next->listeners = s->listeners;
            next->listener_count = s->listener_count;
            next->listen_names = s->listen_names;
            s->listeners = NULL;
            s->listen_names = NULL;
            s->listener_count = 0;
        }
    }
    tree_remove(s, inotify_fd);
    listen_close(s, epoll_fd);
    service_release(s);
    free(s->cgroup);
    free(s->program);
    free(s->name);
    s->cgroup = s->program = s->name = NULL;
}

/* Watching a service's sockets (or not): a connection while it has no process is told once. */
static void watch_sockets(struct service *s, bool on)
{
    if (s->watching == on)
        return;
    for (size_t i = 0; i < s->listener_count; i++) {
        if (on && !watch(s->listeners[i].fd, K_SOCKET, service_index(&table, s), EPOLLIN)) {
            while (i-- > 0) /* said by watch(); the ones added go again */
                epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s->listeners[i].fd, NULL);
            return;
        }
        if (!on && epoll_ctl(epoll_fd, EPOLL_CTL_DEL, s->listeners[i].fd, NULL) != 0 && errno != ENOENT)
            complain("epoll_ctl: %s", strerror(errno));
    }
    s->watching = on;
}

/* The service's listening sockets: opened (or kept, those it holds already) and held until
 * the next `listen` or its `forget`. Answered with `listening`. */
static void handle_listen(const struct message *m)
{
    struct service *s = named(m, true);
    if (s == NULL)
        return;
    char **specs = values_of(m, "socket");
    if (specs == NULL)
        return reply_error("out of memory");
    char error[512];
    watch_sockets(s, false);
    const char *problem = listen_set(s, specs, count_key(m, "socket"), error, sizeof error);
    free(specs);
    const char *watching = message_get(m, "watch");
    if (problem == NULL && watching != NULL && strcmp(watching, "1") == 0 && !service_live(s))
        watch_sockets(s, true);
    free(s->listen_error);
    s->listen_error = problem == NULL ? NULL : strdup(problem);
    service_mark(&table, s, P_LISTENING);
}

/* The pids of a service's tree, answered at once (process_input left room for it). */
static void handle_procs(const struct message *m)
{
    const char *name = message_get(m, "service");
    if (!good_name(name))
        return;
    const struct service *s = service_find(&table, name);
    pid_t pids[MAX_PROCS_LISTED];
    size_t total = s == NULL ? 0 : tree_procs(&table, s, pids, MAX_PROCS_LISTED);
    out_begin(&out, "procs");
    out_field(&out, "service", name);
    out_fieldf(&out, "total", "%zu", total);
    for (size_t i = 0; i < total && i < MAX_PROCS_LISTED; i++)
        out_fieldf(&out, "pid", "%d", (int)pids[i]);
    out_end(&out);
}

/* What the server was told to do about the end and the console (docs/keeper-protocol.md). */
static void handle_settings(const struct message *m)
{
    long long grace;
    const char *console = message_get(m, "console");
    if (message_get(m, "stop-grace") != NULL && !message_number(m, "stop-grace", 1, 3600000, &grace))
        return reply_error("bad settings: stop-grace is a number of ms from 1 to 3600000");
    if (console != NULL && strcmp(console, "text") != 0 && strcmp(console, "json") != 0)
        return reply_error("bad settings: console is text or json");
    if (message_get(m, "stop-grace") != NULL) {
        if (stop_deadline >= 0) /* a stop under way keeps the grace it began with, counted from its signal */
            stop_deadline += grace - grace_ms;
        grace_ms = grace;
    }
    if (console != NULL)
        console_set_format(strcmp(console, "json") == 0 ? CONSOLE_JSON : CONSOLE_TEXT);
    /* The server's own output is read from now on, in the format it asked for (what it
     * wrote before it connected waits in the pipe; the rest is read when it ends). */
    static bool reading_server;
    if (!reading_server && server_output_fd() >= 0 && watch(server_output_fd(), K_SERVER_OUT, 0, EPOLLIN))
        reading_server = true;
}

/* Where syslog(3) messages are read (`path`; none: nowhere), and the log of those no
 * service sent. Answered with `syslog` (docs/keeper-protocol.md). */
static void handle_syslog(const struct message *m)
{
    const char *where = message_get(m, "path");
    const char *problem = message_get(m, "log") != NULL ? set_log(syslog_log(), "syslog", m) : NULL;
    if (problem != NULL)
        return reply_error(problem);
    syslog_error[0] = '\0';
    if (where == NULL) {
        syslog_stop();
    } else if (syslog_path() == NULL || strcmp(syslog_path(), where) != 0) {
        problem = syslog_listen(where, syslog_error, sizeof syslog_error);
        if (problem == NULL && !watch(syslog_fd(), K_SYSLOG, 0, EPOLLIN)) {
            syslog_stop();
            snprintf(syslog_error, sizeof syslog_error, "cannot watch the syslog socket");
        }
    }
    syslog_unsent = true;
}

static void handle(char *payload, size_t length)
{
    struct message m;
    const char *problem = message_parse(payload, length, &m, fields, MAX_FIELDS);
    if (problem != NULL)
        return reply_error(problem);
    if (strcmp(m.type, "hello") == 0) {
        long long version;
        if (!message_number(&m, "version", 0, 1000000, &version) || version != PROTOCOL_VERSION)
            return reply_error("this keeper speaks version 1");
        said_hello = table_sending = true;
        table_cursor = 0;
        server_said_hello();
        out_begin(&out, "hello");
        out_fieldf(&out, "version", "%d", PROTOCOL_VERSION);
        out_fieldf(&out, "pid", "%d", (int)getpid());
        out_field(&out, "tracking", tree_cgroups() ? "cgroup" : "fallback");
        if (tree_cgroups())
            out_field(&out, "cgroup", tree_base());
        out_end(&out);
        return;
    }
    if (!said_hello)
        return reply_error("say hello first");
    if (strcmp(m.type, "spawn") == 0)
        return handle_spawn(&m);
    if (strcmp(m.type, "signal") == 0)
        return handle_signal(&m);
    if (strcmp(m.type, "main") == 0)
        return handle_main(&m);
    if (strcmp(m.type, "note") == 0)
        return handle_note(&m);
    if (strcmp(m.type, "forget") == 0)
        return handle_forget(&m);
    if (strcmp(m.type, "listen") == 0)
        return handle_listen(&m);
    if (strcmp(m.type, "procs") == 0)
        return handle_procs(&m);
    if (strcmp(m.type, "ack") == 0) {
        long long seq;
        if (!message_number(&m, "seq", 1, 1LL << 62, &seq))
            return reply_error("ack needs seq");
        for (size_t i = 0; i < table.count; i++)
            if (table.slots[i].name != NULL && table.slots[i].last_seq == (uint64_t)seq)
                table.slots[i].last_acked = true;
        return;
    }
    if (strcmp(m.type, "shutdown") == 0) {
        shutting_down = true;
        return;
    }
    if (strcmp(m.type, "settings") == 0)
        return handle_settings(&m);
    if (strcmp(m.type, "syslog") == 0)
        return handle_syslog(&m);
    reply_error("unknown message type");
}

static uint32_t frame_length(const char *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Handles the complete frames read so far. When the answers cannot be sent (the server
 * does not read), it stops, and so does reading: the rest waits in the socket. */
static void process_input(void)
{
    size_t at = 0;
    while (client_fd >= 0 && in.length - at >= 4) {
        uint32_t length = frame_length(in.data + at);
        if (length == 0 || length > MAX_MESSAGE) {
            reply_error("frame length out of range: closing the connection");
            flush_client();
            return drop_client("frame length out of range");
        }
        if (in.length - at < 4 + (size_t)length)
            break;
        if (!out_room(&out))
            flush_client(); /* answers go out as they are made, while the server reads */
        if (client_fd < 0)
            return;
        if (!out_room(&out)) {
            input_paused = true;
            break;
        }
        handle(in.data + at + 4, length);
        at += 4 + (size_t)length;
    }
    if (client_fd < 0)
        return;
    memmove(in.data, in.data + at, in.length - at);
    in.length -= at;
    /* A large request's buffer is given back once it has been handled. */
    if (in.capacity > IN_START && in.length <= IN_START) {
        char *smaller = realloc(in.data, IN_START);
        if (smaller != NULL) {
            in.data = smaller;
            in.capacity = IN_START;
        }
    }
    flush_client();
}

static void read_client(void)
{
    while (client_fd >= 0 && !input_paused) {
        if (in.length == in.capacity) {
            /* Only an incomplete frame, already checked, fills the buffer: make room for all of it. */
            size_t need = 4 + (size_t)frame_length(in.data);
            char *bigger = need > in.capacity ? realloc(in.data, need) : NULL;
            if (bigger == NULL)
                return drop_client("out of memory for a request");
            in.data = bigger;
            in.capacity = need;
        }
        ssize_t n = read(client_fd, in.data + in.length, in.capacity - in.length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            return drop_client(n == 0 ? NULL : strerror(errno));
        in.length += (size_t)n;
        process_input();
    }
}

static void take_connection(int fd)
{
    if (!watch(fd, K_CLIENT, 0, EPOLLIN)) {
        close(fd);
        return;
    }
    client_fd = fd;
    client_events = EPOLLIN;
    in.length = out.length = 0;
}

static void accept_client(void)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            complain("accept: %s", strerror(errno));
        return;
    }
    if (client_fd >= 0) {
        char frame[MAX_OUT_MESSAGE];
        struct outbuf busy = {.data = frame, .capacity = sizeof frame};
        out_begin(&busy, "error");
        out_field(&busy, "message", "another server is connected already");
        out_end(&busy);
        if (send(fd, busy.data, busy.length, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            complain("cannot turn a second server away: %s", strerror(errno));
        close(fd);
        return;
    }
    take_connection(fd);
}

/* A server of the keeper's own, started with one end of a socket pair: it replaces any
 * connection left from the server before it, which is dead. */
void server_connection(int fd)
{
    drop_client(NULL);
    take_connection(fd);
}

/* ---- events ---- */

static void on_signal(void)
{
    struct signalfd_siginfo info;
    while (read(signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
            syslog_read(&table, 64); /* first: what a main process said before it ended is still placed by its pid */
            reap();
        } else if (info.ssi_signo == SIGHUP) {
            if (said_hello || server_pid() != 0)
                hangup_unsent = true; /* the server loads the installed database */
            else
                complain("SIGHUP with no server connected: ignored");
        } else if (said_hello || server_pid() != 0) { /* a server of its own that has not said hello yet is told once it has */
            terminate_unsent = (int)info.ssi_signo;
            arm_grace();
        } else {
            stop_alone();
        }
    }
}

static void on_inotify(void)
{
    char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(inotify_fd, buffer, sizeof buffer)) > 0) {
        for (char *p = buffer; p < buffer + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            bool lost = (e->mask & IN_Q_OVERFLOW) != 0; /* events were dropped: look at every cgroup */
            for (size_t i = 0; i < table.count; i++) {
                struct service *s = &table.slots[i];
                if (s->name != NULL && (lost || s->events_wd == e->wd) && s->finishing && !tree_populated(s))
                    finish_exit(s);
            }
        }
    }
}

static void on_ready_pipe(struct service *s)
{
    char data[512];
    ssize_t n = read(s->ready_fd, data, sizeof data);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0 && memchr(data, '\n', (size_t)n) == NULL)
        return;
    if (n > 0 && s->pid != 0) {
        s->ready = true;
        s->ready_pid = s->pid;
        service_mark(&table, s, P_READY);
    }
    close_fd(&s->ready_fd); /* ready, or the service closed it without saying so */
}

static void on_notify(struct service *s)
{
    unsigned changed = 0;
    bool ready = notify_read(s->notify_fd, &s->notice, &changed);
    if (s->pid == 0)
        return; /* from a process that is gone, or from nobody we started */
    if (changed & 2) { /* MAINPID=: a main, not news for the server */
        changed &= ~2u;
        consider_main(s, s->notice.mainpid);
    }
    if (changed != 0) {
        s->notice_changed |= changed;
        service_mark(&table, s, P_NOTIFY);
    }
    if (ready && !s->ready) {
        s->ready = true;
        s->ready_pid = s->pid;
        service_mark(&table, s, P_READY);
    }
}

/* The pidfd of a main that is not the keeper's child is readable: it ended. Its parent
 * reaped it (its status is not the keeper's to know), unless it became the keeper's
 * child meanwhile (its parent ended first): then it is reaped here. */
static void on_main_gone(struct service *s)
{
    struct pollfd p = {.fd = s->main_fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return; /* an event left from an earlier pidfd of the same number: this one's process runs */
    pid_t pid = s->pid;
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == 0)
        return close_fd(&s->main_fd); /* a child of the keeper after all: its SIGCHLD tells the rest */
    process_ended(s, pid, status, got == pid);
}

static void dispatch(const struct epoll_event *e)
{
    enum kind kind = (enum kind)(e->data.u64 >> 32);
    size_t index = (uint32_t)e->data.u64;
    struct service *s = index < table.count ? &table.slots[index] : NULL;
    switch (kind) {
    case K_LISTEN:
        return accept_client();
    case K_CLIENT:
        if ((e->events & EPOLLOUT) && input_paused) {
            flush_client();
            if (client_fd >= 0 && out_room(&out)) {
                input_paused = false;
                process_input();
            }
        }
        if ((e->events & (EPOLLHUP | EPOLLERR)) && input_paused)
            return drop_client("the server hung up without reading its answers");
        if (e->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            read_client();
        if (client_fd >= 0)
            flush_client();
        return;
    case K_SIGNAL:
        return on_signal();
    case K_INOTIFY:
        return on_inotify();
    case K_OUT:
        if (s != NULL && s->out_read >= 0)
            read_pipe(s, s->out_read, STREAM_OUT, false);
        return;
    case K_ERR:
        if (s != NULL && s->err_read >= 0)
            read_pipe(s, s->err_read, STREAM_ERR, false);
        return;
    case K_READY:
        if (s != NULL && s->ready_fd >= 0)
            on_ready_pipe(s);
        return;
    case K_EXEC:
        if (s != NULL && s->exec_fd >= 0)
            take_exec_outcome(s);
        return;
    case K_RELOAD_EXEC:
        if (s != NULL && s->reload.exec_fd >= 0)
            take_reload_exec_outcome(s);
        return;
    case K_NOTIFY:
        if (s != NULL && s->notify_fd >= 0)
            on_notify(s);
        return;
    case K_SERVER_OUT:
        return server_read_output();
    case K_SYSLOG:
        return syslog_read(&table, 64); /* at most 64 a turn: a flood must not hold up the rest */
    case K_MAIN:
        if (s != NULL && s->main_fd >= 0)
            on_main_gone(s);
        return;
    case K_SOCKET:
        if (s != NULL && s->watching) {
            watch_sockets(s, false);
            service_mark(&table, s, P_CONNECTION);
        }
        return;
    }
}

/* ---- start-up and shutdown ---- */

static void listen_on(const char *path)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) {
        complain("the socket path %s is too long", path);
        exit(2);
    }
    strcpy(address.sun_path, path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        die("socket");
    if (connect(probe, (struct sockaddr *)&address, sizeof address) == 0) {
        complain("another keeper is listening on %s", path);
        exit(1);
    }
    close(probe);
    if (unlink(path) != 0 && errno != ENOENT)
        die(path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&address, sizeof address) != 0 || chmod(path, 0600) != 0 ||
        listen(listen_fd, 8) != 0)
        die(path);
}

static void finish(void)
{
    flush_client();
    for (size_t i = 0; i < table.count; i++) {
        struct service *s = &table.slots[i];
        if (s->name == NULL)
            continue;
        tree_remove(s, inotify_fd);
        service_release(s);
        free(s->name);
        free(s->cgroup);
        free(s->program);
    }
    free(table.slots);
    free(table.queue);
    free(in.data);
    free(out.data);
    syslog_stop();
    log_close(syslog_log());
    tree_cleanup();
    server_release();
    if (socket_path != NULL && unlink(socket_path) != 0 && errno != ENOENT)
        complain("cannot remove %s: %s", socket_path, strerror(errno));
    exit(server_wanted() ? server_exit_code() : 0); /* a container exits with what its server decided */
}

/* One line naming what still runs when the grace ran out: as many as fit, then "and more". */
static void name_stragglers(void)
{
    char names[768] = "";
    size_t used = 0, count = 0, named = 0;
    for (size_t i = 0; i < table.count; i++) {
        const struct service *s = &table.slots[i];
        if (s->name == NULL || !service_busy(s))
            continue;
        count++;
        if (named + 1 < count)
            continue; /* one did not fit: the rest are counted only */
        pid_t pid = s->pid != 0 ? s->pid : s->finishing ? s->exit_pid : s->reload.pid;
        int n = snprintf(names + used, sizeof names - used, "%s%s (pid %d)", used > 0 ? ", " : "", s->name, (int)pid);
        if (n > 0 && (size_t)n < sizeof names - used)
            used += (size_t)n, named++;
        else
            names[used] = '\0';
    }
    if (count > 0)
        complain("the stop grace of %lld ms ran out: killing %zu service%s still running: %s%s", (long long)grace_ms, count, count == 1 ? "" : "s", names,
                 named < count ? " and more" : "");
}

/* The grace ran out: SIGKILL to what still runs, named once, and again each second for
 * what is slow to die. A server that has not finished the stop AFTER_GRACE_MS later is
 * not waited for: the keeper ends (its services were all killed). */
static void check_stop_deadline(void)
{
    int64_t now = now_ms();
    if (give_up_at >= 0 && now >= give_up_at && !shutting_down) {
        complain("the server has not finished the stop %d ms after the grace: ending without it", AFTER_GRACE_MS);
        shutting_down = true;
    }
    if (stop_deadline < 0 || now < stop_deadline)
        return;
    if (!grace_ran_out) {
        grace_ran_out = true;
        give_up_at = now + AFTER_GRACE_MS;
        name_stragglers();
    }
    for (size_t i = 0; i < table.count; i++)
        if (table.slots[i].name != NULL && service_busy(&table.slots[i]))
            tree_kill(&table.slots[i]);
    stop_deadline = now + 1000;
}

/* Every service is gone. With a server of its own, the keeper lets it see the end (its
 * connection closes) and waits for it to exit, for SERVER_EXIT_MS at most. */
#define SERVER_EXIT_MS 3000
static int64_t server_deadline = -1;

static void end_when_done(void)
{
    if (!shutting_down || any_live())
        return;
    if (server_pid() == 0)
        finish();
    if (server_deadline < 0) {
        flush_client();
        drop_client(NULL);
        close_fd(&listen_fd);
        server_deadline = now_ms() + SERVER_EXIT_MS;
    } else if (now_ms() >= server_deadline) {
        complain("the server (pid %d) did not exit: killing it", (int)server_pid());
        kill(server_pid(), SIGKILL);
        server_deadline = now_ms() + 1000;
    }
}

#define CONSOLE_RETRY_MS 100

/* How long epoll may wait: until the next deadline of a stop, a server start or a server's exit. */
static int next_timeout(void)
{
    int64_t deadlines[] = {stop_deadline, give_up_at, server_due(), server_deadline}, next = -1;
    for (size_t i = 0; i < sizeof deadlines / sizeof deadlines[0]; i++)
        if (deadlines[i] >= 0 && (next < 0 || deadlines[i] < next))
            next = deadlines[i];
    if (console_waiting() && (next < 0 || next > now_ms() + CONSOLE_RETRY_MS))
        next = now_ms() + CONSOLE_RETRY_MS; /* lines wait for a console that could not take them */
    if (next < 0)
        return -1;
    int64_t wait = next - now_ms();
    return wait <= 0 ? 0 : wait > 60000 ? 60000 : (int)wait;
}

static void usage(void)
{
    complain("usage: tend-keeper [--socket PATH] [--ready-fd N] [--tracking auto|fallback] [--server PROGRAM ARG…] (a socket, a server or both), or tend-keeper boot [ARG…]");
    exit(2);
}

int main(int argc, char **argv)
{
    int ready_fd = -1;
    bool allow_cgroups = true;
    char **server = argc > 1 && argv[1][0] != '-' ? server_tend_command(argv + 1) : NULL;
    for (int i = server != NULL ? argc : 1; i < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
            socket_path = argv[++i];
        else if (strcmp(argv[i], "--ready-fd") == 0 && i + 1 < argc)
            ready_fd = atoi(argv[++i]);
        else if (strcmp(argv[i], "--tracking") == 0 && i + 1 < argc && strcmp(argv[i + 1], "auto") == 0)
            allow_cgroups = true, i++;
        else if (strcmp(argv[i], "--tracking") == 0 && i + 1 < argc && strcmp(argv[i + 1], "fallback") == 0)
            allow_cgroups = false, i++;
        else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
            server = argv + i + 1, i = argc;
        else
            usage();
    }
    if (socket_path == NULL && server == NULL)
        usage(); /* or a tend command that could not be made into one: server_tend_command said why */

    /* Started with a standard fd closed, the keeper would write its complaints into whatever took its number. */
    int spare;
    while ((spare = open("/dev/null", O_RDWR)) >= 0 && spare <= 2)
        ;
    if (spare > 2)
        close(spare);
    mode_t start_umask = umask(077); /* every file the keeper makes gets its mode set explicitly */
    if (server != NULL && !server_configure(server, start_umask, socket_path == NULL))
        exit(2);
    if (server != NULL)
        console_own();
    spawn_reset_signals();
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &handled, NULL) != 0)
        die("sigprocmask");
    signal(SIGPIPE, SIG_IGN);
    if ((signal_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        die("signalfd");
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        complain("cannot become a child subreaper: %s (orphans go to init)", strerror(errno));
    spawn_save_limits();
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max; /* three or four fds per service; services get the old limit back */
        if (setrlimit(RLIMIT_NOFILE, &files) != 0)
            complain("cannot raise the open-files limit: %s", strerror(errno));
    }
    char where[4600];
    tree_init(allow_cgroups, where, sizeof where);
    if ((inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
        die("inotify_init1");
    if ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    in.data = malloc(IN_START);
    in.capacity = IN_START;
    out.data = malloc(OUT_SIZE);
    out.capacity = OUT_SIZE;
    if (in.data == NULL || out.data == NULL)
        die("malloc");
    if (socket_path != NULL) {
        listen_on(socket_path);
        if (!watch(listen_fd, K_LISTEN, 0, EPOLLIN))
            exit(1);
    }
    if (!watch(signal_fd, K_SIGNAL, 0, EPOLLIN) || !watch(inotify_fd, K_INOTIFY, 0, EPOLLIN))
        exit(1);
    if (ready_fd >= 0) {
        if (write(ready_fd, "ready\n", 6) != 6)
            complain("cannot write to the readiness fd %d: %s", ready_fd, strerror(errno));
        close(ready_fd);
    }
    server_start();

    for (;;) {
        struct epoll_event events[64];
        int n = epoll_wait(epoll_fd, events, 64, next_timeout());
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++)
            dispatch(&events[i]);
        tree_sweep(&table);
        check_stop_deadline();
        console_flush();
        flush_client();
        server_tick(shutting_down);
        end_when_done();
    }
}
