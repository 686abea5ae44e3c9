import crypto from "node:crypto";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import * as argon2 from "@node-rs/argon2";
import { AuthError } from "../domain/errors.js";
import { lazy } from "../domain/lib/lazy.js";
import type { HashAdmission, HashPriority, ImportedHash, PasswordHasher } from "../domain/factors/password/hasher.js";

export type { HashPriority, PasswordHasher };

export interface Argon2Params {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** Only hashes imported from another system are bcrypt: most processes never load it. */
const bcryptLibrary = lazy(() => import("@node-rs/bcrypt"));

/** OWASP Password Storage Cheat Sheet, argon2id option 2: 19 MiB, 2 passes, 1 lane. */
export const OWASP_ARGON2ID: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * The most one verification may cost. Above this an imported hash is refused at import, and a
 * stored one is never verified (the login fails as invalid credentials, a warning is logged).
 * argon2: 64 MiB (OWASP's largest recommended configuration is 46 MiB), 10 passes, 4 lanes:
 * measured here about 0.35 s and 64 MiB per verify. bcrypt: cost 14 (PHP and Symfony default
 * to 10-13; 14 is about 1.8 s here). Each step above doubles the work an attacker can make one
 * wrong password cost the server.
 */
export const VERIFY_BUDGET = {
  argon2: { maxMemoryKiB: 65536, maxTime: 10, maxParallelism: 4 },
  bcrypt: { minCost: 4, maxCost: 14 },
} as const;

interface Waiter {
  start: () => void;
  refuse: (error: AuthError) => void;
  enqueuedAt: number;
}

/**
 * Runs password hashing on libuv's thread pool with at most `concurrency` jobs handed to it at
 * a time (deps.ts: the hash slots, and one more waiting in libuv's queue when the pool has
 * exactly the slots' threads: thread-pool.cts, hashesInFlightFor), and
 * refuses work that could not start within `maxWaitMs` (judged from the measured hash time), so
 * an overload turns into quick 503s instead of an unbounded queue and timeouts for everyone.
 *
 * A login is admitted (`admit`) before its database work, and from then on holds its place in
 * the queue's bound until its hash is queued: under overload a login is refused before it reads
 * anything, instead of after its reads, when they have already queued for the database ahead of
 * the admitted logins' sessions.
 *
 * Two classes of work: logins, and re-authentications of a logged-in user. A re-authentication
 * may hold at most half the slots and has its own, shorter queue; a freed slot goes to a
 * waiting login first. So however many re-checks a logged-in user fires, logins still find
 * free slots and an empty queue of their own.
 */
export class HashGate {
  private running = 0;
  private runningReauth = 0;
  private readonly waiting: Record<HashPriority, Waiter[]> = { login: [], reauth: [] };
  /** Logins admitted (`admit`) and not yet queued or started. */
  private admitted = 0;
  private averageMs: number;
  /** Slots a re-authentication may hold at once. */
  readonly reauthShare: number;

  constructor(
    private readonly concurrency: number,
    private readonly maxWaitMs: number,
    initialEstimateMs: number,
    /** Told how long each admitted job waited for its slot (0 when one was free). */
    private readonly onWait: (ms: number, priority: HashPriority) => void = () => {},
  ) {
    this.averageMs = initialEstimateMs;
    this.reauthShare = Math.max(1, Math.floor(concurrency / 2));
  }

  /** How many logins may wait: those that can start within maxWaitMs. */
  get maxQueue(): number {
    return Math.max(this.concurrency, Math.floor((this.maxWaitMs / this.averageMs) * this.concurrency));
  }

  /** How many re-authentications may wait: what their share of slots can start within maxWaitMs. */
  get maxReauthQueue(): number {
    return Math.max(1, Math.floor((this.maxWaitMs / this.averageMs) * this.reauthShare));
  }

  get queued(): number {
    return this.waiting.login.length + this.waiting.reauth.length;
  }

  /** Jobs waiting for a slot, of one class. */
  queuedFor(priority: HashPriority): number {
    return this.waiting[priority].length;
  }

  /** True when a new login would be refused: callers can shed a request before doing any other work for it. */
  get isFull(): boolean {
    return this.isFullFor("login");
  }

  isFullFor(priority: HashPriority): boolean {
    if (priority === "login")
      return this.waiting.login.length + this.admitted >= this.maxQueue + Math.max(0, this.concurrency - this.running);
    return !this.canStart("reauth") && this.waiting.reauth.length >= this.maxReauthQueue;
  }

  /**
   * Takes a place for a login's hash that will run after its reads: refused with OVERLOADED when
   * the place could not start within maxWaitMs. Pass the admission to `run`; `release` it
   * (idempotent) if the hash never runs.
   */
  admit(): HashAdmission {
    if (this.isFullFor("login")) throw overloaded();
    this.admitted++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.admitted--;
      },
    };
  }

