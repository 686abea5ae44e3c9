import type { Kysely, Selectable } from "kysely";
import type { PasskeyRecord, PasskeyStore } from "../domain/factors/passkeys/ports.js";
import { toDate, type DB, type PasskeysTable, type RawReader } from "./database.js";

const toRecord = (row: Selectable<PasskeysTable>): PasskeyRecord => ({
  id: row.id,
  userId: row.user_id,
  credentialId: row.credential_id,
  publicKey: row.public_key,
  counter: Number(row.counter),
  transports: JSON.parse(row.transports) as string[],
  deviceType: row.device_type === "multiDevice" ? "multiDevice" : "singleDevice",
  isBackedUp: Number(row.backed_up) === 1,
  name: row.name,
  createdAt: new Date(Number(row.created_at)),
  lastUsedAt: toDate(row.last_used_at === null ? null : Number(row.last_used_at)),
});

/** `reader`: the hand-written read for `countForUser`, as for the factors (src/storage/factors.ts). */
export function createPasskeyStore(db: Kysely<DB>, reader?: RawReader): PasskeyStore {
  const countSql = reader && `select count(*) as n from passkeys where user_id = ${reader.param(1)}`;
  return {
    async insert(p) {
      // The unique index decides; `on conflict do nothing` keeps an enclosing PostgreSQL transaction usable.
      const row = await db
        .insertInto("passkeys")
        .values({
          id: p.id,
          user_id: p.userId,
          credential_id: p.credentialId,
          public_key: p.publicKey,
          counter: p.counter,
          transports: JSON.stringify(p.transports),
          device_type: p.deviceType,
          backed_up: p.isBackedUp ? 1 : 0,
          name: p.name,
          created_at: p.createdAt.getTime(),
          last_used_at: p.lastUsedAt?.getTime() ?? null,
        })
        .onConflict((oc) => oc.doNothing())
        .returning("id")
        .executeTakeFirst();
      return row !== undefined;
    },

    async listForUser(userId) {
      const rows = await db
        .selectFrom("passkeys")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toRecord);
    },

    async countForUser(userId) {
      if (reader && countSql) return Number((await reader.first<{ n: number }>(countSql, [userId]))?.n ?? 0);
      const row = await db
        .selectFrom("passkeys")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async findByCredentialId(credentialId) {
      const row = await db
        .selectFrom("passkeys")
        .selectAll()
        .where("credential_id", "=", credentialId)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async recordUse(id, expectedCounter, update, now) {
      const result = await db
        .updateTable("passkeys")
        .set({ counter: update.counter, backed_up: update.isBackedUp ? 1 : 0, last_used_at: now.getTime() })
        .where("id", "=", id)
        .where("counter", "=", expectedCounter)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async rename(userId, id, name) {
      const row = await db
        .updateTable("passkeys")
        .set({ name })
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .returningAll()
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async delete(userId, id) {
      const result = await db
        .deleteFrom("passkeys")
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },

    async deleteAllForUser(userId) {
      const result = await db.deleteFrom("passkeys").where("user_id", "=", userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
