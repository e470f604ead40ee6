// The kernel's tables of sockets, read from /proc: the sockets that listen on a TCP
// port or a unix stream path, or are bound to a unix datagram path, each by its inode;
// and which process holds an inode among its fds (/proc/PID/fd links `socket:[INODE]`).
// This is how a readiness probe tells a service's own listener from another process's
// (docs/service-files.md, `ready`). Nothing here decides readiness.

import { readFile, readdir, readlink } from "node:fs/promises";
import { endianness, networkInterfaces } from "node:os";
import { isIP } from "node:net";

/** A socket of /proc/net/tcp or tcp6, its local address in the form `canonicalAddress` gives. */
export interface InetSocket {
  address: string;
  port: number;
  /** TCP_LISTEN (state 0A). */
  listening: boolean;
  uid: number;
  inode: number;
}

export type UnixType = "stream" | "dgram" | "seqpacket" | "other";

/** A socket of /proc/net/unix; `path` is the name it was bound to ("" for none, `@…` for an abstract one). */
export interface UnixSocket {
  path: string;
  type: UnixType;
  /** Accepting connections (__SO_ACCEPTCON in its flags): a listening stream or seqpacket socket. */
  listening: boolean;
  inode: number;
}

/** Where a readiness probe looks: a TCP port on some addresses, or a unix path of a kind. */
export type Endpoint = { kind: "tcp"; addresses: string[]; port: number } | { kind: "unix"; path: string; type: "stream" | "dgram" };

/** A socket that listens on (or is bound to) an endpoint: its inode, and its owner's uid where the kernel says (TCP). */
export interface Listening {
  inode: number;
  uid: number | null;
}

/** The canonical text of an IP address (`::1` for `0:0::1`), or null for one that is not. */
export function canonicalAddress(address: string): string | null {
  if (isIP(address) === 4) return address.split(".").map(Number).join(".");
  if (isIP(address) !== 6) return null;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}

/** Is a (canonical) address this machine's own: loopback, a wildcard, or an interface's? The kernel's tables list what listens there. */
export function isLocalAddress(address: string): boolean {
  if (address.startsWith("127.") || address === "::1" || address === "0.0.0.0" || address === "::" || address.startsWith("::ffff:7f")) return true;
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => canonicalAddress(i.address) === address));
}

/** Each 32-bit word of a /proc/net address is printed in the machine's byte order. */
function addressOf(hex: string): string | null {
  if (!/^(?:[0-9A-Fa-f]{8}){1,4}$/.test(hex)) return null;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(endianness() === "LE" ? word.reverse() : word));
  }
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) return null;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalAddress(groups.join(":"));
}

/** The lines of /proc/net/tcp or tcp6 (the header and lines it cannot read are skipped). */
export function parseInetTable(text: string): InetSocket[] {
  const sockets: InetSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const [local, state, uid, inode] = [f[1], f[3], f[7], f[9]];
    const colon = local?.indexOf(":") ?? -1;
    if (local === undefined || colon < 0 || state === undefined || !/^\d+$/.test(uid ?? "") || !/^\d+$/.test(inode ?? "")) continue;
    const address = addressOf(local.slice(0, colon));
    const port = parseInt(local.slice(colon + 1), 16);
    if (address === null || !Number.isInteger(port)) continue;
    sockets.push({ address, port, listening: state === "0A", uid: Number(uid), inode: Number(inode) });
  }
  return sockets;
}

const UNIX_TYPES: Record<number, UnixType> = { 1: "stream", 2: "dgram", 5: "seqpacket" };
const ACCEPTING = 0x10000;
const UNIX_LINE = /^\s*[0-9a-f]+:\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\d+)(?: (.*))?$/i;

/** The lines of /proc/net/unix (the header and lines it cannot read are skipped). */
export function parseUnixTable(text: string): UnixSocket[] {
  const sockets: UnixSocket[] = [];
  for (const line of text.split("\n").slice(1)) {
    const m = UNIX_LINE.exec(line);
    if (m === null) continue;
    const flags = parseInt(m[1]!, 16);
    sockets.push({ path: m[4] ?? "", type: UNIX_TYPES[parseInt(m[2]!, 16)] ?? "other", listening: (flags & ACCEPTING) !== 0, inode: Number(m[3]) });
  }
  return sockets;
}

/** Does a socket bound to `address` take connections made to `target` (both canonical)? */
function reaches(address: string, target: string): boolean {
  if (address === target) return true;
  if (isIP(target) === 4) return address === "0.0.0.0" || address === "::" || address === canonicalAddress(`::ffff:${target}`);
  return address === "::";
}

/**
 * The sockets listening on the endpoint now (a unix datagram one: bound to its path),
 * or null when the kernel's tables cannot be read. A TCP socket on `::` counts for an
 * IPv4 address too: the table does not say whether it is IPv6-only.
 */
export async function listeningOn(endpoint: Endpoint): Promise<Listening[] | null> {
  try {
    if (endpoint.kind === "unix") {
      const sockets = parseUnixTable(await readFile("/proc/net/unix", "utf8"));
      const wanted = (s: UnixSocket): boolean => (endpoint.type === "stream" ? s.type === "stream" && s.listening : s.type === "dgram");
      return sockets.filter((s) => s.path === endpoint.path && wanted(s)).map((s) => ({ inode: s.inode, uid: null }));
    }
    const tables = await Promise.all(["/proc/net/tcp", "/proc/net/tcp6"].map((path) => readFile(path, "utf8").catch(() => "")));
    const sockets = tables.flatMap(parseInetTable);
    if (tables.every((t) => t === "")) return null;
    return sockets
      .filter((s) => s.listening && s.port === endpoint.port && endpoint.addresses.some((a) => reaches(s.address, a)))
      .map((s) => ({ inode: s.inode, uid: s.uid }));
  } catch {
    return null;
  }
}

/** The socket inodes among a process's fds; null when they cannot be read (another user's process). A process that is gone holds none. */
export async function socketsOf(pid: number): Promise<Set<number> | null> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? new Set() : null;
  }
  const inodes = new Set<number>();
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null) inodes.add(Number(m[1]));
  }
  return inodes;
}

/** A process holding one of the inodes, among all this user may look into; null when none is found. */
export async function holderOf(inodes: ReadonlySet<number>): Promise<number | null> {
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((name) => /^\d+$/.test(name)).map(Number);
  for (const pid of pids) {
    const held = await socketsOf(pid);
    if (held !== null && [...inodes].some((i) => held.has(i))) return pid;
  }
  return null;
}

/** A process's command name (/proc/PID/comm), or null. */
export async function commandOf(pid: number): Promise<string | null> {
  const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "");
  return comm.trim() === "" ? null : comm.trim();
}
