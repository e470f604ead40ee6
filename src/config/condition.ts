// The `start-on` / `stop-on` language: conditions over edge events, levels and the
// job events of other services, combined with `and`, `or` and parentheses.
//
//   condition := term ("or" term)*
//   term      := atom ("and" atom)*
//   atom      := "(" condition ")"
//              | LEVEL "=" GLOB                      net.eth0=up
//              | JOBVERB SERVICE (KEY "=" GLOB)*     stopping db, started getty@tty1
//              | EVENT (KEY "=" GLOB)*               block-added DEVNAME=/dev/sd*
//
// GLOB matches values with `*`, `?` and `[…]`, as a shell would match file names.
// Parentheses nest at most MAX_CONDITION_DEPTH deep: the parser (and everything that
// walks a condition later) recurses once per level, so a file cannot drive it deeper.

import { nameRecord } from "../records.js";
import { ARGUMENT_VARIABLE, splitInstanceName, TEMPLATE_NAME } from "./template.js";
import { SERVICE_NAME, type Parsed } from "./values.js";

export type JobVerb = "starting" | "started" | "stopping" | "stopped";
export const JOB_VERBS: readonly JobVerb[] = ["starting", "started", "stopping", "stopped"];

export type Condition =
  | { kind: "or"; of: Condition[] }
  | { kind: "and"; of: Condition[] }
  | { kind: "level"; name: string; value: string }
  | { kind: "event"; name: string; match: Record<string, string> }
  | { kind: "job"; verb: JobVerb; service: string; match: Record<string, string> };

/** A service named in a condition, with where it is named (for the graph check). */
export interface ConditionReference {
  service: string;
  offset: number;
}

interface Token {
  text: string;
  offset: number;
}

const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;
const MATCH_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set<string>(["and", "or", ...JOB_VERBS]);

/** How deep parentheses may nest in one condition (docs/service-files.md). */
export const MAX_CONDITION_DEPTH = 64;

class ConditionError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function parseCondition(text: string): Parsed<{ condition: Condition; references: ConditionReference[] }> {
  const references: ConditionReference[] = [];
  try {
    const tokens = tokenize(text);
    if (tokens.length === 0) return { ok: false, message: "a condition is needed here, like 'net.eth0=up'" };
    let at = 0;
    let depth = 0;
    const peek = (): Token | undefined => tokens[at];
    const fail = (message: string, token = peek()): never => {
      throw new ConditionError(message, token?.offset ?? text.length);
    };

    const parseOr = (): Condition => {
      const of: [Condition, ...Condition[]] = [parseAnd()];
      while (peek()?.text === "or") {
        at++;
        of.push(parseAnd());
      }
      return of.length === 1 ? of[0] : { kind: "or", of };
    };
    const parseAnd = (): Condition => {
      const of: [Condition, ...Condition[]] = [parseAtom()];
      while (peek()?.text === "and") {
        at++;
        of.push(parseAtom());
      }
      return of.length === 1 ? of[0] : { kind: "and", of };
    };
    const parseMatches = (): Record<string, string> => {
      const match = nameRecord<string>();
      for (let t = peek(); t !== undefined && t.text.includes("=") && !isParen(t); t = peek()) {
        const eq = t.text.indexOf("=");
        const key = t.text.slice(0, eq);
        if (!MATCH_KEY.test(key)) fail(`'${key}' is not a valid event key (letters, digits and '_')`, t);
        if (Object.hasOwn(match, key)) fail(`'${key}' is matched twice`, t);
        match[key] = checkGlob(t.text.slice(eq + 1), t.offset + eq + 1);
        at++;
      }
      return match;
    };
    const parseAtom = (): Condition => {
      const t = peek();
      if (t === undefined) return fail("the condition ends too early: an event, a level or '(' should follow");
      if (t.text === "(") {
        if (depth === MAX_CONDITION_DEPTH) fail(`parentheses nest more than ${MAX_CONDITION_DEPTH} deep here: write the condition with fewer levels`, t);
        depth++;
        at++;
        const inner = parseOr();
        if (peek()?.text !== ")") fail("expected ')' to close the '(' here", t);
        at++;
        depth--;
        return inner;
      }
      if (t.text === ")" || t.text === "and" || t.text === "or") fail(`unexpected '${t.text}'`);
      at++;
      const eq = t.text.indexOf("=");
      if (eq >= 0) {
        const name = t.text.slice(0, eq);
        if (!EVENT_NAME.test(name)) fail(`'${name}' is not a valid level name`, t);
        return { kind: "level", name, value: checkGlob(t.text.slice(eq + 1), t.offset + eq + 1) };
      }
      if ((JOB_VERBS as readonly string[]).includes(t.text)) {
        const target = peek();
        if (target === undefined || isParen(target) || RESERVED.has(target.text)) return fail(`'${t.text}' must be followed by a service name`, target ?? t);
        at++;
        // An instance's job events are its template's, with INSTANCE: `started getty@tty1` is `started getty@ INSTANCE=tty1`.
        const instance = splitInstanceName(target.text);
        const service = instance?.template ?? target.text;
        if (instance === null && !SERVICE_NAME.test(service) && !TEMPLATE_NAME.test(service)) fail(`'${target.text}' is not a valid service name`, target);
        references.push({ service, offset: target.offset });
        const match = parseMatches();
        if (instance !== null) {
          if (Object.hasOwn(match, ARGUMENT_VARIABLE)) fail(`'${target.text}' names its instance already: ${ARGUMENT_VARIABLE}= cannot be matched too`, target);
          match[ARGUMENT_VARIABLE] = instance.argument; // no pattern characters: an argument has none
        }
        return { kind: "job", verb: t.text as JobVerb, service, match };
      }
      if (!EVENT_NAME.test(t.text)) fail(`'${t.text}' is not a valid event name`, t);
      return { kind: "event", name: t.text, match: parseMatches() };
    };

    const condition = parseOr();
    const extra = peek();
    if (extra !== undefined) fail(`unexpected '${extra.text}': join conditions with 'and' or 'or'`);
    return { ok: true, value: { condition, references } };
  } catch (e) {
    if (e instanceof ConditionError) return { ok: false, message: e.message, offset: e.offset };
    throw e;
  }
}

