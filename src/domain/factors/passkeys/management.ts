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
