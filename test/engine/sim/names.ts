// How the generated services are named, and references to them as a service file makes them.

import type { Reference } from "../../../src/config/service.js";

/** The name of the service at `index`: s0000, s0001… */
export const nameAt = (index: number): string => `s${String(index).padStart(4, "0")}`;

/** The index a generated name stands for (a template's, `s0005@`, and its instances' its own); `default` comes after every other. */
export const indexOf = (name: string): number => (name === "default" ? Infinity : Number.parseInt(name.slice(1), 10));

export const ref = (name: string): Reference => ({ name, line: 1, col: 1 });
