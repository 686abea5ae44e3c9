/**
 * Every store contract (test/contract/*-store.ts) against every implementation Warden ships:
 * the database stores on SQLite and PostgreSQL, the counters on memory, SQLite, PostgreSQL and Redis.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { systemClock, systemRandom } from "../../src/deps.js";
import { createBackupCodeStore } from "../../src/storage/backup-codes.js";
import { createCounters } from "../../src/storage/counters.js";
import { openDatabase } from "../../src/storage/database.js";
import { createEmailTokenStore } from "../../src/storage/email-tokens.js";
import { createMfaChallengeStore } from "../../src/storage/mfa-challenges.js";
import { createSecurityEventStore } from "../../src/storage/security-events.js";
import { createSessionStore } from "../../src/storage/sessions.js";
import { createSigningKeyStore } from "../../src/storage/signing-keys.js";
import { createUserStore } from "../../src/storage/users.js";
import { createFactorStore } from "../../src/storage/factors.js";
import { createEmailOtpStore } from "../../src/storage/email-otp-codes.js";
import { createIdentityStore } from "../../src/storage/identities.js";
import { createStores, createUnitOfWork } from "../../src/storage/stores.js";
import { openTestDatabase } from "../helpers/database.js";
import { engines, postgresEngine, redisUrl, skipReason } from "../helpers/engines.js";
import { backupCodeStoreContract } from "./backup-code-store.js";
import { counterStoreContract } from "./counter-store.js";
import { emailOtpStoreContract } from "./email-otp-store.js";
import { emailTokenStoreContract } from "./email-token-store.js";
import { identityStoreContract } from "./identity-store.js";
import { factorStoreContract } from "./factor-store.js";
import { databaseHarness, newSession, T0 } from "./harness.js";
import { mfaChallengeStoreContract } from "./mfa-challenge-store.js";
import { securityEventStoreContract } from "./security-event-store.js";
import { sessionStoreContract } from "./session-store.js";
import { signingKeyStoreContract, type SigningKeyRacers } from "./signing-key-store.js";
import { userStoreContract } from "./user-store.js";
import { createPasskeyStore } from "../../src/storage/passkeys.js";
import { createStepUpStore } from "../../src/storage/step-up.js";
import { createWebAuthnChallengeStore } from "../../src/storage/webauthn-challenges.js";
import { passkeyStoreContract } from "./passkey-store.js";
import { stepUpStoreContract } from "./step-up-store.js";
import { webAuthnChallengeStoreContract } from "./webauthn-challenge-store.js";
import { createApiKeyStore } from "../../src/storage/api-keys.js";
import { createSecurityEventSearch } from "../../src/storage/security-events.js";
import { createUserDirectory } from "../../src/storage/user-directory.js";
import { apiKeyStoreContract } from "./api-key-store.js";
import { securityEventSearchContract } from "./security-event-search.js";
import { userDirectoryContract } from "./user-directory.js";
import { createHashClassRegistry } from "../../src/storage/hash-classes.js";
import { createRetentionStore } from "../../src/storage/retention.js";
import type { Database } from "../../src/storage/database.js";
import { hashClassRegistryContract } from "./hash-class-registry.js";
import { retentionStoreContract } from "./retention-store.js";

for (const { engine, skip } of engines) {
  const on = (port: string) => `${port} on ${engine.name}`;
  userStoreContract(on("UserStore"), () => databaseHarness(engine, (d) => createUserStore(d.db, systemRandom)), {
    skip,
  });
  sessionStoreContract(
    on("SessionStore"),
    () => databaseHarness(engine, (d) => createSessionStore(d.db, d.engine, d.reader)),
    { skip },
  );
  // Inside a unit of work the store has no raw reader: the same contract through Kysely alone.
  sessionStoreContract(
    on("SessionStore without the raw reader"),
    () => databaseHarness(engine, (d) => createSessionStore(d.db, d.engine)),
    { skip },
  );
  securityEventStoreContract(
    on("SecurityEventStore"),
    () => databaseHarness(engine, (d) => createSecurityEventStore(d.db, systemRandom)),
    { skip },
  );
  factorStoreContract(
    on("FactorStore"),
    () => databaseHarness(engine, (d) => createFactorStore(d.db, systemRandom, d.reader)),
    { skip },
  );
  factorStoreContract(
    on("FactorStore without the raw reader"),
    () => databaseHarness(engine, (d) => createFactorStore(d.db, systemRandom)),
    { skip },
  );
  backupCodeStoreContract(
    on("BackupCodeStore"),
    () => databaseHarness(engine, (d) => createBackupCodeStore(d.db, systemRandom)),
    { skip },
  );
  mfaChallengeStoreContract(
    on("MfaChallengeStore"),
    () => databaseHarness(engine, (d) => createMfaChallengeStore(d.db)),
    {
      skip,
    },
  );
  emailTokenStoreContract(on("EmailTokenStore"), () => databaseHarness(engine, (d) => createEmailTokenStore(d.db)), {
    skip,
  });
  emailOtpStoreContract(on("EmailOtpStore"), () => databaseHarness(engine, (d) => createEmailOtpStore(d.db)), {
    skip,
  });
  identityStoreContract(
    on("IdentityStore"),
    async () => {
      const h = await databaseHarness(engine, (d) => createIdentityStore(d.db, d.engine, systemRandom));
      const { db, engine: kind } = h.test.database;
      return {
        ...h,
        stores: createStores(db, kind, systemRandom),
        transaction: createUnitOfWork(db, kind, systemRandom).transaction,
      };
    },
    { skip },
  );
  passkeyStoreContract(on("PasskeyStore"), () => databaseHarness(engine, (d) => createPasskeyStore(d.db, d.reader)), {
    skip,
  });
  passkeyStoreContract(
    on("PasskeyStore without the raw reader"),
    () => databaseHarness(engine, (d) => createPasskeyStore(d.db)),
    { skip },
  );
  webAuthnChallengeStoreContract(
    on("WebAuthnChallengeStore"),
    () => databaseHarness(engine, (d) => createWebAuthnChallengeStore(d.db)),
    { skip },
  );
  stepUpStoreContract(
    on("StepUpStore"),
    async () => {
      const h = await databaseHarness(engine, (d) => createStepUpStore(d.db));
      const sessions = createSessionStore(h.test.database.db, h.test.database.engine);
      return {
        ...h,
        async newSessionId(userId: string) {
          const id = crypto.randomUUID();
          await sessions.createSession(newSession(id, userId), {
            tokenHash: crypto.randomBytes(32).toString("hex"),
            expiresAt: new Date(T0.getTime() + 3_600_000),
          });
          return id;
        },
      };
    },
    { skip },
  );
  apiKeyStoreContract(on("ApiKeyStore"), () => databaseHarness(engine, (d) => createApiKeyStore(d.db, d.reader)), {
    skip,
  });
  userDirectoryContract(
    on("UserDirectory"),
    async () => {
      const h = await databaseHarness(engine, (d) => createUserDirectory(d.db, createUserStore(d.db, systemRandom)));
      return { ...h, users: createUserStore(h.test.database.db, systemRandom) };
    },
    { skip },
  );
  securityEventSearchContract(
    on("SecurityEventSearch"),
    async () => {
      const h = await databaseHarness(engine, (d) => createSecurityEventSearch(d.db));
      return { ...h, events: createSecurityEventStore(h.test.database.db, systemRandom) };
    },
    { skip },
  );
  retentionStoreContract(
    on("RetentionStore"),
    async () => {
      // Counters in the database, as Warden runs them without Redis: the purge clears their table too.
      const countersOf = (d: Database) =>
        createCounters(
          d.engine === "sqlite"
            ? { kind: "sqlite", db: d.db, reader: d.reader }
            : { kind: "postgres", pool: d.pgPool! },
        );
      const h = await databaseHarness(engine, (d) => d);
      const main = h.test.database;
      const other = h.test.openAnother();
      const [counters, otherCounters] = [await countersOf(main), await countersOf(other)];
      return {
        ...h,
        store: createRetentionStore(main.db, counters),
        another: () => createRetentionStore(other.db, otherCounters),
        stores: createStores(main.db, main.engine, systemRandom),
        apiKeys: createApiKeyStore(main.db, main.reader),
        counters,
        async close() {
          await counters.close();
          await otherCounters.close();
          await h.close();
        },
      };
    },
    { skip },
  );
  hashClassRegistryContract(
    on("HashClassRegistry"),
    () => databaseHarness(engine, (d) => createHashClassRegistry(d.db, systemClock)),
    { skip },
  );
  signingKeyStoreContract(
    on("SigningKeyStore"),
    async () => {
      const t = await openTestDatabase(engine);
      return {
        store: createSigningKeyStore(t.database.db, t.database.engine),
        racers: (count) => startSigningKeyRacers(t.url, count),
        close: () => t.close(),
      };
    },
    { skip },
  );
}

const RACER = new URL("./fixtures/signing-key-race.ts", import.meta.url).href;
const BOOT = new URL("./fixtures/tsx-worker.mjs", import.meta.url);

/**
 * Threads with their own connections to the database at `url`. Threads, because two SQLite
 * connections on one event loop deadlock while one holds the write lock and the other waits
 * synchronously; in production every instance is its own process.
 */
