import { hasPassword } from "../factors/password/hasher.js";
import type { Stores } from "../unit-of-work.js";

/** Every way the user can sign in without help: a password, passkeys, linked Google/Apple identities. */
export interface WaysIn {
  password: boolean;
  passkeyIds: string[];
  identityIds: string[];
}

/**
 * Inside a unit of work: locks the user's row, then lists the user's ways in. Removing a passkey
 * or unlinking an identity decides on this, so two removals at once are ordered and the second
 * sees what the first left: never the last way in, whatever races.
 */
export async function lockWaysIn(
  tx: Pick<Stores, "users" | "passkeys" | "identities">,
  userId: string,
): Promise<WaysIn> {
  const user = await tx.users.lock(userId);
  return {
    password: user !== null && hasPassword(user),
    passkeyIds: (await tx.passkeys.listForUser(userId)).map((p) => p.id),
    identityIds: (await tx.identities.listForUser(userId)).map((i) => i.id),
  };
}

export const countWaysIn = (ways: WaysIn): number =>
  (ways.password ? 1 : 0) + ways.passkeyIds.length + ways.identityIds.length;
