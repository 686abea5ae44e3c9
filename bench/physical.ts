import { spawn } from "node:child_process";
import crypto from "node:crypto";
import { once } from "node:events";
import os from "node:os";
import { fileURLToPath } from "node:url";
import * as argon2 from "@node-rs/argon2";
import { signRs256 } from "../src/domain/sessions/access-tokens.js";
import { OWASP_ARGON2ID } from "../src/hashing/passwords.js";
import { runClosedLoop } from "./load.js";

/** Operations per second, and CPU milliseconds per operation (load-independent, unlike the rate). */
export type Measured = { perSecond: number; cpuMsPerOp: number };

/**
 * argon2id verifications per second with the library and parameters Warden uses, `concurrency`
 * in flight (the login scenario's connection count): what login could reach if the server did
 * nothing but hash. At its best: measured in a fresh process with libuv's default pool of four
 * threads and in one with a thread per core (what `npm start` gives a single Warden process,
 * src/thread-pool.cts), and the faster kept, so sizing Warden's pool never flatters the ratio.
 */
export async function measureRawArgon2(concurrency: number, durationSeconds: number): Promise<RawArgon2> {
  let best: RawArgon2 | undefined;
  for (const poolThreads of [...new Set([LIBUV_DEFAULT_POOL, os.availableParallelism()])]) {
    const measured = await inChild(["argon2", String(concurrency), String(durationSeconds)], {
      UV_THREADPOOL_SIZE: String(poolThreads),
    });
    if (!best || measured.perSecond > best.perSecond) best = { ...measured, poolThreads };
  }
  return best!;
}

export type RawArgon2 = Measured & { poolThreads: number };
const LIBUV_DEFAULT_POOL = 4;

async function rawArgon2(concurrency: number, durationSeconds: number): Promise<Measured> {
  const hash = await argon2.hash("bench-Password-1", { algorithm: argon2.Algorithm.Argon2id, ...OWASP_ARGON2ID });
  return runClosedLoop(concurrency, durationSeconds, () => argon2.verify(hash, "bench-Password-1"));
}

/** Runs this file as a script (a fresh process, so `env` reaches libuv) and reads what it measured. */
async function inChild(args: string[], env: Record<string, string>): Promise<Measured> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`bench/physical.ts ${args.join(" ")} exited with ${code}`);
  return JSON.parse(out) as Measured;
}

/**
 * RS256 (2048-bit) signatures per second over an access token's header and claims, with
 * Warden's own `signRs256` (node:crypto's sign with a callback, src/domain/sessions/access-tokens.ts),
 * `concurrency` in flight, in this process. Node runs each on the libuv thread pool, so one
 * process can use every core: this is the machine's signing capacity, whatever the server's
 * worker count.
 */
export async function measureRawSign(concurrency: number, durationSeconds: number): Promise<Measured> {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return runClosedLoop(concurrency, durationSeconds, () => {
    const iat = Math.floor(Date.now() / 1000);
    const claims = { roles: ["ROLE_USER"], username: "user-1@bench.test", sid: crypto.randomUUID() };
    const more = {
      iat,
      exp: iat + 3600,
      sub: crypto.randomUUID(),
      jti: crypto.randomUUID(),
      iss: "http://warden.bench",
    };
    return signRs256({ alg: "RS256", typ: "JWT", kid: "bench" }, { ...claims, ...more }, privateKey);
  });
}

// As a script (measureRawArgon2's child): `node --import tsx bench/physical.ts argon2 <concurrency> <seconds>`.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === "argon2") {
  console.log(JSON.stringify(await rawArgon2(Number(process.argv[3]), Number(process.argv[4]))));
}
