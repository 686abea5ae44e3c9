import type { Kysely } from "kysely";
import type { BackupCodeStore } from "../domain/factors/backup-codes/ports.js";
import type { Random } from "../domain/lib/ports.js";
import { atomically, type DB } from "./database.js";

export function createBackupCodeStore(db: Kysely<DB>, random: Random): BackupCodeStore {
  return {
    async countUnused(userId) {
      const row = await db
        .selectFrom("backup_codes")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("user_id", "=", userId)
        .where("used_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async replaceAll(userId, codeHashes, now) {
      await atomically(db, async (trx) => {
        await trx.deleteFrom("backup_codes").where("user_id", "=", userId).execute();
        if (codeHashes.length === 0) return;
        await trx
          .insertInto("backup_codes")
          .values(
            codeHashes.map((hash) => ({
              id: random.uuid(),
              user_id: userId,
              code_hash: hash,
              created_at: now.getTime(),
              used_at: null,
            })),
          )
          .execute();
      });
    },

    async consume(userId, codeHash, now) {
      const result = await db
        .updateTable("backup_codes")
        .set({ used_at: now.getTime() })
        .where("user_id", "=", userId)
        .where("code_hash", "=", codeHash)
        .where("used_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async deleteAll(userId) {
      await db.deleteFrom("backup_codes").where("user_id", "=", userId).execute();
    },
  };
}
