// Weighted and biased choices over the seeded generator the simulation draws everything from.

import type { Random } from "../../prng.js";

export { random, type Random } from "../../prng.js";

/** One of `choices`, each as likely as its weight. */
export function weighted<T>(rng: Random, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [value, w] of choices) if ((x -= w) < 0) return value;
  return choices[choices.length - 1]![0];
}

/** An index below `i`, mostly a near one, so that big graphs are deep as well as wide. */
export const earlier = (rng: Random, i: number): number => i - 1 - Math.floor(rng.next() ** 2 * i);
