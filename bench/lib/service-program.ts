// The C programs of the supervision workloads (W1–W4, W6), compiled with the machine's `cc`
// into the bench's temporary directory, so that what is measured is the service manager
// and not the start-up of a shell or an interpreter.
//
// The service program, exec'd directly by every manager (no shell in between):
//
//   svc --ready-ms N --fd F   sleep N ms, write "\n" to fd F (the s6 / dinit / tend
//                             `ready = fd` protocol), then wait; exit 0 on SIGTERM
//   svc                       just wait (ready at once, for managers without a
//                             readiness protocol); exit 0 on SIGTERM
//   svc --stamp FILE          append CLOCK_MONOTONIC in ns (the clock of Node's
//                             process.hrtime) to FILE and exit 0: W4's task, which says
//                             when it was spawned
//   svc --ready-ms N --fd F --count MS [--last FILE]
//                             ready as above, then print 1, 2, 3 … on stdout, one line
//                             every MS ms (one write() each, no stdio buffer; a tick it
//                             fell behind is not made up in a burst); on SIGTERM write
//                             the last number whose write() returned to FILE and exit 0:
//                             W6's counter, whose log must hold every number exactly once
//
// s6-supervise and runsv exec `./run` with no arguments of ours (s6 passes the service
// name), so for them the program is also built as a "run file" (`-DRUNFILE`) that ignores
// its arguments and has the behaviour compiled in: s6's signals readiness on fd 3 at
// once (s6's `notification-fd` is 3), runit's just waits (runit has no readiness
// protocol). The service directory's `run` is a symbolic link to it.
//
// The helper `bench-sv`, for the two managers whose supervisors keep their state in a
// service directory (s6, runit):
//
//   bench-sv ctl C DIR...               write the command byte C to each DIR/supervise/control
//                                       (what s6-svc and sv do, for many services at once:
//                                       s6-svc takes one service directory per call)
//   bench-sv wait-up s6|runit MS DIR... return once every DIR's supervisor reports its
//                                       service up (s6: up and ready), reading the
//                                       supervisor's own DIR/supervise/status each time it
//                                       changes (inotify); exit 1 after MS ms
//
// `wait-up` is the bench's clock on "the manager reports all up" for s6 and runit. runit's
// own `sv -w … start` polls every 420 ms (sv.c: usleep(420000)), which would round every
// figure up to 420 ms; s6's own `s6-svwait -U -a` subscribes to each service's event
// fifodir one at a time (~0.5 ms per service here, paid while the services start), so
// the bench runs it once the services are up, as an untimed check, and records its time.

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SERVICE_SOURCE = `/* tend bench service program: see bench/lib/service-program.ts */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef DEFAULT_READY_MS
#define DEFAULT_READY_MS -1
#endif

/* --count: the last number fully written to stdout, and where to say it on SIGTERM. */
static volatile sig_atomic_t last_written;
static const char *last_file;

/* Decimal digits of n (n >= 0) and a newline into buf; returns the length. Async-signal-safe. */
static int decimal(char *buf, long n) {
  char tmp[24];
  int len = 0, k = 0;
  do { tmp[k++] = (char)('0' + n % 10); n /= 10; } while (n > 0);
  while (k > 0) buf[len++] = tmp[--k];
  buf[len++] = '\\n';
  return len;
}

static void on_term(int sig) {
  (void)sig;
  if (last_file != NULL) {
    char line[24];
    int len = decimal(line, (long)last_written);
    int fd = open(last_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      while (write(fd, line, (size_t)len) < 0 && errno == EINTR) {}
      close(fd);
    }
  }
  _exit(0);
}

static void count(long period_ms) {
  struct timespec next, now;
  clock_gettime(CLOCK_MONOTONIC, &next);
  char line[24];
  for (long n = 1;; n++) {
    int len = decimal(line, n), off = 0;
    while (off < len) {
      ssize_t w = write(1, line + off, (size_t)(len - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) _exit(3);
      off += (int)w;
    }
    last_written = (sig_atomic_t)n;
    next.tv_nsec += period_ms * 1000000L;
    while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) next = now;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
  }
}

static int stamp(const char *file) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  char line[64];
  int len = snprintf(line, sizeof line, "%lld\\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  int ok = write(fd, line, (size_t)len) == len;
  close(fd);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  long ready_ms = DEFAULT_READY_MS;
  long count_ms = -1;
  int fd = 3;
#ifndef RUNFILE
  if (argc == 3 && strcmp(argv[1], "--stamp") == 0) return stamp(argv[2]);
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return 2;
    if (strcmp(argv[i], "--ready-ms") == 0) ready_ms = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--fd") == 0) fd = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--count") == 0) count_ms = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--last") == 0) last_file = argv[i + 1];
    else return 2;
  }
#else
  (void)argc; (void)argv;
#endif
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, 0);
  if (ready_ms >= 0) {
    if (ready_ms > 0) {
      struct timespec ts = { ready_ms / 1000, (ready_ms % 1000) * 1000000L };
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
    while (write(fd, "\\n", 1) < 0 && errno == EINTR) {}
    close(fd);
  }
  if (count_ms > 0) count(count_ms);
  for (;;) pause();
}
`;

