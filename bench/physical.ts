import { Worker } from "node:worker_threads";
import * as argon2 from "@node-rs/argon2";
import { OWASP_ARGON2ID } from "../src/domain/passwords.js";
import { runClosedLoop } from "./load.js";

/**
 * argon2id verifications per second with the library and parameters Warden uses, `concurrency`
 * in flight (the login scenario's connection count), in this process: what login could reach if
 * the server did nothing but hash.
 */
export async function measureRawArgon2(concurrency: number, durationSeconds: number): Promise<number> {
  const hash = await argon2.hash("bench-Password-1", { algorithm: argon2.Algorithm.Argon2id, ...OWASP_ARGON2ID });
  return runClosedLoop(concurrency, durationSeconds, () => argon2.verify(hash, "bench-Password-1"));
}

// RS256 signing with jose is synchronous CPU work on the calling thread, so the physical limit of
// N server processes is N threads signing: one worker thread per Warden worker.
const SIGN_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
(async () => {
  const { SignJWT, generateKeyPair } = await import(workerData.jose);
  const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  const claims = { roles: ["ROLE_USER"], username: "user-1@bench.test", sid: "00000000-0000-4000-8000-000000000000" };
  const deadline = performance.now() + workerData.durationMs;
  const started = performance.now();
  let done = 0;
  while (performance.now() < deadline) {
    await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "bench" })
      .setSubject("00000000-0000-4000-8000-000000000001")
      .setJti(String(done))
      .setIssuer("http://warden.bench")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey);
    done++;
  }
  parentPort.postMessage(done / ((performance.now() - started) / 1000));
})();
`;

/** RS256 (2048-bit) JWT signatures per second with jose, on `threads` threads at once. */
export async function measureRawSign(threads: number, durationSeconds: number): Promise<number> {
  const rates = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(SIGN_WORKER, { eval: true, workerData: { durationMs: durationSeconds * 1000, jose: import.meta.resolve("jose") } });
          worker.once("message", (rate: number) => resolve(rate));
          worker.once("error", reject);
        }),
    ),
  );
  return Math.round(rates.reduce((a, b) => a + b, 0));
}
