// The keeper protocol's framing on its own: the server's messages as the doc lays
// them out byte for byte, the keeper's messages parsed into their types, any chunking
// of the stream, and frames that are wrong (each refused, the stream going on) or
// unframeable (the stream lost).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Decoder,
  EncodeError,
  FramingError,
  MAX_FRAME_BYTES,
  encodeFrame,
  encodeMessage,
  parseKeeperMessage,
  type Decoded,
  type Frame,
  type KeeperMessage,
  type ServerMessage,
} from "../../src/keeper/protocol.js";
import { random } from "../helpers.js";

/** Frames as they are, for checking what the server sends. */
const rawDecoder = (): Decoder<Frame> => new Decoder((frame) => ({ ok: true, message: frame }));
const keeperDecoder = (): Decoder<KeeperMessage> => new Decoder(parseKeeperMessage);

/** A frame from its body text, fields separated by NULs as written ("a\0b=c\0"). */
function frameOf(body: string | Buffer): Buffer {
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  const header = Buffer.alloc(4);
  header.writeUInt32LE(bytes.length);
  return Buffer.concat([header, bytes]);
}

const decodeOne = <T>(decoder: Decoder<T>, bytes: Buffer): Decoded<T> => {
  const out = decoder.push(bytes);
  assert.equal(out.length, 1, `expected one frame, got ${JSON.stringify(out)}`);
  return out[0]!;
};

const messageOf = <T>(decoded: Decoded<T>): T => {
  assert.ok(decoded.ok, `refused: ${decoded.ok ? "" : decoded.error}`);
  return decoded.message;
};

const errorOf = <T>(decoded: Decoded<T>): string => {
  assert.ok(!decoded.ok, `accepted: ${JSON.stringify(decoded)}`);
  return decoded.error;
};

