import type { DomainDeps, RequestContext } from "../../context.js";
import { AuthError } from "../../errors.js";
import { recordEvent } from "../../security/events.js";
import { inTransaction } from "../../unit-of-work.js";
import type { Authenticated } from "../../sessions/authentication.js";
import { viewOf, type PasskeyView } from "./registration.js";

/** GET /api/v1/me/passkeys, oldest first. */
export async function listPasskeys(deps: Pick<DomainDeps, "passkeys">, auth: Authenticated): Promise<PasskeyView[]> {
  return (await deps.passkeys.listForUser(auth.user.id)).map(viewOf);
}

/** DELETE /api/v1/me/passkeys/{id} (sensitive). Another user's passkey is not found, like a missing one. */
export async function deletePasskey(
  deps: DomainDeps,
  auth: Authenticated,
  id: string,
  ctx: RequestContext,
): Promise<void> {
  await inTransaction(deps, async (tx) => {
    if (!(await tx.passkeys.delete(auth.user.id, id))) throw new AuthError("PASSKEY_NOT_FOUND");
    await recordEvent(tx, auth.user, "passkey_removed", ctx, { passkeyId: id });
  });
}
