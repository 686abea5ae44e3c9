import type { Authenticated } from "../sessions/authentication.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import { passwordProblems } from "../factors/password/policy.js";
import type { ProfilePatch, UserRecord } from "../ports.js";
import { confirmPassword } from "../factors/password/reauthentication.js";
import { sendNotice } from "./notices.js";
import { recordEvent } from "../security/events.js";
import { isMfaEnabled } from "../factors/challenges.js";

/** The body of GET /api/v1/me: exactly these fields, dates as ISO 8601 strings. */
export type ProfileView = Pick<
  UserRecord,
  "id" | "email" | "firstName" | "lastName" | "phone" | "locale" | "timezone" | "roles" | "preferences"
> & {
  active: boolean;
  emailVerified: boolean;
  mfaEnabled: boolean;
  lastConnectedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/** `mfaEnabled` is the factor registry's answer (TOTP or a passkey); see isMfaEnabled. */
export function viewProfile(user: UserRecord, mfaEnabled = user.totpEnabledAt !== null): ProfileView {
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

function profileProblems(update: ProfileUpdate): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  if (update.locale && !LOCALE.test(update.locale)) errors.locale = ["This value is not a valid locale."];
  if (update.timezone && !isTimeZone(update.timezone)) errors.timezone = ["This value is not a valid timezone."];
  if (update.phone && !PHONE.test(update.phone)) errors.phone = ["This value is not a valid phone number."];
  if (update.password !== undefined && update.newPassword !== undefined && update.password !== update.newPassword) {
    errors.newPassword = ["Send the new password as password or newPassword, not two different ones."];
  }
  if ((update.password ?? update.newPassword) !== undefined && !update.currentPassword) {
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
  const errors = profileProblems(update);
  if (Object.keys(errors).length > 0) throw new AuthError("VALIDATION_FAILED", { errors });
  const { user } = auth;
  const newPassword = update.newPassword ?? update.password;
  if (newPassword !== undefined) {
    const problems = passwordProblems(newPassword, { minLength: deps.config.PASSWORD_MIN_LENGTH, email: user.email });
    if (problems.length > 0) throw new AuthError("WEAK_PASSWORD", { errors: { password: problems } });
    await confirmPassword(deps, user, update.currentPassword!, "currentPassword");
    const now = deps.clock.now();
    // Compare-and-set: if the password changed since this request read it, this change loses.
    if (!(await deps.users.replacePasswordHash(user.id, user.passwordHash, await deps.hasher.hash(newPassword), now))) {
      throw new AuthError("WRONG_PASSWORD", { errors: { currentPassword: ["The password is incorrect."] } });
    }
    const revoked = await deps.sessions.revokeUserSessions(user.id, "password_changed", now, auth.sessionId);
    await deps.mfaChallenges.revokeForUser(user.id, now);
    await recordEvent(deps, user, "password_changed", ctx, { revokedSessions: revoked });
    sendNotice(deps, user, "password_changed", ctx);
  }
  const patch: ProfilePatch = {};
  for (const key of ["firstName", "lastName", "phone", "locale", "timezone", "preferences"] as const) {
    if (update[key] !== undefined) Object.assign(patch, { [key]: update[key] });
  }
  if (Object.keys(patch).length > 0) await deps.users.updateProfile(user.id, patch, deps.clock.now());
  const updated = await deps.users.findById(user.id);
  return viewProfile(updated!, await isMfaEnabled(deps, updated!));
}

/** DELETE /api/v1/me: needs the password; erases personal data and ends every session and challenge. */
export async function deleteAccount(
  deps: DomainDeps,
  auth: Authenticated,
  password: string,
  ctx: RequestContext,
): Promise<void> {
  await confirmPassword(deps, auth.user, password, "password");
  const now = deps.clock.now();
  await deps.users.markDeleted(auth.user.id, now);
  await deps.passkeys.deleteAllForUser(auth.user.id);
  await deps.sessions.revokeUserSessions(auth.user.id, "account_deleted", now);
  await deps.mfaChallenges.revokeForUser(auth.user.id, now);
  await recordEvent(deps, auth.user, "account_deleted", ctx);
}