  private canStart(priority: HashPriority): boolean {
    if (this.running >= this.concurrency) return false;
    return priority === "login" || this.runningReauth < this.reauthShare;
  }

  private take(priority: HashPriority): void {
    this.running++;
    if (priority === "reauth") this.runningReauth++;
  }

  /** Runs `job` in a slot; with an `admission` (its place already counted) it is not refused for the queue's length. */
  async run<T>(job: () => Promise<T>, priority: HashPriority = "login", admission?: HashAdmission): Promise<T> {
    const enqueuedAt = performance.now();
    if (admission) admission.release();
    else if (this.isFullFor(priority)) throw overloaded(); // the places left are held by admitted logins
    // Logins waiting go first: a re-check never jumps the login queue even when a slot is free.
    if (this.canStart(priority) && (priority === "login" || this.waiting.login.length === 0)) {
      this.take(priority);
    } else {
      await new Promise<void>((start, refuse) => this.waiting[priority].push({ start, refuse, enqueuedAt }));
    }
    const started = performance.now();
    this.onWait(started - enqueuedAt, priority);
    try {
      return await job();
    } finally {
      // Moving average of the job time, so the queue bound follows the machine's real speed.
      this.averageMs = this.averageMs * 0.9 + (performance.now() - started) * 0.1;
      this.running--;
      if (priority === "reauth") this.runningReauth--;
      this.startNext();
    }
  }

  /**
   * Hands free slots to the oldest waiting login, then to re-authentications within their share.
   * One that already waited longer than maxWaitMs (the estimate was wrong: the machine slowed
   * down) is refused instead, so no admitted request waits unboundedly.
   */
  private startNext(): void {
    const now = performance.now();
    for (const priority of ["login", "reauth"] as const) {
      const queue = this.waiting[priority];
      while (queue.length > 0 && this.canStart(priority)) {
        const next = queue.shift()!;
        if (now - next.enqueuedAt > this.maxWaitMs) {
          next.refuse(overloaded());
          continue;
        }
        this.take(priority);
        next.start();
      }
    }
  }
}

const overloaded = () => new AuthError("OVERLOADED", { retryAfterSeconds: 1 });

const ARGON2_PHC =
  /^\$(argon2(?:id|i|d))\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{16,})$/;
const BCRYPT = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;
/**
 * Legacy bcrypt wrapped at import: `$warden-wrap$bcrypt$<cost>$<salt>` followed by an argon2id
 * PHC string over the bcrypt digest (its last 31 characters). Verifying recomputes bcrypt with
 * the stored cost and salt, then checks argon2id over the result; the database never holds a
 * bare bcrypt hash, so a leaked row costs an attacker argon2id on top of bcrypt.
 */
const WRAPPED_BCRYPT = /^\$warden-wrap\$bcrypt\$(\d\d)\$([./A-Za-z0-9]{22})(\$argon2id\$.+)$/;

export function parseArgon2Params(hash: string): (Argon2Params & { variant: string; version: number }) | null {
  const match = ARGON2_PHC.exec(hash);
  if (!match) return null;
  return {
    variant: match[1]!,
    version: Number(match[2] ?? 16),
    memoryCost: Number(match[3]),
    timeCost: Number(match[4]),
    parallelism: Number(match[5]),
  };
}