describe("server messages on the wire", () => {
  test("hello, signal, main, note, forget, procs, ack, settings, syslog, listen and shutdown are laid out as the doc says", () => {
    const cases: [ServerMessage, string][] = [
      [{ type: "hello", version: 1 }, "hello\0version=1\0"],
      [{ type: "signal", service: "web", signal: 15 }, "signal\0service=web\0signal=15\0"],
      [{ type: "signal", service: "web", signal: 1, to: "main" }, "signal\0service=web\0signal=1\0to=main\0"],
      [{ type: "signal", service: "web", signal: 9, to: "reload" }, "signal\0service=web\0signal=9\0to=reload\0"],
      [{ type: "main", service: "nginx", pid: 4321 }, "main\0service=nginx\0pid=4321\0"],
      [{ type: "note", service: "web", text: "up: ready = fd" }, "note\0service=web\0text=up: ready = fd\0"],
      [{ type: "forget", service: "mount@/dev/sdb1" }, "forget\0service=mount@/dev/sdb1\0"],
      [{ type: "forget", service: "web", keepSockets: true }, "forget\0service=web\0keep-sockets=1\0"],
      [{ type: "procs", service: "web" }, "procs\0service=web\0"],
      [{ type: "ack", seq: 42 }, "ack\0seq=42\0"],
      [{ type: "settings", stopGraceMs: 8000, console: "json" }, "settings\0stop-grace=8000\0console=json\0"],
      [
        { type: "syslog", path: "/dev/log", log: "file", logDir: "/var/log/tend/_syslog", logSize: 1048576, logKeep: 5, logConsole: true },
        "syslog\0path=/dev/log\0log=file\0log-dir=/var/log/tend/_syslog\0log-size=1048576\0log-keep=5\0log-console=1\0",
      ],
      [{ type: "syslog", path: "/run/tend/dev-log", log: "stdout" }, "syslog\0path=/run/tend/dev-log\0log=stdout\0"],
      [{ type: "syslog" }, "syslog\0"],
      [
        { type: "listen", service: "web", sockets: ["http=tcp:[::1]:80", "admin=unix:0660:0:33:/run/web.sock"] },
        "listen\0service=web\0socket=http=tcp:[::1]:80\0socket=admin=unix:0660:0:33:/run/web.sock\0",
      ],
      [{ type: "listen", service: "web", sockets: [] }, "listen\0service=web\0"],
      [{ type: "listen", service: "web", sockets: ["web=udp:127.0.0.1:53"], watch: true }, "listen\0service=web\0socket=web=udp:127.0.0.1:53\0watch=1\0"],
      [{ type: "shutdown" }, "shutdown\0"],
    ];
    for (const [message, body] of cases) {
      const bytes = encodeMessage(message);
      assert.equal(bytes.readUInt32LE(0), Buffer.byteLength(body), message.type);
      assert.equal(bytes.subarray(4).toString("utf8"), body, message.type);
    }
  });

  test("a spawn carries every field, repeated keys in order, and round-trips through the decoder", () => {
    const bytes = encodeMessage({
      type: "spawn",
      service: "web",
      role: "main",
      file: "sh",
      args: ["sh", "-c", "echo 'a = b' ünïcode"],
      env: ["PATH=/usr/bin:/bin", "EMPTY=", "EQ=a=b"],
      cwd: "/srv",
      umask: 0o27,
      log: "file",
      uid: 65534,
      gid: 65534,
      groups: [65534, 100],
      nnp: true,
      limits: [
        { name: "nofile", soft: 512, hard: 1024 },
        { name: "core", soft: 0, hard: null },
      ],
      readyFd: 5,
      notify: "/run/tend/notify/web.sock",
      logDir: "/var/log/tend/web",
      logSize: 1048576,
      logKeep: 5,
      stderr: "apart",
      cgroup: "web.service",
      killRest: true,
    });
    const frame = messageOf(decodeOne(rawDecoder(), bytes));
    assert.deepEqual(frame, {
      type: "spawn",
      fields: [
        ["service", "web"],
        ["role", "main"],
        ["file", "sh"],
        ["arg", "sh"],
        ["arg", "-c"],
        ["arg", "echo 'a = b' ünïcode"],
        ["env", "PATH=/usr/bin:/bin"],
        ["env", "EMPTY="],
        ["env", "EQ=a=b"],
        ["cwd", "/srv"],
        ["umask", "027"],
        ["log", "file"],
        ["log-dir", "/var/log/tend/web"],
        ["log-size", "1048576"],
        ["log-keep", "5"],
        ["stderr", "apart"],
        ["uid", "65534"],
        ["gid", "65534"],
        ["group", "65534"],
        ["group", "100"],
        ["nnp", "1"],
        ["limit", "nofile:512:1024"],
        ["limit", "core:0:unlimited"],
        ["ready-fd", "5"],
        ["notify", "/run/tend/notify/web.sock"],
        ["cgroup", "web.service"],
        ["kill-rest", "1"],
      ],
    });
  });

  test("a minimal spawn has no optional fields; umask is three octal digits", () => {
    const bytes = encodeMessage({ type: "spawn", service: "o", role: "up", file: "true", args: ["true"], env: [], cwd: "/", umask: 0o22, log: "none" });
    assert.equal(bytes.subarray(4).toString("utf8"), "spawn\0service=o\0role=up\0file=true\0arg=true\0cwd=/\0umask=022\0log=none\0");
  });

  test("what a frame cannot carry is refused before anything is sent", () => {
    assert.throws(() => encodeMessage({ type: "note", service: "a", text: "nul\0inside" }), EncodeError);
    assert.throws(() => encodeMessage({ type: "note", service: "a", text: "x".repeat(MAX_FRAME_BYTES) }), (e: Error) => e instanceof EncodeError && /more than/.test(e.message));
    assert.throws(() => encodeFrame({ type: "note", fields: [["Bad", "x"]] }), EncodeError);
    // Exactly the limit is still a frame.
    const overhead = Buffer.byteLength("note\0service=a\0text=\0");
    const fits = encodeMessage({ type: "note", service: "a", text: "x".repeat(MAX_FRAME_BYTES - overhead) });
    assert.equal(fits.readUInt32LE(0), MAX_FRAME_BYTES);
  });
});

