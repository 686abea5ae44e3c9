import type { DomainDeps, RequestContext } from "./context.js";
import type { UserRecord } from "./ports.js";

/** Appends to the user's security record (login success/failure, reuse detected, revocations...). */
export async function recordEvent(
  deps: Pick<DomainDeps, "events" | "clock">,
  user: UserRecord | { id: string },
  type: string,
  ctx: RequestContext,
  detail?: Record<string, unknown>,
): Promise<void> {
  await deps.events.record({ userId: user.id, type, ip: ctx.ip, userAgent: ctx.userAgent, detail }, deps.clock.now());
}
