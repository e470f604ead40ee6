// The world's pending events, in (time, sequence) order: a binary heap, so that big
// worlds with thousands of timers and processes stay fast.

export interface Timed {
  t: number;
  seq: number;
}

/** An event as it is pushed: the queue numbers it. */
export type Unnumbered<E> = E extends unknown ? Omit<E, "seq"> : never;

export class Queue<E extends Timed> {
  private readonly items: E[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  /** Numbers `event` (a fresh record, taken as it is) and queues it. */
  push(event: Unnumbered<E>): void {
    const items = this.items;
    (event as unknown as Timed).seq = this.seq++;
    items.push(event as unknown as E);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): E | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l]!, items[m]!)) m = l;
        if (r < items.length && before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

const before = (a: Timed, b: Timed): boolean => a.t < b.t || (a.t === b.t && a.seq < b.seq);
