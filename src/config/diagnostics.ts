// Errors a user can cause are values, not exceptions: every check appends located
// diagnostics to a list, so that one run reports all of them at once.

export type Severity = "error" | "warning";

export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based; 0 when the diagnostic concerns the file as a whole. */
  line: number;
  /** 1-based; 0 when the diagnostic concerns the whole line or file. */
  col: number;
  message: string;
}

export interface Location {
  file: string;
  line: number;
  col: number;
}

export type Report = (severity: Severity, at: Location, message: string) => void;

/** A diagnostics list and the function that appends to it. */
export function collector(): { diagnostics: Diagnostic[]; report: Report } {
  const diagnostics: Diagnostic[] = [];
  const report: Report = (severity, at, message) => diagnostics.push({ severity, ...at, message });
  return { diagnostics, report };
}

/** `FILE:LINE:COL: error: message`, omitting the parts that are zero. */
export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file;
  if (d.line > 0) where += `:${d.line}`;
  if (d.line > 0 && d.col > 0) where += `:${d.col}`;
  return `${where}: ${d.severity}: ${d.message}`;
}

export function byLocation(a: Diagnostic, b: Diagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col;
}

export const hasErrors = (list: readonly Diagnostic[]): boolean => list.some((d) => d.severity === "error");

/** The closest candidate by edit distance, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  // Allow one typo per three characters (at least one): more than that is a different word.
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const guess = closest(word, candidates);
  return guess === undefined ? "" : ` (did you mean '${guess}'?)`;
}

/** How much "did you mean" work one compilation may do in all, in character comparisons. */
export const SUGGESTION_BUDGET = 20_000_000;

/**
 * `didYouMean` for many words against one list of candidates (every unknown name in a
 * source set against every service name), in bounded work: each word is compared only
 * with candidates of a length it could be a typo of, each distinct word once, and once
 * the budget is spent the rest get no suggestion. So 10^5 unknown names against 10^5
 * services cost seconds at most, not hours.
 */
export function suggester(candidates: Iterable<string>, budget = SUGGESTION_BUDGET): (word: string) => string {
  const byLength = new Map<number, string[]>();
  for (const c of candidates) {
    const bucket = byLength.get(c.length);
    if (bucket === undefined) byLength.set(c.length, [c]);
    else bucket.push(c);
  }
  const said = new Map<string, string>();
  let left = budget;
  return (word) => {
    const cached = said.get(word);
    if (cached !== undefined) return cached;
    const reach = Math.max(1, Math.floor(word.length / 3)); // as `closest` allows
    const buckets: string[][] = [];
    let size = 0;
    for (let length = word.length - reach; length <= word.length + reach; length++) {
      const bucket = byLength.get(length);
      if (bucket !== undefined) buckets.push(bucket);
      size += bucket?.length ?? 0;
    }
    const cost = size * (word.length + reach) * word.length;
    const answer = cost <= left ? didYouMean(word, buckets.flat()) : "";
    left -= Math.min(left, cost);
    said.set(word, answer);
    return answer;
  };
}

/** Edit distance (Levenshtein, a swap of two neighbours counting as one edit), giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      // Two letters swapped (`strat`, `stpo`) are one typo, not two.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    // No later row can go below this one's least (a swap costs no less than the substitution before it).
    if (rowMin >= limit) return limit;
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
