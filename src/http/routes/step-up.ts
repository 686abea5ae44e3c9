import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import {
  startStepUp,
  stepUpPasskeyOptions,
  verifyStepUp,
  type StepUpVerifyInput,
} from "../../domain/sessions/step-up.js";
import { requestContext } from "../context.js";
import { presentStepUpChallenge } from "../presenters.js";
import { errorResponses } from "../schemas.js";
import { credentialSchema } from "./passkeys.js";

const bearer = [{ bearer: [] }];
const challengeToken = { type: "string", maxLength: 256 } as const;

/** Step-up verification, inside the /api/v1 scope: prove a second factor again, get a verification token. */
export function stepUpRoutes(v1: FastifyInstance, deps: DomainDeps): void {
  v1.post(
    "/mfa/challenge",
    {
      schema: {
        operationId: "stepUpChallenge",
        summary: "Start a step-up verification",
        description:
          "A challenge for this session listing the user's second factors, or mfa_required false when the user has none.",
        tags: ["mfa", "step-up"],
        security: bearer,
        body: { type: ["object", "null"], examples: [{}] },
        response: {
          200: {
            type: "object",
            properties: {
              mfa_required: { type: "boolean" },
              challenge_token: { type: "string" },
              methods: { type: "array", items: { type: "string" } },
            },
            required: ["mfa_required"],
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => presentStepUpChallenge(await startStepUp(deps, request.auth)),
  );

  v1.post<{ Body: { challengeToken?: string } }>(
    "/mfa/passkey/options",
    {
      config: { rateLimit: "oauth_login" },
      schema: {
        operationId: "stepUpPasskeyOptions",
        summary: "Passkey options for a step-up challenge",
        tags: ["mfa", "step-up", "passkeys"],
        security: bearer,
        body: {
          type: "object",
          properties: { challengeToken },
          examples: [{ challengeToken: "5b0e...64 hex characters" }],
        },
        response: {
          200: {
            type: "object",
            description: "PublicKeyCredentialRequestOptions with allowCredentials",
            additionalProperties: true,
          },
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => stepUpPasskeyOptions(deps, request.auth, request.body ?? {}),
  );

  v1.post<{ Body: StepUpVerifyInput }>(
    "/mfa/verify",
    {
      config: { rateLimit: "mfa" },
      schema: {
        operationId: "stepUpVerify",
        summary: "Answer a step-up challenge",
        description:
          "Returns a verification token: single use, 120 s, valid only for this user and session, accepted by every sensitive operation.",
        tags: ["mfa", "step-up"],
        security: bearer,
        body: {
          type: "object",
          properties: {
            challengeToken,
            type: { type: "string", maxLength: 32 },
            code: { type: "string", maxLength: 64 },
            credential: credentialSchema,
          },
          examples: [{ challengeToken: "5b0e...64 hex characters", type: "totp", code: "123456" }],
        },
        response: {
          200: {
            type: "object",
            properties: { verification_token: { type: "string" } },
            required: ["verification_token"],
          },
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => verifyStepUp(deps, request.auth, request.body ?? {}, requestContext(request)),
  );
}
