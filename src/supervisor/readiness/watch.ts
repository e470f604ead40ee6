// What every readiness watcher returns: a way to stop watching (on exit or stop).

export interface Watch {
  cancel(): void;
}
