import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { disableTotp, getMfaStatus, regenerateBackupCodes } from "../../domain/factors/management.js";
import { enableTotp, setupTotp } from "../../domain/factors/totp/enrolment.js";
import { verifyMfaChallenge, type MfaVerifyInput } from "../../domain/factors/verify.js";
import { requestContext } from "../context.js";
import { presentTokens } from "../presenters.js";
import {
  errorResponses,
  password,
  tokenPair,
  verificationTokenBody,
  verificationTokenFields,
  type VerificationTokenBody,
} from "../schemas.js";
import { verificationTokenOf } from "../step-up.js";
import { credentialSchema } from "./passkeys.js";

const code = { type: "string", minLength: 1, maxLength: 64 } as const;
const revokeOtherSessions = { type: "boolean", description: "End every other session of the user as well" } as const;
const backupCodes = {
  type: "array",
  items: { type: "string", pattern: "^[a-z2-9]{4}-[a-z2-9]{4}$" },
  minItems: 10,
  maxItems: 10,
} as const;
const bearer = [{ bearer: [] }];

/** The public half: answering the challenge a login returned. */
export function mfaVerifyRoutes(app: FastifyInstance, deps: DomainDeps): void {
  app.post<{ Body: MfaVerifyInput }>(
    "/api/auth/mfa/verify",
    {
      // `error` in error bodies, as Storno documents for this endpoint.
      config: { rateLimit: "mfa", errorField: true },
      schema: {
        operationId: "verifyMfa",
        security: [],
        summary: "Verify an MFA challenge",
        description:
          "Answers the challenge from POST /api/auth with a TOTP or backup code, or a passkey assertion (type passkey, credential). Five wrong answers end the challenge.",
        tags: ["auth", "mfa"],
        // Presence is checked in the domain, so a missing field gets the contract's own sentence.
        body: {
          type: "object",
          properties: {
            mfaToken: { type: "string", maxLength: 256 },
            mfa_token: { type: "string", maxLength: 256 },
            code: { type: "string", maxLength: 64 },
            type: { type: "string", enum: ["totp", "backup", "backup_code", "passkey", "email_otp"], default: "totp" },
            credential: credentialSchema,
          },
        },
        response: { 200: tokenPair, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request) => presentTokens(await verifyMfaChallenge(deps, request.body ?? {}, requestContext(request))),
  );
}

/** The Bearer half, registered inside the /api/v1 scope: enrolment and management. */
export function mfaRoutes(v1: FastifyInstance, deps: DomainDeps): void {
  v1.get(
    "/me/mfa/status",
    {
      schema: {
        operationId: "getMfaStatus",
        summary: "Two-factor status",
        tags: ["mfa"],
        security: bearer,
        response: {
          200: {
            type: "object",
            properties: {
              totpEnabled: { type: "boolean" },
              backupCodesRemaining: { type: "integer" },
              passkeysCount: { type: "integer" },
            },
            required: ["totpEnabled", "backupCodesRemaining", "passkeysCount"],
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => getMfaStatus(deps, request.auth.user),
  );

  v1.post<{ Body: VerificationTokenBody | null }>(
    "/me/mfa/totp/setup",
    {
      schema: {
        operationId: "setupTotp",
        summary: "Start TOTP enrolment",
        description:
          "A new secret, pending until confirmed with /me/mfa/totp/enable; a second setup replaces an unconfirmed one. Sensitive: needs a session authenticated within REAUTH_MAX_AGE seconds or a step-up verification token (header X-Verification-Token or body).",
        tags: ["mfa"],
        security: bearer,
        body: verificationTokenBody,
        response: {
          200: {
            type: "object",
            properties: {
              secret: { type: "string", description: "Base32, 160 bits" },
              qrCode: { type: "string", description: "data:image/png;base64,... 300x300" },
              otpauthUri: { type: "string" },
            },
            required: ["secret", "qrCode", "otpauthUri"],
          },
          ...errorResponses(401, 403, 409),
        },
      },
    },
    async (request) => setupTotp(deps, request.auth, { verificationToken: verificationTokenOf(request) }),
  );

  v1.post<{ Body: { code: string; revokeOtherSessions?: boolean } & VerificationTokenBody }>(
    "/me/mfa/totp/enable",
    {
      schema: {
        operationId: "enableTotp",
        summary: "Confirm TOTP enrolment",
        description:
          "Turns TOTP on with a code from the authenticator and returns 10 single-use backup codes. Sensitive, as setup.",
        tags: ["mfa"],
        security: bearer,
        body: {
          type: "object",
          properties: { code, revokeOtherSessions, ...verificationTokenFields },
          required: ["code"],
        },
        response: {
          200: {
            type: "object",
            properties: { enabled: { type: "boolean", const: true }, backupCodes },
            required: ["enabled", "backupCodes"],
          },
          ...errorResponses(400, 401, 403, 409, 422),
        },
      },
    },
    async (request) =>
      enableTotp(
        deps,
        request.auth,
        { ...request.body, verificationToken: verificationTokenOf(request) },
        requestContext(request),
      ),
  );

  v1.post<{ Body: { password: string; revokeOtherSessions?: boolean } }>(
    "/me/mfa/totp/disable",
    {
      config: { rateLimit: "reauth", hashesPassword: "reauth" },
      schema: {
        operationId: "disableTotp",
        summary: "Turn TOTP off",
        description: "Deletes the secret and every backup code. Needs the account password.",
        tags: ["mfa"],
        security: bearer,
        body: { type: "object", properties: { password, revokeOtherSessions }, required: ["password"] },
        response: {
          200: { type: "object", properties: { disabled: { type: "boolean", const: true } }, required: ["disabled"] },
          ...errorResponses(400, 401, 403, 422, 429, 503),
        },
      },
    },
    async (request) => disableTotp(deps, request.auth, request.body, requestContext(request)),
  );

  v1.post<{ Body: { password: string } }>(
    "/me/mfa/backup-codes/regenerate",
    {
      config: { rateLimit: "reauth", hashesPassword: "reauth" },
      schema: {
        operationId: "regenerateBackupCodes",
        summary: "Replace the backup codes",
        description: "Returns 10 new codes; every older code stops working at once. Needs the account password.",
        tags: ["mfa"],
        security: bearer,
        body: { type: "object", properties: { password }, required: ["password"] },
        response: {
          200: { type: "object", properties: { backupCodes }, required: ["backupCodes"] },
          ...errorResponses(400, 401, 403, 422, 429, 503),
        },
      },
    },
    async (request) => regenerateBackupCodes(deps, request.auth, request.body.password, requestContext(request)),
  );
}
