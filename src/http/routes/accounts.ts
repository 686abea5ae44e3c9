import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { confirmEmail, resendConfirmation } from "../../domain/accounts/email-confirmation.js";
import { confirmEmailChange } from "../../domain/accounts/email-change.js";
import { EMAIL_TOKEN_PATTERN } from "../../domain/accounts/email-tokens.js";
import { forgotPassword, resetPassword } from "../../domain/accounts/password-reset.js";
import { register, type RegistrationInput } from "../../domain/accounts/registration.js";
import { unlockAccount } from "../../domain/sessions/login.js";
import { requestContext } from "../context.js";
import { presentRegistration } from "../presenters.js";
import { email, errorResponses, tokenPair } from "../schemas.js";

const message = { type: "object", properties: { message: { type: "string" } }, required: ["message"] } as const;
const emailToken = {
  type: "string",
  pattern: EMAIL_TOKEN_PATTERN,
  description: "The token from the link in the mail",
} as const;
/** No length bound here: the password policy says what is too long in its own words (the body limit bounds it anyway). */
const newPassword = {
  type: "string",
  minLength: 1,
  description: "At least PASSWORD_MIN_LENGTH characters, at most 4096; not a common password",
} as const;
const name = { type: ["string", "null"], maxLength: 100 } as const;
const emailBody = { type: "object", properties: { email }, required: ["email"] } as const;

/** Account lifecycle: registration, email confirmation and password reset (all public, all rate limited). */
export function accountRoutes(app: FastifyInstance, deps: DomainDeps): void {
  app.post<{ Body: RegistrationInput }>(
    "/api/auth/register",
    {
      config: { rateLimit: "register", hashesPassword: true },
      schema: {
        operationId: "register",
        security: [],
        summary: "Create an account",
        description:
          "With email confirmation required (the default) a confirmation mail is sent and no tokens are returned. " +
          'With ALLOW_SIGNUP=false every registration is refused: 403 `{"code":403,"message":"Registration is disabled."}`, ' +
          "whatever the address (so the answer tells nothing about which addresses have accounts).",
        tags: ["accounts"],
        body: {
          type: "object",
          properties: {
            email,
            password: newPassword,
            firstName: name,
            lastName: name,
            locale: { type: ["string", "null"], pattern: "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$", maxLength: 35 },
          },
          required: ["email", "password"],
        },
        response: {
          201: {
            anyOf: [
              {
                type: "object",
                properties: { message: { type: "string" }, email: { type: "string" } },
                required: ["message", "email"],
              },
              tokenPair,
            ],
          },
          ...errorResponses(400, 403, 409, 429, 503),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(presentRegistration(await register(deps, request.body, requestContext(request)))),
  );

  app.post<{ Body: { token: string } }>(
    "/api/auth/confirm-email",
    {
      config: { rateLimit: "register" },
      schema: {
        operationId: "confirmEmail",
        security: [],
        summary: "Confirm an email address with the token from the confirmation mail",
        tags: ["accounts"],
        body: { type: "object", properties: { token: emailToken }, required: ["token"] },
        response: { 200: message, ...errorResponses(400, 401, 409, 429) },
      },
    },
    async (request) => confirmEmail(deps, request.body.token, requestContext(request)),
  );

  app.post<{ Body: { token: string } }>(
    "/api/auth/confirm-email-change",
    {
      config: { rateLimit: "register" },
      schema: {
        operationId: "confirmEmailChange",
        security: [],
        summary: "Make the new address the account's, with the token from the link mailed to it",
        description:
          "The link works once and for 24 hours; opening it also kills every link still out for the old address. " +
          "409 when another account took the address in the meantime.",
        tags: ["accounts"],
        body: {
          type: "object",
          properties: { token: emailToken },
          required: ["token"],
          examples: [{ token: "q2VbM1Jx0sY5c7T3n9Lk4Pw8Hd6Ga2Rf1Ue0Zi5Ko3A" }],
        },
        response: { 200: message, ...errorResponses(400, 401, 409, 429, 503) },
      },
    },
    async (request) => confirmEmailChange(deps, request.body.token, requestContext(request)),
  );

  app.post<{ Body: { email: string } }>(
    "/api/auth/resend-confirmation",
    {
      config: { rateLimit: "register" },
      schema: {
        operationId: "resendConfirmation",
        security: [],
        summary: "Send the confirmation mail again",
        description: "Always the same answer, whether or not the address has an unconfirmed account.",
        tags: ["accounts"],
        body: emailBody,
        response: { 200: message, ...errorResponses(400, 429) },
      },
    },
    async (request) => resendConfirmation(deps, request.body.email, requestContext(request)),
  );

  app.post<{ Body: { email: string } }>(
    "/api/auth/forgot-password",
    {
      config: { rateLimit: "password-reset" },
      schema: {
        operationId: "forgotPassword",
        security: [],
        summary: "Mail a password reset link",
        description: "Always the same answer, whether or not the address has an account.",
        tags: ["accounts"],
        body: emailBody,
        response: { 200: message, ...errorResponses(400, 429) },
      },
    },
    async (request) => forgotPassword(deps, request.body.email, requestContext(request)),
  );

  app.post<{ Body: { token: string; password: string } }>(
    "/api/auth/reset-password",
    {
      config: { rateLimit: "password-reset", hashesPassword: true },
      schema: {
        operationId: "resetPassword",
        security: [],
        summary: "Choose a new password with the token from the reset mail",
        description: "Every session of the user is revoked and a notice is mailed.",
        tags: ["accounts"],
        body: {
          type: "object",
          properties: { token: emailToken, password: newPassword },
          required: ["token", "password"],
        },
        response: { 200: message, ...errorResponses(400, 401, 422, 429, 503) },
      },
    },
    async (request) => resetPassword(deps, request.body, requestContext(request)),
  );

  app.post<{ Body: { token: string } }>(
    "/api/auth/unlock",
    {
      config: { rateLimit: "register" },
      schema: {
        operationId: "unlockAccount",
        summary: "Lift the account's login throttle with the token from the unlock mail",
        description:
          "When wrong passwords or codes from anywhere spend an account's failure budget, its owner is mailed a " +
          "one-time link. Posting its token empties the budget and marks this browser as a known device " +
          "(an HttpOnly device cookie). The token works once.",
        tags: ["accounts"],
        security: [],
        body: {
          type: "object",
          properties: { token: emailToken },
          required: ["token"],
          examples: [{ token: "q2VbM1Jx0sY5c7T3n9Lk4Pw8Hd6Ga2Rf1Ue0Zi5Ko3A" }],
        },
        response: { 200: message, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => unlockAccount(deps, request.body.token, requestContext(request)),
  );
}