/** A condition written back as the file would say it (for `tend graph`): `and` binds tighter than `or`, so only an `or` inside an `and` needs parentheses. */
export function conditionText(c: Condition): string {
  const matches = (m: Record<string, string>): string => Object.entries(m).map(([k, v]) => ` ${k}=${v}`).join("");
  switch (c.kind) {
    case "or":
      return c.of.map(conditionText).join(" or ");
    case "and":
      return c.of.map((x) => (x.kind === "or" ? `(${conditionText(x)})` : conditionText(x))).join(" and ");
    case "level":
      return `${c.name}=${c.value}`;
    case "event":
      return `${c.name}${matches(c.match)}`;
    case "job":
      return `${c.verb} ${c.service}${matches(c.match)}`;
  }
}

const isParen = (t: Token): boolean => t.text === "(" || t.text === ")";

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      i++;
    } else if (c === "(" || c === ")") {
      tokens.push({ text: c, offset: i });
      i++;
    } else {
      const start = i;
      let word = "";
      while (i < text.length && !" \t()".includes(text[i]!)) {
        const q = text[i]!;
        if (q === "'" || q === '"') {
          const end = text.indexOf(q, i + 1);
          if (end < 0) throw new ConditionError("unterminated quote", i);
          word += text.slice(i + 1, end);
          i = end + 1;
        } else {
          word += q;
          i++;
        }
      }
      tokens.push({ text: word, offset: start });
    }
  }
  return tokens;
}

function checkGlob(glob: string, offset: number): string {
  let open = -1;
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === "[" && open < 0) open = i;
    else if (glob[i] === "]" && open >= 0 && i > open + 1) open = -1;
  }
  if (open >= 0) throw new ConditionError("unclosed '[' in pattern", offset + open);
  try {
    globMatch(glob, ""); // a range like [z-a] is not a pattern globMatch can build
  } catch {
    throw new ConditionError(`'${glob}' is not a valid pattern`, offset);
  }
  return glob;
}

/** Does `value` match the shell-style pattern `glob`? */
export function globMatch(glob: string, value: string): boolean {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      const body = glob.slice(i + 1, end).replace(/^!/, "^").replace(/[\\\]]/g, "\\$&"); // in `[]]` the ']' is a member
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`${re}$`, "s").test(value);
}