const HELPER_SOURCE = `/* tend bench helper for s6 and runit service directories: see bench/lib/service-program.ts */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static int runit;
static char **dirs;
static char *pending;
static int npending;

/* s6 (2.11): 35 bytes, pid big-endian at 24, flags at 34 (bit 3: ready).
   runit: 20 bytes, pid little-endian at 12, state at 19 (1: run). */
static int is_up(const char *dir) {
  char path[4096];
  unsigned char b[64];
  snprintf(path, sizeof path, "%s/supervise/status", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t r = read(fd, b, sizeof b);
  close(fd);
  if (runit) {
    if (r < 20) return 0;
    unsigned pid = b[12] | b[13] << 8 | b[14] << 16 | (unsigned)b[15] << 24;
    return pid != 0 && b[19] == 1;
  }
  if (r < 35) return 0;
  unsigned long long pid = 0;
  for (int i = 24; i < 32; i++) pid = pid << 8 | b[i];
  return pid != 0 && (b[34] & 8);
}

static void check(int i) {
  if (pending[i] && is_up(dirs[i])) { pending[i] = 0; npending--; }
}

static int wait_up(int n, long timeout_ms) {
  int in = inotify_init1(IN_CLOEXEC);
  if (in < 0) { perror("inotify_init1"); return 1; }
  pending = malloc((size_t)n);
  memset(pending, 1, (size_t)n);
  npending = n;
  int *index = NULL, slots = 0;
  for (int i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/supervise", dirs[i]);
    int wd = inotify_add_watch(in, path, IN_MOVED_TO | IN_CLOSE_WRITE);
    if (wd < 0) { perror(path); return 1; }
    if (wd >= slots) {
      index = realloc(index, (size_t)(wd + 1) * sizeof *index);
      for (int k = slots; k <= wd; k++) index[k] = -1;
      slots = wd + 1;
    }
    index[wd] = i;
  }
  for (int i = 0; i < n; i++) check(i);
  struct pollfd pfd = { in, POLLIN, 0 };
  static char buf[65536] __attribute__((aligned(8)));
  long quiet = 0;
  while (npending > 0) {
    int r = poll(&pfd, 1, 100);
    if (r <= 0) {
      /* nothing for 100 ms: look at every pending one (an event may have been missed) */
      quiet += 100;
      for (int i = 0; i < n; i++) check(i);
      if (quiet >= timeout_ms && npending > 0) { fprintf(stderr, "bench-sv: %d of %d services not up\\n", npending, n); return 1; }
      continue;
    }
    quiet = 0;
    ssize_t len = read(in, buf, sizeof buf);
    if (len <= 0) continue;
    for (char *p = buf; p < buf + len;) {
      struct inotify_event *e = (struct inotify_event *)p;
      if (e->mask & IN_Q_OVERFLOW) {
        for (int i = 0; i < n; i++) check(i);
      } else if (e->wd >= 0 && e->wd < slots && index[e->wd] >= 0 && e->len > 0 && strcmp(e->name, "status") == 0) {
        check(index[e->wd]);
      }
      p += sizeof *e + e->len;
    }
  }
  return 0;
}

static int ctl(const char *command, int n) {
  int failed = 0;
  size_t len = strlen(command);
  for (int i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/supervise/control", dirs[i]);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || write(fd, command, len) != (ssize_t)len) { perror(path); failed++; }
    if (fd >= 0) close(fd);
  }
  return failed > 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "ctl") == 0) { dirs = argv + 3; return ctl(argv[2], argc - 3); }
  if (argc >= 5 && strcmp(argv[1], "wait-up") == 0) {
    runit = strcmp(argv[2], "runit") == 0;
    dirs = argv + 4;
    return wait_up(argc - 4, atol(argv[3]));
  }
  fprintf(stderr, "usage: bench-sv ctl C DIR... | bench-sv wait-up s6|runit TIMEOUT_MS DIR...\\n");
  return 2;
}
`;

function cc(dir: string, name: string, source: string, defines: string[] = []): string {
  const file = join(dir, `${name}.c`);
  const program = join(dir, name);
  if (/\s/.test(program)) throw new Error(`the temporary directory ${dir} has blanks in its path: service command lines would split it`);
  writeFileSync(file, source);
  try {
    execFileSync("cc", ["-O2", ...defines, "-o", program, file], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error("these workloads compile their service program with 'cc', and there is none: install a C compiler (apt-get install gcc)");
    throw new Error(`cc could not compile ${name}:\n${String(err.stderr ?? err.message)}`);
  }
  return program;
}

/** Compiles the service program into `dir` and returns its absolute path. Throws when there is no working `cc`. */
export function buildServiceProgram(dir: string): string {
  return cc(dir, "svc", SERVICE_SOURCE);
}

/** Who runs a copy of the service program. */
export type ProgramOwner = "tend" | "dinit" | "s6" | "runit" | "supervisord" | "pm2";

export type Programs = Record<ProgramOwner, string> & {
  /** bench-sv: control writes and the status-file waiter for s6 and runit. */
  helper: string;
};

/**
 * One copy of the program per manager (DIR/tend/svc, DIR/s6/svc, …): the bench finds a
 * manager's leftover processes by the path of their program, so two managers running at
 * once must not share one. s6's and runit's are run files (see above).
 */
export function servicePrograms(dir: string): Programs {
  const built = buildServiceProgram(dir);
  const variants = {
    s6: cc(dir, "svc-run-ready", SERVICE_SOURCE, ["-DRUNFILE", "-DDEFAULT_READY_MS=0"]),
    runit: cc(dir, "svc-run", SERVICE_SOURCE, ["-DRUNFILE"]),
  };
  const copy = (owner: ProgramOwner, from: string): string => {
    mkdirSync(join(dir, owner));
    const path = join(dir, owner, "svc");
    copyFileSync(from, path);
    chmodSync(path, 0o755);
    return path;
  };
  return {
    tend: copy("tend", built),
    dinit: copy("dinit", built),
    s6: copy("s6", variants.s6),
    runit: copy("runit", variants.runit),
    supervisord: copy("supervisord", built),
    pm2: copy("pm2", built),
    helper: cc(dir, "bench-sv", HELPER_SOURCE),
  };
}
