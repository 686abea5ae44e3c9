/** Error codes of the API-key module; merged into AUTH_ERRORS (domain/errors.ts). */
export const API_KEY_ERRORS = {
  /** A bad, expired or revoked key, or one of a deleted user (Storno's body: error AUTH_HEADER_TOKEN). */
  API_KEY_INVALID: "Invalid API Token",
  API_KEY_MANAGEMENT_REFUSED: "API keys cannot be managed via programmatic tokens. Use a browser session.",
  API_KEY_NOT_ACCEPTED: "API keys are not accepted on this endpoint. Use a browser session.",
  API_KEY_NOT_FOUND: "API token not found.",
  API_KEY_NAME_REQUIRED: 'Field "name" is required.',
  API_KEY_SCOPES_REQUIRED: "At least one scope is required.",
  /** The message names the unknown scopes: `Invalid scopes: a, b`. */
  API_KEY_SCOPES_INVALID: "Invalid scopes.",
  /** The message names the scope: `Cannot grant scope "x".` */
  API_KEY_SCOPE_FORBIDDEN: "Cannot grant this scope.",
  API_KEY_EXPIRY_INVALID: "Invalid expiresAt date format.",
  API_KEY_ROTATE_REVOKED: "Cannot rotate a revoked token.",
  /** Rotation keeps the expiry: the new key would be born dead. */
  API_KEY_ROTATE_EXPIRED: "Cannot rotate an expired token. Create a new one.",
  INTROSPECTION_UNAUTHORIZED: "Invalid introspection credentials.",
} as const;
