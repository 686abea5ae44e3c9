import { CompiledQuery, type Kysely, type Selectable } from "kysely";
import type {
  RefreshTokenRecord,
  RotationResult,
  SessionRecord,
  SessionStore,
  SuccessorToken,
} from "../domain/sessions/ports.js";
import {
  atomically,
  toDate,
  type DB,
  type Engine,
  ownedRowQuery,
  ownedRowReader,
  prefixedColumns,
  type RawReader,
  type RefreshTokensTable,
  type SessionsTable,
  type UsersTable,
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

const TOKEN_COLUMNS = [
  "token_hash",
  "session_id",
  "user_id",
  "created_at",
  "expires_at",
  "used_at",
  "successor_hash",
  "successor_enc",
] as const satisfies ReadonlyArray<keyof RefreshTokensTable>;

/**
 * One refresh on PostgreSQL ($1 the token's hash, $2 now, $3 and $4 the successor's hash and
 * sealed copy, $5 its expiry): lock the token's session; spend the token if it is live and its
 * session too; store the successor (never outliving the session) and stamp the session, both only
 * if the token was spent. Answers the session (`t_`), its user, and the spent token (`r_`, null
 * when nothing was spent).
 */
const ROTATE_ON_POSTGRES = `with locked as (
    select * from sessions
    where id = (select session_id from refresh_tokens where token_hash = $1)
    for update),
  spent as (
    update refresh_tokens set used_at = $2::bigint, successor_hash = $3::text, successor_enc = $4::text
    where token_hash = $1 and used_at is null and expires_at > $2::bigint
      and exists (select 1 from locked where locked.revoked_at is null and locked.expires_at > $2::bigint)
    returning *),
  successor as (
    insert into refresh_tokens (token_hash, session_id, user_id, created_at, expires_at)
    select $3::text, spent.session_id, spent.user_id, $2::bigint, least($5::bigint, locked.expires_at)
    from spent, locked
    returning token_hash),
  touched as (
    update sessions set last_used_at = $2::bigint where id in (select session_id from spent) returning id)
  select u.*, ${SESSION_COLUMNS.map((c) => `t.${c} as t_${c}`).join(", ")},
    ${TOKEN_COLUMNS.map((c) => `r.${c} as r_${c}`).join(", ")}
  from locked t join users u on u.id = t.user_id left join spent r on true`;

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
  // SQLite: the session a refresh token belongs to, with its user (the new access token's claims)
  // in the same statement, written out: Kysely's building and compiling of this join cost a
  // refresh more than the separate read of the user it replaces.
  const sessionOfToken = ownedRowQuery<Selectable<SessionsTable>>(
    "sessions",
    SESSION_COLUMNS,
    "t.id = (select session_id from refresh_tokens where token_hash = ?)",
  );
  const tokenRow = async (q: Kysely<DB>, tokenHash: string) => {
    const row = await q.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
    return row ? toTokenRecord(row) : null;
  };

  /**
   * PostgreSQL: the whole rotation in one statement, so one round trip instead of a transaction's
   * four. `locked` takes the session's row lock for the statement's length, so a logout or
   * deactivation (an UPDATE of that row) is strictly before this refresh (which then finds the
   * session revoked) or after it (and revokes the successor with the session); a concurrent
   * rotation of the same token waits on that lock and then finds the token spent (PostgreSQL
   * re-checks an UPDATE's conditions on the row's newest version). The user comes along,
   * unlocked: logins lock the user's row.
   */
  async function rotateOnPostgres(tokenHash: string, successor: SuccessorToken, t: number): Promise<RotationResult> {
    const { rows } = await db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(ROTATE_ON_POSTGRES, [
        tokenHash,
        t,
        successor.tokenHash,
        successor.successorEnc,
        successor.expiresAt.getTime(),
      ]),
    );
    const joined = rows[0];
    if (!joined) return { rotated: false, token: null, session: null, user: null };
    const session = toSessionRecord(prefixedColumns<Selectable<SessionsTable>>(joined, "t_", SESSION_COLUMNS));
    const user = toUserRecord(joined as Selectable<UsersTable>);
    if (joined.r_token_hash !== null) {
      return {
        rotated: true,
        token: toTokenRecord(prefixedColumns<Selectable<RefreshTokensTable>>(joined, "r_", TOKEN_COLUMNS)),
        session,
        user,
      };
    }
    // Not spent here. Read after the statement, which waited for any rotation that held the
    // session, so the token is seen as that rotation left it (a racer's successor included).
    return { rotated: false, token: await tokenRow(db, tokenHash), session, user };
  }

  /** SQLite: `begin immediate` already serialises every writer; in-process statements cost no round trip. */
  function rotateOnSqlite(tokenHash: string, successor: SuccessorToken, t: number): Promise<RotationResult> {
    return atomically(db, async (trx) => {
      const { rows } = await trx.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(sessionOfToken.sql, [tokenHash]),
      );
      if (!rows[0]) return { rotated: false, token: null, session: null, user: null };
      const found = sessionOfToken.split(rows[0]);
      const session = toSessionRecord(found.row);
      const user = toUserRecord(found.owner);

      // The one conditional write that spends the token: the database, not a prior read, decides.
      const spent = await trx
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
        .returningAll()
        .executeTakeFirst();
      if (!spent) return { rotated: false, token: await tokenRow(trx, tokenHash), session, user };
      await trx
        .insertInto("refresh_tokens")
        .values({
          token_hash: successor.tokenHash,
          session_id: session.id,
          user_id: session.userId,
          created_at: t,
          expires_at: Math.min(successor.expiresAt.getTime(), session.expiresAt.getTime()),
          used_at: null,
          successor_hash: null,
          successor_enc: null,
        })
        .execute();
      await trx.updateTable("sessions").set({ last_used_at: t }).where("id", "=", session.id).execute();
      return { rotated: true, token: toTokenRecord(spent), session, user };
    });
  }

  return {
    rotateRefreshToken(tokenHash, successor, now) {
      const t = now.getTime();
      return engine === "postgres"
        ? rotateOnPostgres(tokenHash, successor, t)
        : rotateOnSqlite(tokenHash, successor, t);
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
