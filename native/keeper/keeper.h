/* The keeper: the parent of every service process. It spawns, holds output pipes and
 * writes logs, reads readiness, tracks process trees, reaps, and outlives the Node
 * server that drives it over docs/keeper-protocol.md. One file per job:
 *
 *   keeper.c    start-up, the event loop, signals, reaping, the server connection
 *   protocol.c  frames and fields, both ways
 *   services.c  the table of services and what the server has not been told yet
 *   spawn.c     fork + exec with the exact environment, credentials and fds asked for
 *   logs.c      timestamped, size-rotated log files; lines for the console
 *   console.c   the keeper's stdout: every line meant for it, as text or JSON
 *   notify.c    the sd_notify socket of a service
 *   tree.c      one cgroup per service, or the fallback by session and marker; a tree's pids, the service of a pid, whether a pid is of a service's tree
 *   syslog.c    the syslog(3) socket (/dev/log): each message into the log of the service that sent it
 *   listen.c    a service's listening sockets (socket activation), held for its whole life
 *   server.c    with --server, the Node server as the keeper's child, run again when it dies
 */
#ifndef TEND_KEEPER_H
#define TEND_KEEPER_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define PROTOCOL_VERSION 1
#define MAX_MESSAGE (1u << 20)
/* Every message the keeper sends fits in this (texts in it are cut to fit). */
#define MAX_OUT_MESSAGE 4096u
/* A longer line is cut: a service printing without newlines cannot grow the keeper. */
#define MAX_LINE 16384u
#define MAX_STATUS_TEXT 1024u
/* A `procs` answer names at most this many pids (12 bytes each at most: it fits in
 * MAX_OUT_MESSAGE with a name of 255 bytes); its `total` counts them all. */
#define MAX_PROCS_LISTED 256u
/* Listening sockets a service may have (fds 3 … 3 + MAX_LISTEN - 1 of its main process). */
#define MAX_LISTEN 64u

/* ---- protocol.c ---- */

struct field {
    const char *key;
    const char *value;
};

struct message {
    const char *type;
    struct field *fields;
    size_t count;
};

/* Splits a frame's payload into its fields; NULL on success, else what is wrong. */
const char *message_parse(char *payload, size_t length, struct message *out, struct field *storage, size_t capacity);
/* The last value of `key`, or NULL. */
const char *message_get(const struct message *m, const char *key);
/* Parses a decimal field into [min, max]; false when missing or bad. */
bool message_number(const struct message *m, const char *key, long long min, long long max, long long *out);

/* Building outgoing frames in the connection's buffer. */
struct outbuf {
    char *data;
    size_t length, capacity;
    size_t start; /* where the frame being built begins */
};
bool out_room(const struct outbuf *o);
void out_begin(struct outbuf *o, const char *type);
void out_field(struct outbuf *o, const char *key, const char *value);
void out_fieldf(struct outbuf *o, const char *key, const char *format, ...) __attribute__((format(printf, 3, 4)));
void out_end(struct outbuf *o);

/* ---- logs.c ---- */

enum log_mode { LOG_NONE, LOG_FILE, LOG_STDOUT };
/* Which pipe output came from: stderr is apart only when a spawn asks for it. */
enum log_stream { STREAM_OUT, STREAM_ERR };

struct log {
    enum log_mode mode;
    char *dir;
    char *name;   /* the service's, for the console */
    bool console; /* a file log whose lines also go to the console (log-console=1) */
    int fd;
    uint64_t size, max_size;
    unsigned keep;
    char *partial[2]; /* by stream: a partial stdout line is never glued to a stderr line */
    size_t partial_length[2];
    uint64_t dropped;
    int error;            /* errno of the failure that drops lines; 0 while writing works */
    int dropped_error;    /* what made the lines counted in `dropped` go */
    bool trouble_unsent;  /* the server has not been told about `error` yet */
    int64_t retry_at;     /* monotonic ms: do not try to reopen before */
    bool has_group;       /* the directory and files belong to `group` (the service's), not to the keeper's */
    gid_t group;
};

