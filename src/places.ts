// Where tend keeps things. Root mode uses the FHS places, user mode the XDG ones, and
// `--root DIR` (or TEND_ROOT) moves every root-mode place under DIR, which is how the
// demo and the tests run without touching the machine.

import { homedir } from "node:os";
import { join } from "node:path";

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
    };
  }
  const home = env.HOME || homedir();
  const state = join(env.XDG_STATE_HOME || join(home, ".local/state"), "tend");
  const config = env.XDG_CONFIG_HOME || join(home, ".config");
  return {
    mode: "user",
    sources: join(config, "tend"),
    config: join(config, "tend.conf"),
    state,
    run: env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "tend") : `/tmp/tend-${uid}`,
    log: join(state, "log"),
  };
}

/** A service's name as one path component: an instance value may hold '/' (`mount@/dev/sdb1`). */
export const fileNameOf = (service: string): string => service.replace(/%/g, "%25").replace(/\//g, "%2F");
