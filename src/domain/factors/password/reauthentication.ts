import type { DomainDeps } from "../../context.js";
import { AuthError } from "../../errors.js";
import type { UserRecord } from "../../accounts/ports.js";
import { checkedWithin } from "../../security/rate-limits.js";

/**
 * Re-authentication for sensitive changes. Every re-check, right or wrong, counts against
 * REAUTH_RATE_LIMIT per account (the http layer counts it per IP too), since each costs a hash;
 * wrong guesses also spend the account's guess budget (the login limit), reserved before the
 * hash and refunded when the password was right, so a stolen access token cannot be used to
 * brute-force the password, even with many requests in parallel. The hash runs at the
 * re-authentication priority: it can never take the hash slots logins need.
 */
export async function confirmPassword(
  deps: Pick<DomainDeps, "config" | "limiter" | "hasher">,
  user: UserRecord,
  password: string,
  field: string,
): Promise<void> {
  const attempts = await deps.limiter.hit("reauth-account", deps.config.REAUTH_RATE_LIMIT, user.id);
  if (!attempts.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: attempts.retryAfterSeconds });
  const budget = await deps.limiter.reserve("password-confirm", deps.config.LOGIN_RATE_LIMIT, user.id);
  if (!budget.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: budget.retryAfterSeconds });
  if (!(await checkedWithin(budget, () => deps.hasher.verify(user.passwordHash, password, "reauth")))) {
    throw new AuthError("WRONG_PASSWORD", { errors: { [field]: ["The password is incorrect."] } });
  }
  await budget.refund();
}
