// setTimeout for any delay. Node fires a timer of more than 2^31-1 ms (24.8 days) at
// once; a yearly cron job or a long stop timeout must not.

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface Timer {
  cancel(): void;
}

export function after(ms: number, fire: () => void): Timer {
  let handle: NodeJS.Timeout;
  const arm = (left: number): void => {
    handle = setTimeout(() => (left > MAX_TIMEOUT_MS ? arm(left - MAX_TIMEOUT_MS) : fire()), Math.min(left, MAX_TIMEOUT_MS));
  };
  arm(Math.max(0, ms));
  return { cancel: () => clearTimeout(handle) };
}
