import type { Kysely } from "kysely";
import type { SecurityEventSearch } from "../domain/admin/ports.js";
import type { DB } from "./database.js";

export function createSecurityEventSearch(db: Kysely<DB>): SecurityEventSearch {
  return {
    async search({ userId, type, since, before, limit }) {
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
    },
  };
}