async function startSigningKeyRacers(url: string, count: number): Promise<SigningKeyRacers> {
  const workers = await Promise.all(
    Array.from({ length: count }, async () => {
      const worker = new Worker(BOOT, { workerData: { file: RACER, url } });
      await once(worker, "message"); // "ready"
      return worker;
    }),
  );
  return {
    race: (op, at) =>
      Promise.all(
        workers.map(async (worker, i) => {
          const answer = once(worker, "message");
          worker.postMessage({ op, kid: `${op}-${i}`, at: at.getTime() });
          return String((await answer)[0]);
        }),
      ),
    close: () =>
      Promise.all(
        workers.map(async (worker) => {
          worker.postMessage({ op: "close" });
          await once(worker, "exit");
        }),
      ),
  };
}

const prefix = () => `ct${crypto.randomBytes(4).toString("hex")}`;

counterStoreContract("CounterStore on memory", async () => {
  const a = await createCounters({ kind: "memory", prefix: prefix() });
  return { store: a, another: () => a, close: () => a.close() };
});

counterStoreContract("CounterStore on sqlite", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-counters-"));
  // Two connections to one file, as two worker processes have.
  const url = `sqlite:${path.join(dir, "warden.db")}`;
  const [one, two] = [openDatabase(url), openDatabase(url)];
  const a = await createCounters({ kind: "sqlite", db: one.db, reader: one.reader });
  const b = await createCounters({ kind: "sqlite", db: two.db, reader: two.reader });
  return {
    store: a,
    another: () => b,
    close: async () => {
      await one.close();
      await two.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

counterStoreContract(
  "CounterStore on postgres",
  async () => {
    const t = await openTestDatabase(postgresEngine);
    const other = t.openAnother();
    const a = await createCounters({ kind: "postgres", pool: t.database.pgPool! });
    const b = await createCounters({ kind: "postgres", pool: other.pgPool! });
    return {
      store: a,
      another: () => b,
      close: async () => {
        await a.close();
        await b.close();
        await t.close();
      },
    };
  },
  { skip: skipReason("postgres") },
);

counterStoreContract(
  "CounterStore on redis",
  async () => {
    const shared = prefix();
    const a = await createCounters({ kind: "redis", url: redisUrl()!, prefix: shared });
    const b = await createCounters({ kind: "redis", url: redisUrl()!, prefix: shared });
    return {
      store: a,
      another: () => b,
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  },
  { skip: skipReason("redis") },
);

test("sqlite counters: a counter written during another request's transaction is not rolled back with it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-counters-"));
  const database = openDatabase(`sqlite:${path.join(dir, "warden.db")}`);
  try {
    const counters = await createCounters({ kind: "sqlite", db: database.db, reader: database.reader });
    assert.equal(await counters.increment("login:k", 1, 60), 1);
    let counted: Promise<number> | undefined;
    await assert.rejects(
      database.db.transaction().execute(async () => {
        // A failed guess of another request is counted while this transaction is open, then it fails.
        counted = counters.increment("login:k", 1, 60);
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error("the transaction fails");
      }),
      /the transaction fails/,
    );
    assert.equal(await counted, 2);
    assert.equal(await counters.get("login:k", 60), 2, "the guess stays counted");
  } finally {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("sqlite counters: a counter written while the app holds a write transaction waits for it, never 'database is locked'", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-counters-"));
  const database = openDatabase(`sqlite:${path.join(dir, "warden.db")}`);
  try {
    const counters = await createCounters({ kind: "sqlite", db: database.db, reader: database.reader });
    let incremented: Promise<number> | undefined;
    await database.db.transaction().execute(async () => {
      // A rate-limited request arrives while another request's transaction awaits real I/O.
      incremented = counters.increment("login:k", 1, 60);
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    assert.equal(await incremented, 1);
  } finally {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