describe("keeper messages parsed", () => {
  const cases: [Frame, KeeperMessage][] = [
    [
      { type: "hello", fields: [["version", "1"], ["pid", "4242"], ["tracking", "cgroup"], ["cgroup", "/sys/fs/cgroup/tend-4242"]] },
      { type: "hello", version: 1, pid: 4242, tracking: "cgroup", cgroup: "/sys/fs/cgroup/tend-4242" },
    ],
    [{ type: "hello", fields: [["version", "1"], ["pid", "7"], ["tracking", "fallback"]] }, { type: "hello", version: 1, pid: 7, tracking: "fallback", cgroup: null }],
    [
      { type: "proc", fields: [["service", "web"], ["role", "post-stop"], ["pid", "12"], ["since", "1790000000123"], ["ready", "1"]] },
      { type: "proc", service: "web", role: "post-stop", pid: 12, since: 1790000000123, ready: true },
    ],
    [{ type: "table-end", fields: [] }, { type: "table-end" }],
    [{ type: "spawned", fields: [["service", "a"], ["pid", "99"]] }, { type: "spawned", service: "a", pid: 99, reload: false }],
    [
      { type: "spawn-failed", fields: [["service", "a"], ["error", "chdir /srv: No such file or directory"]] },
      { type: "spawn-failed", service: "a", error: "chdir /srv: No such file or directory", reload: false },
    ],
    // The reload command's news (role=reload), and its proc in the table.
    [{ type: "spawned", fields: [["service", "a"], ["pid", "101"], ["role", "reload"]] }, { type: "spawned", service: "a", pid: 101, reload: true }],
    [
      { type: "spawn-failed", fields: [["service", "a"], ["error", "reload: no such program"], ["role", "reload"]] },
      { type: "spawn-failed", service: "a", error: "reload: no such program", reload: true },
    ],
    [
      { type: "exited", fields: [["service", "a"], ["pid", "101"], ["seq", "7"], ["role", "reload"], ["code", "3"]] },
      { type: "exited", service: "a", pid: 101, seq: 7, code: 3, signal: null, reload: true },
    ],
    [
      { type: "proc", fields: [["service", "a"], ["role", "reload"], ["pid", "101"], ["since", "1790000000123"], ["ready", "0"]] },
      { type: "proc", service: "a", role: "reload", pid: 101, since: 1790000000123, ready: false },
    ],
    [
      { type: "notify", fields: [["service", "a"], ["pid", "99"], ["reloading", "1"], ["reloaded", "1"]] },
      { type: "notify", service: "a", pid: 99, reloading: true, reloaded: true },
    ],
    [{ type: "ready", fields: [["service", "a"], ["pid", "99"]] }, { type: "ready", service: "a", pid: 99 }],
    [
      // MAINPID= comes as `main` or `main-refused`: a mainpid field (an older keeper's) is ignored.
      { type: "notify", fields: [["service", "a"], ["pid", "99"], ["status", "serving = yes"], ["stopping", "1"], ["mainpid", "100"]] },
      { type: "notify", service: "a", pid: 99, status: "serving = yes", stopping: true },
    ],
    [{ type: "notify", fields: [["service", "a"], ["pid", "99"], ["status", ""]] }, { type: "notify", service: "a", pid: 99, status: "" }],
    [{ type: "exited", fields: [["service", "a"], ["pid", "99"], ["seq", "3"], ["code", "0"]] }, { type: "exited", service: "a", pid: 99, seq: 3, code: 0, signal: null, reload: false }],
    [
      { type: "exited", fields: [["service", "a"], ["pid", "99"], ["seq", "4"], ["signal", "SIGKILL"]] },
      { type: "exited", service: "a", pid: 99, seq: 4, code: null, signal: "SIGKILL", reload: false },
    ],
    // A main named by MAINPID= that was not the keeper's child: its status went to its parent.
    [{ type: "exited", fields: [["service", "a"], ["pid", "99"], ["seq", "7"], ["unknown", "1"]] }, { type: "exited", service: "a", pid: 99, seq: 7, code: null, signal: null, reload: false }],
    [{ type: "main", fields: [["service", "nginx"], ["pid", "4321"]] }, { type: "main", service: "nginx", pid: 4321 }],
    [
      { type: "main-refused", fields: [["service", "nginx"], ["pid", "1"], ["error", "is not a process of nginx"]] },
      { type: "main-refused", service: "nginx", pid: 1, error: "is not a process of nginx" },
    ],
    [
      { type: "proc", fields: [["service", "nginx"], ["role", "launcher"], ["pid", "12"], ["since", "1790000000123"], ["ready", "0"]] },
      { type: "proc", service: "nginx", role: "launcher", pid: 12, since: 1790000000123, ready: false },
    ],
    // The doc says signal=NAME: a bare name or a number is read as the same signal.
    [
      { type: "exited", fields: [["service", "a"], ["pid", "99"], ["seq", "5"], ["signal", "TERM"]] },
      { type: "exited", service: "a", pid: 99, seq: 5, code: null, signal: "SIGTERM", reload: false },
    ],
    [
      { type: "exited", fields: [["service", "a"], ["pid", "99"], ["seq", "6"], ["signal", "9"]] },
      { type: "exited", service: "a", pid: 99, seq: 6, code: null, signal: "SIGKILL", reload: false },
    ],
    [{ type: "log-trouble", fields: [["service", "a"], ["error", "ENOSPC"]] }, { type: "log-trouble", service: "a", error: "ENOSPC" }],
    [
      { type: "procs", fields: [["service", "web"], ["total", "3"], ["pid", "40"], ["pid", "41"], ["pid", "7"]] },
      { type: "procs", service: "web", pids: [40, 41, 7], total: 3 },
    ],
    // Cut: fewer pids than the total.
    [{ type: "procs", fields: [["service", "web"], ["total", "10000"], ["pid", "40"]] }, { type: "procs", service: "web", pids: [40], total: 10000 }],
    [{ type: "procs", fields: [["service", "gone"], ["total", "0"]] }, { type: "procs", service: "gone", pids: [], total: 0 }],
    [{ type: "terminate", fields: [["signal", "SIGTERM"]] }, { type: "terminate", signal: "SIGTERM" }],
    [{ type: "syslog", fields: [["path", "/dev/log"]] }, { type: "syslog", path: "/dev/log", error: null }],
    [{ type: "syslog", fields: [] }, { type: "syslog", path: null, error: null }],
    [
      { type: "syslog", fields: [["error", "/dev/log is in use: another program (a syslog daemon?) listens on it, and keeps it"]] },
      { type: "syslog", path: null, error: "/dev/log is in use: another program (a syslog daemon?) listens on it, and keeps it" },
    ],
    [{ type: "connection", fields: [["service", "web"]] }, { type: "connection", service: "web" }],
    [{ type: "listening", fields: [["service", "web"], ["count", "2"]] }, { type: "listening", service: "web", count: 2, error: null }],
    [
      { type: "listening", fields: [["service", "web"], ["count", "0"], ["error", "cannot listen on 127.0.0.1:80: Address already in use"]] },
      { type: "listening", service: "web", count: 0, error: "cannot listen on 127.0.0.1:80: Address already in use" },
    ],
    [{ type: "error", fields: [["message", "spawn before hello"]] }, { type: "error", message: "spawn before hello" }],
  ];

  test("each message type, through the wire, into its typed form", () => {
    for (const [frame, expected] of cases) assert.deepEqual(messageOf(decodeOne(keeperDecoder(), encodeFrame(frame))), expected, frame.type);
  });

  test("unknown keys are ignored and the last of a repeated key counts", () => {
    const frame: Frame = { type: "spawned", fields: [["service", "a"], ["pid", "1"], ["future-key", "x"], ["pid", "2"]] };
    assert.deepEqual(messageOf(decodeOne(keeperDecoder(), encodeFrame(frame))), { type: "spawned", service: "a", pid: 2, reload: false });
  });

  test("well framed but wrong: each is refused with what is wrong", () => {
    const wrong: [string | Buffer, RegExp][] = [
      ["spawned\0service=a\0pid=1", /does not end with a NUL/],
      ["spawned\0service=a\0pid\0", /has no '='/],
      ["spawned\0Service=a\0pid=1\0", /not a valid key/],
      ["spawned\0=a\0pid=1\0", /not a valid key/],
      ["\0", /not a message type/],
      ["Spawned\0", /not a message type/],
      ["spawned\0pid=1\0", /lacks 'service'/],
      ["spawned\0service=\0pid=1\0", /empty 'service'/],
      ["spawned\0service=a\0pid=-1\0", /not a number/],
      ["spawned\0service=a\0pid=12x\0", /not a number/],
      ["spawned\0service=a\0pid=99999999999999999999\0", /not a number/],
      ["proc\0service=a\0role=boss\0pid=1\0since=0\0ready=1\0", /not a role/],
      ["proc\0service=a\0role=main\0pid=1\0since=0\0ready=yes\0", /not 0 or 1/],
      ["hello\0version=1\0pid=1\0tracking=magic\0", /neither cgroup nor fallback/],
      ["exited\0service=a\0pid=1\0seq=1\0", /one of 'code', 'signal' and 'unknown=1'/],
      ["exited\0service=a\0pid=1\0seq=1\0code=0\0signal=KILL\0", /one of 'code', 'signal' and 'unknown=1'/],
      ["exited\0service=a\0pid=1\0seq=1\0code=0\0unknown=1\0", /one of 'code', 'signal' and 'unknown=1'/],
      ["exited\0service=a\0pid=1\0seq=1\0unknown=0\0", /one of 'code', 'signal' and 'unknown=1'/],
      ["main\0service=a\0", /lacks 'pid'/],
      ["main-refused\0service=a\0pid=3\0", /lacks 'error'/],
      ["main-refused\0service=a\0pid=3\0error=\0", /empty 'error'/],
      ["procs\0service=a\0pid=1\0", /lacks 'total'/],
      ["procs\0service=a\0total=1\0pid=1\0pid=2\0", /lists 2 pids of a total of 1/],
      ["procs\0service=a\0total=2\0pid=1\0pid=x\0", /'pid=x' in 'procs' is not a number/],
      [`procs\0service=a\0total=1000\0${"pid=1\0".repeat(257)}`, /lists 257 pids of a total of 1000 \(at most 256\)/],
      ["spawned\0service=a\0pid=1\0role=main\0", /'role=main' is not 'reload'/],
      ["notify\0service=a\0pid=1\0reloaded=yes\0", /not 0 or 1/],
      ["syslog\0path=\0", /empty 'path'/],
      ["syslog\0error=\0", /empty 'error'/],
      ["frobnicate\0x=1\0", /unknown message type 'frobnicate'/],
    ];
    for (const [body, pattern] of wrong) assert.match(errorOf(decodeOne(keeperDecoder(), frameOf(body))), pattern, JSON.stringify(body));
  });

  test("the stream goes on after a wrong frame", () => {
    const decoder = keeperDecoder();
    const out = decoder.push(Buffer.concat([frameOf("spawned\0service=a\0"), frameOf("frobnicate\0"), encodeFrame({ type: "table-end", fields: [] })]));
    assert.equal(out.length, 3);
    assert.match(errorOf(out[0]!), /lacks 'pid'/);
    assert.match(errorOf(out[1]!), /unknown message type/);
    assert.deepEqual(messageOf(out[2]!), { type: "table-end" });
  });

  test("bytes that are not UTF-8 in a value do not break the frame", () => {
    const body = Buffer.concat([Buffer.from("spawn-failed\0service=a\0error="), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from("\0")]);
    const message = messageOf(decodeOne(keeperDecoder(), frameOf(body)));
    assert.equal(message.type, "spawn-failed");
    assert.match((message as { error: string }).error, /A$/);
  });
});

