import type { Kysely } from "kysely";
import type { BackupCodeStore } from "../domain/ports.js";
import type { DB } from "./database.js";

export function createBackupCodeStore(db: Kysely<DB>): BackupCodeStore {
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
  };
}
