/* Tracking a service's whole process tree. Where a writable cgroup2 hierarchy exists,
 * each service gets a cgroup under <mount><the keeper's cgroup>/tend-<pid>/: a service
 * is down once its cgroup is empty (cgroup.events says "populated 0", seen through
 * inotify), and killing it is one write to cgroup.kill. Elsewhere the keeper is a child
 * subreaper and finds what is left by session and process group, by descent from the
 * main process, and, for orphans it inherited, by the TEND_SERVICE=NAME the server puts
 * in every service's environment. */
#include "keeper.h"

/* The inode of the initial PID namespace's /proc/self/ns/pid (the kernel's PROC_PID_INIT_INO). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[4096]; /* empty: the fallback */
static size_t mount_length; /* base + mount_length: the base as /proc/PID/cgroup names it */
static int base_fd = -1;

bool tree_cgroups(void)
{
    return base_fd >= 0;
}

const char *tree_base(void)
{
    return base;
}

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
            *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

static bool find_mount(char *mount, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (f == NULL)
        return false;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER */
        char *separator = strstr(line, " - ");
        if (separator == NULL || strncmp(separator + 3, "cgroup2 ", 8) != 0)
            continue;
        char *save, *field = strtok_r(line, " ", &save);
        for (int i = 0; i < 4 && field != NULL; i++)
            field = strtok_r(NULL, " ", &save);
        if (field == NULL)
            continue;
        unescape(field);
        if ((size_t)snprintf(mount, size, "%s", field) < size)
            found = true;
    }
    fclose(f);
    return found;
}

static bool own_cgroup(char *path, size_t size)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (f == NULL)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = '\0';
        found = (size_t)snprintf(path, size, "%s", line + 3) < size;
    }
    fclose(f);
    return found;
}

/* A keeper that was killed leaves its tend-PID directory behind: the next one removes
 * those of keepers that are gone, as long as no process is left in them. */
