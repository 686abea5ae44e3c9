/** Error codes of the admin module; merged into AUTH_ERRORS (domain/errors.ts). */
export const ADMIN_ERRORS = {
  ADMIN_REQUIRED: "Access denied: administrators only.",
  USER_NOT_FOUND: "User not found.",
  METRICS_TOKEN_INVALID: "Invalid metrics token.",
} as const;
