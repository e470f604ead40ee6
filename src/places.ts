// Where tend keeps things. Root mode uses the FHS places, user mode the XDG ones, and
// `--root DIR` (or TEND_ROOT) moves every root-mode place under DIR, which is how the
// demo and the tests run without touching the machine.

import { homedir } from "node:os";
import { join } from "node:path";
import type { DirectoryKind } from "./config/service.js";

export interface Places {
  mode: "system" | "user" | "root-dir";
  /** Service files: the compiler's input. */
  sources: string;
  /** Installed databases and persistent state. */
  state: string;
  /** Sockets and live state. */
  run: string;
  /** One directory of logs per service. */
  log: string;
  /** The server's own settings (tend.conf): beside the source directory. */
  config: string;
  /** The environment every service starts from (tend.env, systemd's DefaultEnvironment): beside tend.conf. */
  environment: string;
  /**
   * Where services' own directories go (`runtime-directory` & co.): /run, /var/lib,
   * /var/cache, /var/log; in user mode the XDG places, as systemd --user maps them.
   */
  directories: Record<DirectoryKind, string>;
}

/**
 * The modes of tend's places, set whatever the umask: the state holds secrets (the
 * database holds every `env` value); the run and log directories are walked by all (their
 * sockets and each service's log directory have modes of their own).
 */
export const PLACE_MODES = { state: 0o700, run: 0o755, log: 0o755 } as const;

export interface PlaceInputs {
  root?: string | undefined;
  env: NodeJS.ProcessEnv;
  uid: number;
}

export function places({ root, env, uid }: PlaceInputs): Places {
  const dir = root ?? (env.TEND_ROOT || undefined);
  if (dir !== undefined || uid === 0) {
    const base = dir ?? "/";
    return {
      mode: dir === undefined ? "system" : "root-dir",
      sources: join(base, "etc/tend"),
      state: join(base, "var/lib/tend"),
      run: join(base, "run/tend"),
      log: join(base, "var/log/tend"),
      config: join(base, "etc/tend.conf"),
      environment: join(base, "etc/tend.env"),
      directories: { runtime: join(base, "run"), state: join(base, "var/lib"), cache: join(base, "var/cache"), logs: join(base, "var/log") },
    };
  }
  const home = env.HOME || homedir();
  const stateHome = env.XDG_STATE_HOME || join(home, ".local/state");
  const state = join(stateHome, "tend");
  const config = env.XDG_CONFIG_HOME || join(home, ".config");
  const run = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "tend") : `/tmp/tend-${uid}`;
  return {
    mode: "user",
    sources: join(config, "tend"),
    config: join(config, "tend.conf"),
    environment: join(config, "tend.env"),
    state,
    run,
    log: join(state, "log"),
    directories: {
      // Without XDG_RUNTIME_DIR, under tend's own run directory in /tmp.
      runtime: env.XDG_RUNTIME_DIR || join(run, "runtime"),
      state: stateHome,
      cache: env.XDG_CACHE_HOME || join(home, ".cache"),
      logs: join(stateHome, "log"),
    },
  };
}

/** A service's name as one path component: an instance value may hold '/' (`mount@/dev/sdb1`). */
export const fileNameOf = (service: string): string => service.replace(/%/g, "%25").replace(/\//g, "%2F");

/** The directory in LOG of the syslog messages no service sent (`tend logs syslog`): no service's name begins with '_'. */
export const SYSLOG_LOG_DIR = "_syslog";
