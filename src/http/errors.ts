import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AUTH_ERRORS, AuthError, type AuthErrorCode } from "../domain/errors.js";
import { isStoreUnavailable } from "../storage/faults.js";
import { ADMIN_STATUS } from "./admin/status.js";
import { API_KEY_STATUS } from "./plugins/api-key-status.js";

/** What a client is told while PostgreSQL (or SQLite's lock, or Redis without a fallback) is unavailable. */
export const UNAVAILABLE_MESSAGE = "The service is temporarily unavailable. Please try again shortly.";
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The one table: domain error code -> HTTP status. */
export const STATUS = {
  ...API_KEY_STATUS,
  ...ADMIN_STATUS,
  INVALID_CREDENTIALS: 401,
  EMAIL_NOT_CONFIRMED: 403,
  ACCOUNT_INACTIVE: 403,
  RATE_LIMITED: 429,
  ACCOUNT_THROTTLED: 429,
  OVERLOADED: 503,
  REFRESH_TOKEN_MISSING: 400,
  REFRESH_TOKEN_INVALID: 401,
  REFRESH_TOKEN_EXPIRED: 401,
  JWT_NOT_FOUND: 401,
  JWT_INVALID: 401,
  JWT_EXPIRED: 401,
  MFA_TOKEN_MISSING: 400,
  MFA_CODE_MISSING: 400,
  MFA_CODE_INVALID: 401,
  MFA_CHALLENGE_INVALID: 401,
  MFA_TOO_MANY_ATTEMPTS: 429,
  MFA_ALREADY_ENABLED: 409,
  MFA_NOT_ENABLED: 400,
  MFA_SETUP_MISSING: 400,
  MFA_ENABLE_CODE_INVALID: 422,
  WRONG_PASSWORD: 422,
  WEAK_PASSWORD: 422,
  EMAIL_TAKEN: 409,
  REGISTRATION_DISABLED: 403,
  EMAIL_ALREADY_CONFIRMED: 409,
  EMAIL_TOKEN_INVALID: 401,
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  GOOGLE_CREDENTIAL_MISSING: 400,
  APPLE_TOKEN_MISSING: 400,
  GOOGLE_TOKEN_INVALID: 401,
  APPLE_TOKEN_INVALID: 401,
  PROVIDER_DISABLED: 404,
  PROVIDER_EMAIL_MISSING: 400,
  PROVIDER_EMAIL_UNVERIFIED: 403,
  REGISTRATION_REQUIRED: 403,
  LAST_WAY_IN: 409,
  EMAIL_OTP_UNAVAILABLE: 400,
  EMAIL_OTP_TOO_SOON: 429,
  EMAIL_OTP_SEND_LIMIT: 429,
  PASSKEY_CHALLENGE_INVALID: 400,
  PASSKEY_RESPONSE_INVALID: 400,
  PASSKEY_ATTESTATION_FAILED: 400,
  PASSKEY_ALREADY_REGISTERED: 409,
  PASSKEY_SESSION_MISSING: 400,
  PASSKEY_ASSERTION_FAILED: 401,
  PASSKEY_NOT_FOUND: 404,
  PASSKEY_NONE_AVAILABLE: 400,
  MFA_CREDENTIAL_MISSING: 400,
  STEP_UP_CHALLENGE_MISSING: 400,
  STEP_UP_CHALLENGE_INVALID: 401,
  STEP_UP_VERIFICATION_INVALID: 401,
  STEP_UP_TOO_MANY_ATTEMPTS: 429,
  STEP_UP_METHOD_UNAVAILABLE: 400,
  MFA_REQUIRED: 403,
} as const satisfies Record<AuthErrorCode, number>;

/** Errors whose body carries a fixed machine-readable `error` (Storno's clients branch on it). */
const ERROR_NAMES: Partial<Record<AuthErrorCode, string>> = {
  REGISTRATION_REQUIRED: "registration_required",
  API_KEY_INVALID: "AUTH_HEADER_TOKEN",
};

/** Bearer failures carry the challenge header (RFC 6750). */
const BEARER_ERRORS = new Set<AuthErrorCode>(["JWT_NOT_FOUND", "JWT_INVALID", "JWT_EXPIRED"]);

export interface ErrorBody {
  code: number;
  message: string;
  errors?: Record<string, string[]>;
  error?: string;
  error_description?: string;
  requestId?: string;
}

