import { sql, type Kysely, type Selectable } from "kysely";
import type { FactorRecord, FactorState, FactorStore, NewFactor } from "../domain/factors/ports.js";
import type { Random } from "../domain/lib/ports.js";
import { toDate, type DB, type FactorsTable, type RawReader } from "./database.js";

function toRecord(row: Selectable<FactorsTable>): FactorRecord {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type,
    state: row.state as FactorState,
    secretEnc: row.secret_enc,
    lastStep: row.last_step === null ? null : Number(row.last_step),
    createdAt: new Date(Number(row.created_at)),
    confirmedAt: toDate(row.confirmed_at),
    lastUsedAt: toDate(row.last_used_at),
  };
}

/**
 * `reader`: the hand-written read for `listForUser`, the factor check of every login and every
 * `GET /api/v1/me` (see RawReader); absent inside a unit of work, where Kysely reads through the
 * transaction.
 */
export function createFactorStore(db: Kysely<DB>, random: Random, reader?: RawReader): FactorStore {
  const listSql = reader && `select * from factors where user_id = ${reader.param(1)} order by created_at, id`;
  const row = (factor: NewFactor, state: FactorState, now: Date) => ({
    id: random.uuid(),
    user_id: factor.userId,
    type: factor.type,
    state,
    secret_enc: factor.secretEnc,
    last_step: null,
    created_at: now.getTime(),
    confirmed_at: state === "confirmed" ? now.getTime() : null,
    last_used_at: null,
  });

  return {
    async listForUser(userId) {
      if (reader && listSql) return (await reader.all<Selectable<FactorsTable>>(listSql, [userId])).map(toRecord);
      const rows = await db
        .selectFrom("factors")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toRecord);
    },

    async savePending(factor, now) {
      // The partial unique index factors_one_pending is the conflict target: a new id and secret
      // replace the old pending row, so a code for the replaced secret no longer confirms anything.
      const inserted = await db
        .insertInto("factors")
        .values(row(factor, "pending", now))
        .onConflict((oc) =>
          oc
            .columns(["user_id", "type"])
            // A literal, not a parameter: SQLite matches the conflict target to the index's own WHERE.
            .where("state", "=", sql.lit("pending"))
            .doUpdateSet((eb) => ({
              id: eb.ref("excluded.id"),
              secret_enc: eb.ref("excluded.secret_enc"),
              created_at: eb.ref("excluded.created_at"),
            })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(inserted);
    },

    async confirm(id, now) {
      const result = await db
        .updateTable("factors")
        .set({ state: "confirmed", confirmed_at: now.getTime() })
        .where("id", "=", id)
        .where("state", "=", "pending")
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("factors as other")
                .select("other.id")
                .whereRef("other.user_id", "=", "factors.user_id")
                .whereRef("other.type", "=", "factors.type")
                .where("other.state", "=", "confirmed"),
            ),
          ),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async advanceStep(id, step, now) {
      const result = await db
        .updateTable("factors")
        .set({ last_step: step, last_used_at: now.getTime() })
        .where("id", "=", id)
        .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async removeAll(userId, type) {
      let query = db.deleteFrom("factors").where("user_id", "=", userId);
      if (type !== undefined) query = query.where("type", "=", type);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