/** What verifying a stored hash involves, or why it must not be attempted. */
type Plan =
  | { kind: "argon2"; cls: string }
  | { kind: "bcrypt"; cls: string }
  | { kind: "wrapped-bcrypt"; cls: string; cost: number; salt: string; inner: string }
  | { kind: "over-budget"; reason: string }
  | { kind: "malformed"; reason: string };

function argon2Problem(p: Argon2Params): string | null {
  const b = VERIFY_BUDGET.argon2;
  if (p.memoryCost > b.maxMemoryKiB)
    return `argon2 memory m=${p.memoryCost} KiB is over the limit of ${b.maxMemoryKiB}`;
  if (p.timeCost > b.maxTime) return `argon2 passes t=${p.timeCost} is over the limit of ${b.maxTime}`;
  if (p.parallelism > b.maxParallelism)
    return `argon2 lanes p=${p.parallelism} is over the limit of ${b.maxParallelism}`;
  if (p.timeCost < 1 || p.parallelism < 1 || p.memoryCost < 8 * p.parallelism) return "argon2 parameters are invalid";
  return null;
}

function bcryptProblem(cost: number): string | null {
  const b = VERIFY_BUDGET.bcrypt;
  if (cost > b.maxCost) return `bcrypt cost ${cost} is over the limit of ${b.maxCost}`;
  if (cost < b.minCost) return `bcrypt cost ${cost} is invalid (at least ${b.minCost})`;
  return null;
}

