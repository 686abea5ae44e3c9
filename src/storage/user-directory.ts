import { sql, type Kysely } from "kysely";
import type { UserDirectory } from "../domain/admin/ports.js";
import type { UserStore } from "../domain/accounts/ports.js";
import type { DB } from "./database.js";

/** LIKE with its wildcards escaped, so `a_b` matches only `a_b...`. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Rows become records through the user store, so the two never disagree on a column. */
export function createUserDirectory(db: Kysely<DB>, users: Pick<UserStore, "findById">): UserDirectory {
  return {
    async search({ emailPrefix, status, afterEmail, limit }) {
      let query = db.selectFrom("users").select("id").orderBy("email").limit(limit);
      if (emailPrefix) query = query.where(sql<boolean>`email like ${likePrefix(emailPrefix)} escape '\\'`);
      if (afterEmail !== undefined) query = query.where("email", ">", afterEmail);
      if (status === "deleted") query = query.where("deleted_at", "is not", null);
      else query = query.where("deleted_at", "is", null);
      if (status === "active")
        query = query.where("deactivated_at", "is", null).where("email_confirmed_at", "is not", null);
      if (status === "inactive") query = query.where("deactivated_at", "is not", null);
      if (status === "unconfirmed") query = query.where("email_confirmed_at", "is", null);
      const ids = await query.execute();
      const found = await Promise.all(ids.map((row) => users.findById(row.id)));
      return found.filter((u) => u !== null);
    },
  };
}
