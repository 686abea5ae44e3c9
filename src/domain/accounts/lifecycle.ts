import type { DomainDeps, RequestContext } from "../context.js";
import { normaliseEmail } from "../context.js";
import type { UserRecord } from "../ports.js";
import { recordEvent } from "../security/events.js";
import { endSessionsAndLogins } from "../sessions/revocation.js";
import { inTransaction } from "../unit-of-work.js";

/** Hash formats Warden can verify: argon2 (any variant and parameters) and bcrypt. */
export const isSupportedHash = (hash: string): boolean =>
  /^\$argon2(id|i|d)\$/.test(hash) || /^\$2[aby]\$\d\d\$.{53}$/.test(hash);

export const isValidEmail = (email: string): boolean =>
  email.length <= 254 && /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\]]+$/.test(email);

export class AccountError extends Error {
  override readonly name = "AccountError";
}

export async function createUser(
  deps: DomainDeps,
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
  email: string;
  passwordHash: string;
  confirmed: boolean;
  active: boolean;
  roles?: string[];
}

export interface ImportReport {
  imported: number;
  skipped: Array<{ row: number; email: string; reason: string }>;
}

/**
 * Imports users with their existing password hashes (e.g. from Symfony: bcrypt or argon2).
 * They log in with their old passwords and are rehashed to argon2id at that first login.
 */
export async function importUsers(deps: DomainDeps, rows: ImportRow[]): Promise<ImportReport> {
  const report: ImportReport = { imported: 0, skipped: [] };
  for (const [index, row] of rows.entries()) {
    const email = normaliseEmail(row.email ?? "");
    const skip = (reason: string) => report.skipped.push({ row: index + 1, email, reason });
    if (!isValidEmail(email)) {
      skip("invalid email");
      continue;
    }
    if (!isSupportedHash(row.passwordHash ?? "")) {
      skip("unsupported password hash (expected argon2 or bcrypt)");
      continue;
    }
    const now = deps.clock.now();
    const user = await deps.users.create(
      {
        email,
        passwordHash: row.passwordHash,
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
export async function deactivateUser(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<void> {
  await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    await tx.users.setDeactivated(user.id, now, now);
    await endSessionsAndLogins(tx, user.id, "account_deactivated", now);
    await recordEvent(tx, user, "account_deactivated", ctx);
  });
}

export async function activateUser(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<void> {
  await inTransaction(deps, async (tx) => {
    await tx.users.setDeactivated(user.id, null, tx.clock.now());
    await recordEvent(tx, user, "account_activated", ctx);
  });
}

/**
 * An administrator marks the address confirmed (`warden user confirm`): recorded as a security
 * event like every other change to the account. False when it already was confirmed.
 */
export async function confirmUserEmail(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<boolean> {
  return inTransaction(deps, async (tx) => {
    if (!(await tx.users.confirmEmail(user.id, tx.clock.now()))) return false;
    await recordEvent(tx, user, "email_confirmed", ctx, { by: "admin" });
    return true;
  });
}