function planFor(hash: string): Plan {
  if (hash.startsWith("$argon2")) {
    const params = parseArgon2Params(hash);
    if (!params) return { kind: "malformed", reason: "malformed argon2 hash" };
    const problem = argon2Problem(params);
    if (problem) return { kind: "over-budget", reason: problem };
    return {
      kind: "argon2",
      cls: `${params.variant}:v=${params.version},m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}`,
    };
  }
  if (hash.startsWith("$2")) {
    const match = BCRYPT.exec(hash);
    if (!match) return { kind: "malformed", reason: "malformed bcrypt hash" };
    const problem = bcryptProblem(Number(match[1]));
    if (problem) return { kind: "over-budget", reason: problem };
    return { kind: "bcrypt", cls: `bcrypt:${Number(match[1])}` };
  }
  if (hash.startsWith("$warden-wrap$")) {
    const match = WRAPPED_BCRYPT.exec(hash);
    const inner = match ? parseArgon2Params(match[3]!) : null;
    if (!match || !inner) return { kind: "malformed", reason: "malformed wrapped hash" };
    const problem = bcryptProblem(Number(match[1])) ?? argon2Problem(inner);
    if (problem) return { kind: "over-budget", reason: problem };
    return {
      kind: "wrapped-bcrypt",
      cls: `wrap-bcrypt:${Number(match[1])}:m=${inner.memoryCost},t=${inner.timeCost},p=${inner.parallelism}`,
      cost: Number(match[1]),
      salt: match[2]!,
      inner: match[3]!,
    };
  }
  return { kind: "malformed", reason: "unsupported password hash (expected argon2 or bcrypt)" };
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

/** bcrypt's own base64 alphabet, to turn a stored 22-character salt back into its 16 bytes. */
const BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const STD_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const bcryptSaltBytes = (salt: string): Buffer =>
  Buffer.from([...salt].map((c) => STD_B64[BCRYPT_B64.indexOf(c)]).join(""), "base64").subarray(0, 16);

/** The 31-character digest bcrypt computes for `password` under `cost` and `salt`. */
async function bcryptDigest(password: string, cost: number, salt: string): Promise<string> {
  const bcrypt = await bcryptLibrary();
  return (await bcrypt.hash(symfonyBcryptInput(password), cost, bcryptSaltBytes(salt))).slice(-31);
}

/** A bcrypt hash of a random password at `cost`: a sample to time a hash class by. */
async function randomBcryptHash(cost: number): Promise<string> {
  return (await bcryptLibrary()).hashSync(crypto.randomBytes(16).toString("hex"), cost);
}

/** Stores the kinds of legacy hash present (one sample of each), so every instance can time them at start. */
export interface HashClassRegistry {
  list(): Promise<Array<{ name: string; sample: string }>>;
  add(name: string, sample: string): Promise<void>;
}

export interface Hasher extends PasswordHasher {
  gate: HashGate;
  /** The time every failed verification is stretched to (the slowest kind of stored hash). */
  failureFloorMs(): number;
  /** Times one verification of every kind of legacy hash the registry knows (at start, then every minute). */
  calibrate(): Promise<void>;
  close(): void;
}

export async function createPasswordHasher(options: {
  params?: Argon2Params;
  concurrency?: number;
  maxWaitMs?: number;
  registry?: HashClassRegistry;
  /** Told (without the hash) when a stored hash is over the verify budget and was not verified. */
  onOverBudget?: (reason: string) => void;
  /** How often to look for legacy hash kinds another process imported; 0: never. */
  recalibrateMs?: number;
  /** Told how long each hash waited for a slot (the metrics' queue-wait histogram). */
  onWait?: (ms: number, priority: HashPriority) => void;
}): Promise<Hasher> {
  const params = options.params ?? OWASP_ARGON2ID;
  const argonOptions = { algorithm: argon2.Algorithm.Argon2id, ...params };
  const nativeClass = `argon2id:v=19,m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}`;
  const started = performance.now();
  const dummyHash = await argon2.hash(crypto.randomBytes(32).toString("base64url"), argonOptions);
  const nativeMs = Math.max(1, performance.now() - started);
  const gate = new HashGate(
    options.concurrency ?? os.availableParallelism(),
    options.maxWaitMs ?? 1000,
    nativeMs,
    options.onWait,
  );

  /**
   * Compute time of one verification, per kind of hash (moving average). Every failed
   * verification is stretched to the largest of them, so a wrong password on a bcrypt-13
   * account, on a native one, and an unknown email all answer after the same time; the
   * stretch is a timer, not work, so it costs no hash slot. The average rises faster than it
   * falls: when the machine gets busy, a kind that has slowed down (a wrapped bcrypt is two
   * jobs on the pool) raises the floor within a few verifications instead of answering slower
   * than the rest meanwhile (the full test suite's load once put bcrypt's median 30% above the
   * others' in test/attack/legacy-hashes.test.ts).
   */
  const costs = new Map<string, number>([[nativeClass, nativeMs]]);
  const observe = (cls: string, ms: number) => {
    const previous = costs.get(cls);
    const weight = previous !== undefined && ms > previous ? 0.5 : 0.2;
    costs.set(cls, previous === undefined ? ms : previous * (1 - weight) + ms * weight);
  };
  const failureFloorMs = () => Math.max(...costs.values());

  const timed = async <T>(cls: string, job: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const t0 = performance.now();
    const value = await job();
    const ms = performance.now() - t0;
    observe(cls, ms);
    return { value, ms };
  };

  const compute = async (plan: Plan, hash: string, password: string): Promise<boolean> => {
    switch (plan.kind) {
      case "argon2":
        return argon2.verify(hash, password);
      case "bcrypt":
        return (await bcryptLibrary()).verify(symfonyBcryptInput(password), hash);
      case "wrapped-bcrypt":
        return argon2.verify(plan.inner, await bcryptDigest(password, plan.cost, plan.salt));
      default:
        // Malformed, unknown (a deleted account's "!") or over budget: spend a native check, then refuse.
        await argon2.verify(dummyHash, password);
        return false;
    }
  };

  /** Kinds of hash timed so far; `learn` times one verification of a sample of a kind not yet seen. */
  const calibrated = new Set<string>();
  const learn = async (sample: string) => {
    const plan = planFor(sample);
    if (plan.kind === "malformed" || plan.kind === "over-budget" || calibrated.has(plan.cls)) return;
    calibrated.add(plan.cls);
    await timed(plan.cls, () => compute(plan, sample, crypto.randomBytes(16).toString("hex")));
  };
  const calibrate = async () => {
    if (!options.registry) return;
    for (const { sample } of await options.registry.list()) await learn(sample);
  };
  await calibrate();
  const timer =
    options.registry && (options.recalibrateMs ?? 60_000) > 0
      ? setInterval(() => void calibrate().catch(() => {}), options.recalibrateMs ?? 60_000)
      : undefined;
  timer?.unref();

  /** Records a kind of legacy hash an import brought in (once per kind), and times it here at once. */
  const register = async (cls: string, makeSample: () => Promise<string>) => {
    if (calibrated.has(cls)) return;
    const sample = await makeSample();
    await options.registry?.add(cls, sample);
    await learn(sample);
  };

  const hash = (password: string, priority: HashPriority = "login") =>
    gate.run(() => argon2.hash(password, argonOptions), priority);

  return {
    gate,
    dummyHash,
    failureFloorMs,
    calibrate,
    close: () => clearInterval(timer),
    isSaturated: (priority: HashPriority = "login") => gate.isFullFor(priority),
    admit: () => gate.admit(),
    hash,
    async verify(stored, password, priority: HashPriority = "login", admission?: HashAdmission) {
      const plan = planFor(stored);
      if (plan.kind === "over-budget") options.onOverBudget?.(plan.reason);
      const cls = "cls" in plan ? plan.cls : nativeClass;
      const { value: ok, ms } = await gate.run(
        () =>
          timed(cls, () =>
            compute(plan, stored, password).catch((error: unknown) => {
              if (error instanceof AuthError) throw error;
              return false; // a hash the library cannot read verifies nothing
            }),
          ),
        priority,
        admission,
      );
      if (ok) return true;
      const pad = failureFloorMs() - ms;
      if (pad > 1) await sleep(pad);
      return false;
    },
    needsRehash(stored) {
      const current = parseArgon2Params(stored);
      return (
        current === null ||
        current.variant !== "argon2id" ||
        current.version !== 19 ||
        current.memoryCost !== params.memoryCost ||
        current.timeCost !== params.timeCost ||
        current.parallelism !== params.parallelism
      );
    },
    async importHash(raw): Promise<ImportedHash> {
      const value = raw.trim();
      const plan = planFor(value);
      if (plan.kind === "malformed" || plan.kind === "over-budget") return { ok: false, reason: plan.reason };
      if (plan.kind === "argon2") {
        try {
          argon2.parseOptions(value); // the library's own parser: salt and digest must decode
        } catch {
          return { ok: false, reason: "malformed argon2 hash" };
        }
        if (plan.cls !== nativeClass) {
          const p = parseArgon2Params(value)!;
          const algorithm = { argon2d: 0, argon2i: 1, argon2id: 2 }[p.variant] as argon2.Algorithm;
          await register(plan.cls, () =>
            argon2.hash(crypto.randomBytes(16).toString("hex"), {
              algorithm,
              memoryCost: p.memoryCost,
              timeCost: p.timeCost,
              parallelism: p.parallelism,
              version: p.version === 16 ? argon2.Version.V0x10 : argon2.Version.V0x13,
            }),
          );
        }
        return { ok: true, hash: value };
      }
      if (plan.kind === "wrapped-bcrypt") {
        await register(plan.cls, async () => wrapBcrypt(await randomBcryptHash(plan.cost)));
        return { ok: true, hash: value };
      }
      // Plain bcrypt: wrapped in argon2id at the current parameters before it is stored.
      const wrapped = await wrapBcrypt(value);
      const wrappedPlan = planFor(wrapped);
      if (wrappedPlan.kind === "wrapped-bcrypt") {
        await register(wrappedPlan.cls, async () => wrapBcrypt(await randomBcryptHash(wrappedPlan.cost)));
      }
      return { ok: true, hash: wrapped };
    },
  };

  async function wrapBcrypt(bcryptHash: string): Promise<string> {
    const match = BCRYPT.exec(bcryptHash)!;
    const inner = await gate.run(() => argon2.hash(match[3]!, argonOptions));
    return `$warden-wrap$bcrypt$${match[1]}$${match[2]}${inner}`;
  }
}
