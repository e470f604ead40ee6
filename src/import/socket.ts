// A systemd .socket unit's [Socket] section into its service's `listen` lines
// (src/config/listen.ts has the forms; each value written is read back by its parser,
// so what is written is what `tend check` takes). The unit as a whole (which service,
// enabled or on demand) is systemd.ts's.

import { parseListen } from "../config/listen.js";
import { lastOf, listOf, type Assignment } from "./unit-file.js";
import type { Outcome } from "./types.js";

/** What a [Socket] translation writes with: the service's lines, the socket's notes. */
export interface SocketWriter {
  note(a: Assignment, outcome: Outcome, to?: string, why?: string): void;
  set(key: string, value: string): string;
  /** A value with its specifiers replaced, or null (noted as dropped). */
  text(a: Assignment): string | null;
}

export const ACCEPT_WHY = "Accept=yes: per-connection instances are not supported; the unit is not imported (run the daemon listening itself, from its own .service, or give a service of it 'listen' lines by hand)";

/** Whether a [Socket] section asks for one service instance per connection (inetd-style). */
export function acceptsEach(section: readonly Assignment[]): boolean {
  const accept = lastOf(section.filter((a) => a.key === "Accept"));
  return accept !== null && /^(yes|true|on|1)$/i.test(accept.value);
}

/** Directives handled besides the Listen ones, and those that change nothing here. */
const IGNORED: Record<string, string> = {
  Accept: "no: one service for every connection, as tend runs it",
  MaxConnections: "only means something with Accept=yes",
  MaxConnectionsPerSource: "only means something with Accept=yes",
};
const DROPPED: Record<string, string> = {
  Backlog: "tend listens with the system's largest backlog (SOMAXCONN)",
  ListenSequentialPacket: "tend has no listen form for a SOCK_SEQPACKET socket (tcp, udp and unix stream only)",
  ListenFIFO: "tend listens on sockets only, not on FIFOs",
  ListenSpecial: "tend listens on sockets only, not on special files",
  ListenNetlink: "tend has no listen form for a netlink socket",
  ListenMessageQueue: "tend has no listen form for a POSIX message queue",
  ListenUSBFunction: "tend has no listen form for a USB FunctionFS endpoint",
  BindIPv6Only: "tend binds [::] with the system's default (both families unless net.ipv6.bindv6only)",
  Symlinks: "tend makes no links to a socket file",
  RemoveOnStop: "tend keeps a socket for the service's whole life and removes only the files it made, when the service goes",
};

/** One ListenStream=/ListenDatagram= value as a tend socket spec (without NAME=), or why it has none. */
function listenSpec(kind: "tcp" | "udp", value: string, unixTail: string): { spec: string } | { why: string } {
  if (/^\d+$/.test(value)) return { spec: `${kind}:[::]:${value}` };
  if (/^(\[[^\]]*\]|[0-9.]+):\d+$/.test(value)) return { spec: `${kind}:${value}` };
  if (value.startsWith("/")) {
    if (kind === "udp") return { why: "tend has no listen form for a unix datagram socket (unix stream, tcp and udp only)" };
    return { spec: `unix:${value}${unixTail}` };
  }
  if (value.startsWith("@")) return { why: "tend has no listen form for an abstract unix socket (a path only)" };
  return { why: `'${value}' is not a port, ADDR:PORT or an absolute path (a host name, an interface or vsock: tend binds addresses only)` };
}

/**
 * The [Socket] directives into `listen` lines (NAME= systemd's: FileDescriptorName=, else
 * the socket unit's name); `longrun` false when the service is not one (only a longrun
 * listens). Returns how many lines were written.
 */
export function translateSocketSection(w: SocketWriter, section: Map<string, Assignment[]>, unitName: string, longrun: boolean): number {
  const done = new Set(["ListenStream", "ListenDatagram", "FileDescriptorName", "SocketMode", "SocketUser", "SocketGroup", "Service"]);
  const fdName = lastOf(section.get("FileDescriptorName") ?? []);
  const name = fdName === null ? unitName : w.text(fdName);
  const mode = lastOf(section.get("SocketMode") ?? []);
  const user = lastOf(section.get("SocketUser") ?? []);
  const group = lastOf(section.get("SocketGroup") ?? []);
  const userName = user === null ? null : w.text(user);
  const groupName = group === null ? null : w.text(group);
  // unix:PATH[:MODE[:USER[:GROUP]]]: positional, so a group alone comes with root, systemd's default user.
  const owner = groupName !== null ? `:${userName ?? "root"}:${groupName}` : userName !== null ? `:${userName}` : "";
  const unixTail = mode !== null || owner !== "" ? `:${mode?.value ?? "0666"}${owner}` : "";
  let written = 0;
  let unix = false;
  for (const [key, kind] of [["ListenStream", "tcp"], ["ListenDatagram", "udp"]] as const) {
    for (const a of listOf(section.get(key) ?? [])) {
      const value = w.text(a);
      if (value === null || name === null) continue;
      if (!longrun) {
        w.note(a, "dropped", undefined, "only a longrun listens: its service is not one");
        continue;
      }
      const spec = listenSpec(kind, value, unixTail);
      if ("why" in spec) {
        w.note(a, "dropped", undefined, spec.why);
        continue;
      }
      const parsed = parseListen(`${name}=${spec.spec}`, name);
      if (!parsed.ok) {
        w.note(a, "dropped", undefined, parsed.message);
        continue;
      }
      unix ||= spec.spec.startsWith("unix:");
      written++;
      w.note(a, "translated", w.set("listen", `${name}=${spec.spec}`));
    }
  }
  if (fdName !== null && name !== null) w.note(fdName, written > 0 ? "translated" : "ignored", `listen = ${name}=…`);
  for (const a of [mode, user, group]) {
    if (a === null) continue;
    if (unix) w.note(a, a === group && user === null ? "approximated" : "translated", "the unix socket's MODE:USER:GROUP", a === group && user === null ? "with root as its user: tend sets a socket file's group after its user" : undefined);
    else w.note(a, "ignored", undefined, "no unix socket of it is translated: only a socket file has a mode and an owner");
  }
  for (const [key, list] of section) {
    if (done.has(key)) continue;
    for (const a of list) {
      if (key in IGNORED) w.note(a, "ignored", undefined, IGNORED[key]);
      else w.note(a, "dropped", undefined, DROPPED[key] ?? "tend has no equivalent");
    }
  }
  return written;
}
