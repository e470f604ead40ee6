// What a translator of another init system's files into tend service files gives
// back: the files to write, the names the boot should bring up, and a note per
// directive (header field, …) saying what became of it. Plain data: the dispatcher
// (import.ts) reads and writes, the translators only translate.

/** What became of one directive. `ignored`: it changes nothing about how the service runs (Documentation=). */
export type Outcome = "translated" | "approximated" | "dropped" | "ignored";

export interface Note {
  /** The directive as written in its unit (`ExecStart`, `Required-Start`). */
  directive: string;
  /** The file and line it came from (a drop-in's own). */
  file: string;
  line: number;
  outcome: Outcome;
  /** What it became: `command = …`, or a few words. */
  to?: string;
  /** Why it was dropped or approximated. */
  why?: string;
}

/** A tend service file to write: its name is the service's (a template's ends in `@`). */
export interface ServiceFileOut {
  name: string;
  text: string;
}

export interface Translation {
  /** The unit's or script's path, as given or found. */
  source: string;
  files: ServiceFileOut[];
  /** Names the boot should bring up (systemd's WantedBy=multi-user.target, LSB's Default-Start). */
  enable: string[];
  notes: Note[];
}

/** A file a translator may read besides its input: a timer's service, a unit's drop-ins. */
export interface UnitFiles {
  /** The text of the file at `path`, or null when there is none (or it cannot be read: said by `error`). */
  read(path: string): string | null;
  /** The entries of a directory, sorted; empty when there is none. */
  list(dir: string): string[];
}

export interface TranslateInput {
  path: string;
  text: string;
  files: UnitFiles;
  /** Service names that will exist: the destination's files and what this run writes. Dependencies on others are dropped. */
  known: ReadonlySet<string>;
}

/** A translation, or why the input cannot be translated at all (unparseable), located. */
export type TranslateResult = { ok: true; translation: Translation } | { ok: false; error: string };

export interface Translator {
  /** What it reads, for messages: `systemd unit`, `LSB init script`. */
  kind: string;
  /** Whether a file is its to read: by content (and its name), never by where it is. */
  recognises(path: string, text: string): boolean;
  /** The service names its translation will write for this input, before translating (so dependencies between inputs are kept). */
  names(path: string, text: string): string[];
  /** Other files its translation includes (a timer's service): those are not translated on their own. */
  covers?(path: string, text: string, files: UnitFiles): string[];
  translate(input: TranslateInput): TranslateResult;
}
