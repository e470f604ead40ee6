// The s6 readiness protocol: the service writes a newline to the fd it was given.

import type { Readable } from "node:stream";
import type { Watch } from "./watch.js";

export function watchFd(stream: Readable, onReady: () => void): Watch {
  const onData = (chunk: Buffer): void => {
    if (chunk.includes(10)) {
      cancel();
      onReady();
    }
  };
  const cancel = (): void => {
    stream.off("data", onData);
    stream.destroy();
  };
  stream.on("data", onData);
  stream.on("error", () => {}); // the service closing its end early is not our error
  return { cancel };
}