/* `group` < 0: the log keeps the group it had (at first, the keeper's own). */
void log_configure(struct log *log, enum log_mode mode, const char *dir, const char *name, uint64_t max_size, unsigned keep, long long group);
/* Stderr lines are marked `[stderr]` in a file, and go to the keeper's stderr in stdout mode. */
void log_output(struct log *log, enum log_stream stream, const char *data, size_t length);
void log_note(struct log *log, const char *text);
/* One whole line, `MARKER TEXT` (a syslog message's), to the file and the console as output would go. */
void log_line(struct log *log, const char *marker, const char *text, size_t length);
void log_close(struct log *log);

/* ---- console.c ---- */

enum console_format { CONSOLE_TEXT, CONSOLE_JSON };
void console_set_format(enum console_format format);
/* One line (in two parts, as logs.c keeps them) of NAME's; written at the next console_flush. */
void console_line(const char *name, enum log_stream stream, const char *a, size_t a_length, const char *b, size_t b_length);
/* Writes what it can; with console_own, never waits: the rest is tried again at the next flush. */
void console_flush(void);
/* The keeper owns its stdout (it runs a server): writes to it never block. */
void console_own(void);
/* Lines are waiting for a console that could not take them. */
bool console_waiting(void);

/* ---- services.c ---- */

enum pending {
    P_SPAWNED = 1,
    P_FAILED = 2,
    P_READY = 4,
    P_NOTIFY = 8,
    P_EXITED = 16,
    P_LOG = 32,
    P_RELOAD_SPAWNED = 64,
    P_RELOAD_FAILED = 128,
    P_RELOAD_EXITED = 256,
    P_MAIN = 512,     /* a main process taken (a pid file's, MAINPID=) */
    P_REFUSED = 1024, /* one that was not */
    P_LISTENING = 2048, /* the answer to a `listen` */
    P_CONNECTION = 4096, /* a connection came while it had no process, and it was watched */
};

struct notice {
    char *status;
    long long mainpid;
    /* `reloading`: RELOADING=1 came, and no READY=1 after it yet (that READY=1 is told as `reloaded`). */
    bool stopping, reloading, watchdog;
};

/* A listening socket a service holds (listen.c). */
struct listener {
    char *spec; /* as the server sent it: a socket of the same spec after NAME= is kept */
    int fd;
    char *path; /* a unix socket's file, which the keeper made: removed with it */
    dev_t dev;
    ino_t ino;
};

struct service {
    char *name; /* NULL: a free slot */
    uint32_t hash;
    char role[16];
    char *program; /* the current process's program, for messages */
    /* The current process: pid 0 when there is none. */
    pid_t pid;
    /* The process the keeper spawned last: the session and group it made, which a
     * launcher's daemon may still be in. */
    pid_t leader;
    /* A main taken after its spawn (a forking daemon's, MAINPID=) that is not the
     * keeper's child is watched by a pidfd (-1 otherwise); the main it replaced, while
     * it lives, is `former` (its session and group are still the service's). */
    int main_fd;
    pid_t former;
    int64_t since;
    bool ready;
    bool kill_rest;
    bool exec_failed; /* told as spawn-failed: the child's exit is not news */
    pid_t spawned_pid, ready_pid; /* for the messages still to send */
    int exec_fd;    /* the exec status pipe, open until the exec is known to have happened */
    int ready_fd;   /* the readiness pipe's read end */
    int notify_fd;
    char *notify_path;
    /* The output pipe, kept for the service's whole life: its processes share it. */
    int out_read, out_write;
    /* The stderr pipe, the same, made by the first spawn with stderr=apart. */
    int err_read, err_write;
    struct log log;
    /* Tree tracking. */
    char *cgroup;   /* leaf name */
    int cgroup_dir; /* fd of the service's cgroup directory, -1 without */
    int events_wd;  /* inotify watch on cgroup.events */
    bool sweep;         /* fallback: what is left of it is to be found and killed */
    pid_t sweep_leader; /* its main process: the session and group it led */
    pid_t sweep_former; /* the main that one replaced, alive when the sweep was asked for */
    /* An exit that waits for the rest of the tree to go. */
    bool finishing;
    int exit_status;
    bool exit_unknown; /* a main that was not the keeper's child: its status went to its parent */
    pid_t exit_pid;
    /* The last exit, kept until the server acknowledges it. */
    pid_t last_pid;
    int last_status;
    bool last_unknown;
    uint64_t last_seq; /* 0: none yet */
    bool last_acked;
    /* What the server has not been told. */
    unsigned pending;
    char *failure;
    pid_t taken_pid, refused_pid; /* for the main and main-refused messages still to send */
    char *refusal;
    struct notice notice;
    unsigned notice_changed;
    bool queued;
    /* Its listening sockets, passed to every main process; `listen_names` is LISTEN_FDNAMES's value. */
    struct listener *listeners;
    size_t listener_count;
    char *listen_names;
    char *listen_error; /* the answer to the last `listen` (NULL: it holds them) */
    bool watching; /* its sockets are in the epoll set: a connection while it has no process is news (once) */
    /* The reload command (role=reload): a process beside the service's own, in its
     * cgroup, writing to its pipes; at most one at a time. pid 0: none. Its exit is told
     * once, not kept for a next server's table. */
    struct {
        pid_t pid;
        int64_t since;
        int exec_fd;
        bool exec_failed;
        char *failure;
        pid_t spawned_pid, exit_pid;
        int exit_status;
        uint64_t seq;
    } reload;
};

