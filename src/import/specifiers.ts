// systemd's specifiers (systemd.unit(5) "Specifiers"), `%i`, `%n`, `%t`…, replaced in a
// unit's values. In a template (`foo@.service`, made a tend template `foo@`), the
// instance is `${INSTANCE}`, which tend puts into the template's keys and a command's
// environment. Those that depend on the machine a unit runs on (%H, %m, %b) or on an
// account looked up at run time (%h, %U of another user) have no fixed text: they are
// reported, and the directive that holds one is dropped.

export interface UnitIdentity {
  /** The tend name's prefix: `getty` for `getty@.service` and `getty.service`. */
  prefix: string;
  /** The unit's suffix: `service`, `timer`. */
  suffix: string;
  template: boolean;
  /** Its `User=`, if any. */
  user: string | null;
}

export const INSTANCE_TEXT = "${INSTANCE}";

const FIXED: Record<string, string> = { t: "/run", S: "/var/lib", C: "/var/cache", L: "/var/log", E: "/etc", T: "/tmp", V: "/var/tmp", "%": "%" };

/** `text` with its specifiers replaced, or the first that has no fixed text (`%H`). */
export function replaceSpecifiers(text: string, unit: UnitIdentity): { text: string } | { unsupported: string } {
  const instance = unit.template ? INSTANCE_TEXT : "";
  const name = unit.template ? `${unit.prefix}@${instance}` : unit.prefix;
  const values: Record<string, string | undefined> = {
    ...FIXED,
    i: instance,
    I: instance,
    j: unit.prefix.split("-").at(-1),
    J: unit.prefix.split("-").at(-1),
    p: unit.prefix,
    P: unit.prefix,
    n: `${name}.${unit.suffix}`,
    N: name,
    f: `/${unit.template ? instance : unit.prefix}`,
    u: unit.user ?? "root",
    U: unit.user === null || unit.user === "root" ? "0" : undefined,
    h: unit.user === null || unit.user === "root" ? "/root" : undefined,
    g: unit.user === null ? "root" : undefined,
    G: unit.user === null ? "0" : undefined,
  };
  let unsupported: string | null = null;
  const out = text.replace(/%(.)/gs, (all, c: string) => {
    const value = Object.hasOwn(values, c) ? values[c] : undefined;
    if (value === undefined) unsupported ??= all;
    return value ?? all;
  });
  return unsupported === null ? { text: out } : { unsupported };
}
