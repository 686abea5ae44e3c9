import type { DomainDeps, RequestContext } from "../../context.js";
import { countWaysIn, lockWaysIn } from "../../accounts/ways-in.js";
import { AuthError } from "../../errors.js";
import { recordEvent } from "../../security/events.js";
import { inTransaction } from "../../unit-of-work.js";
import type { Authenticated } from "../../sessions/authentication.js";
import { viewOf, type PasskeyView } from "./registration.js";

/** GET /api/v1/me/passkeys, oldest first. */
export async function listPasskeys(deps: Pick<DomainDeps, "passkeys">, auth: Authenticated): Promise<PasskeyView[]> {
  return (await deps.passkeys.listForUser(auth.user.id)).map(viewOf);
}

export const PASSKEY_NAME_MAX_LENGTH = 100;

/**
 * PATCH /api/v1/me/passkeys/{id}: a new name (trimmed, 1 to 100 characters), so a user can tell
 * "Work laptop" from "Phone". Not sensitive: a name grants nothing. Another user's passkey is
 * not found, like a missing one.
 */
export async function renamePasskey(
  deps: Pick<DomainDeps, "passkeys" | "events" | "clock">,
  auth: Authenticated,
  id: string,
  rawName: unknown,
  ctx: RequestContext,
): Promise<PasskeyView> {
  const name = typeof rawName === "string" ? rawName.trim() : "";
  if (!name || name.length > PASSKEY_NAME_MAX_LENGTH) {
    const sentence = name
      ? `This value is too long. It should have ${PASSKEY_NAME_MAX_LENGTH} characters or less.`
      : "This value should not be blank.";
    throw new AuthError("VALIDATION_FAILED", { errors: { name: [sentence] } });
  }
  const renamed = await deps.passkeys.rename(auth.user.id, id, name);
  if (!renamed) throw new AuthError("PASSKEY_NOT_FOUND");
  await recordEvent(deps, auth.user, "passkey_renamed", ctx, { passkeyId: id });
  return viewOf(renamed);
}

/**
 * DELETE /api/v1/me/passkeys/{id} (sensitive). Another user's passkey is not found, like a
 * missing one. Never the last way in: a user without a password and without a linked identity
 * keeps their only passkey (409, as unlinking the last identity is), decided with the user's row
 * locked so two deletions at once cannot both pass.
 */
export async function deletePasskey(
  deps: DomainDeps,
  auth: Authenticated,
  id: string,
  ctx: RequestContext,
): Promise<void> {
  await inTransaction(deps, async (tx) => {
    const ways = await lockWaysIn(tx, auth.user.id);
    if (!ways.passkeyIds.includes(id)) throw new AuthError("PASSKEY_NOT_FOUND");
    if (countWaysIn(ways) <= 1) throw new AuthError("LAST_WAY_IN");
    if (!(await tx.passkeys.delete(auth.user.id, id))) throw new AuthError("PASSKEY_NOT_FOUND");
    await recordEvent(tx, auth.user, "passkey_removed", ctx, { passkeyId: id });
  });
}
