// Malformed control requests, for `npm run fuzz` and its fast slice in the tests: each
// case is one line (or, for a line too long to be a request, a connection's worth)
// made from the seed and its index alone, so that any case replays by itself.
//
// The mix: valid requests mutated (a field dropped, a value of the wrong type, a name
// that is a prototype property, a huge number, a deep value), random bytes, lines past
// the request limit, deeply nested JSON, JSON that is not an object, and prototype
// names everywhere a name goes. Never `shutdown`: the server must be there for the next case.

import { MAX_REQUEST_BYTES } from "../../src/server/protocol.js";
import type { Random } from "../../test/prng.js";

export interface RequestCase {
  /** What to write, ending with a newline. */
  bytes: Buffer;
  /** The server closes the connection after it (a line over the limit): it goes on a connection of its own. */
  closes: boolean;
}

/** The set the fuzzed server runs: a few of each type, cheap to start and stop. */
export const FUZZ_SET: Record<string, string> = {
  alpha: "type = longrun\ncommand = /bin/sleep 100000\nstop-timeout = 1s\n",
  beta: "type = longrun\ncommand = /bin/sleep 100000\nrequires = alpha\nstop-timeout = 1s\n",
  gamma: "type = task\ncommand = /bin/true\n",
  once: "type = oneshot\nup = /bin/true\n",
  group: "type = bundle\ncontents = alpha beta\n",
};
const FUZZ_SERVICES = Object.keys(FUZZ_SET);

const PROTOTYPE_NAMES = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "isPrototypeOf"];

const NAMES = [...FUZZ_SERVICES, ...PROTOTYPE_NAMES, "", " ", "nosuch", "a/b", "../x", "x@y", "alpha@", "alpha@inst", "é✓", "\u0000", "x".repeat(300), "-", "default"];

/** Valid requests (the commands of docs/protocol.md) to start mutations from. */
function template(rng: Random, id: number): Record<string, unknown> {
  const name = (): string => rng.pick(NAMES);
  const names = (): string[] => Array.from({ length: rng.int(1, 3) }, name);
  const event = (): string => rng.pick(["net.eth0", "block-added", "ev", ...PROTOTYPE_NAMES, "x:y/z"]);
  const requests: (() => Record<string, unknown>)[] = [
    () => ({ cmd: "status" }),
    () => ({ cmd: "status", names: names() }),
    () => ({ cmd: "list" }),
    () => ({ cmd: "ping" }),
    () => ({ cmd: "why", name: name() }),
    () => ({ cmd: rng.pick(["start", "stop", "restart"]), names: names(), wait: rng.chance(0.3), progress: rng.chance(0.5) }),
    () => ({ cmd: rng.pick(["enable", "disable"]), names: names() }),
    () => ({ cmd: "logs", name: name(), lines: rng.pick([0, 1, 10, -1, 1e9, 1.5]) }),
    () => ({ cmd: "signal", name: name(), signal: rng.pick(["HUP", "USR1", "0", "SIGFOO", "KILL", "99", ""]) }),
    () => ({ cmd: "apply", from: rng.pick(["/nonexistent", "", "relative", "/dev/null"]) }),
    () => ({ cmd: "emit", name: event(), values: Object.fromEntries(Array.from({ length: rng.int(0, 3) }, () => [rng.pick(["A", "DEVNAME", ...PROTOTYPE_NAMES, "1x", ""]), rng.pick(["v", "", "x".repeat(5000)])])) }),
    () => ({ cmd: "set", name: event(), value: rng.pick(["up", "", "down"]), persist: rng.chance(0.1) }),
    () => ({ cmd: "unset", name: event() }),
    () => ({ cmd: "events", count: rng.pick([1, 0, -5, 1e12, 3.5]) }),
    () => ({ cmd: "levels" }),
  ];
  return { id, ...rng.pick(requests)() };
}

/** A value of any JSON type, small, with the awkward ones overrepresented. */
function oddValue(rng: Random): unknown {
  return rng.pick<() => unknown>([
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 2 ** 53,
    () => 1e308,
    () => 0.5,
    () => "",
    () => rng.pick(PROTOTYPE_NAMES),
    () => "x".repeat(rng.int(1, 2000)),
    () => [],
    () => [rng.pick(NAMES)],
    () => ({}),
    () => ({ [rng.pick(PROTOTYPE_NAMES)]: rng.pick(NAMES) }),
    () => deep(rng.int(10, 2000), rng.chance(0.5)),
  ])();
}

/** `[[[…]]]` or `{"a":{"a":…}}`, `depth` deep. */
function deep(depth: number, arrays: boolean): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  return value;
}

