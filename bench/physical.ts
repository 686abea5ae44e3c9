import crypto from "node:crypto";
import * as argon2 from "@node-rs/argon2";
import { generateKeyPair, SignJWT } from "jose";
import { OWASP_ARGON2ID } from "../src/hashing/passwords.js";
import { runClosedLoop } from "./load.js";

/** Operations per second, and CPU milliseconds per operation (load-independent, unlike the rate). */
export type Measured = { perSecond: number; cpuMsPerOp: number };

/**
 * argon2id verifications per second with the library and parameters Warden uses, `concurrency`
 * in flight (the login scenario's connection count), in this process: what login could reach if
 * the server did nothing but hash.
 */
export async function measureRawArgon2(concurrency: number, durationSeconds: number): Promise<Measured> {
  const hash = await argon2.hash("bench-Password-1", { algorithm: argon2.Algorithm.Argon2id, ...OWASP_ARGON2ID });
  return runClosedLoop(concurrency, durationSeconds, () => argon2.verify(hash, "bench-Password-1"));
}

/**
 * RS256 (2048-bit) JWT signatures per second with jose, `concurrency` in flight, in this process.
 * jose signs through WebCrypto, which Node runs on the libuv thread pool, so one process can use
 * every core: this is the machine's signing capacity, whatever the server's worker count.
 */
export async function measureRawSign(concurrency: number, durationSeconds: number): Promise<Measured> {
  const { privateKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
  const claims = { roles: ["ROLE_USER"], username: "user-1@bench.test", sid: crypto.randomUUID() };
  return runClosedLoop(concurrency, durationSeconds, () =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "bench" })
      .setSubject(crypto.randomUUID())
      .setJti(crypto.randomUUID())
      .setIssuer("http://warden.bench")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey),
  );
}
