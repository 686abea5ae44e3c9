import type { FastifyRequest } from "fastify";
import type { DomainDeps } from "../domain/context.js";
import { requireRecentAuthentication } from "../domain/sessions/step-up.js";
import { verificationTokenOf } from "./step-up.js";

/**
 * API-key creation and rotation and every admin endpoint ask "may this request do something
 * sensitive?" here: a session authenticated within REAUTH_MAX_AGE, or a step-up verification
 * token of this user and session (spent here); else 403 `mfa_required`.
 */
export async function assertSensitiveAllowed(deps: DomainDeps, request: FastifyRequest): Promise<void> {
  await requireRecentAuthentication(deps, request.auth, { verificationToken: verificationTokenOf(request) });
}
