import type { FastifyRequest } from "fastify";
import type { DomainDeps } from "../domain/context.js";
import { requireRecentAuthentication } from "../domain/sessions/step-up.js";

/** The step-up verification token, wherever the contract lets a client put it (header, or either body spelling). */
function verificationTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers["x-verification-token"];
  if (typeof header === "string" && header) return header;
  const body = request.body as { verification_token?: unknown; verificationToken?: unknown } | null | undefined;
  const token = body?.verification_token ?? body?.verificationToken;
  return typeof token === "string" && token ? token : undefined;
}

/**
 * The one place passkey registration and deletion, API-key creation and rotation, and every
 * admin endpoint ask "may this request do something sensitive?": a session authenticated within
 * REAUTH_MAX_AGE, or a step-up verification token of this user and session (spent here); else
 * 403 `mfa_required`.
 */
export async function assertSensitiveAllowed(deps: DomainDeps, request: FastifyRequest): Promise<void> {
  await requireRecentAuthentication(deps, request.auth, verificationTokenOf(request));
}