/** A valid request with one to three things wrong with it. */
function mutated(rng: Random, id: number): string {
  const request = template(rng, id);
  for (let n = rng.int(1, 3); n > 0; n--) {
    const keys = Object.keys(request);
    const key = rng.pick(keys);
    const roll = rng.int(0, 5);
    if (roll === 0) delete request[key];
    else if (roll === 1) request[key] = oddValue(rng);
    else if (roll === 2) request[rng.pick([...PROTOTYPE_NAMES, "extra", "cmd", "id", "names", "name"])] = oddValue(rng);
    else if (roll === 3) request.cmd = rng.pick([...PROTOTYPE_NAMES, "STATUS", "status ", "", "shutdown!", "sta\u0000tus"]);
    else if (roll === 4) request.id = rng.pick<unknown>(["1", -0, 1.5, 2 ** 63, null, [], id]);
    // roll 5: left as it is, a valid request among the broken ones
  }
  let text = JSON.stringify(request);
  // JSON.stringify never writes a "__proto__" key set by assignment; put one in by hand.
  if (rng.chance(0.1)) text = text.replace(/^\{/, `{"__proto__":${JSON.stringify(oddValue(rng))},`);
  if (rng.chance(0.05)) text = text.slice(0, rng.int(0, text.length)); // cut short
  return text;
}

function randomText(rng: Random, length: number): string {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = rng.int(0, 255);
  return bytes.toString("latin1").replace(/\n/g, " ");
}

/** Case `id` of a run, from its own generator. */
export function requestCase(rng: Random, id: number): RequestCase {
  const line = (text: string): RequestCase => ({ bytes: Buffer.from(`${text}\n`, text.length > 0 && /[^\x00-\xff]/.test(text) ? "utf8" : "latin1"), closes: false });
  const roll = rng.int(0, 99);
  if (roll < 55) return line(mutated(rng, id));
  if (roll < 65) return line(randomText(rng, rng.int(0, 300)));
  if (roll < 70) {
    // Around the limit: just under is answered, over closes the connection.
    const size = rng.pick([MAX_REQUEST_BYTES - 100, MAX_REQUEST_BYTES + 1, MAX_REQUEST_BYTES * 4, 2 * 1024 * 1024]);
    const text = rng.chance(0.5) ? JSON.stringify({ id, cmd: "status", names: ["x".repeat(Math.max(0, size - 40))] }) : "y".repeat(size);
    return { bytes: Buffer.from(`${text}\n`), closes: Buffer.byteLength(text) > MAX_REQUEST_BYTES };
  }
  if (roll < 78) {
    // Deep JSON within the limit: nesting alone must not overflow anything.
    const depth = rng.int(1000, 30_000);
    const [open, close] = rng.pick([["[", "]"], ['{"a":', "}"]]);
    const inner = rng.chance(0.5) ? `${open!.repeat(depth)}1${close!.repeat(depth)}` : `${open!.repeat(depth)}`;
    return line(rng.pick([inner, `{"id":${id},"cmd":"status","names":${inner}}`, `{"id":${id},"cmd":${inner}}`]));
  }
  if (roll < 86) return line(rng.pick(["[]", "null", "1", '"status"', "true", "{}", "{", "}", '{"id":1}', `{"cmd":"status"}`, `{"id":${id},"cmd":null}`, "[{}]", "\ufeff{}", " ", "\t"]));
  // Prototype names in every place a name goes.
  const proto = rng.pick(PROTOTYPE_NAMES);
  return line(
    rng.pick([
      `{"id":${id},"cmd":"${proto}"}`,
      `{"id":${id},"cmd":"status","names":["${proto}"]}`,
      `{"id":${id},"cmd":"why","name":"${proto}"}`,
      `{"id":${id},"cmd":"logs","name":"${proto}"}`,
      `{"id":${id},"cmd":"signal","name":"${proto}","signal":"${proto}"}`,
      `{"id":${id},"cmd":"${rng.pick(["start", "stop", "restart", "enable", "disable"])}","names":["${proto}"],"wait":false}`,
      `{"id":${id},"cmd":"emit","name":"${proto}","values":{"${proto}":"x"}}`,
      `{"id":${id},"cmd":"set","name":"${proto}","value":"${proto}"}`,
      `{"id":${id},"cmd":"unset","name":"${proto}"}`,
      `{"id":${id},"cmd":"status","${proto}":1}`,
      `{"__proto__":{"cmd":"status"},"id":${id}}`,
      // Where the server describes what it was sent: String() of these throws.
      `{"id":${id},"cmd":"${rng.pick(["emit", "set", "unset"])}","name":{"${proto}":1},"values":{}}`,
      `{"id":${id},"cmd":{"${proto}":"status"}}`,
    ]),
  );
}
