/** Step-up verification's error codes (merged into AuthErrorCode by domain/errors.ts). */
export const STEP_UP_ERRORS = {
  STEP_UP_CHALLENGE_MISSING: "Missing challengeToken.",
  STEP_UP_CHALLENGE_INVALID: "Invalid or expired challenge.",
  STEP_UP_VERIFICATION_INVALID: "Invalid verification.",
  STEP_UP_TOO_MANY_ATTEMPTS: "Too many failed attempts. Please start again.",
  STEP_UP_METHOD_UNAVAILABLE: "This verification method is not available.",
  /** A sensitive operation without a recent authentication or a verification token. */
  MFA_REQUIRED: "Step-up MFA verification required.",
} as const;
