import type { Kysely } from "kysely";
import type { Random, SecurityEventStore } from "../domain/ports.js";
import type { DB } from "./database.js";

/** Append-only: this store has no update or delete. */
export function createSecurityEventStore(db: Kysely<DB>, random: Random): SecurityEventStore {
  return {
    async record(event, now) {
      await db
        .insertInto("security_events")
        .values({
          id: random.uuid(),
          user_id: event.userId,
          type: event.type,
          ip: event.ip,
          user_agent: event.userAgent,
          detail: event.detail ? JSON.stringify(event.detail) : null,
          created_at: now.getTime(),
        })
        .execute();
    },
  };
}
