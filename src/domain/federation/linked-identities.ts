import type { Authenticated } from "../sessions/authentication.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import { lockWaysIn } from "../accounts/ways-in.js";
import { recordEvent } from "../security/events.js";
import { requireRecentAuthentication } from "../sessions/step-up.js";
import { inTransaction } from "../unit-of-work.js";
import type { ProviderName } from "./ports.js";

export interface IdentityView {
  id: string;
  provider: ProviderName;
  email: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** GET /api/v1/me/identities. */
export async function listIdentities(
  deps: Pick<DomainDeps, "identities">,
  userId: string,
): Promise<{ data: IdentityView[] }> {
  const identities = await deps.identities.listForUser(userId);
  return {
    data: identities.map((i) => ({
      id: i.id,
      provider: i.provider,
      email: i.email,
      createdAt: i.createdAt.toISOString(),
      lastUsedAt: i.lastUsedAt?.toISOString() ?? null,
    })),
  };
}

/**
 * DELETE /api/v1/me/identities/{id}, a sensitive operation. Never the last way in: the identity
 * goes only when the user keeps a password, a passkey or another identity, decided with the
 * user's row locked (lockWaysIn), so two concurrent removals (two unlinks, or an unlink and a
 * passkey deletion) cannot both pass. Another user's identity is NOT_FOUND, as an unknown one.
 */
export async function unlinkIdentity(
  deps: DomainDeps,
  auth: Authenticated,
  identityId: string,
  verificationToken: string | undefined,
  ctx: RequestContext,
): Promise<void> {
  await requireRecentAuthentication(deps, auth, { verificationToken });
  await inTransaction(deps, async (tx) => {
    const ways = await lockWaysIn(tx, auth.user.id);
    const outcome = await tx.identities.unlink(auth.user.id, identityId, ways.password || ways.passkeyIds.length > 0);
    if (outcome === "not_found") throw new AuthError("NOT_FOUND");
    if (outcome === "last_way_in") throw new AuthError("LAST_WAY_IN");
    await recordEvent(tx, auth.user, "identity_unlinked", ctx, { identityId });
  });
}
