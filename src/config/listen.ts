// `listen`: a socket tend opens for a service and passes to its main command (socket
// activation, sd_listen_fds(3)). One value is `[NAME=]tcp:ADDR:PORT`, `[NAME=]udp:ADDR:PORT`
// or `[NAME=]unix:PATH[:MODE[:USER[:GROUP]]]`; ADDR is an IPv4 address or `[IPv6]`
// (no host names: what is bound must not depend on a resolver at boot). The keeper's own
// form of a socket (docs/keeper-protocol.md, `listen`) is made here too.

import { isIP } from "node:net";
import { isAbsolute, normalize } from "node:path";
import type { Parsed } from "./values.js";

export type ListenSocket =
  | { name: string; kind: "tcp" | "udp"; host: string; port: number }
  | { name: string; kind: "unix"; path: string; mode: number; user: string | null; group: string | null };

/** The name a service's program sees in LISTEN_FDNAMES: colon-separated there, so no colon. */
export const LISTEN_NAME = /^[A-Za-z0-9_.@-]{1,255}$/;
/** The most sockets one service may have (MAX_LISTEN in native/keeper/keeper.h). */
export const MAX_LISTEN = 64;
/** systemd's SocketMode default: anyone may connect, the service decides. */
const DEFAULT_MODE = 0o666;
const ACCOUNT = /^([a-z_][a-z0-9_.-]*\$?|\d+)$/i;

const fail = <T>(message: string, offset?: number): Parsed<T> => ({ ok: false, message, offset });

/** One `listen` value; `defaultName` names it when it has no `NAME=` (the service's name, as systemd's FileDescriptorName defaults to the unit's). */
export function parseListen(value: string, defaultName: string): Parsed<ListenSocket> {
  const kindAt = value.search(/(?:^|=)(?:tcp|udp|unix):/);
  const equals = kindAt > 0 ? kindAt : -1;
  const name = equals < 0 ? defaultName : value.slice(0, equals);
  if (equals >= 0 && !LISTEN_NAME.test(name)) return fail(`'${name}' is not a socket name: letters, digits and _ . @ - (no ':'), at most 255`);
  const start = equals < 0 ? 0 : equals + 1;
  const spec = value.slice(start);
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  const restAt = start + colon + 1;
  if (kind === "tcp" || kind === "udp") {
    const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(rest);
    if (m === null) return fail(`a ${kind} socket is ${kind}:ADDR:PORT (an IPv6 address in brackets: ${kind}:[::1]:80), not '${value}'`, restAt);
    const host = m[1] ?? m[2] ?? "";
    if (isIP(host) !== (m[1] !== undefined ? 6 : 4)) return fail(`'${host}' is not an ${m[1] !== undefined ? "IPv6" : "IPv4"} address (host names are not resolved: use 127.0.0.1, 0.0.0.0, [::1] or [::])`, restAt);
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return fail(`the port must be from 1 to 65535, not ${m[3]}`, restAt + rest.lastIndexOf(":") + 1);
    return { ok: true, value: { name, kind, host, port } };
  }
  if (kind === "unix") {
    const [path = "", mode, user, group, ...extra] = rest.split(":");
    if (!isAbsolute(path) || normalize(path) !== path || path.length > 107) return fail(`a unix socket is an absolute, normal path of at most 107 bytes, with no ':' in it, not '${path}'`, restAt);
    if (extra.length > 0) return fail("a unix socket is unix:PATH[:MODE[:USER[:GROUP]]]", restAt);
    if (mode !== undefined && !/^0?[0-7]{3}$/.test(mode)) return fail(`the mode of a unix socket is octal, like 0660, not '${mode}'`, restAt + path.length + 1);
    for (const account of [user, group]) if (account !== undefined && !ACCOUNT.test(account)) return fail(`'${account}' is not a valid user or group name or number`, restAt);
    return { ok: true, value: { name, kind, path, mode: mode === undefined ? DEFAULT_MODE : parseInt(mode, 8), user: user ?? null, group: group ?? null } };
  }
  return fail(`a socket is tcp:ADDR:PORT, udp:ADDR:PORT or unix:PATH[:MODE[:USER[:GROUP]]], optionally after NAME=, not '${value}'`, start);
}

/** Where a socket listens, as a sentence names it and as duplicates are found. */
export function listenAddress(s: ListenSocket): string {
  if (s.kind === "unix") return `unix:${s.path}`;
  return `${s.kind}:${s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}`;
}

/** The keeper's form of a socket, with a unix socket's owner resolved to ids (-1: left as made). */
export function keeperSocket(s: ListenSocket, uid = -1, gid = -1): string {
  if (s.kind === "unix") return `${s.name}=unix:${s.mode.toString(8).padStart(4, "0")}:${uid}:${gid}:${s.path}`;
  return `${s.name}=${listenAddress(s)}`;
}
