// Users' and groups' ids by name, for `allow` at request time: /etc/passwd and
// /etc/group, read again only when they change (a user added to a group counts at
// once; thousands of requests do not read them thousands of times).

import { statSync } from "node:fs";
import { readAccountIds } from "../compile/host.js";

export interface Directory {
  uidOf(user: string): number | null;
  gidOf(group: string): number | null;
}

export function openDirectory(passwd = "/etc/passwd", group = "/etc/group"): Directory {
  const users = cachedIds(passwd);
  const groups = cachedIds(group);
  return { uidOf: (name) => users().get(name) ?? null, gidOf: (name) => groups().get(name) ?? null };
}

/** The file's ids, read again when its size, mtime or inode differ from the last read. */
function cachedIds(file: string): () => Map<string, number> {
  let stamp = "";
  let ids = new Map<string, number>();
  return () => {
    const stat = statSync(file, { throwIfNoEntry: false, bigint: true });
    const now = stat === undefined ? "" : `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    if (now !== stamp) {
      stamp = now;
      ids = new Map([...readAccountIds(file)].filter(([, id]) => id >= 0));
    }
    return ids;
  };
}
