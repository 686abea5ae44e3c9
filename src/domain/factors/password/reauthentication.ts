import type { DomainDeps } from "../../context.js";
import { AuthError } from "../../errors.js";
import type { UserRecord } from "../../ports.js";

/**
 * Re-authentication for sensitive changes. Wrong guesses are limited per account (the login
 * limit), so a stolen access token cannot be used to brute-force the password.
 */
export async function confirmPassword(
  deps: Pick<DomainDeps, "config" | "limiter" | "hasher">,
  user: UserRecord,
  password: string,
  field: string,
): Promise<void> {
  const rule = deps.config.LOGIN_RATE_LIMIT;
  const budget = await deps.limiter.check("password-confirm", rule, user.id);
  if (!budget.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: budget.retryAfterSeconds });
  if (!(await deps.hasher.verify(user.passwordHash, password))) {
    await deps.limiter.record("password-confirm", rule, user.id);
    throw new AuthError("WRONG_PASSWORD", { errors: { [field]: ["The password is incorrect."] } });
  }
}
