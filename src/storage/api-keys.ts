import type { Kysely, Migration, Selectable } from "kysely";
import type { ApiKeyRecord, ApiKeyStore } from "../domain/api-keys/ports.js";
import { ownedRowReader, toDate, type DB, type RawReader } from "./database.js";
import { toUserRecord } from "./users.js";

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

const KEY_COLUMNS = [
  "id",
  "user_id",
  "name",
  "token_hash",
  "token_prefix",
  "scopes",
  "created_at",
  "expires_at",
  "last_used_at",
  "revoked_at",
] as const satisfies ReadonlyArray<keyof ApiKeysTable>;

export function createApiKeyStore(db: Kysely<DB>, reader: RawReader): ApiKeyStore {
  const keys = () => db.selectFrom("api_keys").selectAll();
  // The one read on the path of every API-key request and introspection, past Kysely.
  const keyWithOwner = ownedRowReader<Selectable<ApiKeysTable>>(reader, "api_keys", KEY_COLUMNS, "token_hash");
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
      const found = await keyWithOwner(tokenHash);
      return found && { key: toRecord(found.row), user: toUserRecord(found.owner) };
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
