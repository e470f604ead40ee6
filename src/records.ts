// Records keyed by names that users choose: services, bundles, environment variables,
// event keys, limits. A plain object inherits `constructor`, `toString` and
// `__proto__` from Object.prototype, so a service named `constructor` would be found
// where there is none and `env = __proto__=x` would be lost; these have no prototype,
// and lookups ask only for what the record itself holds.

/** An empty record with no prototype: every key is just a name. */
export const nameRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** `record[name]` when the record itself holds `name`, never an inherited member. */
export const own = <T>(record: Readonly<Record<string, T>>, name: string): T | undefined => (Object.hasOwn(record, name) ? record[name] : undefined);
