/** Request and response schemas. Fastify validates and serialises with them; they also feed /openapi.json. */

export const errorBody = {
  type: "object",
  properties: {
    code: { type: "integer" },
    message: { type: "string" },
    errors: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
    error: { type: "string" },
    error_description: { type: "string" },
    requestId: { type: "string" },
  },
  required: ["code", "message"],
} as const;

export const tokenPair = {
  type: "object",
  properties: {
    token: { type: "string", description: "RS256 JWT access token" },
    refresh_token: { type: "string", description: "Opaque refresh token, rotated on every use" },
  },
  required: ["token", "refresh_token"],
} as const;

export const mfaChallenge = {
  type: "object",
  properties: {
    mfa_required: { type: "boolean", const: true },
    mfa_token: { type: "string", minLength: 64, maxLength: 64 },
    mfa_methods: { type: "array", items: { type: "string", enum: ["totp", "backup_code", "passkey", "email_otp"] } },
  },
  required: ["mfa_required", "mfa_token", "mfa_methods"],
} as const;

/** Strings with a sane upper bound: nothing legitimate is longer, and argon2 need not hash megabytes. */
export const email = { type: "string", minLength: 1, maxLength: 320 } as const;
export const password = { type: "string", minLength: 1, maxLength: 4096 } as const;

export const loginBody = {
  type: "object",
  properties: { email, password },
  required: ["email", "password"],
} as const;

/** A step-up token for a sensitive operation, in either spelling (the X-Verification-Token header works too). */
export const verificationTokenFields = {
  verification_token: {
    type: "string",
    maxLength: 256,
    description: "Step-up token (also verificationToken, X-Verification-Token)",
  },
  verificationToken: { type: "string", maxLength: 256 },
} as const;

export interface VerificationTokenBody {
  verification_token?: string;
  verificationToken?: string;
}

/** The body of a sensitive request that takes nothing else: absent, or only a step-up token. */
export const verificationTokenBody = {
  type: ["object", "null"],
  properties: verificationTokenFields,
  examples: [{}],
} as const;

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, errorBody])) as Record<number, typeof errorBody>;
