// `ready = tcp:HOST:PORT`, `unix:PATH` and `unix-dgram:PATH`: ready once the service
// itself listens there. The kernel's tables (/proc/net/tcp, tcp6, unix) name the
// sockets listening on the address, by inode, and the fds of the service's processes
// (the keeper's `procs`) say whether one of them is the service's. Then no connection
// is made at all: a socket in LISTEN accepts, and a daemon's log gets no "client closed
// connection" line per probe. A listener held by another process (an orphan of an
// earlier run holding the port) is not the service's: the probe goes on waiting and
// says once who holds it. Where the owner cannot be known (no /proc/net, a process of
// the service whose fds cannot be read, a tree too big to list, an address that is not
// this machine's, a socket bound by another name), `tcp:` and `unix:` fall back to a
// connection attempt, `unix-dgram:` to the bound socket being there.

import { lookup } from "node:dns/promises";
import { lstat } from "node:fs/promises";
import type { ReadySpec } from "../../config/values.js";
import { canonicalAddress, commandOf, holderOf, isLocalAddress, listeningOn, socketsOf, type Endpoint } from "../../system/listeners.js";
import type { ProcessList } from "../supervisor.js";
import { connectAttempt, poll } from "./poll.js";
import type { Watch } from "./watch.js";

export type SocketReadiness = Extract<ReadySpec, { kind: "tcp" | "unix" | "unix-dgram" }>;

/** Whose the sockets listening on the endpoint are. */
export type Owner =
  /** One of them is held by a process of the service. */
  | { kind: "service" }
  /** Every process of the service was looked into, and none holds any of them. */
  | { kind: "other"; inodes: Set<number>; uids: number[] }
  /** There are some, but whose cannot be known: the service's processes could not all be looked into. */
  | { kind: "unknown" }
  /** The kernel lists none. */
  | { kind: "none" }
  /** The kernel's tables cannot be read (no /proc/net), or a name did not resolve. */
  | { kind: "unreadable" };

export interface ListenerWatch {
  /** The service's name, for what is said. */
  service: string;
  /** The pids of the service's tree now. */
  processes(): Promise<ProcessList>;
  onReady(): void;
  /** A listener there is not the service's: said once for each holder. */
  notOurs(text: string): void;
}

export async function ownerOf(endpoint: Endpoint, processes: () => Promise<ProcessList>): Promise<Owner> {
  const listening = await listeningOn(endpoint);
  if (listening === null) return { kind: "unreadable" };
  if (listening.length === 0) return { kind: "none" };
  const inodes = new Set(listening.map((l) => l.inode));
  const { pids, total } = await processes();
  let complete = pids.length === total;
  for (const pid of pids) {
    const held = await socketsOf(pid);
    if (held === null) complete = false;
    else if ([...inodes].some((inode) => held.has(inode))) return { kind: "service" };
  }
  if (!complete) return { kind: "unknown" };
  return { kind: "other", inodes, uids: [...new Set(listening.flatMap((l) => (l.uid === null ? [] : [l.uid])))] };
}

/** The endpoint a readiness names, a host name resolved to its addresses; null when it does not resolve. */
async function endpointOf(spec: SocketReadiness): Promise<Endpoint | null> {
  if (spec.kind === "unix") return { kind: "unix", path: spec.path, type: "stream" };
  if (spec.kind === "unix-dgram") return { kind: "unix", path: spec.path, type: "dgram" };
  const literal = canonicalAddress(spec.host);
  if (literal !== null) return { kind: "tcp", addresses: [literal], port: spec.port };
  const found = await lookup(spec.host, { all: true }).catch(() => []);
  const addresses = found.flatMap((a) => canonicalAddress(a.address) ?? []);
  return addresses.length === 0 ? null : { kind: "tcp", addresses, port: spec.port };
}

/** `127.0.0.1:8080`, `[::1]:8080`, `/run/app.sock`: the place as the service file names it. */
export function placeOf(spec: SocketReadiness): string {
  if (spec.kind !== "tcp") return spec.path;
  return `${spec.host.includes(":") ? `[${spec.host}]` : spec.host}:${spec.port}`;
}

/** "127.0.0.1:8080 is answered by pid 4321 (python3), which is not web's". */
async function describe(spec: SocketReadiness, service: string, inodes: ReadonlySet<number>, uids: number[]): Promise<string> {
  const pid = await holderOf(inodes);
  const command = pid === null ? null : await commandOf(pid);
  const who =
    pid !== null ? `pid ${pid}${command === null ? "" : ` (${command})`}` : uids.length > 0 ? `a process of uid ${uids.join(" or ")}` : "a process";
  return `${placeOf(spec)} is ${spec.kind === "unix-dgram" ? "bound" : "answered"} by ${who}, which is not ${service}'s`;
}

export function watchListener(spec: SocketReadiness, w: ListenerWatch): Watch {
  const looked = new Set<number>(); // inodes already described
  const said = new Set<string>();
  /** What to say of another's listener: null when its sockets were described already. */
  const news = async (owner: Extract<Owner, { kind: "other" }>): Promise<string | null> => {
    const fresh = new Set([...owner.inodes].filter((inode) => !looked.has(inode)));
    if (fresh.size === 0) return null;
    for (const inode of fresh) looked.add(inode);
    const text = await describe(spec, w.service, fresh, owner.uids);
    if (said.has(text)) return null;
    said.add(text);
    return text;
  };
  return poll((done) => {
    let abandoned = false;
    let abandonConnect = (): void => {};
    const decide = async (): Promise<void> => {
      const endpoint = await endpointOf(spec);
      const owner: Owner = endpoint === null ? { kind: "unreadable" } : await ownerOf(endpoint, w.processes);
      if (abandoned) return;
      if (owner.kind === "service") return done(true);
      if (owner.kind === "other") {
        const text = await news(owner);
        if (text !== null && !abandoned) w.notOurs(text);
        return done(false);
      }
      if (spec.kind === "unix-dgram") return done(owner.kind === "unknown" || (owner.kind === "unreadable" && (await isSocket(spec.path))));
      // Nothing listed where the kernel lists every listener (a local address, a path that
      // is no socket): a connection could only meet one that appeared a moment ago.
      if (owner.kind === "none" && (spec.kind === "tcp" ? endpoint?.kind === "tcp" && endpoint.addresses.every(isLocalAddress) : !(await isSocket(spec.path)))) return done(false);
      if (abandoned) return;
      abandonConnect = connectAttempt(spec.kind === "tcp" ? { host: spec.host, port: spec.port } : { path: spec.path })(done);
    };
    decide().catch(() => done(false));
    return () => {
      abandoned = true;
      abandonConnect();
    };
  }, w.onReady);
}

const isSocket = (path: string): Promise<boolean> => lstat(path).then((s) => s.isSocket(), () => false);
