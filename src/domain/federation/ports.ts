import type { NewUser, UserRecord } from "../accounts/ports.js";

export type ProviderName = "google" | "apple";

/** A Google or Apple account linked to a local user: the pair (provider, subject) is unique. */
export interface IdentityRecord {
  id: string;
  userId: string;
  provider: ProviderName;
  /** The provider's stable user id (`sub`). */
  subject: string;
  /** The email the provider last reported; informational only, never used to find the user. */
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export type NewIdentity = Omit<IdentityRecord, "id" | "createdAt" | "lastUsedAt">;

export interface IdentityStore {
  findBySubject(provider: ProviderName, subject: string): Promise<IdentityRecord | null>;
  listForUser(userId: string): Promise<IdentityRecord[]>;
  /** Links the identity; null when (provider, subject) is already linked (the unique index decides). */
  link(identity: NewIdentity, now: Date): Promise<IdentityRecord | null>;
  /** Records a sign-in through the identity and the email the provider reported this time. */
  touch(id: string, email: string | null, now: Date): Promise<void>;
  /**
   * Creates a user and links the identity in one transaction; null (nothing written) when the
   * email or the identity is taken meanwhile.
   */
  createUserWithIdentity(user: NewUser, identity: Omit<NewIdentity, "userId">, now: Date): Promise<UserRecord | null>;
  /**
   * GoTrue's rule for an unconfirmed account whose address the provider vouches for: in one
   * transaction, only while the account is still unconfirmed, its pending password is removed
   * (`noPasswordHash`), the address is marked confirmed, its unused mail tokens and sessions end,
   * and the identity is linked. False (nothing written) when the account got confirmed meanwhile
   * or the identity is taken.
   */
  takeOverUnconfirmed(
    userId: string,
    noPasswordHash: string,
    identity: Omit<NewIdentity, "userId">,
    now: Date,
  ): Promise<boolean>;
  /**
   * Deletes the user's identity unless it is the user's last way in: with the user's row locked,
   * the identity goes only when `otherWaysIn` (a password, a passkey) or another identity remains.
   * Concurrent unlinks of a user's last two identities cannot both succeed.
   */
  unlink(userId: string, id: string, otherWaysIn: boolean): Promise<"deleted" | "not_found" | "last_way_in">;
  deleteAllForUser(userId: string): Promise<void>;
}
