import type { Kysely, Selectable } from "kysely";
import type { SessionRecord, SessionStore } from "../domain/ports.js";
import { toDate, type DB, type SessionsTable } from "./database.js";

export function toSessionRecord(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: new Date(row.created_at),
    lastUsedAt: new Date(row.last_used_at),
    expiresAt: new Date(row.expires_at),
    ip: row.ip,
    userAgent: row.user_agent,
    revokedAt: toDate(row.revoked_at),
    revokedReason: row.revoked_reason,
  };
}

export function createSessionStore(db: Kysely<DB>): SessionStore {
  return {
    async createSession(session, token) {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto("sessions")
          .values({
            id: session.id,
            user_id: session.userId,
            created_at: session.createdAt.getTime(),
            last_used_at: session.lastUsedAt.getTime(),
            expires_at: session.expiresAt.getTime(),
            ip: session.ip,
            user_agent: session.userAgent,
            revoked_at: null,
            revoked_reason: null,
          })
          .execute();
        await trx
          .insertInto("refresh_tokens")
          .values({
            token_hash: token.tokenHash,
            session_id: session.id,
            user_id: session.userId,
            created_at: session.createdAt.getTime(),
            expires_at: token.expiresAt.getTime(),
            used_at: null,
            successor_hash: null,
            successor_enc: null,
          })
          .execute();
      });
    },

    async findSession(id) {
      const row = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
      return row ? toSessionRecord(row) : null;
    },

    async revokeSession(id, reason, now) {
      const result = await db
        .updateTable("sessions")
        .set({ revoked_at: now.getTime(), revoked_reason: reason })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async revokeUserSessions(userId, reason, now, exceptSessionId) {
      let query = db
        .updateTable("sessions")
        .set({ revoked_at: now.getTime(), revoked_reason: reason })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null);
      if (exceptSessionId) query = query.where("id", "!=", exceptSessionId);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async hasSessionFromIp(userId, ip, since) {
      const row = await db
        .selectFrom("sessions")
        .select("id")
        .where("user_id", "=", userId)
        .where("ip", "=", ip)
        .where("created_at", ">=", since.getTime())
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
