// The fast slice of `npm run fuzz -- --only requests`: the same malformed requests, by
// seed and index, sent to a real server over its control socket. The server must not
// die or hang, every reply must be a JSON line with an id, and no request may be
// answered with an internal error. Replay with TEND_FUZZ_SEED=N.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FUZZ_SET } from "../../bench/fuzz/request-cases.js";
import { fuzzRequests, type Finding, type RequestFuzzOutcome } from "../../bench/fuzz/requests.js";
import { CONTROL_SOCKET } from "../../src/server/protocol.js";
import { withRoot } from "./harness.js";

const SEED = Number(process.env.TEND_FUZZ_SEED ?? 0x7e4d) >>> 0;
const CASES = 2000;

/** An internal error is a reply: the server caught what went wrong and goes on. */
const caught = (f: Finding): boolean => f.kind === "crash" && f.what.startsWith("internal error");

const listed = (findings: Finding[]): string =>
  findings
    .slice(0, 10)
    .map((f) => `${f.kind} at seed ${SEED}, cases ${f.from}–${f.to - 1} (npm run fuzz -- --only requests --seed ${SEED} --start ${f.from} --count ${f.to - f.from}): ${f.what}`)
    .join("\n");

describe(`request fuzz (seed ${SEED}; replay with TEND_FUZZ_SEED=${SEED})`, () => {
  let outcome: RequestFuzzOutcome | null = null;

  test(`${CASES} malformed requests: the server neither dies nor hangs, and every reply is a JSON line with an id`, { timeout: 120_000 }, () =>
    withRoot(async (root) => {
      root.services(FUZZ_SET);
      await root.compile();
      const daemon = await root.startDaemon();
      outcome = await fuzzRequests({ seed: SEED, start: 0, count: CASES, lanes: 4, batch: 250, socket: join(root.places.run, CONTROL_SOCKET), alive: () => daemon.exitStatus() === null });
      assert.equal(outcome.inputs, CASES);
      assert.equal(listed(outcome.findings.filter((f) => !caught(f))), "");
      assert.ok(outcome.closedByServer > 0, "no line over the limit was sent: the generator misses a kind");
      await root.shutdown(daemon); // it also fails on any internal error in the server's output
    }),
  );

  test("no malformed request is answered with an internal error", () => {
    assert.ok(outcome !== null, "the requests were not sent");
    assert.equal(listed(outcome.findings.filter(caught)), "");
  });
});
