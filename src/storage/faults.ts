import { SealedValueError } from "../domain/lib/secret-box.js";

/**
 * Whether an error means "a store is unreachable or overloaded right now" (the client should
 * retry) rather than a bug. The HTTP layer answers these 503 with Retry-After, never 500, and
 * never turns them into a 401: a refresh that fails because PostgreSQL is down must not log the
 * user out.
 */

/** Socket-level failures: the server refused, reset or never answered. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), class 53 (insufficient resources: disk
 * full, out of memory, too many connections), 57014 statement timeout, 57P01-57P03 server
 * shutting down or starting, 58030 I/O error.
 */
const PG_UNAVAILABLE = /^(08...|53...|57014|57P0[123]|58030)$/;

/** Messages of node-postgres, pg-pool and ioredis that carry no code. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request/;

/**
 * SQLite, with its extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED...): another
 * process holds the write lock longer than busy_timeout; the disk is full; the file cannot be
 * read, written or opened. Each is the operator's to fix while clients retry.
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)(_|$)/;

/** ioredis's own failures (the counters' Redis); every other unavailable store is the database. */
const REDIS_MESSAGES =
  /Connection is closed|Stream isn't writeable|Command timed out|Reached the max retries per request/;

/** Which store an unavailability error came from, for the metrics (`warden_database_errors_total`, `warden_redis_errors_total`). */
export function unavailableStore(error: unknown): "database" | "redis" | null {
  if (!isStoreUnavailable(error)) return null;
  const redis = (e: unknown, depth: number): boolean =>
    e instanceof Error &&
    depth <= 5 &&
    (e.name === "MaxRetriesPerRequestError" || REDIS_MESSAGES.test(e.message) || redis(e.cause, depth + 1));
  return redis(error, 0) ? "redis" : "database";
}

/** A write refused by a unique index (SQLite's extended code, PostgreSQL's 23505): a conflict, not a fault. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "23505";
}

export function isStoreUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  // A stored value this instance's WARDEN_SECRET does not open: the secret was rotated under it.
  if (error instanceof SealedValueError) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code) || SQLITE_UNAVAILABLE.test(code) || PG_UNAVAILABLE.test(code)) return true;
  }
  if (error.name === "MaxRetriesPerRequestError" || UNAVAILABLE_MESSAGES.test(error.message)) return true;
  if (error instanceof AggregateError && error.errors.some((e) => isStoreUnavailable(e, depth + 1))) return true;
  return isStoreUnavailable(error.cause, depth + 1);
}
