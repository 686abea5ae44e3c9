import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { sendLoginEmailOtp, sendStepUpEmailOtp } from "../../domain/factors/email-otp/email-otp.js";
import { requestContext } from "../context.js";
import { errorResponses } from "../schemas.js";

const sent = {
  type: "object",
  properties: { sent: { type: "boolean", const: true } },
  required: ["sent"],
} as const;

/** POST /api/auth/mfa/email-otp/send: a code by mail that answers the login's MFA challenge. */
export function emailOtpRoutes(app: FastifyInstance, deps: DomainDeps): void {
  app.post<{ Body: { mfaToken?: string; mfa_token?: string } }>(
    "/api/auth/mfa/email-otp/send",
    {
      // The MFA bucket (5/min per IP) is shared with /api/auth/mfa/verify; `error` as on verify.
      config: { rateLimit: "mfa", errorField: true },
      schema: {
        operationId: "sendLoginEmailCode",
        summary: "Email a sign-in code for an MFA challenge",
        description:
          "Mails a 6-digit code, valid 5 minutes, that answers this challenge with type `email_otp`. A new send replaces the previous code; at most one per minute and 5 per hour per account. Only when the challenge lists `email_otp` (EMAIL_OTP_MFA policy).",
        tags: ["auth", "mfa"],
        security: [],
        body: {
          type: "object",
          properties: { mfaToken: { type: "string", maxLength: 256 }, mfa_token: { type: "string", maxLength: 256 } },
          examples: [{ mfaToken: "9f2c4e0b7a1d3c5e8f6a2b4d0c9e7f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e" }],
        },
        response: { 200: sent, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => sendLoginEmailOtp(deps, request.body ?? {}, requestContext(request)),
  );
}

/** POST /api/v1/mfa/email-otp/send, inside the Bearer scope: a code that answers a step-up challenge. */
export function stepUpEmailOtpRoutes(v1: FastifyInstance, deps: DomainDeps): void {
  v1.post<{ Body: { challengeToken?: string } }>(
    "/mfa/email-otp/send",
    {
      config: { rateLimit: "mfa" },
      schema: {
        operationId: "sendStepUpEmailCode",
        summary: "Email a code for a step-up challenge",
        description:
          "Mails a 6-digit code, valid 5 minutes, that answers this step-up challenge (POST /api/v1/mfa/verify with type `email_otp`). Same spacing and hourly cap as at login.",
        tags: ["mfa"],
        security: [{ bearer: [] }],
        body: {
          type: "object",
          properties: { challengeToken: { type: "string", maxLength: 256 } },
          examples: [{ challengeToken: "4b1d3c5e7f9a1b3d5c7e9f1a3b5d7c9e1f3a5b7d9c1e3f5a7b9d1c3e5f7a9b1d" }],
        },
        response: { 200: sent, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => sendStepUpEmailOtp(deps, request.auth, request.body ?? {}, requestContext(request)),
  );
}
