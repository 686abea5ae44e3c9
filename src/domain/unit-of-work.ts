import type { EmailTokenStore, UserStore } from "./accounts/ports.js";
import type { BackupCodeStore } from "./factors/backup-codes/ports.js";
import type { SecurityEventStore } from "./security/ports.js";
import type { SessionStore } from "./sessions/ports.js";
import type { FactorStore, MfaChallengeStore } from "./factors/ports.js";
import type { EmailOtpStore } from "./factors/email-otp/ports.js";
import type { PasskeyStore, WebAuthnChallengeStore } from "./factors/passkeys/ports.js";
import type { StepUpStore } from "./sessions/step-up-ports.js";
import type { IdentityStore } from "./federation/ports.js";
import type { RecentReads } from "./lib/ports.js";

/** The stores of the domain's tables; the unit of work binds all of them to one transaction. */
export interface Stores {
  users: UserStore;
  sessions: SessionStore;
  mfaChallenges: MfaChallengeStore;
  backupCodes: BackupCodeStore;
  events: SecurityEventStore;
  emailTokens: EmailTokenStore;
  factors: FactorStore;
  passkeys: PasskeyStore;
  webauthnChallenges: WebAuthnChallengeStore;
  stepUp: StepUpStore;
  emailOtps: EmailOtpStore;
  identities: IdentityStore;
}

/** The same store interfaces, bound to one open transaction, where nothing read is remembered. */
export interface Tx extends Stores, UnitOfWork {
  recent: RecentReads;
}

export interface UnitOfWork {
  /**
   * Runs `work` in one database transaction: every write made through `tx` commits together, or
   * none does (a throw rolls back and is rethrown). Inside, `tx.transaction` joins the same
   * transaction. Never hash a password or call the network inside one: on SQLite the transaction
   * holds the database's only write lock, and every other request would queue behind it. Never
   * use a store from outside `tx` inside it either: on SQLite it waits for this transaction, which
   * waits for it.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/**
 * `deps` with its stores bound to one transaction: the use case's own functions (recordEvent,
 * openSession...) then write through it unchanged. Mail is queued after this returns, so a
 * rolled-back change never mails a notice.
 */
export function inTransaction<D extends UnitOfWork, T>(deps: D, work: (tx: D) => Promise<T>): Promise<T> {
  return deps.transaction((stores) => work({ ...deps, ...stores }));
}
