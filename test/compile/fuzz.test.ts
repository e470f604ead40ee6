// Property tests over thousands of random and mutated service files: whatever the
// bytes, the parser and the compiler return diagnostics and never throw; every
// diagnostic is located; whatever they accept survives the trip through JSON.
//
// Seeded: a failure prints its seed and case. Replay with TEND_FUZZ_SEED=N npm test.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile, type CompileResult } from "../../src/compile/compile.js";
import { collector } from "../../src/config/diagnostics.js";
import { parseServiceFile, type ParsedService } from "../../src/config/parse.js";
import {
  EXAMPLE_FILES,
  EXAMPLE_NAMES,
  checkCompiled,
  checkDiagnostics,
  checkParsed,
  decodeLines,
  fuzzCase,
  keyValueFile,
  lineCount,
  linesOnDisk,
  mutate,
  randomGraph,
  runSetCase,
} from "../../bench/fuzz/service-cases.js";
import { random, tempDir } from "../helpers.js";

const SEED = Number(process.env.TEND_FUZZ_SEED ?? 0x7e4d) >>> 0;
const PARSE_CASES = 3000;
const COMPILE_CASES = 300;
/** The fast slice of `npm run fuzz -- --only sets`: the same cases, by seed and index. */
const SET_CASES = 500;

describe(`fuzz (seed ${SEED}; replay with TEND_FUZZ_SEED=${SEED})`, () => {
  test(`${PARSE_CASES} random and mutated files through parseServiceFile`, () => {
    const rng = random(SEED);
    const counts = { accepted: 0, rejected: 0 };
    for (let i = 0; i < PARSE_CASES; i++) {
      const bytes = fuzzCase(rng, i);
      const context = () => `seed ${SEED}, parse case ${i} (bytes, base64: ${bytes.subarray(0, 4096).toString("base64")})`;
      const { diagnostics, report } = collector();
      let parsed: ParsedService | null;
      try {
        parsed = parseServiceFile("/fuzz/svc", "svc", bytes, "/fuzz", report);
      } catch (e) {
        assert.fail(`${context()}: parseServiceFile threw ${(e as Error).stack}`);
      }
      checkDiagnostics(diagnostics, (f) => f === "/fuzz/svc", lineCount(bytes), context, () => decodeLines(bytes));
      checkParsed(parsed, diagnostics, context);
      if (diagnostics.some((d) => d.severity === "error")) counts.rejected++;
      else counts.accepted++;
    }
    // The generator must reach both sides, or it tests little.
    assert.ok(counts.accepted > PARSE_CASES / 50, `only ${counts.accepted} accepted files: the generator is too wild`);
    assert.ok(counts.rejected > PARSE_CASES / 2, `only ${counts.rejected} rejected files: the generator is too tame`);
  });

  test(`${COMPILE_CASES} mutated source sets through compile()`, () => {
    const rng = random(SEED ^ 0x5eed);
    const { dir, remove } = tempDir();
    try {
      let accepted = 0;
      for (const [name, bytes] of Object.entries(EXAMPLE_FILES)) writeFileSync(join(dir, name), bytes);
      let changed: string[] = [];
      for (let i = 0; i < COMPILE_CASES; i++) {
        // Start from the examples (undoing the last case's changes), then break one to three files, or add one.
        for (const name of changed) {
          rmSync(join(dir, name), { force: true });
          if (EXAMPLE_FILES[name]) writeFileSync(join(dir, name), EXAMPLE_FILES[name]);
        }
        changed = [];
        for (let n = rng.int(1, 3); n > 0; n--) {
          const roll = rng.int(0, 9);
          const name = roll === 0 ? rng.pick(["new", "x.y-z", "9", ".hidden", "new~", "bad name"]) : rng.pick(EXAMPLE_NAMES);
          const bytes = roll === 1 ? fuzzCase(rng, rng.int(0, 8)) : roll <= 3 ? keyValueFile(rng) : mutate(rng, EXAMPLE_FILES[name] ?? EXAMPLE_FILES.web!);
          if (roll === 9) rmSync(join(dir, name), { force: true });
          else writeFileSync(join(dir, name), bytes);
          changed.push(name);
        }
        const hostChecks = i % 10 === 0;
        const context = () => `seed ${SEED}, compile case ${i} (changed ${changed.join(", ")}; hostChecks ${hostChecks})`;
        let result: CompileResult;
        try {
          result = compile({ sourceDir: dir, hostChecks });
        } catch (e) {
          assert.fail(`${context()}: compile threw ${(e as Error).stack}`);
        }
        checkDiagnostics(result.diagnostics, (f) => f === dir || f.startsWith(`${dir}/`), Number.MAX_SAFE_INTEGER, context, linesOnDisk);
        checkCompiled(result, context);
        if (result.accepted) accepted++;
      }
      assert.ok(accepted > 0, "no mutated set was accepted: the mutations are too wild");
    } finally {
      remove();
    }
  });

  test(`${SET_CASES} sets made in memory through compileSource, as \`npm run fuzz\` makes them`, () => {
    let accepted = 0;
    for (let i = 0; i < SET_CASES; i++) if (runSetCase(SEED, i).accepted) accepted++;
    assert.ok(accepted > SET_CASES / 50, `only ${accepted} accepted sets: the mutations are too wild`);
    assert.ok(accepted < SET_CASES, "every set was accepted: the mutations are too tame");
  });

  test("random graphs compile without throwing, and accepted ones boot in dependency order", () => {
    const rng = random(SEED ^ 0x9a9);
    const { dir, remove } = tempDir();
    try {
      for (let i = 0; i < 150; i++) {
        for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
        for (const [name, text] of Object.entries(randomGraph(rng))) writeFileSync(join(dir, name), text);
        const context = () => `seed ${SEED}, graph case ${i}`;
        let result: CompileResult;
        try {
          result = compile({ sourceDir: dir, hostChecks: false });
        } catch (e) {
          assert.fail(`${context()}: compile threw ${(e as Error).stack}`);
        }
        checkDiagnostics(result.diagnostics, (f) => f === dir || f.startsWith(`${dir}/`), 100, context, linesOnDisk);
        checkCompiled(result, context);
        if (result.compiled === null) continue;
        const booted = new Set(result.compiled.boot.flat());
        for (const name of Object.keys(result.compiled.graph.services)) assert.ok(booted.has(name), `${context()}: '${name}' is in default but not booted`);
      }
    } finally {
      remove();
    }
  });
});