struct services {
    struct service *slots;
    size_t count, capacity;
    size_t *queue; /* slots with something pending, each at most once */
    size_t queue_head, queue_length;
};

struct service *service_find(struct services *t, const char *name);
struct service *service_add(struct services *t, const char *name);
/* The service whose own process `pid` is (not its reload command: see service_by_reload). */
struct service *service_by_pid(struct services *t, pid_t pid);
struct service *service_by_reload(struct services *t, pid_t pid);
size_t service_index(const struct services *t, const struct service *s);
void service_mark(struct services *t, struct service *s, unsigned what);
/* Frees everything the slot holds but the name and its place. */
void service_release(struct service *s);
/* It has a process, or one that ended waits for the rest of its tree. */
bool service_live(const struct service *s);
/* Live, or its reload command runs. */
bool service_busy(const struct service *s);

/* ---- spawn.c ---- */

struct spawn_request {
    const char *file;
    char **argv;
    char **envp;
    const char *cwd;
    mode_t umask;
    bool set_ids;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t group_count;
    bool nnp;
    struct { int resource; struct rlimit value; } limits[16];
    size_t limit_count;
    int ready_fd; /* the fd number the service writes its newline to; -1 for none */
    int out_fd;   /* where stdout and stderr go */
    int err_fd;   /* where stderr goes instead, -1: with stdout */
    int cgroup_procs; /* cgroup.procs of the service's cgroup, -1 for none */
    /* Listening sockets, placed at fds 3…; `listen_pid` the digits of LISTEN_PID= in envp,
     * written by the child with its own pid (room for 20). */
    const int *listen_fds;
    size_t listen_count;
    char *listen_pid;
};

struct spawned {
    pid_t pid;
    int exec_fd;  /* read end of the exec status pipe */
    int ready_fd; /* read end of the readiness pipe, -1 */
};

/* Forks and execs; returns false (with `error` set) when nothing was started. */
bool spawn_process(const struct spawn_request *r, struct spawned *out, char *error, size_t error_size);
/* What the exec status pipe says: -1 nothing yet, 0 the exec happened, 1 it failed (`error` says why). */
int spawn_outcome(int exec_fd, const char *program, char *error, size_t size);
/* Finds a program in PATH (as execvp would); false when there is none. */
bool spawn_resolve(const char *file, const char *path, char *out, size_t size);
/* A resource name of limit=NAME:… → RLIMIT_*, or -1. */
int spawn_resource(const char *name);
/* The limits the keeper started with: every service starts from these. */
void spawn_save_limits(void);
/* Every signal disposition back to the default (at start-up, before the keeper sets its own). */
void spawn_reset_signals(void);

/* ---- notify.c ---- */

int notify_open(const char *path, bool chown_to, uid_t uid, gid_t gid, char *error, size_t error_size);
/* Reads every datagram queued; reports READY=1 as true. */
bool notify_read(int fd, struct notice *n, unsigned *changed);
struct msghdr;
/* Closes the fds a datagram carried (SCM_RIGHTS): nobody asked for them. */
void close_passed_fds(struct msghdr *header);

/* ---- tree.c ---- */

