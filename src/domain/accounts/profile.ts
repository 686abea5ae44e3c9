import type { Authenticated } from "../sessions/authentication.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import { passwordProblems } from "../factors/password/policy.js";
import { hasPassword } from "../factors/password/hasher.js";
import type { ProfilePatch, UserRecord } from "./ports.js";
import { sendNotice } from "./notices.js";
import { deleteUserAccount } from "./lifecycle.js";
import { recordEvent } from "../security/events.js";
import { isMfaEnabled } from "../factors/challenges.js";
import { endSessionsAndLogins } from "../sessions/revocation.js";
import { requireRecentAuthentication } from "../sessions/step-up.js";
import { inTransaction } from "../unit-of-work.js";

/** The body of GET /api/v1/me: exactly these fields, dates as ISO 8601 strings. */
export type ProfileView = Pick<
  UserRecord,
  "id" | "email" | "firstName" | "lastName" | "phone" | "locale" | "timezone" | "roles" | "preferences"
> & {
  active: boolean;
  emailVerified: boolean;
  mfaEnabled: boolean;
  /** False for accounts created through Google or Apple until a password is set. */
  hasPassword: boolean;
  lastConnectedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/** GET /api/v1/me. */
export async function getProfile(deps: DomainDeps, user: UserRecord): Promise<ProfileView> {
  return viewProfile(user, await deps.recent.remember(`mfa:${user.id}`, () => isMfaEnabled(deps, user)));
}

export function viewProfile(user: UserRecord, mfaEnabled: boolean): ProfileView {
  return {
    id: user.id,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    phone: user.phone,
    locale: user.locale,
    timezone: user.timezone,
    roles: user.roles,
    active: user.deactivatedAt === null && user.deletedAt === null,
    emailVerified: user.emailConfirmedAt !== null,
    mfaEnabled,
    hasPassword: hasPassword(user),
    lastConnectedAt: user.lastConnectedAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
    preferences: user.preferences,
  };
}

export interface ProfileUpdate extends ProfilePatch {
  password?: string;
  newPassword?: string;
  currentPassword?: string;
  /** Step-up verification token (body or X-Verification-Token), for a user without a password. */
  verification_token?: string;
  verificationToken?: string;
}

const LOCALE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/;
const PHONE = /^\+?[0-9][0-9 ()./-]{2,31}$/;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function profileProblems(update: ProfileUpdate, userHasPassword: boolean): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  if (update.locale && !LOCALE.test(update.locale)) errors.locale = ["This value is not a valid locale."];
  if (update.timezone && !isTimeZone(update.timezone)) errors.timezone = ["This value is not a valid timezone."];
  if (update.phone && !PHONE.test(update.phone)) errors.phone = ["This value is not a valid phone number."];
  if (update.password !== undefined && update.newPassword !== undefined && update.password !== update.newPassword) {
    errors.newPassword = ["Send the new password as password or newPassword, not two different ones."];
  }
  if ((update.password ?? update.newPassword) !== undefined && userHasPassword && !update.currentPassword) {
    errors.currentPassword = ["This value is required."];
  }
  return errors;
}

/**
 * PATCH /api/v1/me. Nothing is written unless everything checks out. A password change
 * revokes every other session and every MFA challenge in flight; the calling session stays.
 */
export async function updateProfile(
  deps: DomainDeps,
  auth: Authenticated,
  update: ProfileUpdate,
  ctx: RequestContext,
): Promise<ProfileView> {
  const { user } = auth;
  const errors = profileProblems(update, hasPassword(user));
  if (Object.keys(errors).length > 0) throw new AuthError("VALIDATION_FAILED", { errors });
  const newPassword = update.newPassword ?? update.password;
  let newHash: string | undefined;
  if (newPassword !== undefined) {
    const problems = passwordProblems(newPassword, { minLength: deps.config.PASSWORD_MIN_LENGTH, email: user.email });
    if (problems.length > 0) throw new AuthError("WEAK_PASSWORD", { errors: { password: problems } });
    // An account made through Google or Apple has no password to confirm: its first one is a
    // sensitive operation like any other (a fresh session or a step-up verification token).
    await requireRecentAuthentication(
      deps,
      auth,
      hasPassword(user)
        ? { password: update.currentPassword!, passwordField: "currentPassword" }
        : { verificationToken: update.verificationToken ?? update.verification_token },
    );
    newHash = await deps.hasher.hash(newPassword, "reauth");
  }
  const patch: ProfilePatch = {};
  for (const key of ["firstName", "lastName", "phone", "locale", "timezone", "preferences"] as const) {
    if (update[key] !== undefined) Object.assign(patch, { [key]: update[key] });
  }
  // Hashes are made above; the password and the profile change together or not at all.
  const updated = await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    if (newHash !== undefined) {
      // Compare-and-set: if the password changed since this request read it, this change loses.
      if (!(await tx.users.changePasswordHash(user.id, user.passwordHash, newHash, now))) {
        throw new AuthError("WRONG_PASSWORD", { errors: { currentPassword: ["The password is incorrect."] } });
      }
      const revoked = await endSessionsAndLogins(tx, user.id, "password_changed", now, auth.sessionId);
      await recordEvent(tx, user, "password_changed", ctx, { revokedSessions: revoked });
    }
    if (Object.keys(patch).length > 0) await tx.users.updateProfile(user.id, patch, now);
    return tx.users.findById(user.id);
  });
  if (newHash !== undefined) sendNotice(deps, user, "password_changed", ctx);
  return getProfile(deps, updated!);
}

/** What DELETE /api/v1/me is given to prove it is the owner asking. */
export interface DeletionProof {
  password?: string;
  /** Step-up verification token (body or X-Verification-Token), for a user without a password. */
  verificationToken?: string;
}

/**
 * DELETE /api/v1/me; see deleteUserAccount for what goes with the account. A user with a
 * password must give it, in a fresh session too: deletion cannot be undone, and a stolen access
 * token must not be enough. An account made through Google or Apple (or passkeys only) has no
 * password to give: it deletes itself on the sensitive-operation rule instead (a fresh session
 * or a step-up verification token), as it sets its first password. A password it sends anyway
 * proves nothing and is ignored.
 */
export async function deleteAccount(
  deps: DomainDeps,
  auth: Authenticated,
  proof: DeletionProof,
  ctx: RequestContext,
): Promise<void> {
  if (hasPassword(auth.user)) {
    if (proof.password === undefined) {
      throw new AuthError("VALIDATION_FAILED", { errors: { password: ["This value is required."] } });
    }
    await requireRecentAuthentication(deps, auth, { password: proof.password });
  } else {
    await requireRecentAuthentication(deps, auth, { verificationToken: proof.verificationToken });
  }
  await deleteUserAccount(deps, auth.user, ctx);
}
