/** Error codes of the admin module; merged into AUTH_ERRORS (domain/errors.ts). */
export const ADMIN_ERRORS = {
  ADMIN_REQUIRED: "Access denied: administrators only.",
  USER_NOT_FOUND: "User not found.",
  SIGNING_KEY_NOT_FOUND: "Signing key not found.",
  /** Placeholder until the shared sensitive-operation rule lands (see http/sensitive-operation.ts). */
  METRICS_TOKEN_INVALID: "Invalid metrics token.",
  MFA_REQUIRED: "Step-up MFA verification required.",
} as const;