describe("chunked input", () => {
  const stream = Buffer.concat([
    encodeFrame({ type: "hello", fields: [["version", "1"], ["pid", "1"], ["tracking", "fallback"]] }),
    encodeFrame({ type: "proc", fields: [["service", "ä-service"], ["role", "main"], ["pid", "2"], ["since", "3"], ["ready", "0"]] }),
    frameOf("oops\0"),
    encodeFrame({ type: "exited", fields: [["service", "b"], ["pid", "4"], ["seq", "5"], ["code", "1"]] }),
    encodeFrame({ type: "table-end", fields: [] }),
  ]);
  const whole = keeperDecoder().push(stream);

  test("the whole stream at once gives every message, in order", () => {
    assert.deepEqual(
      whole.map((d) => (d.ok ? d.message.type : "error")),
      ["hello", "proc", "error", "exited", "table-end"],
    );
  });

  test("one byte at a time gives the same", () => {
    const decoder = keeperDecoder();
    const out: Decoded<KeeperMessage>[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    assert.deepEqual(out, whole);
    assert.equal(decoder.pending(), 0);
  });

  test("random cuts give the same, whatever the seed", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = random(seed);
      const decoder = keeperDecoder();
      const out: Decoded<KeeperMessage>[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = rng.int(0, 40);
        out.push(...decoder.push(stream.subarray(at, at + size)));
        at += size;
      }
      assert.deepEqual(out, whole, `seed ${seed}`);
    }
  });

  test("a frame cut short is pending, not lost, until the rest comes", () => {
    const decoder = keeperDecoder();
    assert.deepEqual(decoder.push(stream.subarray(0, 6)), []);
    assert.equal(decoder.pending(), 6);
    assert.equal(decoder.push(stream.subarray(6)).length, whole.length);
    assert.equal(decoder.pending(), 0);
  });
});

