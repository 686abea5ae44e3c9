/**
 * Who a hash is for. A login (`login`) is served first; a logged-in user re-proving their
 * password (`reauth`: password change, account deletion, TOTP disable, backup-code regenerate)
 * gets at most its own share of the hash queue and is refused first, so authenticated
 * re-checks can never starve logins.
 */
export type HashPriority = "login" | "reauth";

/** A place in the hash queue taken before the work that precedes the hash (PasswordHasher.admit). */
export interface HashAdmission {
  /** Gives the place back; idempotent, and done by `verify` once the hash is queued. */
  release(): void;
}

/** What an import row's hash becomes: the value to store, or why it is refused. */
export type ImportedHash = { ok: true; hash: string } | { ok: false; reason: string };

/** The password-hashing port; src/hashing/ implements it (argon2id, legacy bcrypt, the hash queue). */
export interface PasswordHasher {
  hash(password: string, priority?: HashPriority): Promise<string>;
  /**
   * Verifies argon2 (any variant, within the verify budget), bcrypt ($2a$, $2b$, $2y$) and
   * wrapped legacy hashes. A `false` answer always takes the same time, whatever the stored
   * hash was (or if there was none), so timing tells no account apart.
   */
  verify(hash: string, password: string, priority?: HashPriority, admission?: HashAdmission): Promise<boolean>;
  /** True when the hash is not argon2id at the current parameters. */
  needsRehash(hash: string): boolean;
  /** A hash of a random password at the current parameters: verifying against it costs what a real check costs. */
  readonly dummyHash: string;
  /** True while a new hash of that priority would be refused with OVERLOADED. */
  isSaturated(priority?: HashPriority): boolean;
  /**
   * Takes a login's place in the hash queue now, for a `verify` after its reads, so an overload
   * refuses the login (OVERLOADED) before its reads instead of after them. Release it if no
   * verify follows.
   */
  admit(): HashAdmission;
  /**
   * Checks a hash brought in by `warden user import`: well formed, within the verify budget;
   * legacy bcrypt is wrapped in argon2id so the stored value is as strong as a native one.
   */
  importHash(hash: string): Promise<ImportedHash>;
}

/**
 * The stored "hash" of an account without a password (created through Google or Apple). No
 * hash scheme produces it, so verifying any password against it fails, after the same work a
 * real check costs (the hasher spends a dummy verification on unknown schemes).
 */
export const NO_PASSWORD = "!";

export const hasPassword = (user: { passwordHash: string }): boolean => user.passwordHash !== NO_PASSWORD;
