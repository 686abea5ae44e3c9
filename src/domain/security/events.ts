import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import type { EventCursor } from "./ports.js";

/** Appends to the user's security record (login success/failure, reuse detected, revocations...). */
export async function recordEvent(
  deps: Pick<DomainDeps, "events" | "clock">,
  user: UserRecord | { id: string },
  type: string,
  ctx: RequestContext,
  detail?: Record<string, unknown>,
): Promise<void> {
  await deps.events.record({ userId: user.id, type, ip: ctx.ip, userAgent: ctx.userAgent, detail }, deps.clock.now());
  ctx.noteEvent?.(type);
}

export interface EventView {
  id: string;
  type: string;
  createdAt: string;
  ip: string | null;
  userAgent: string | null;
}

export interface EventPage {
  data: EventView[];
  /** Cursor for the next (older) page; null on the last page. */
  next: string | null;
}

export const EVENTS_PAGE_DEFAULT = 20;
export const EVENTS_PAGE_MAX = 100;

/** Opaque to clients: `<createdAt ms>.<id>` in base64url, the position after which the next page starts. */
export const encodeCursor = (event: { createdAt: Date; id: string }): string =>
  Buffer.from(`${event.createdAt.getTime()}.${event.id}`).toString("base64url");

export function decodeCursor(cursor: string): EventCursor {
  const match = /^(\d{1,15})\.([A-Za-z0-9-]{1,64})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw new AuthError("VALIDATION_FAILED", { errors: { before: ["This value is not a valid cursor."] } });
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}

/** GET /api/v1/me/security-events: the user's own record, newest first, `limit` per page. */
export async function listEvents(
  deps: Pick<DomainDeps, "events">,
  userId: string,
  page: { limit?: number; before?: string },
): Promise<EventPage> {
  const limit = Math.min(Math.max(page.limit ?? EVENTS_PAGE_DEFAULT, 1), EVENTS_PAGE_MAX);
  // One more than asked tells whether another page exists without a count query.
  const rows = await deps.events.listForUser(userId, limit + 1, page.before ? decodeCursor(page.before) : undefined);
  const data = rows
    .slice(0, limit)
    .map((e) => ({ id: e.id, type: e.type, createdAt: e.createdAt.toISOString(), ip: e.ip, userAgent: e.userAgent }));
  return { data, next: rows.length > limit ? encodeCursor(rows[limit - 1]!) : null };
}
