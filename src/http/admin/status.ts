import type { ADMIN_ERRORS } from "../../domain/admin/errors.js";

/** HTTP statuses of the admin module's error codes (merged into http/errors.ts STATUS). */
export const ADMIN_STATUS = {
  ADMIN_REQUIRED: 403,
  USER_NOT_FOUND: 404,
  METRICS_TOKEN_INVALID: 401,
} as const satisfies Record<keyof typeof ADMIN_ERRORS, number>;