static void remove_stale(const char *parent)
{
    DIR *dir = opendir(parent);
    if (dir == NULL)
        return;
    struct dirent *d;
    while ((d = readdir(dir)) != NULL) {
        char *end;
        long pid = strncmp(d->d_name, "tend-", 5) == 0 ? strtol(d->d_name + 5, &end, 10) : 0;
        if (pid <= 0 || *end != '\0' || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        int stale = openat(dirfd(dir), d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *services = stale < 0 ? NULL : fdopendir(stale);
        if (services == NULL) {
            if (stale >= 0)
                close(stale);
            continue;
        }
        struct dirent *c;
        while ((c = readdir(services)) != NULL)
            if (c->d_type == DT_DIR && c->d_name[0] != '.')
                unlinkat(stale, c->d_name, AT_REMOVEDIR); /* fails, rightly, while it has processes */
        closedir(services);
        if (unlinkat(dirfd(dir), d->d_name, AT_REMOVEDIR) != 0)
            complain("left %s/%s of a keeper that is gone: %s", parent, d->d_name, strerror(errno));
    }
    closedir(dir);
}

bool tree_init(bool allow_cgroups, char *where, size_t size)
{
    char mount[2048], own[2048];
    if (!allow_cgroups) {
        snprintf(where, size, "fallback (asked for)");
        return false;
    }
    if (!find_mount(mount, sizeof mount) || !own_cgroup(own, sizeof own)) {
        snprintf(where, size, "fallback (no cgroup2 hierarchy)");
        return false;
    }
    if (strcmp(own, "/") == 0)
        own[0] = '\0';
    char parent[4096];
    snprintf(parent, sizeof parent, "%s%s", mount, own);
    /* A keeper in a PID namespace of its own (a container's PID 1) shares the hierarchy
     * with keepers whose pids it cannot see, or sees as its own: its name carries the
     * namespace, and it leaves the others' directories alone. */
    struct stat ns;
    bool namespaced = stat("/proc/self/ns/pid", &ns) == 0 && ns.st_ino != PROC_PID_INIT_INO;
    if (!namespaced)
        remove_stale(parent);
    int length = namespaced ? snprintf(base, sizeof base, "%s/tend-ns%llu-%d", parent, (unsigned long long)ns.st_ino, (int)getpid())
                            : snprintf(base, sizeof base, "%s/tend-%d", parent, (int)getpid());
    if (length < 0 || (size_t)length >= sizeof base) {
        base[0] = '\0';
        snprintf(where, size, "fallback (cgroup path too long)");
        return false;
    }
    if (mkdir(base, 0755) != 0 && errno != EEXIST) {
        snprintf(where, size, "fallback (cannot make %s: %s)", base, strerror(errno));
        base[0] = '\0';
        return false;
    }
    base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0) {
        snprintf(where, size, "fallback (cannot open %s: %s)", base, strerror(errno));
        rmdir(base);
        base[0] = '\0';
        return false;
    }
    mount_length = strlen(mount);
    snprintf(where, size, "cgroup %s", base);
    return true;
}

int tree_prepare(struct service *s, int inotify_fd, char *error, size_t error_size)
{
    if (!tree_cgroups() || s->cgroup_dir >= 0)
        return 0;
    bool printable = s->cgroup != NULL && s->cgroup[0] != '\0' && s->cgroup[0] != '.';
    for (const unsigned char *p = (const unsigned char *)s->cgroup; printable && *p; p++)
        printable = *p > ' ' && *p != 0x7f && *p != '/';
    if (!printable) {
        snprintf(error, error_size, "bad request: a cgroup name is one path component of printable characters");
        return -1;
    }
    if (mkdirat(base_fd, s->cgroup, 0755) != 0 && errno != EEXIST) {
        snprintf(error, error_size, "cannot make the cgroup %s/%s: %s", base, s->cgroup, strerror(errno));
        return -1;
    }
    s->cgroup_dir = openat(base_fd, s->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->cgroup_dir < 0) {
        snprintf(error, error_size, "cannot open the cgroup %s/%s: %s", base, s->cgroup, strerror(errno));
        return -1;
    }
    char path[4096 + 300];
    snprintf(path, sizeof path, "%s/%s/cgroup.events", base, s->cgroup);
    s->events_wd = inotify_add_watch(inotify_fd, path, IN_MODIFY);
    if (s->events_wd < 0)
        complain("cannot watch %s: %s (exits are still seen when the main process ends)", path, strerror(errno));
    return 0;
}

int tree_procs_fd(const struct service *s)
{
    if (s->cgroup_dir < 0)
        return -1;
    return openat(s->cgroup_dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
}

bool tree_populated(const struct service *s)
{
    if (s->cgroup_dir < 0)
        return false;
    int fd = openat(s->cgroup_dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char text[256];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    return strstr(text, "populated 1") != NULL;
}

/* Hands every pid listed in the cgroup to `found`. */
static void each_listed(int dir, void (*found)(pid_t pid, void *context), void *context)
{
    int fd = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    int pid;
    while (fscanf(f, "%d", &pid) == 1)
        if (pid > 0)
            found(pid, context);
    fclose(f);
}

static void kill_found(pid_t pid, void *context)
{
    (void)context;
    kill(pid, SIGKILL);
}

/* One read of /proc/PID/FILE into `text`, NUL-terminated: its length, or -1 (no such
 * process, or nothing read). These files are read whole in one read when they fit. */
static ssize_t read_proc(pid_t pid, const char *file, char *text, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, size - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    return n;
}

struct proc_entry {
    pid_t pid, ppid, pgrp, session;
};

/* `zombies`: a process that has ended but is not reaped yet still counts (its parent, group and session are still its). */
static bool read_stat(pid_t pid, struct proc_entry *e, bool zombies)
{
    char text[1024];
    if (read_proc(pid, "stat", text, sizeof text) < 0)
        return false;
    char *after = strrchr(text, ')'); /* the command may hold spaces and parentheses */
    char state;
    int ppid, pgrp, session;
    if (after == NULL || sscanf(after + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4 || (state == 'Z' && !zombies))
        return false;
    *e = (struct proc_entry){pid, ppid, pgrp, session};
    return true;
}

/* The service whose TEND_SERVICE=NAME the process was started with, or NULL. */
static struct service *marked_by(pid_t pid, struct services *t)
{
    static char env[65536];
    ssize_t got = read_proc(pid, "environ", env, sizeof env);
    if (got < 0)
        return NULL;
    for (char *p = env; p < env + got; p += strlen(p) + 1)
        if (strncmp(p, "TEND_SERVICE=", 13) == 0)
            return service_find(t, p + 13);
    return NULL;
}

/* The process whose session and group are the service's: its process, or the one that
 * just ended while the rest of its tree goes. A number that may have been given out
 * again is not named (see tree_kill). */
static pid_t leader_of(const struct service *s)
{
    return s->pid != 0 ? s->pid : s->finishing ? s->exit_pid : 0;
}

/* Whose trees a walk over /proc finds: every service marked to be swept, or `one`. */
struct walk {
    struct services *t;
    const struct service *one;
    void (*found)(pid_t pid, void *context);
    void *context;
};

static bool walk_leader(const struct walk *w, pid_t pid)
{
    if (pid <= 0)
        return false;
    /* The main a main taken after its spawn replaced leads its session and group while it lives. */
    if (w->one != NULL)
        return leader_of(w->one) == pid || w->one->former == pid;
    for (size_t i = 0; i < w->t->count; i++)
        if (w->t->slots[i].sweep && (w->t->slots[i].sweep_leader == pid || w->t->slots[i].sweep_former == pid))
            return true;
    return false;
}

/* An orphan the keeper inherited, not a service's own process, marked with a service walked. */
static bool walk_marked(const struct walk *w, const struct proc_entry *e)
{
    if (e->ppid != getpid() || service_by_pid(w->t, e->pid) != NULL)
        return false;
    const struct service *s = marked_by(e->pid, w->t);
    return s != NULL && (w->one != NULL ? s == w->one : s->sweep);
}

/* One pass over /proc: the leaders of the walked services, the sessions and process
 * groups they lead, the descendants of what is found, and the orphans marked with
 * their names, each handed to `found` once. Returns how many were found. */
static size_t walk_once(const struct walk *w)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    size_t cap = 1024, n = 0, count = 0;
    struct proc_entry *all = malloc(cap * sizeof *all);
    pid_t top = 0;
    struct dirent *d;
    while (all != NULL && (d = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(d->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == getpid())
            continue;
        if (n == cap) {
            struct proc_entry *more = realloc(all, 2 * cap * sizeof *all);
            if (more == NULL)
                break;
            all = more;
            cap *= 2;
        }
        if (read_stat((pid_t)pid, &all[n], false)) {
            if (all[n].pid > top)
                top = all[n].pid;
            n++;
        }
    }
    closedir(proc);
    unsigned char *member = all == NULL ? NULL : calloc((size_t)top / 8 + 1, 1);
#define MEMBER(p) (member[(p) / 8] & (1u << ((p) % 8)))
    for (bool grew = member != NULL; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            pid_t pid = all[i].pid;
            if (MEMBER(pid))
                continue;
            /* The leader itself too: a main taken after its spawn may lead no session of its own. */
            bool mine = walk_leader(w, pid) || walk_leader(w, all[i].session) || walk_leader(w, all[i].pgrp) ||
                        (all[i].ppid > 0 && all[i].ppid <= top && MEMBER(all[i].ppid)) || walk_marked(w, &all[i]);
            if (mine) {
                member[pid / 8] |= (unsigned char)(1u << (pid % 8));
                grew = true;
                w->found(pid, w->context);
                count++;
            }
        }
    }
#undef MEMBER
    free(member);
    free(all);
    return count;
}

void tree_sweep(struct services *t)
{
    bool any = false;
    for (size_t i = 0; i < t->count && !any; i++)
        any = t->slots[i].sweep;
    if (!any)
        return;
    /* Twice: a process may fork while the one before it is being killed. */
    struct walk w = {.t = t, .found = kill_found};
    if (walk_once(&w) > 0)
        walk_once(&w);
    for (size_t i = 0; i < t->count; i++)
        t->slots[i].sweep = false;
}

void tree_kill(struct service *s)
{
    if (s->cgroup_dir >= 0) {
        int fd = openat(s->cgroup_dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);
        bool done = fd >= 0 && write(fd, "1", 1) == 1;
        if (fd >= 0)
            close(fd);
        if (!done)
            each_listed(s->cgroup_dir, kill_found, NULL); /* a kernel older than 5.14 */
        return;
    }
    /* The group and session of a process that ended long ago are no longer ours to
     * name: its number may lead someone else's by now. Only the orphans marked with
     * the service's name are found then. A pid just reaped is still safe: the kernel
     * does not give out a number while a group or session of that number has members. */
    pid_t leader = leader_of(s);
    if (leader > 0)
        kill(-leader, SIGKILL);
    /* A main taken after its spawn need lead no group of its own; the one it replaced does. */
    if (s->pid != 0)
        kill(s->pid, SIGKILL);
    if (s->former > 0)
        kill(-s->former, SIGKILL);
    /* The rest (a setsid child, an orphan) is found by tree_sweep, once for all services. */
    s->sweep = true;
    s->sweep_leader = leader;
    s->sweep_former = s->former;
}

/* The pids asked for: the leader first, as many others as fit after it, all counted. */
struct pid_list {
    pid_t *pids;
    size_t count, cap, total;
    pid_t first;
};

static void list_found(pid_t pid, void *context)
{
    struct pid_list *l = context;
    l->total++;
    if (l->count < l->cap)
        l->pids[l->count++] = pid;
    else if (pid == l->first)
        l->pids[l->count - 1] = pid; /* the leader has a place whatever the order it comes in */
    else
        return;
    if (pid == l->first) {
        l->pids[l->count - 1] = l->pids[0];
        l->pids[0] = pid;
    }
}

size_t tree_procs(struct services *t, const struct service *s, pid_t *pids, size_t cap)
{
    struct pid_list l = {.pids = pids, .cap = cap, .first = leader_of(s)};
    if (cap == 0)
        return 0;
    if (s->cgroup_dir >= 0) {
        each_listed(s->cgroup_dir, list_found, &l);
    } else {
        struct walk w = {.t = t, .one = s, .found = list_found, .context = &l};
        walk_once(&w);
    }
    return l.total;
}

/* The service whose cgroup holds the process (/proc/PID/cgroup: `0::<base>/<leaf>…`). */
static struct service *owner_by_cgroup(struct services *t, pid_t pid)
{
    char text[4096 + 64];
    if (read_proc(pid, "cgroup", text, sizeof text) < 0)
        return NULL;
    const char *line = strncmp(text, "0::", 3) == 0 ? text : strstr(text, "\n0::");
    if (line == NULL)
        return NULL;
    const char *relative = base + mount_length, *p = line + (line == text ? 3 : 4);
    size_t length = strlen(relative);
    if (strncmp(p, relative, length) != 0 || p[length] != '/')
        return NULL;
    const char *leaf = p + length + 1;
    size_t leaf_length = strcspn(leaf, "/\n");
    for (size_t i = 0; i < t->count; i++) {
        struct service *s = &t->slots[i];
        if (s->name != NULL && s->cgroup_dir >= 0 && strlen(s->cgroup) == leaf_length && memcmp(s->cgroup, leaf, leaf_length) == 0)
            return s;
    }
    return NULL;
}

/* Without cgroups: up the process's ancestry, a service's live main process as an
 * ancestor or as the leader of its group or session (a number that is a live
 * process's is not anyone else's), or, for an orphan the keeper inherited, its mark. */
static struct service *owner_by_descent(struct services *t, pid_t pid)
{
    struct proc_entry e;
    for (int depth = 0; depth < 64 && pid > 1 && read_stat(pid, &e, true); depth++) {
        pid_t known[] = {e.pid, e.pgrp, e.session};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            struct service *s = known[i] > 0 ? service_by_pid(t, known[i]) : NULL;
            if (s != NULL)
                return s;
        }
        if (e.ppid == getpid())
            return marked_by(pid, t);
        pid = e.ppid;
    }
    return NULL;
}

struct service *tree_owner(struct services *t, pid_t pid)
{
    if (pid <= 0 || pid == getpid())
        return NULL;
    struct service *s = service_by_pid(t, pid); /* a main process, even one that has ended and is not reaped yet */
    if (s != NULL)
        return s;
    return tree_cgroups() ? owner_by_cgroup(t, pid) : owner_by_descent(t, pid);
}

/* The service's own, as tree_owner says, and running. Without cgroups, one more: an
 * orphan the keeper inherited that is still in the session or group of the service's
 * last spawn (a launcher's daemon that did not leave it, its launcher gone: no other
 * process can be in that session while one of the service's is). */
bool tree_owns(struct services *t, const struct service *s, pid_t pid)
{
    struct proc_entry e;
    if (pid <= 0 || pid == getpid() || !read_stat(pid, &e, false))
        return false; /* gone, or a zombie */
    if (tree_owner(t, pid) == s)
        return true;
    return !tree_cgroups() && e.ppid == getpid() && s->leader > 0 && (e.session == s->leader || e.pgrp == s->leader);
}

void tree_remove(struct service *s, int inotify_fd)
{
    if (s->events_wd >= 0)
        inotify_rm_watch(inotify_fd, s->events_wd);
    s->events_wd = -1;
    if (s->cgroup_dir >= 0) {
        close(s->cgroup_dir);
        s->cgroup_dir = -1;
        if (s->cgroup != NULL && unlinkat(base_fd, s->cgroup, AT_REMOVEDIR) != 0 && errno != ENOENT)
            complain("cannot remove the cgroup %s/%s: %s", base, s->cgroup, strerror(errno));
    }
}

void tree_cleanup(void)
{
    if (base_fd < 0)
        return;
    close(base_fd);
    base_fd = -1;
    if (rmdir(base) != 0 && errno != ENOENT)
        complain("cannot remove the cgroup %s: %s", base, strerror(errno));
}
