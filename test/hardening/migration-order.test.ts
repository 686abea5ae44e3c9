/** Helpers' migrations land on main in any order: a database already past a later prefix still takes an earlier one. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { migrateToLatest } from "../../src/storage/migrations.js";
import { openTestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: a database migrated without 0110 (but with 0200) takes 0110 when it arrives`,
    { skip },
    async () => {
      const t = await openTestDatabase(engine);
      try {
        const db = t.database.db;
        // As a build without 0110 left it: every other migration applied, no revoked_at column.
        await db
          .deleteFrom("kysely_migration" as never)
          .where("name" as never, "=", "0110_signing_key_revocation" as never)
          .execute();
        await db.schema.alterTable("signing_keys").dropColumn("revoked_at").execute();
        assert.deepEqual(await migrateToLatest(db), ["0110_signing_key_revocation"]);
        await db.selectFrom("signing_keys").select("revoked_at").execute();
      } finally {
        await t.close();
      }
    },
  );
}
