import type { DomainDeps, RequestContext } from "../context.js";
import { normaliseEmail } from "../context.js";
import { removeSecondFactors } from "../factors/management.js";
import type { UserRecord } from "./ports.js";
import { recordEvent } from "../security/events.js";
import { endSessionsAndLogins } from "../sessions/revocation.js";
import { inTransaction } from "../unit-of-work.js";
import { EMAIL_TOKEN_RULES } from "./email-tokens.js";

export const isValidEmail = (email: string): boolean =>
  email.length <= 254 && /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]+$/.test(email);

export class AccountError extends Error {
  override readonly name = "AccountError";
}

export async function createUser(
  deps: Pick<DomainDeps, "users" | "clock" | "hasher">,
  input: {
    email: string;
    password: string;
    confirmed: boolean;
    active: boolean;
    roles?: string[];
    firstName?: string | null;
    lastName?: string | null;
  },
): Promise<UserRecord> {
  const email = normaliseEmail(input.email);
  if (!isValidEmail(email)) throw new AccountError(`"${input.email}" is not a valid email address`);
  const now = deps.clock.now();
  const user = await deps.users.create(
    {
      email,
      passwordHash: await deps.hasher.hash(input.password),
      roles: withUserRole(input.roles ?? []),
      emailConfirmedAt: input.confirmed ? now : null,
      deactivatedAt: input.active ? null : now,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
    },
    now,
  );
  if (!user) throw new AccountError(`a user with email ${email} already exists`);
  return user;
}

export const withUserRole = (roles: string[]): string[] =>
  roles.includes("ROLE_USER") ? roles : ["ROLE_USER", ...roles];

export interface ImportRow {
  /** Where the row came from, as the report names it: `line 7` (CSV) or `entry 3` (JSON). */
  label: string;
  email: string;
  passwordHash: string;
  confirmed: boolean;
  active: boolean;
  roles?: string[];
  /** Why the file's reader already refused the row (a missing field, `confirmed=maybe`...). */
  problem?: string;
}

export interface ImportReport {
  imported: number;
  skipped: Array<{ row: string; email: string; reason: string }>;
}

/**
 * Imports users with their existing password hashes (e.g. from Symfony: bcrypt or argon2).
 * Every row is judged on its own and the good ones are imported: a malformed hash, one over the
 * verify budget (it could make a single wrong login cost seconds or a gigabyte), a bad email or
 * a flag that is neither yes nor no is reported with the row's place and the reason. Legacy
 * bcrypt is stored wrapped in argon2id (hashing/passwords.ts); every imported user is rehashed
 * to native argon2id at their first login.
 */
export async function importUsers(
  deps: Pick<DomainDeps, "users" | "clock" | "hasher">,
  rows: ImportRow[],
): Promise<ImportReport> {
  const report: ImportReport = { imported: 0, skipped: [] };
  for (const row of rows) {
    const email = normaliseEmail(row.email ?? "");
    const skip = (reason: string) => report.skipped.push({ row: row.label, email, reason });
    if (row.problem) {
      skip(row.problem);
      continue;
    }
    if (!isValidEmail(email)) {
      skip("invalid email");
      continue;
    }
    const prepared = await deps.hasher.importHash(row.passwordHash ?? "");
    if (!prepared.ok) {
      skip(prepared.reason);
      continue;
    }
    const now = deps.clock.now();
    const user = await deps.users.create(
      {
        email,
        passwordHash: prepared.hash,
        roles: withUserRole(row.roles ?? []),
        emailConfirmedAt: row.confirmed ? now : null,
        deactivatedAt: row.active ? null : now,
      },
      now,
    );
    if (user) report.imported++;
    else skip("email already exists");
  }
  return report;
}

/** ASVS 5.0 7.4.2: deactivation ends every session and every login in progress at once. */
export async function deactivateUser(
  deps: Pick<DomainDeps, "transaction" | "users" | "sessions" | "mfaChallenges" | "events" | "clock">,
  user: UserRecord,
  ctx: RequestContext,
): Promise<void> {
  await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    await tx.users.setDeactivated(user.id, now, now);
    await endSessionsAndLogins(tx, user.id, "account_deactivated", now);
    await recordEvent(tx, user, "account_deactivated", ctx);
  });
}

export async function activateUser(
  deps: Pick<DomainDeps, "transaction" | "users" | "events" | "clock">,
  user: UserRecord,
  ctx: RequestContext,
): Promise<void> {
  await inTransaction(deps, async (tx) => {
    await tx.users.setDeactivated(user.id, null, tx.clock.now());
    await recordEvent(tx, user, "account_activated", ctx);
  });
}

/**
 * Deletes the account: the user's own DELETE /api/v1/me, and any admin deletion, which must
 * call this too. The row stays for the security log, anonymised (email freed, no password, the
 * password epoch moved so no login in flight opens a session). Nothing that could lead back in
 * survives, in one transaction: every session and login waiting for its second factor ends;
 * TOTP, backup codes, passkeys, linked Google/Apple identities and the pending email code are
 * deleted; unused mailed links are spent. A later Google or Apple sign-in with the same
 * provider account finds no identity and no address: it is a first sign-in (docs/federation.md).
 * Step-up challenges and verification tokens belong to the ended sessions and die with them.
 */
export async function deleteUserAccount(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<void> {
  await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    await tx.users.markDeleted(user.id, now);
    await removeSecondFactors(tx, user.id);
    await tx.passkeys.deleteAllForUser(user.id);
    await tx.identities.deleteAllForUser(user.id);
    await tx.emailOtps.deleteForUser(user.id);
    for (const purpose of Object.keys(EMAIL_TOKEN_RULES) as Array<keyof typeof EMAIL_TOKEN_RULES>) {
      await tx.emailTokens.revokeForUser(user.id, purpose, now);
    }
    await endSessionsAndLogins(tx, user.id, "account_deleted", now);
    await recordEvent(tx, user, "account_deleted", ctx);
  });
}

/**
 * An administrator marks the address confirmed (`warden user confirm`): recorded as a security
 * event like every other change to the account. False when it already was confirmed.
 */
export async function confirmUserEmail(
  deps: Pick<DomainDeps, "transaction" | "users" | "events" | "clock">,
  user: UserRecord,
  ctx: RequestContext,
): Promise<boolean> {
  return inTransaction(deps, async (tx) => {
    if (!(await tx.users.confirmEmail(user.id, tx.clock.now()))) return false;
    await recordEvent(tx, user, "email_confirmed", ctx, { by: "admin" });
    return true;
  });
}
