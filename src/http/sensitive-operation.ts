import type { FastifyRequest } from "fastify";
import type { DomainDeps } from "../domain/context.js";
import { AuthError } from "../domain/errors.js";

/**
 * Interim seconds a session counts as fresh: helper A's REAUTH_MAX_AGE (contract default 600)
 * replaces this when the shared sensitive-operation rule lands on main.
 */
const FRESH_SESSION_SECONDS = 600;

/**
 * The one place API-key creation/rotation and every admin endpoint ask "may this request do
 * something sensitive?". Until the shared rule (fresh `auth_time` or a step-up token) lands,
 * a session counts as fresh while it was opened (by a login) within FRESH_SESSION_SECONDS:
 * refreshing does not make a session fresh, only authenticating again does.
 */
export async function assertSensitiveAllowed(
  deps: Pick<DomainDeps, "sessions" | "clock">,
  request: FastifyRequest,
): Promise<void> {
  const session = await deps.sessions.findSession(request.auth.sessionId);
  const ageSeconds = session ? (deps.clock.now().getTime() - session.createdAt.getTime()) / 1000 : Infinity;
  if (ageSeconds > FRESH_SESSION_SECONDS) throw new AuthError("MFA_REQUIRED", { error: "mfa_required" });
}
