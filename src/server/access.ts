// Who may do what over the control sockets: one pure decision per request, from the
// peer's credentials (SO_PEERCRED, SO_PEERGROUPS), the request, and the policy (the
// control group of tend.conf, each service's `allow` and `user`). The sockets' modes
// are a first fence; this is the rule (docs/protocol.md, "Access").

import type { ServiceDef } from "../config/service.js";
import { namesSyslogLog } from "./logs.js";
import { readOnly, type Command, type Request } from "./protocol.js";

export interface Peer {
  uid: number;
  gid: number;
  /** Supplementary groups. */
  groups: readonly number[];
}

export interface Policy {
  /** The server's own uid: in user mode, the user who runs it may do everything, as root does in root mode. */
  ownerUid: number;
  /** The control group of tend.conf, resolved; null when there is none. */
  controlGroup: { name: string; gid: number } | null;
  /** A service's or bundle's definition by name (instances have their template's). */
  definition(name: string): ServiceDef | undefined;
  /** A user's uid and a group's gid by name, as this machine knows them now; null when unknown. */
  uidOf(user: string): number | null;
  gidOf(group: string): number | null;
}

/** Commands that `allow` (and a service's own `user`) grant, for the services they name. */
const SERVICE_COMMANDS: ReadonlySet<Command> = new Set(["start", "stop", "restart", "reload", "logs"]);

/**
 * Null when `peer` may make `request`, else the one-line refusal. A null peer (its
 * credentials could not be read) is trusted on the control socket, whose mode admits
 * only root and the control group, and gets only the read-only commands elsewhere.
 */
export function authorise(peer: Peer | null, onControlSocket: boolean, request: Request, policy: Policy): string | null {
  if (readOnly(request.cmd)) return null;
  if (peer === null ? onControlSocket : isPrivileged(peer, policy)) return null;
  const group = policy.controlGroup === null ? "the control group (none is set: 'control-group' in tend.conf)" : `the control group '${policy.controlGroup.name}' (tend.conf)`;
  const names = [...("names" in request ? (request.names ?? []) : []), ...("name" in request && request.name !== undefined ? [request.name] : [])];
  const asked = `'${[request.cmd, ...names].join(" ")}'`;
  // Naming no service (`tend logs` of every one) is not covered by any service's `allow`,
  // nor is the syslog log, which holds what any process sent.
  const syslog = request.cmd === "logs" && names.some((n) => namesSyslogLog(n, (name) => policy.definition(name) !== undefined));
  if (!SERVICE_COMMANDS.has(request.cmd) || names.length === 0 || syslog) return `permission denied: ${syslog ? "'logs' of the syslog log" : asked} needs root or ${group}`;
  const refused = peer === null ? names[0] : names.find((name) => !mayControl(peer, name, policy));
  if (refused === undefined) return null;
  return `permission denied: ${asked} needs root, ${group} or 'allow' in ${refused}'s service file`;
}

function isPrivileged(peer: Peer, policy: Policy): boolean {
  if (peer.uid === 0 || peer.uid === policy.ownerUid) return true;
  const gid = policy.controlGroup?.gid;
  return gid !== undefined && inGroup(peer, gid);
}

const inGroup = (peer: Peer, gid: number): boolean => peer.gid === gid || peer.groups.includes(gid);

/** Whether the service's `allow`, or its own `user`, names the peer. A bundle is covered by its own `allow` only. */
function mayControl(peer: Peer, name: string, policy: Policy): boolean {
  const def = policy.definition(name);
  if (def === undefined) return false;
  const isUser = (user: string): boolean => (/^\d+$/.test(user) ? Number(user) : policy.uidOf(user)) === peer.uid;
  const isMember = (group: string): boolean => {
    const gid = /^\d+$/.test(group) ? Number(group) : policy.gidOf(group);
    return gid !== null && inGroup(peer, gid);
  };
  if (def.user !== null && isUser(def.user)) return true;
  return def.allow.some((who) => (who.startsWith("@") ? isMember(who.slice(1)) : isUser(who)));
}
