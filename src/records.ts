// Records keyed by names that users choose: services, bundles, environment variables,
// event keys, limits. A plain object inherits `constructor`, `toString` and
// `__proto__` from Object.prototype, so a service named `constructor` would be found
// where there is none and `env = __proto__=x` would be lost; these have no prototype,
// and lookups ask only for what the record itself holds. `required` is the lookup that
// must succeed, in a record or a Map alike.

/** An empty record with no prototype: every key is just a name. */
export const nameRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** `record[name]` when the record itself holds `name`, never an inherited member. */
export const own = <T>(record: Readonly<Record<string, T>>, name: string): T | undefined => (Object.hasOwn(record, name) ? record[name] : undefined);

/**
 * The entry of a map or record that the caller knows is there (it put it there, or the
 * key came from the same data). A miss is a bug in tend: it fails here, saying which
 * entry of what, where `!` would fail later as "cannot read properties of undefined".
 */
export function required<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): V;
export function required<V>(record: Readonly<Record<string, V>>, key: string, what: string): V;
export function required<V>(from: ReadonlyMap<unknown, V> | Readonly<Record<string, V>>, key: unknown, what: string): V {
  const value = isMap(from) ? from.get(key) : own(from, String(key));
  if (value === undefined) throw new Error(`${what}: no entry for '${String(key)}'`);
  return value;
}

// `instanceof Map` alone would narrow a ReadonlyMap to Map<any, any>, and the record not at all.
const isMap = <V>(from: ReadonlyMap<unknown, V> | Readonly<Record<string, V>>): from is ReadonlyMap<unknown, V> => from instanceof Map;
