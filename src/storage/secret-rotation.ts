import type { Kysely } from "kysely";
import type { SealedStore } from "../domain/security/secret-rotation.js";
import { TOTP } from "../domain/factors/totp/factor.js";
import type { DB } from "./database.js";

export function createSealedStore(db: Kysely<DB>): SealedStore {
  const count = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows);
  return {
    reseal: (rewrite) =>
      db.transaction().execute(async (tx) => {
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
