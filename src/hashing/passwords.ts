import crypto from "node:crypto";
import os from "node:os";
import * as argon2 from "@node-rs/argon2";
import * as bcrypt from "@node-rs/bcrypt";
import { AuthError } from "../domain/errors.js";
import type { PasswordHasher } from "../domain/factors/password/hasher.js";

export type { PasswordHasher };

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP Password Storage Cheat Sheet, argon2id option 2: 19 MiB, 2 passes, 1 lane. */
export const OWASP_ARGON2ID: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * Runs password hashing on libuv's thread pool with at most one job per core, and refuses
 * work that could not start within `maxWaitMs` (judged from the measured hash time), so an
 * overload turns into quick 503s instead of an unbounded queue and timeouts for everyone.
 */
export class HashGate {
  private running = 0;
  private readonly waiting: Array<{ start: () => void; refuse: (error: AuthError) => void; enqueuedAt: number }> = [];
  private averageMs: number;

  constructor(
    private readonly concurrency: number,
    private readonly maxWaitMs: number,
    initialEstimateMs: number,
    /** Told how long each admitted job waited for its slot (0 when one was free). */
    private readonly onWait: (ms: number) => void = () => {},
  ) {
    this.averageMs = initialEstimateMs;
  }

  /** How many jobs may wait: those that can start within maxWaitMs. */
  get maxQueue(): number {
    return Math.max(this.concurrency, Math.floor((this.maxWaitMs / this.averageMs) * this.concurrency));
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** True when a new job would be refused: callers can shed a request before doing any other work for it. */
  get isFull(): boolean {
    return this.running >= this.concurrency && this.waiting.length >= this.maxQueue;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    const enqueuedAt = performance.now();
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) throw overloaded();
      await new Promise<void>((start, refuse) => this.waiting.push({ start, refuse, enqueuedAt }));
    } else {
      this.running++;
    }
    const started = performance.now();
    this.onWait(started - enqueuedAt);
    try {
      return await job();
    } finally {
      // Moving average of the job time, so the queue bound follows the machine's real speed.
      this.averageMs = this.averageMs * 0.9 + (performance.now() - started) * 0.1;
      this.startNext();
    }
  }

  /**
   * Hands the freed slot to the oldest waiter that can still start in time. One that already
   * waited longer than maxWaitMs (the estimate was wrong: the machine slowed down) is refused
   * instead, so no admitted login waits unboundedly.
   */
  private startNext(): void {
    const now = performance.now();
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      if (now - next.enqueuedAt <= this.maxWaitMs) {
        next.start();
        return;
      }
      next.refuse(overloaded());
    }
    this.running--;
  }
}

const overloaded = () => new AuthError("OVERLOADED", { retryAfterSeconds: 1 });

const ARGON2_PARAMS = /^\$(argon2(?:id|i|d))\$v=(\d+)\$([^$]+)\$/;

export function parseArgon2Params(hash: string): (Argon2Params & { variant: string; version: number }) | null {
  const match = ARGON2_PARAMS.exec(hash);
  if (!match) return null;
  const params = Object.fromEntries(match[3]!.split(",").map((kv) => kv.split("=") as [string, string]));
  return {
    variant: match[1]!,
    version: Number(match[2]),
    memoryCost: Number(params.m),
    timeCost: Number(params.t),
    parallelism: Number(params.p),
  };
}

/**
 * Symfony's NativePasswordHasher pre-hashes bcrypt input longer than 72 bytes or holding a NUL
 * (base64 of SHA-512), so long passwords are never cut at bcrypt's limit; imported hashes need the same.
 */
function symfonyBcryptInput(password: string): string {
  if (Buffer.byteLength(password) > 72 || password.includes("\0")) {
    return crypto.createHash("sha512").update(password).digest("base64");
  }
  return password;
}

export async function createPasswordHasher(options: {
  params?: Argon2Params;
  concurrency?: number;
  maxWaitMs?: number;
  onWait?: (ms: number) => void;
}): Promise<PasswordHasher & { gate: HashGate }> {
  const params = options.params ?? OWASP_ARGON2ID;
  const argonOptions = { algorithm: argon2.Algorithm.Argon2id, ...params };
  const started = performance.now();
  const dummyHash = await argon2.hash(crypto.randomBytes(32).toString("base64url"), argonOptions);
  const gate = new HashGate(
    options.concurrency ?? os.availableParallelism(),
    options.maxWaitMs ?? 1000,
    Math.max(1, performance.now() - started),
    options.onWait,
  );

  return {
    gate,
    dummyHash,
    isSaturated: () => gate.isFull,
    hash: (password) => gate.run(() => argon2.hash(password, argonOptions)),
    async verify(hash, password) {
      if (hash.startsWith("$argon2")) {
        return gate
          .run(() => argon2.verify(hash, password))
          .catch((error: unknown) => {
            if (error instanceof AuthError) throw error;
            return false; // a malformed stored hash verifies nothing
          });
      }
      if (/^\$2[aby]\$\d\d\$/.test(hash)) {
        return gate
          .run(() => bcrypt.verify(symfonyBcryptInput(password), hash))
          .catch((error: unknown) => {
            if (error instanceof AuthError) throw error;
            return false;
          });
      }
      // Unknown scheme (or a deleted account's "!"): spend the same time, then refuse.
      await gate.run(() => argon2.verify(dummyHash, password));
      return false;
    },
    needsRehash(hash) {
      const current = parseArgon2Params(hash);
      return (
        current === null ||
        current.variant !== "argon2id" ||
        current.version !== 19 ||
        current.memoryCost !== params.memoryCost ||
        current.timeCost !== params.timeCost ||
        current.parallelism !== params.parallelism
      );
    },
  };
}
