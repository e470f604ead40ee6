// `tend enable` and `tend disable` with no server running: the lists of enabled.json
// changed as the server changes them (src/server/persist.ts), names checked against
// the installed database, for the next `tend boot` to honour. Only while no server
// holds the root's lock (src/server/lock.ts): a running server owns the file, and
// would write its own lists over an edit made behind its back.

import { readDatabase } from "../compile/database.js";
import { isTemplateName, splitInstanceName } from "../config/template.js";
import type { Places } from "../places.js";
import { lockHolder } from "../server/lock.js";
import { enablementAfter, loadPersistent, savePersistent, type Persistent } from "../server/persist.js";
import { orUserError, UserError } from "./errors.js";

export interface OfflineChange {
  persistent: Persistent;
  /** What went wrong with the state file (a damaged one kept aside), or a server that started meanwhile. */
  warnings: string[];
}

/** Records `cmd` of `names` in the state directory of `places`; a UserError when it cannot. */
export function enableOffline(places: Places, cmd: "enable" | "disable", names: string[]): OfflineChange {
  const holder = lockHolder(places.run);
  if (holder !== null) throw new UserError(`the server of this root (pid ${holder}) runs but does not answer on ${places.run}: try again once it serves`);
  const db = readDatabase(places.state);
  if (!db.ok) throw new UserError(`no server is running, and ${db.message}`);
  const { services } = db.database;
  // A service or bundle, or an instance of a template by name (the boot makes it): never the template itself.
  const known = (n: string): boolean => {
    if (Object.hasOwn(services, n)) return !isTemplateName(n);
    const instance = splitInstanceName(n);
    return instance !== null && Object.hasOwn(services, instance.template);
  };
  const unknown = names.filter((n) => !known(n));
  if (unknown.length > 0) throw new UserError(`unknown service${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")} (not in the installed database, generation ${db.database.generation}); nothing is recorded`);
  const warnings: string[] = [];
  const persistent = orUserError(`cannot record it in ${places.state}`, () => {
    const next = enablementAfter(loadPersistent(places.state, (w) => warnings.push(w)), cmd, names);
    savePersistent(places.state, next);
    return next;
  });
  // A server that started while the file was written may have read the lists before it.
  const late = lockHolder(places.run);
  if (late !== null) warnings.push(`a server (pid ${late}) started meanwhile and may not have seen this: run 'tend ${cmd}' again`);
  return { persistent, warnings };
}
