import { PASSKEY_ERRORS } from "./factors/passkeys/errors.js";
import { STEP_UP_ERRORS } from "./sessions/step-up-errors.js";

/** Stable error codes and the sentence a client reads. HTTP statuses live in http/errors.ts. */
export const AUTH_ERRORS = {
  ...PASSKEY_ERRORS,
  ...STEP_UP_ERRORS,
  INVALID_CREDENTIALS: "Invalid credentials.",
  EMAIL_NOT_CONFIRMED: "Please confirm your email address before logging in.",
  ACCOUNT_INACTIVE: "Your account has been deactivated. Please contact support.",
  RATE_LIMITED: "Too many requests. Please try again later.",
  ACCOUNT_THROTTLED: "Too many failed login attempts for this account. Please try again later.",
  OVERLOADED: "The server is busy. Please try again shortly.",
  REFRESH_TOKEN_MISSING: "Missing refresh_token.",
  REFRESH_TOKEN_INVALID: "Invalid refresh token.",
  REFRESH_TOKEN_EXPIRED: "Refresh token has expired. Please login again.",
  JWT_NOT_FOUND: "JWT Token not found",
  JWT_INVALID: "Invalid JWT Token",
  JWT_EXPIRED: "Expired JWT Token",
  MFA_TOKEN_MISSING: "Missing mfaToken.",
  MFA_CODE_MISSING: "Missing code.",
  MFA_CODE_INVALID: "Invalid code.",
  MFA_CHALLENGE_INVALID: "Invalid or expired MFA challenge.",
  MFA_TOO_MANY_ATTEMPTS: "Too many failed attempts. Please log in again.",
  MFA_ALREADY_ENABLED: "Two-factor authentication is already enabled.",
  MFA_NOT_ENABLED: "Two-factor authentication is not enabled.",
  MFA_SETUP_MISSING: "Start the TOTP setup first.",
  /** A wrong code while enabling TOTP: the caller is logged in, so this is 422, not 401. */
  MFA_ENABLE_CODE_INVALID: "Invalid code.",
  WRONG_PASSWORD: "The password is incorrect.",
  WEAK_PASSWORD: "The password does not meet the requirements.",
  EMAIL_TAKEN: "An account with this email address already exists.",
  /** ALLOW_SIGNUP=false: register answers this before it looks at the body, so it tells nothing about addresses. */
  REGISTRATION_DISABLED: "Registration is disabled.",
  EMAIL_ALREADY_CONFIRMED: "This email address is already confirmed.",
  EMAIL_TOKEN_INVALID: "Invalid or expired token.",
  VALIDATION_FAILED: "Validation failed.",
  NOT_FOUND: "Not found.",
  // Google and Apple sign-in (domain/federation).
  GOOGLE_CREDENTIAL_MISSING: "Missing credential.",
  APPLE_TOKEN_MISSING: "Missing identityToken.",
  GOOGLE_TOKEN_INVALID: "Invalid Google token.",
  APPLE_TOKEN_INVALID: "Invalid Apple token.",
  PROVIDER_DISABLED: "Sign-in with this provider is not enabled.",
  PROVIDER_EMAIL_MISSING: "Email not available.",
  PROVIDER_EMAIL_UNVERIFIED: "The provider has not verified this email address.",
  REGISTRATION_REQUIRED: "Account not found. Please register first.",
  LAST_WAY_IN: "This is your only way to sign in.",
  // Email codes as a second factor (domain/factors/email-otp).
  EMAIL_OTP_UNAVAILABLE: "Email codes are not available for this account.",
  EMAIL_OTP_TOO_SOON: "Please wait a minute before asking for another code.",
  EMAIL_OTP_SEND_LIMIT: "Too many codes were sent. Please try again later.",
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERRORS;

export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    readonly details: {
      cause?: unknown;
      /** Seconds until a retry may succeed (rate limits, overload). */
      retryAfterSeconds?: number;
      /** Per-field validation messages. */
      errors?: Record<string, string[]>;
      /** Detail appended to the sentence after a colon (e.g. why an attestation failed); never a secret. */
      reason?: string;
      /** An OAuth-style `error` code for the body, with the sentence as `error_description`. */
      oauthError?: string;
    } = {},
  ) {
    super(AUTH_ERRORS[code], { cause: details.cause });
    this.name = "AuthError";
  }
}
