/** The password-hashing port; src/hashing/ implements it (argon2id, legacy bcrypt, the hash queue). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Verifies argon2 (any variant and parameters) and bcrypt ($2a$, $2b$, $2y$) hashes. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True when the hash is not argon2id at the current parameters. */
  needsRehash(hash: string): boolean;
  /** A hash of a random password at the current parameters: verifying against it costs what a real check costs. */
  readonly dummyHash: string;
  /** True while a new hash would be refused with OVERLOADED. */
  isSaturated(): boolean;
}

/**
 * The stored "hash" of an account without a password (created through Google or Apple). No
 * hash scheme produces it, so verifying any password against it fails, after the same work a
 * real check costs (the hasher spends a dummy verification on unknown schemes).
 */
export const NO_PASSWORD = "!";

export const hasPassword = (user: { passwordHash: string }): boolean => user.passwordHash !== NO_PASSWORD;
