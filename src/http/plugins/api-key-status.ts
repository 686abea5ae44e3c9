import type { API_KEY_ERRORS } from "../../domain/api-keys/errors.js";

/** HTTP statuses of the API-key module's error codes (merged into http/errors.ts STATUS). */
export const API_KEY_STATUS = {
  API_KEY_INVALID: 403,
  API_KEY_MANAGEMENT_REFUSED: 403,
  API_KEY_NOT_ACCEPTED: 403,
  API_KEY_NOT_FOUND: 404,
  API_KEY_NAME_REQUIRED: 400,
  API_KEY_SCOPES_REQUIRED: 400,
  API_KEY_SCOPES_INVALID: 400,
  API_KEY_SCOPE_FORBIDDEN: 403,
  API_KEY_EXPIRY_INVALID: 400,
  API_KEY_ROTATE_REVOKED: 400,
  API_KEY_ROTATE_EXPIRED: 400,
  INTROSPECTION_UNAUTHORIZED: 401,
} as const satisfies Record<keyof typeof API_KEY_ERRORS, number>;
