// The kernel's socket tables as tend reads them: lines of /proc/net/tcp, tcp6 and unix
// parsed (addresses in the machine's byte order, paths with blanks), then real
// sockets of this process found by what they listen on, and among its fds.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { endianness, networkInterfaces } from "node:os";
import { join } from "node:path";
import { canonicalAddress, holderOf, isLocalAddress, listeningOn, parseInetTable, parseUnixTable, socketsOf } from "../../src/system/listeners.js";
import { tempDir } from "../helpers.js";

/** An address word as the kernel prints it: the u32 in the machine's byte order, in hex. */
const word = (bytes: number[]): string => (endianness() === "LE" ? [...bytes].reverse() : bytes).map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");

describe("parsing the tables", () => {
  test("tcp: address, port, LISTEN, uid and inode; a bad line is skipped", () => {
    const text = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      `   0: ${word([127, 0, 0, 1])}:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0`,
      `   1: ${word([0, 0, 0, 0])}:0016 ${word([10, 0, 0, 2])}:C350 01 00000000:00000000 00:00000000 00000000     0        0 99 1`,
      "   2: garbage",
      "",
    ].join("\n");
    assert.deepEqual(parseInetTable(text), [
      { address: "127.0.0.1", port: 8080, listening: true, uid: 1000, inode: 4242 },
      { address: "0.0.0.0", port: 22, listening: false, uid: 0, inode: 99 },
    ]);
  });

  test("tcp6: four words, canonical text (:: for the wildcard, ::ffff:… for a mapped IPv4 address)", () => {
    const v6 = (bytes: number[]): string => [0, 4, 8, 12].map((i) => word(bytes.slice(i, i + 4))).join("");
    const loopback = [...Array(15).fill(0), 1];
    const mapped = [...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1];
    const line = (bytes: number[], inode: number): string => `   0: ${v6(bytes)}:0050 ${v6(Array(16).fill(0))}:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1`;
    const text = ["header", line(loopback, 1), line(Array(16).fill(0), 2), line(mapped, 3)].join("\n");
    assert.deepEqual(
      parseInetTable(text).map((s) => [s.address, s.port, s.inode]),
      [
        ["::1", 80, 1],
        ["::", 80, 2],
        ["::ffff:7f00:1", 80, 3],
      ],
    );
    assert.equal(canonicalAddress("0:0:0::1"), "::1");
    assert.equal(canonicalAddress("::ffff:127.0.0.1"), "::ffff:7f00:1");
    assert.equal(canonicalAddress("localhost"), null);
  });

  test("this machine's addresses: loopback, the wildcards, its interfaces'; not another host's", () => {
    for (const address of ["127.0.0.1", "127.3.4.5", "::1", "0.0.0.0", "::", "::ffff:7f00:1"]) assert.ok(isLocalAddress(address), address);
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) assert.ok(isLocalAddress(canonicalAddress(i.address)!), i.address);
    assert.equal(isLocalAddress("192.0.2.1"), false, "TEST-NET-1");
    assert.equal(isLocalAddress("2001:db8::1"), false, "the documentation prefix");
  });

  test("unix: type, listening flag, inode and a path with blanks; unbound and abstract sockets", () => {
    const text = [
      "Num       RefCount Protocol Flags    Type St Inode Path",
      "0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/app server.sock",
      "0000000000000000: 00000002 00000000 00000000 0002 01 777 /dev/log",
      "0000000000000000: 00000003 00000000 00000000 0001 03   119",
      "0000000000000000: 00000002 00000000 00010000 0005 01 55 @abstract",
    ].join("\n");
    assert.deepEqual(parseUnixTable(text), [
      { path: "/run/app server.sock", type: "stream", listening: true, inode: 12345 },
      { path: "/dev/log", type: "dgram", listening: false, inode: 777 },
      { path: "", type: "stream", listening: false, inode: 119 },
      { path: "@abstract", type: "seqpacket", listening: true, inode: 55 },
    ]);
  });
});

const listen = (server: Server, ...args: unknown[]): Promise<void> => new Promise((resolve) => server.listen(...(args as []), () => resolve()));
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe("real sockets of this process", () => {
  test("a TCP listener on 127.0.0.1 is found by its address and by 0.0.0.0's rule, and among this process's fds", async () => {
    const server = createServer();
    await listen(server, 0, "127.0.0.1");
    const port = (server.address() as { port: number }).port;
    try {
      const found = await listeningOn({ kind: "tcp", addresses: ["127.0.0.1"], port });
      assert.equal(found?.length, 1);
      assert.equal(found![0]!.uid, process.getuid!());
      assert.ok((await socketsOf(process.pid))!.has(found![0]!.inode));
      assert.equal(await holderOf(new Set([found![0]!.inode])), process.pid);
      assert.deepEqual(await listeningOn({ kind: "tcp", addresses: ["127.0.0.2"], port }), [], "another address is not reached");
    } finally {
      await close(server);
    }
    assert.deepEqual(await listeningOn({ kind: "tcp", addresses: ["127.0.0.1"], port }), [], "gone once closed");
  });

  test("a listener on :: counts for IPv4 and IPv6 addresses", async () => {
    const server = createServer();
    await listen(server, 0, "::");
    const port = (server.address() as { port: number }).port;
    try {
      for (const address of ["127.0.0.1", "::1"]) assert.equal((await listeningOn({ kind: "tcp", addresses: [address], port }))?.length, 1, address);
    } finally {
      await close(server);
    }
  });

  test("unix: a stream listener is found as stream, never as dgram (datagram sockets: test/server/readiness.test.ts, with python3)", async () => {
    const { dir, remove } = tempDir();
    const path = join(dir, "s.sock");
    const server = createServer();
    await listen(server, path);
    try {
      assert.equal((await listeningOn({ kind: "unix", path, type: "stream" }))?.length, 1);
      assert.deepEqual(await listeningOn({ kind: "unix", path, type: "dgram" }), []);
      assert.deepEqual(await listeningOn({ kind: "unix", path: join(dir, "none.sock"), type: "stream" }), []);
    } finally {
      await close(server);
      remove();
    }
  });

  test("a process that is gone holds no socket; pid 1's fds cannot be read by a normal user", async () => {
    assert.deepEqual(await socketsOf(2 ** 22 + 1), new Set());
    if (process.getuid!() !== 0) assert.equal(await socketsOf(1), null);
  });
});
