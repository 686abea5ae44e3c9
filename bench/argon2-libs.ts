/**
 * Which argon2 binding hashes faster here at Warden's parameters (argon2id, m=19456 KiB, t=2, p=1)?
 * Runs `argon2` (node-gyp, libargon2) and `@node-rs/argon2` (Rust, napi) with CONCURRENCY jobs in
 * flight, as a server with that many cores would, and prints hashes and verifications per second.
 *
 *   node --import tsx bench/argon2-libs.ts [seconds per measurement, default 5] [concurrency, default 2]
 */
import os from "node:os";
import argon2 from "argon2";
import * as nodeRs from "@node-rs/argon2";
import { OWASP_ARGON2ID } from "../src/hashing/passwords.js";

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 2);
const PASSWORD = "correct horse battery staple";

interface Lib {
  name: string;
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

const libs: Lib[] = [
  {
    name: "argon2",
    hash: (p) => argon2.hash(p, { type: argon2.argon2id, ...OWASP_ARGON2ID }),
    verify: (h, p) => argon2.verify(h, p),
  },
  {
    name: "@node-rs/argon2",
    hash: (p) => nodeRs.hash(p, { algorithm: nodeRs.Algorithm.Argon2id, ...OWASP_ARGON2ID }),
    verify: (h, p) => nodeRs.verify(h, p),
  },
];

/** Keeps `concurrency` jobs in flight for `seconds`; returns completed jobs per second. */
async function rate(job: () => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await job();
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - started) / 1000);
}

console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} x${os.availableParallelism()}, load ${os.loadavg()[0]!.toFixed(1)}, concurrency ${concurrency}, ${seconds} s each`,
);
const rows: Array<Record<string, string>> = [];
for (const round of [1, 2]) {
  // Two rounds, alternating order, so neither library always runs on a cooler or hotter machine.
  for (const lib of round === 1 ? libs : [...libs].reverse()) {
    const hash = await lib.hash(PASSWORD);
    if (!(await lib.verify(hash, PASSWORD))) throw new Error(`${lib.name} failed to verify its own hash`);
    const hashes = await rate(() => lib.hash(PASSWORD));
    const verifies = await rate(() => lib.verify(hash, PASSWORD));
    rows.push({
      round: String(round),
      library: lib.name,
      "hash/s": hashes.toFixed(1),
      "verify/s": verifies.toFixed(1),
    });
  }
}
console.table(rows);
