import type { FastifyRequest } from "fastify";

/** The step-up token of a sensitive request: header X-Verification-Token, or the body's verification_token / verificationToken. */
export function verificationTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers["x-verification-token"];
  if (typeof header === "string" && header) return header;
  const body = request.body as { verification_token?: unknown; verificationToken?: unknown } | null | undefined;
  const fromBody = body?.verification_token ?? body?.verificationToken;
  return typeof fromBody === "string" && fromBody ? fromBody : undefined;
}
