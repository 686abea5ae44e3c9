/** What the passkey module needs from storage. Implementations: src/storage/passkeys.ts, webauthn-challenges.ts. */

export interface PasskeyRecord {
  id: string;
  userId: string;
  /** base64url of the authenticator's credential ID. */
  credentialId: string;
  /** base64url of the COSE public key. */
  publicKey: string;
  /** Signature counter last accepted. */
  counter: number;
  transports: string[];
  /** `multiDevice` for a synced (backup-eligible) credential, `singleDevice` otherwise. */
  deviceType: "singleDevice" | "multiDevice";
  isBackedUp: boolean;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface PasskeyStore {
  /** False when the credential ID is already registered (to anyone): the unique index decides. */
  insert(passkey: PasskeyRecord): Promise<boolean>;
  listForUser(userId: string): Promise<PasskeyRecord[]>;
  countForUser(userId: string): Promise<number>;
  findByCredentialId(credentialId: string): Promise<PasskeyRecord | null>;
  /**
   * Records a verified assertion: the new counter and backup state and the time of use, in ONE
   * conditional write that holds only while the stored counter is still `expectedCounter`. Of two
   * assertions racing with the same counter, one wins; the other is refused as a replay.
   */
  recordUse(
    id: string,
    expectedCounter: number,
    update: { counter: number; isBackedUp: boolean },
    now: Date,
  ): Promise<boolean>;
  /** Renames the user's passkey; null when no such passkey is theirs. */
  rename(userId: string, id: string, name: string): Promise<PasskeyRecord | null>;
  /** Deletes the user's passkey; false when no such passkey is theirs. */
  delete(userId: string, id: string): Promise<boolean>;
  deleteAllForUser(userId: string): Promise<number>;
}

/** The four WebAuthn ceremonies; a challenge issued for one is refused by every other. */
export type Ceremony = "registration" | "login" | "mfa" | "step_up";

export interface WebAuthnChallengeRecord {
  /** SHA-256 (hex) of the base64url challenge as it appears in clientDataJSON. */
  challengeHash: string;
  ceremony: Ceremony;
  /** The user the ceremony is for; null only for discoverable login, where nobody is known yet. */
  userId: string | null;
  /** SHA-256 of what the ceremony is tied to: the login's sessionId, the MFA or step-up challenge token. */
  bindingHash: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface WebAuthnChallengeStore {
  create(challenge: WebAuthnChallengeRecord): Promise<void>;
  /**
   * Spends the challenge if it exists, is unspent and unexpired, and matches ceremony, user and
   * binding: one conditional write, so of two concurrent callers exactly one wins. Anything else
   * (unknown, spent, expired, another ceremony, another user, another binding) is false alike.
   */
  consume(
    challengeHash: string,
    expected: { ceremony: Ceremony; userId: string | null; bindingHash: string | null },
    now: Date,
  ): Promise<boolean>;
  /** Removes challenges that expired before `cutoff`; returns how many. */
  deleteExpired(cutoff: Date): Promise<number>;
}
