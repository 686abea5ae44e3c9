import { CompiledQuery, type InferResult, type Kysely, type Migration, type Selectable } from "kysely";
import type { ApiKeyRecord, ApiKeyStore } from "../domain/api-keys/ports.js";
import { toDate, type DB } from "./database.js";
import { toRecord as userFromRow } from "./users.js";

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  token_prefix: string;
  /** JSON array of scope values. */
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

// The table joins the schema type here, beside its store and migration.
declare module "./database.js" {
  interface DB {
    api_keys: ApiKeysTable;
  }
}

export const apiKeysMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("api_keys")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("token_prefix", "text", (c) => c.notNull())
      .addColumn("scopes", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint")
      .addColumn("last_used_at", "bigint")
      .addColumn("revoked_at", "bigint")
      .execute();
    await db.schema.createIndex("api_keys_user_id").on("api_keys").column("user_id").execute();
  },
};

function toRecord(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    tokenHash: row.token_hash,
    tokenPrefix: row.token_prefix,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: new Date(row.created_at),
    expiresAt: toDate(row.expires_at),
    lastUsedAt: toDate(row.last_used_at),
    revokedAt: toDate(row.revoked_at),
  };
}

const toRow = (key: ApiKeyRecord): Selectable<ApiKeysTable> => ({
  id: key.id,
  user_id: key.userId,
  name: key.name,
  token_hash: key.tokenHash,
  token_prefix: key.tokenPrefix,
  scopes: JSON.stringify(key.scopes),
  created_at: key.createdAt.getTime(),
  expires_at: key.expiresAt?.getTime() ?? null,
  last_used_at: key.lastUsedAt?.getTime() ?? null,
  revoked_at: key.revokedAt?.getTime() ?? null,
});

/** A key and its owner by the key's hash: the one read on the path of every API-key request and introspection. */
const withOwnerQuery = (db: Kysely<DB>, tokenHash: string) =>
  db
    .selectFrom("api_keys")
    .innerJoin("users", "users.id", "api_keys.user_id")
    .selectAll("users")
    .select([
      "api_keys.id as key_id",
      "api_keys.name as key_name",
      "api_keys.token_prefix as key_token_prefix",
      "api_keys.scopes as key_scopes",
      "api_keys.created_at as key_created_at",
      "api_keys.expires_at as key_expires_at",
      "api_keys.last_used_at as key_last_used_at",
      "api_keys.revoked_at as key_revoked_at",
    ])
    .where("api_keys.token_hash", "=", tokenHash);
type WithOwnerRow = InferResult<ReturnType<typeof withOwnerQuery>>[number];

export function createApiKeyStore(db: Kysely<DB>): ApiKeyStore {
  // Compiled once, run with each hash as its one parameter: building this join per request took
  // a third of an introspection's CPU (measured with --cpu-prof).
  const withOwner = withOwnerQuery(db, "").compile();
  const keys = () => db.selectFrom("api_keys").selectAll();
  const revokeLive = (executor: Kysely<DB>, userId: string, id: string, now: Date) =>
    executor
      .updateTable("api_keys")
      .set({ revoked_at: now.getTime() })
      .where("id", "=", id)
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .executeTakeFirst();

  return {
    async insert(key) {
      await db.insertInto("api_keys").values(toRow(key)).execute();
    },

    async findWithOwner(tokenHash) {
      const { rows } = await db.executeQuery(CompiledQuery.raw(withOwner.sql, [tokenHash]));
      const row = rows[0] as WithOwnerRow | undefined;
      if (!row) return null;
      const key = toRecord({
        id: row.key_id,
        user_id: row.id,
        name: row.key_name,
        token_hash: tokenHash,
        token_prefix: row.key_token_prefix,
        scopes: row.key_scopes,
        created_at: row.key_created_at,
        expires_at: row.key_expires_at,
        last_used_at: row.key_last_used_at,
        revoked_at: row.key_revoked_at,
      });
      return { key, user: userFromRow(row) };
    },

    async findForUser(userId, id) {
      const row = await keys().where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async listForUser(userId) {
      const rows = await keys().where("user_id", "=", userId).orderBy("created_at", "desc").orderBy("id").execute();
      return rows.map(toRecord);
    },

    async update(userId, id, patch) {
      const set: Partial<ApiKeysTable> = {};
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.scopes !== undefined) set.scopes = JSON.stringify(patch.scopes);
      if (Object.keys(set).length === 0) return this.findForUser(userId, id);
      const row = await db
        .updateTable("api_keys")
        .set(set)
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .returningAll()
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async revoke(userId, id, now) {
      return Number((await revokeLive(db, userId, id, now)).numUpdatedRows) === 1;
    },

    async rotate(userId, id, successor, now) {
      return db.transaction().execute(async (trx) => {
        if (Number((await revokeLive(trx, userId, id, now)).numUpdatedRows) !== 1) return false;
        await trx.insertInto("api_keys").values(toRow(successor)).execute();
        return true;
      });
    },

    async revokeAllForUser(userId, now) {
      const result = await db
        .updateTable("api_keys")
        .set({ revoked_at: now.getTime() })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async touchLastUsed(id, now, staleBefore) {
      await db
        .updateTable("api_keys")
        .set({ last_used_at: now.getTime() })
        .where("id", "=", id)
        .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", staleBefore.getTime())]))
        .execute();
    },
  };
}
