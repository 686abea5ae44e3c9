import { sendNotice } from "../../accounts/notices.js";
import type { DomainDeps, RequestContext } from "../../context.js";
import { AuthError } from "../../errors.js";
import { recordEvent } from "../../security/events.js";
import type { Authenticated } from "../../sessions/authentication.js";
import { requireRecentAuthentication, type ReauthProof } from "../../sessions/step-up.js";
import { inTransaction } from "../../unit-of-work.js";
import { issueBackupCodes } from "../backup-codes/backup-codes.js";
import { endOtherSessionsIfAsked } from "../management.js";
import { confirmedTotp, pendingTotp, TOTP, totpEnabled } from "./factor.js";
import { acceptTotpCode, buildOtpauthUri, newTotpSecret, renderQrCode, TOTP_SECRET_PURPOSE } from "./totp.js";

export interface TotpSetup {
  secret: string;
  qrCode: string;
  otpauthUri: string;
}

/**
 * Starts enrolment: a new secret waits, encrypted, as the pending TOTP factor until a code
 * proves the authenticator holds it. A second setup before that simply replaces it.
 */
export async function setupTotp(
  deps: Pick<DomainDeps, "factors" | "random" | "box" | "clock" | "config" | "stepUp" | "limiter" | "hasher">,
  auth: Authenticated,
  proof: ReauthProof = {},
): Promise<TotpSetup> {
  const { user } = auth;
  await requireRecentAuthentication(deps, auth, proof);
  if (await totpEnabled(deps, user.id)) throw new AuthError("MFA_ALREADY_ENABLED");
  const secret = newTotpSecret(deps.random);
  await deps.factors.savePending(
    { userId: user.id, type: TOTP, secretEnc: deps.box.encrypt(TOTP_SECRET_PURPOSE, secret) },
    deps.clock.now(),
  );
  const otpauthUri = buildOtpauthUri(deps.config.MFA_ISSUER, user.email, secret);
  return { secret, otpauthUri, qrCode: await renderQrCode(otpauthUri) };
}

/**
 * Confirms enrolment with a code from the authenticator. The code's time step is recorded as
 * accepted, so the same code cannot then be replayed at a login. TOTP goes on and the backup
 * codes are stored in one transaction: never TOTP on with no codes to fall back on.
 */
export async function enableTotp(
  deps: DomainDeps,
  auth: Authenticated,
  input: { code: string; revokeOtherSessions?: boolean; verificationToken?: string },
  ctx: RequestContext,
): Promise<{ enabled: true; backupCodes: string[] }> {
  const { user } = auth;
  await requireRecentAuthentication(deps, auth, { verificationToken: input.verificationToken });
  const factors = await deps.factors.listForUser(user.id);
  if (confirmedTotp(factors)) throw new AuthError("MFA_ALREADY_ENABLED");
  if (!input.code.trim()) throw new AuthError("MFA_CODE_MISSING");
  const pending = pendingTotp(factors);
  if (!pending) throw new AuthError("MFA_SETUP_MISSING");
  const backupCodes = await inTransaction(deps, async (tx) => {
    if (!(await acceptTotpCode(tx, pending, input.code))) throw new AuthError("MFA_ENABLE_CODE_INVALID");
    // Conditional on the very pending factor the code was checked against: a setup racing this one loses.
    if (!(await tx.factors.confirm(pending.id, tx.clock.now()))) throw new AuthError("MFA_ALREADY_ENABLED");
    const codes = await issueBackupCodes(tx, user.id);
    await recordEvent(tx, user, "mfa_enabled", ctx, { method: TOTP });
    await endOtherSessionsIfAsked(tx, auth, input.revokeOtherSessions, "mfa_enabled");
    return codes;
  });
  sendNotice(deps, user, "mfa_enabled", ctx);
  return { enabled: true, backupCodes };
}