/* Finds or declines the cgroup2 hierarchy; false means the fallback is used. */
bool tree_init(bool allow_cgroups, char *where, size_t size);
bool tree_cgroups(void);
const char *tree_base(void);
/* Makes the service's cgroup (when tracking by cgroup) and watches it; -1 on failure. */
int tree_prepare(struct service *s, int inotify_fd, char *error, size_t error_size);
int tree_procs_fd(const struct service *s);
bool tree_populated(const struct service *s);
/* SIGKILL to everything of the service that is still running (in fallback mode, the
 * process group now and the rest at the next tree_sweep). */
void tree_kill(struct service *s);
void tree_sweep(struct services *t);
/* The pids of the service's tree now (its leader first, at most `cap` of them into
 * `pids`); returns how many it has in all. */
size_t tree_procs(struct services *t, const struct service *s, pid_t *pids, size_t cap);
void tree_remove(struct service *s, int inotify_fd);
void tree_cleanup(void);
/* The service a process belongs to (its cgroup, or in fallback mode its ancestry), or NULL. */
struct service *tree_owner(struct services *t, pid_t pid);
/* Is `pid` a running process of the service's tree: its own by tree_owner, or, without
 * cgroups, an orphan still in the session its last spawn made (a launcher's daemon)? */
bool tree_owns(struct services *t, const struct service *s, pid_t pid);

/* ---- syslog.c ---- */

/* Listens on PATH (what it listened on before is closed first; the same path is kept);
 * NULL, or why not, and then it listens nowhere. A socket someone listens on is never replaced. */
const char *syslog_listen(const char *path, char *error, size_t size);
/* Closes the socket and removes it (if it is still the one the keeper made). */
void syslog_stop(void);
int syslog_fd(void);         /* -1: not listening */
const char *syslog_path(void); /* NULL: not listening */
/* The `syslog` log: what no service sent. */
struct log *syslog_log(void);
/* Reads at most `max` datagrams, each into the log of the service whose process sent it. */
void syslog_read(struct services *t, unsigned max);

/* Does a program listen on the unix socket at `address`? 1 yes, 0 no (its listener is gone), -1 cannot tell (errno says why). */
struct sockaddr_un;
int unix_listened(const struct sockaddr_un *address);

/* ---- listen.c ---- */

/* Installs the service's set of listening sockets, its sockets not watched: those it holds
 * already are kept, with their backlogs. NULL, or why not, and then it holds the set it
 * held (less a dropped socket a new one collided with). */
const char *listen_set(struct service *s, char **specs, size_t count, char *error, size_t size);
/* Closes the sockets (out of any epoll set first: the fds a child holds keep a registration
 * alive; epoll_fd -1: none to leave, the keeper exits or they are not watched). */
void listen_close(struct service *s, int epoll_fd);

/* ---- server.c ---- */

/* `tend-keeper boot ARG…`: the server `node DIST/bin/main.js boot ARG…`, DIST the directory
 * above the keeper's own (dist/keeper/); NULL, said why, when the keeper cannot find itself. */
char **server_tend_command(char **args);
/* Keeps the server's command; false when its program cannot be found. `by_pair`: the
 * server is given its connection (fd 3, TEND_KEEPER_FD=3) instead of a socket to find. */
bool server_configure(char **argv, mode_t umask_at_start, bool by_pair);
bool server_wanted(void);
/* The read end of the pipe the server writes its stdout and stderr to, -1 without a server. */
int server_output_fd(void);
/* Hands what the server wrote to the console, as `tend: LINE`. */
void server_read_output(void);
void server_said_hello(void);
/* The server is not to be started again: the first one ended before it ever said hello. */
bool server_ended(void);
void server_release(void);
/* Its exit status as a process's: the code, or 128 + the signal that killed it. */
int server_exit_code(void);
void server_start(void);
/* Starts it again when its delay is over. */
void server_tick(bool shutting_down);
/* Was `pid` the server? Then it is started again later, unless the keeper is shutting down. */
bool server_reaped(pid_t pid, int status, bool shutting_down);
pid_t server_pid(void);
/* When it is to be started again (monotonic ms), or -1. */
int64_t server_due(void);

/* ---- keeper.c ---- */
/* Takes `fd`, a socket pair's end, as the server connection (server.c starts the server with the other). */
void server_connection(int fd);
int64_t now_ms(void);      /* CLOCK_MONOTONIC */
int64_t wall_ms(void);     /* CLOCK_REALTIME */
void complain(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
