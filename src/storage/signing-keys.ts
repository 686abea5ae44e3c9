import { sql, type Kysely } from "kysely";
import type { KeyRevocation, SigningKeyRecord, SigningKeyStore } from "../domain/sessions/ports.js";
import { toDate, type DB, type Engine } from "./database.js";

export function createSigningKeyStore(db: Kysely<DB>, engine: Engine): SigningKeyStore {
  const toRow = (key: SigningKeyRecord) => ({
    kid: key.kid,
    public_jwk: key.publicJwk,
    private_key_enc: key.privateKeyEnc,
    created_at: key.createdAt.getTime(),
    retired_at: key.retiredAt?.getTime() ?? null,
    revoked_at: key.revokedAt?.getTime() ?? null,
  });

  /** Serialises key changes across processes: SQLite's `begin immediate` already holds the write lock. */
  const lockKeys = async (trx: Kysely<DB>) => {
    if (engine === "postgres") await sql`lock table signing_keys in share row exclusive mode`.execute(trx);
  };

  return {
    async list() {
      const rows = await db.selectFrom("signing_keys").selectAll().orderBy("created_at").orderBy("kid").execute();
      return rows.map((row) => ({
        kid: row.kid,
        publicJwk: row.public_jwk,
        privateKeyEnc: row.private_key_enc,
        createdAt: new Date(row.created_at),
        retiredAt: toDate(row.retired_at),
        revokedAt: toDate(row.revoked_at),
      }));
    },

    async insertFirst(key) {
      return db.transaction().execute(async (trx) => {
        await lockKeys(trx);
        const existing = await trx.selectFrom("signing_keys").select("kid").limit(1).executeTakeFirst();
        if (existing) return false;
        await trx.insertInto("signing_keys").values(toRow(key)).execute();
        return true;
      });
    },

    async rotate(key, now) {
      await db.transaction().execute(async (trx) => {
        await lockKeys(trx);
        await trx
          .updateTable("signing_keys")
          .set({ retired_at: now.getTime() })
          .where("retired_at", "is", null)
          .execute();
        await trx.insertInto("signing_keys").values(toRow(key)).execute();
      });
    },

    async revoke(kid, now, replacement) {
      return db.transaction().execute(async (trx): Promise<KeyRevocation> => {
        await lockKeys(trx);
        const row = await trx
          .selectFrom("signing_keys")
          .select(["retired_at", "revoked_at"])
          .where("kid", "=", kid)
          .executeTakeFirst();
        if (!row) return { outcome: "unknown" };
        if (row.revoked_at !== null) return { outcome: "already_revoked" };
        const isSigner = row.retired_at === null;
        if (isSigner && !replacement) return { outcome: "needs_replacement" };
        await trx
          .updateTable("signing_keys")
          .set({ revoked_at: now.getTime(), retired_at: row.retired_at ?? now.getTime() })
          .where("kid", "=", kid)
          .execute();
        if (isSigner) await trx.insertInto("signing_keys").values(toRow(replacement!)).execute();
        return { outcome: "revoked", replacedBy: isSigner ? replacement!.kid : null };
      });
    },

    async deleteRetiredBefore(cutoff) {
      const result = await db
        .deleteFrom("signing_keys")
        .where("retired_at", "is not", null)
        .where("retired_at", "<", cutoff.getTime())
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
