import type { Kysely } from "kysely";
import type { Clock } from "../domain/lib/ports.js";
import type { HashClassRegistry } from "../hashing/passwords.js";
import type { DB } from "./database.js";

/** The kinds of legacy password hash imported; hashing/passwords.ts times one of each. */
export function createHashClassRegistry(db: Kysely<DB>, clock: Clock): HashClassRegistry {
  return {
    async list() {
      const rows = await db.selectFrom("legacy_hash_classes").select(["name", "sample_hash"]).orderBy("name").execute();
      return rows.map((r) => ({ name: r.name, sample: r.sample_hash }));
    },
    async add(name, sample) {
      await db
        .insertInto("legacy_hash_classes")
        .values({ name, sample_hash: sample, created_at: clock.now().getTime() })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
    },
  };
}
