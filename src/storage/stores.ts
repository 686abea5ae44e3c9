import type { Kysely } from "kysely";
import type { Random } from "../domain/lib/ports.js";
import type { Stores, Tx, UnitOfWork } from "../domain/unit-of-work.js";
import { createBackupCodeStore } from "./backup-codes.js";
import type { DB, Engine, RawReader } from "./database.js";
import { createEmailOtpStore } from "./email-otp-codes.js";
import { createEmailTokenStore } from "./email-tokens.js";
import { createFactorStore } from "./factors.js";
import { createIdentityStore } from "./identities.js";
import { createPasskeyStore } from "./passkeys.js";
import { createStepUpStore } from "./step-up.js";
import { createWebAuthnChallengeStore } from "./webauthn-challenges.js";
import { createMfaChallengeStore } from "./mfa-challenges.js";
import { createSecurityEventStore } from "./security-events.js";
import { createSessionStore } from "./sessions.js";
import { createUserStore } from "./users.js";
import { readThrough } from "./recent-reads.js";

/** Every store over `db`: the database itself (with its raw `reader`), or one transaction of it. */
export function createStores(db: Kysely<DB>, engine: Engine, random: Random, reader?: RawReader): Stores {
  return {
    users: createUserStore(db, random),
    sessions: createSessionStore(db, engine, reader),
    mfaChallenges: createMfaChallengeStore(db),
    backupCodes: createBackupCodeStore(db, random),
    events: createSecurityEventStore(db, random),
    emailTokens: createEmailTokenStore(db),
    factors: createFactorStore(db, random, reader),
    passkeys: createPasskeyStore(db, reader),
    webauthnChallenges: createWebAuthnChallengeStore(db),
    stepUp: createStepUpStore(db),
    emailOtps: createEmailOtpStore(db),
    identities: createIdentityStore(db, engine, random),
  };
}

/**
 * The unit of work: Kysely's `db.transaction()`, with the stores created anew from the
 * transaction, so the domain writes through the same interfaces it always uses. SQLite runs it
 * as `begin immediate` (src/storage/database.ts); PostgreSQL as read committed, where the
 * stores' conditional writes and row locks give the ordering the domain relies on.
 */
export function createUnitOfWork(db: Kysely<DB>, engine: Engine, random: Random): UnitOfWork {
  return {
    transaction: (work) =>
      db.transaction().execute((trx) => {
        const tx: Tx = { ...createStores(trx, engine, random), recent: readThrough, transaction: (inner) => inner(tx) };
        return work(tx);
      }),
  };
}
