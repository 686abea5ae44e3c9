import { sql, type Kysely } from "kysely";
import type { SealedStore } from "../domain/security/secret-rotation.js";
import { TOTP } from "../domain/factors/totp/factor.js";
import type { DB, Engine } from "./database.js";

export function createSealedStore(db: Kysely<DB>, engine: Engine): SealedStore {
  const count = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows);
  return {
    reseal: (rewrite) =>
      db.transaction().execute(async (tx) => {
        // Two rotations at once (or one beside `warden keys rotate`, or a TOTP enrolment still
        // committing) wait for each other, so the second reads what the first sealed, does not
        // open it and changes nothing. SQLite's `begin immediate` already holds the write lock.
        if (engine === "postgres") {
          await sql`lock table signing_keys, factors in share row exclusive mode`.execute(tx);
        }
        const keys = await tx.selectFrom("signing_keys").select(["kid", "private_key_enc"]).execute();
        for (const key of keys) {
          await tx
            .updateTable("signing_keys")
            .set({ private_key_enc: rewrite.signingKey(key.private_key_enc) })
            .where("kid", "=", key.kid)
            .execute();
        }
        const totps = await tx.selectFrom("factors").select(["id", "secret_enc"]).where("type", "=", TOTP).execute();
        for (const factor of totps) {
          await tx
            .updateTable("factors")
            .set({ secret_enc: rewrite.totpSecret(factor.secret_enc) })
            .where("id", "=", factor.id)
            .execute();
        }
        const backupCodes = count(await tx.deleteFrom("backup_codes").executeTakeFirstOrThrow());
        const emailCodes = count(await tx.deleteFrom("email_otp_codes").executeTakeFirstOrThrow());
        return { signingKeys: keys.length, totpSecrets: totps.length, backupCodes, emailCodes };
      }),
  };
}