describe("unframeable input ends the stream", () => {
  test("a zero length is a framing error, and so is everything after it", () => {
    const decoder = keeperDecoder();
    assert.throws(() => decoder.push(Buffer.from([0, 0, 0, 0])), FramingError);
    assert.throws(() => decoder.push(encodeFrame({ type: "table-end", fields: [] })), FramingError);
  });

  test("a length over 1 MiB is refused from its header alone, before any of the body is kept", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(MAX_FRAME_BYTES + 1);
    const decoder = keeperDecoder();
    assert.throws(() => decoder.push(header), (e: Error) => e instanceof FramingError && /1048577/.test(e.message));
  });

  test("a length of exactly 1 MiB is a frame", () => {
    const body = Buffer.alloc(MAX_FRAME_BYTES, 0x61);
    Buffer.from("error\0message=").copy(body);
    body[MAX_FRAME_BYTES - 1] = 0;
    const decoded = decodeOne(keeperDecoder(), frameOf(body));
    assert.equal(messageOf(decoded).type, "error");
  });

  test("frames before the bad length are still delivered", () => {
    const decoder = keeperDecoder();
    const good = encodeFrame({ type: "table-end", fields: [] });
    assert.deepEqual(decoder.push(good).length, 1);
    assert.throws(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), FramingError);
  });

  test("random bytes either decode, are refused frame by frame, or end the stream: nothing else", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = random(seed);
      const bytes = Buffer.alloc(rng.int(0, 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
      // Small lengths, so that some frames complete.
      if (bytes.length >= 4) bytes.writeUInt32LE(rng.int(0, bytes.length - 4), 0);
      const decoder = keeperDecoder();
      try {
        for (const d of decoder.push(bytes)) assert.equal(typeof (d.ok ? d.message.type : d.error), "string");
      } catch (e) {
        assert.ok(e instanceof FramingError, `seed ${seed}: ${e}`);
      }
    }
  });
});