/** A refusal decided by the HTTP layer itself (not a domain rule), e.g. 403 `Invalid origin.`. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpProblem";
  }
}

export function sendAuthError(reply: FastifyReply, error: AuthError): FastifyReply {
  const status = STATUS[error.code];
  if (error.details.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(error.details.retryAfterSeconds));
  if (BEARER_ERRORS.has(error.code)) reply.header("www-authenticate", `Bearer error="invalid_token"`);
  const sentence = AUTH_ERRORS[error.code];
  const message =
    error.details.message ??
    (error.details.reason ? `${sentence.replace(/\.$/, "")}: ${error.details.reason}` : sentence);
  const body: ErrorBody = { code: status, message };
  if (error.details.errors) body.errors = error.details.errors;
  if (error.details.oauthError) {
    body.error = error.details.oauthError;
    body.error_description = message;
    return reply.code(status).send(body);
  }
  // Clients written for Storno's MFA endpoints read `error`; routes that need it ask for it.
  if (reply.request.routeOptions.config?.errorField) body.error = body.message;
  const name = ERROR_NAMES[error.code];
  if (name) body.error = name;
  return reply.code(status).send(body);
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Turns schema violations into `errors: {field: [sentence]}`. */
export function validationErrors(issues: AjvError[]): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const issue of issues) {
    let field = issue.instancePath.replace(/^\//, "").replace(/\//g, ".");
    let sentence: string;
    if (issue.keyword === "required") {
      field = [field, String(issue.params.missingProperty)].filter(Boolean).join(".");
      sentence = "This value is required.";
    } else if (issue.keyword === "type") {
      sentence = `This value should be of type ${String(issue.params.type)}.`;
    } else if (issue.keyword === "minLength") {
      sentence = "This value should not be blank.";
    } else if (issue.keyword === "maxLength") {
      sentence = `This value is too long. It should have ${String(issue.params.limit)} characters or less.`;
    } else if (issue.keyword === "format" || issue.keyword === "pattern") {
      sentence = "This value is not valid.";
    } else if (issue.keyword === "enum") {
      sentence = `This value should be one of: ${(issue.params.allowedValues as unknown[]).join(", ")}.`;
    } else {
      sentence = issue.message ? `This value ${issue.message}.` : "This value is not valid.";
    }
    (errors[field || "body"] ??= []).push(sentence);
  }
  return errors;
}

/** Fastify's own request errors, all of which are the client's fault: 400 with the contract body. */
const BAD_REQUEST: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "Invalid JSON body.",
  FST_ERR_CTP_EMPTY_JSON_BODY: "The request body is empty.",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "Content-Type must be application/json.",
  FST_ERR_CTP_BODY_TOO_LARGE: "The request body is too large.",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "Invalid Content-Length.",
  FST_ERR_CTP_INVALID_TYPE: "Content-Type must be application/json.",
  FST_ERR_BAD_URL: "Malformed URL.",
};

/**
 * Fastify's `frameworkErrors`: what it refuses before routing (a URL with bad percent-encoding)
 * gets the contract's body like every other 400, not Fastify's own `{error, code, message}`.
 */
export function answerFrameworkError(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  void reply.code(400).send({ code: 400, message: BAD_REQUEST[error.code] ?? "Bad request." });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AuthError) return sendAuthError(reply, error);
    if (error instanceof HttpProblem) {
      const body: ErrorBody = { code: error.status, message: error.message };
      if (request.routeOptions.config?.errorField) body.error = body.message;
      return reply.code(error.status).send(body);
    }
    if (error.validation) {
      const body: ErrorBody = {
        code: 400,
        message: AUTH_ERRORS.VALIDATION_FAILED,
        errors: validationErrors(error.validation as AjvError[]),
      };
      if (request.routeOptions.config?.errorField) body.error = body.message;
      return reply.code(400).send(body);
    }
    if (isStoreUnavailable(error)) {
      // The database or Redis is away: the client retries; nothing it holds is invalid.
      request.log.warn({ err: error }, "store unavailable: answered 503");
      reply.header("retry-after", String(UNAVAILABLE_RETRY_AFTER_SECONDS));
      return reply.code(503).send({ code: 503, message: UNAVAILABLE_MESSAGE, requestId: request.id });
    }
    const known = error.code ? BAD_REQUEST[error.code] : undefined;
    if (known || (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)) {
      return reply.code(400).send({ code: 400, message: known ?? "Bad request." });
    }
    // Never leak a stack, SQL or secret: the id ties the client's report to the log line.
    request.log.error({ err: error }, "unhandled error");
    return reply.code(500).send({ code: 500, message: "Internal server error.", requestId: request.id });
  });
}

/** The API's 404; the hosted pages own the app's not-found handler and answer it for all but browsers' navigations. */
export const answerNotFound = (_request: FastifyRequest, reply: FastifyReply) =>
  reply.code(404).send({ code: 404, message: "Not found." });
