import type { Kysely } from "kysely";
import type { EventQuery, SecurityEventSearch } from "../domain/admin/ports.js";
import type { Random } from "../domain/lib/ports.js";
import type { SecurityEventRecord, SecurityEventStore } from "../domain/security/ports.js";
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

    listForUser: (userId, limit, before) => querySecurityEvents(db, { userId, limit, before }),
  };
}

/** Events across users for audits (the admin API): the same query, other filters. */
export function createSecurityEventSearch(db: Kysely<DB>): SecurityEventSearch {
  return { search: (query) => querySecurityEvents(db, query) };
}

/** Newest first (ties by id), filtered; `before` is the position after which the page starts. */
async function querySecurityEvents(db: Kysely<DB>, filter: EventQuery): Promise<SecurityEventRecord[]> {
  const { userId, type, since, before, limit } = filter;
  let query = db
    .selectFrom("security_events")
    .selectAll()
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit);
  if (userId) query = query.where("user_id", "=", userId);
  if (type) query = query.where("type", "=", type);
  if (since) query = query.where("created_at", ">=", since.getTime());
  if (before) {
    const t = before.createdAt.getTime();
    query = query.where((eb) =>
      eb.or([eb("created_at", "<", t), eb.and([eb("created_at", "=", t), eb("id", "<", before.id)])]),
    );
  }
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    userId: row.user_id,
    type: row.type,
    ip: row.ip,
    userAgent: row.user_agent,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : undefined,
    createdAt: new Date(row.created_at),
  }));
}
