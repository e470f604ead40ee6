// The service sets of the supervision workloads, described once and written out in
// tend's service-file format and in dinit's, so that both managers run the same graph.
//   flat: N independent longruns, ready at once, in bundles of the first 100, 500, …
//   dag:  L layers of W longruns; each requires K services of the layer above, drawn
//         with a fixed seed; each is ready R ms after it starts.

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rng } from "./prng.js";

export interface ServiceSpec {
  name: string;
  /** The service writes its readiness newline this long after it starts. */
  readyMs: number;
  requires: string[];
}

export interface ServiceSet {
  services: ServiceSpec[];
  /** Bundle name → member services. */
  bundles: Record<string, string[]>;
}

/** `count` independent services s0000…; a bundle `flat-N` of the first N for each N in `sizes`. */
export function flatSet(count: number, sizes: readonly number[]): ServiceSet {
  const services = Array.from({ length: count }, (_, i) => ({ name: `s${String(i).padStart(4, "0")}`, readyMs: 0, requires: [] }));
  const bundles: Record<string, string[]> = {};
  for (const n of sizes) bundles[`flat-${n}`] = services.slice(0, n).map((s) => s.name);
  return { services, bundles };
}

export interface DagOptions {
  layers: number;
  width: number;
  /** Requirements of each service below the first layer, among the layer above. */
  fanIn: number;
  readyMs: number;
  seed: number;
}

/** Layers l0…; service `lK-II`; the bundle `dag` holds them all. */
export function dagSet(o: DagOptions): ServiceSet {
  const r = rng(o.seed);
  const name = (layer: number, i: number): string => `l${layer}-${String(i).padStart(2, "0")}`;
  const services: ServiceSpec[] = [];
  for (let layer = 0; layer < o.layers; layer++) {
    const above = Array.from({ length: o.width }, (_, i) => name(layer - 1, i));
    for (let i = 0; i < o.width; i++) {
      const requires = layer === 0 ? [] : r.sample(above, o.fanIn).sort();
      services.push({ name: name(layer, i), readyMs: o.readyMs, requires });
    }
  }
  return { services, bundles: { dag: services.map((s) => s.name) } };
}

/** sha256 of the graph (names, readiness delays, edges, bundles): equal digests, equal workloads. */
export function digestOfSet(set: ServiceSet): string {
  return createHash("sha256").update(JSON.stringify(set)).digest("hex");
}

/** The service's command line: the bench's program, readiness on fd 3 after `readyMs`. */
const commandOf = (program: string, s: ServiceSpec): string => `${program} --ready-ms ${s.readyMs} --fd 3`;

/** tend's format (docs/service-files.md), into `dir` (a root's etc/tend). */
export function writeTendSet(dir: string, set: ServiceSet, program: string): void {
  mkdirSync(dir, { recursive: true });
  for (const s of set.services) {
    const lines = ["type = longrun", `command = ${commandOf(program, s)}`, "ready = fd"];
    if (s.requires.length > 0) lines.push(`requires = ${s.requires.join(" ")}`);
    writeFileSync(join(dir, s.name), `${lines.join("\n")}\n`);
  }
  for (const [name, members] of Object.entries(set.bundles)) {
    writeFileSync(join(dir, name), ["type = bundle", ...members.map((m) => `contents = ${m}`)].join("\n") + "\n");
  }
}

/**
 * dinit's format (dinit-service(5)): `type = process` with `ready-notification =
 * pipefd:3` and a `depends-on` line per requirement; a bundle is an `internal` service
 * that depends on its members; `boot`, what dinit starts by itself, is empty.
 */
export function writeDinitSet(dir: string, set: ServiceSet, program: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "boot"), "type = internal\n");
  for (const s of set.services) {
    const lines = ["type = process", `command = ${commandOf(program, s)}`, "ready-notification = pipefd:3", ...s.requires.map((r) => `depends-on = ${r}`)];
    writeFileSync(join(dir, s.name), `${lines.join("\n")}\n`);
  }
  for (const [name, members] of Object.entries(set.bundles)) {
    writeFileSync(join(dir, name), ["type = internal", ...members.map((m) => `depends-on = ${m}`)].join("\n") + "\n");
  }
}
