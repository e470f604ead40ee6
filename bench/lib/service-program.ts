// The service program of the supervision workloads (W1–W3): a tiny C program the bench
// compiles with the machine's `cc`, so that what is measured is the service manager and
// not the start-up of a shell or an interpreter. It is exec'd directly (no shell):
//
//   svc --ready-ms N --fd F   sleep N ms, write "\n" to fd F (the s6 / dinit pipefd
//                             readiness protocol), then wait; exit 0 on SIGTERM
//   svc                       just wait; exit 0 on SIGTERM

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SOURCE = `/* tend bench service program: see bench/lib/service-program.ts */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv) {
  long ready_ms = -1;
  int fd = 3;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return 2;
    if (strcmp(argv[i], "--ready-ms") == 0) ready_ms = atol(argv[i + 1]);
    else if (strcmp(argv[i], "--fd") == 0) fd = atoi(argv[i + 1]);
    else return 2;
  }
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
  for (;;) pause();
}
`;

/** Compiles the program into `dir` and returns its absolute path. Throws when there is no working `cc`. */
export function buildServiceProgram(dir: string): string {
  const source = join(dir, "svc.c");
  const program = join(dir, "svc");
  if (/\s/.test(program)) throw new Error(`the temporary directory ${dir} has blanks in its path: service command lines would split it`);
  writeFileSync(source, SOURCE);
  try {
    execFileSync("cc", ["-O2", "-o", program, source], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error("these workloads compile their service program with 'cc', and there is none: install a C compiler (apt-get install gcc)");
    throw new Error(`cc could not compile the service program:\n${String(err.stderr ?? err.message)}`);
  }
  return program;
}

/**
 * One copy of the program per manager (DIR/tend/svc, DIR/dinit/svc): the bench finds a
 * manager's leftover processes by the path of their program, so two managers running at
 * once must not share one.
 */
export function servicePrograms(dir: string): { tend: string; dinit: string } {
  const built = buildServiceProgram(dir);
  const copy = (subject: string): string => {
    mkdirSync(join(dir, subject));
    const path = join(dir, subject, "svc");
    copyFileSync(built, path);
    chmodSync(path, 0o755);
    return path;
  };
  return { tend: copy("tend"), dinit: copy("dinit") };
}
