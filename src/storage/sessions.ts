import { CompiledQuery, sql, type Kysely, type QueryCreator, type Selectable } from "kysely";
import type { RefreshTokenRecord, SessionRecord, SessionStore } from "../domain/sessions/ports.js";
import {
  atomically,
  toDate,
  type DB,
  type Engine,
  ownedRowQuery,
  ownedRowReader,
  type RawReader,
  type RefreshTokensTable,
  type SessionsTable,
} from "./database.js";
import { toUserRecord } from "./users.js";

const SESSION_COLUMNS = [
  "id",
  "user_id",
  "created_at",
  "last_used_at",
  "expires_at",
  "ip",
  "user_agent",
  "revoked_at",
  "revoked_reason",
  "auth_time",
  "amr",
] as const satisfies ReadonlyArray<keyof SessionsTable>;

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
    authTime: new Date(Number(row.auth_time ?? row.created_at)),
    amr: row.amr ? (JSON.parse(row.amr) as string[]) : [],
  };
}

function toTokenRecord(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    userId: row.user_id,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    usedAt: toDate(row.used_at),
    successorHash: row.successor_hash,
    successorEnc: row.successor_enc,
  };
}

/**
 * `reader` (outside a transaction) serves findSessionWithUser in one hand-written query; inside a
 * transaction the same answer comes from two Kysely reads on the transaction's connection.
 */
export function createSessionStore(db: Kysely<DB>, engine: Engine, reader?: RawReader): SessionStore {
  const sessionWithUser =
    reader && ownedRowReader<Selectable<SessionsTable>>(reader, "sessions", SESSION_COLUMNS, "id");
  // The session a refresh token belongs to, with its user (the new access token's claims) in the
  // same statement, written out: Kysely's building and compiling of this join cost a refresh on
  // SQLite more than the separate read of the user it replaces. PostgreSQL: the session row is
  // locked (`of t`), the user's is not, since logins lock it.
  const lockedSession = ownedRowQuery<Selectable<SessionsTable>>(
    "sessions",
    SESSION_COLUMNS,
    engine === "postgres"
      ? "t.id = (select session_id from refresh_tokens where token_hash = $1) for update of t"
      : "t.id = (select session_id from refresh_tokens where token_hash = ?)",
  );
  return {
    async rotateRefreshToken(tokenHash, successor, now) {
      const t = now.getTime();
      return atomically(db, async (trx) => {
        // The token's session, found through the token in the same statement. PostgreSQL: hold the
        // session row until commit, so a logout or deactivation (an UPDATE of that row) is strictly
        // before this refresh (which then fails) or after it (and revokes the successor too).
        // SQLite: `begin immediate` already serialises every writer.
        const { rows } = await trx.executeQuery<Record<string, unknown>>(
          CompiledQuery.raw(lockedSession.sql, [tokenHash]),
        );
        if (!rows[0]) return { rotated: false, token: null, session: null, user: null };
        const locked = lockedSession.split(rows[0]);
        const session = toSessionRecord(locked.row);
        const user = toUserRecord(locked.owner);

        // The one conditional write that spends the token: the database, not a prior read, decides.
        const spend = (q: QueryCreator<DB>) =>
          q
            .updateTable("refresh_tokens")
            .set({ used_at: t, successor_hash: successor.tokenHash, successor_enc: successor.successorEnc })
            .where("token_hash", "=", tokenHash)
            .where("used_at", "is", null)
            .where("expires_at", ">", t)
            .where((eb) =>
              eb.exists(
                eb
                  .selectFrom("sessions")
                  .select("sessions.id")
                  .whereRef("sessions.id", "=", "refresh_tokens.session_id")
                  .where("sessions.revoked_at", "is", null)
                  .where("sessions.expires_at", ">", t),
              ),
            )
            .returningAll();
        const successorRow = {
          token_hash: successor.tokenHash,
          session_id: session.id,
          user_id: session.userId,
          created_at: t,
          expires_at: Math.min(successor.expiresAt.getTime(), session.expiresAt.getTime()),
        };
        let spent: Selectable<RefreshTokensTable> | undefined;
        if (engine === "postgres") {
          // One statement: the successor and the session's last use are written only if the token
          // was spent (a round trip to the server costs more than the statement).
          spent = await trx
            .with("spent", spend)
            .with("successor", (q) =>
              q
                .insertInto("refresh_tokens")
                .columns(["token_hash", "session_id", "user_id", "created_at", "expires_at"])
                .expression((eb) =>
                  eb
                    .selectFrom("spent")
                    .select([
                      sql<string>`${successorRow.token_hash}::text`.as("token_hash"),
                      "spent.session_id",
                      "spent.user_id",
                      sql<number>`${successorRow.created_at}::bigint`.as("created_at"),
                      sql<number>`${successorRow.expires_at}::bigint`.as("expires_at"),
                    ]),
                )
                .returning("token_hash"),
            )
            .with("touched", (q) =>
              q
                .updateTable("sessions")
                .set({ last_used_at: t })
                .where("id", "in", (eb) => eb.selectFrom("spent").select("spent.session_id"))
                .returning("id"),
            )
            .selectFrom("spent")
            .selectAll()
            .executeTakeFirst();
        } else {
          spent = await spend(trx).executeTakeFirst();
          if (spent) {
            await trx
              .insertInto("refresh_tokens")
              .values({ ...successorRow, used_at: null, successor_hash: null, successor_enc: null })
              .execute();
            await trx.updateTable("sessions").set({ last_used_at: t }).where("id", "=", session.id).execute();
          }
        }
        if (!spent) {
          const row = await trx
            .selectFrom("refresh_tokens")
            .selectAll()
            .where("token_hash", "=", tokenHash)
            .executeTakeFirst();
          return { rotated: false, token: row ? toTokenRecord(row) : null, session, user };
        }
        return { rotated: true, token: toTokenRecord(spent), session, user };
      });
    },

    async findRefreshToken(tokenHash) {
      const row = await db
        .selectFrom("refresh_tokens")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      return row ? toTokenRecord(row) : null;
    },

    async listLiveSessions(userId, now, activeSince) {
      const rows = await db
        .selectFrom("sessions")
        .selectAll()
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .where("last_used_at", ">", activeSince.getTime())
        .orderBy("last_used_at", "desc")
        .orderBy("id")
        .execute();
      return rows.map(toSessionRecord);
    },

    async createSession(session, token) {
      await atomically(db, async (trx) => {
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
            auth_time: session.authTime.getTime(),
            amr: JSON.stringify(session.amr),
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

    async findSessionWithUser(id) {
      if (sessionWithUser && !db.isTransaction) {
        const found = await sessionWithUser(id);
        return found && { session: toSessionRecord(found.row), user: toUserRecord(found.owner) };
      }
      const session = await db.selectFrom("sessions").selectAll().where("id", "=", id).executeTakeFirst();
      const user =
        session && (await db.selectFrom("users").selectAll().where("id", "=", session.user_id).executeTakeFirst());
      return session && user ? { session: toSessionRecord(session), user: toUserRecord(user) } : null;
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

    async recentSessionIps(userId, since, limit) {
      const rows = await db
        .selectFrom("sessions")
        .select("ip")
        .where("user_id", "=", userId)
        .where("ip", "is not", null)
        .where("created_at", ">=", since.getTime())
        .groupBy("ip")
        .orderBy((eb) => eb.fn.max("created_at"), "desc")
        .limit(limit)
        .execute();
      return rows.map((r) => r.ip!);
    },
  };
}
