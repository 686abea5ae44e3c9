import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import type { IdentityRecord, IdentityStore, ProviderName } from "../domain/federation/ports.js";
import type { UserRecord } from "../domain/accounts/ports.js";
import type { Random } from "../domain/lib/ports.js";
import { toDate, type DB, type Engine, type IdentitiesTable } from "./database.js";
import { createUserStore } from "./users.js";

const toRecord = (row: Selectable<IdentitiesTable>): IdentityRecord => ({
  id: row.id,
  userId: row.user_id,
  provider: row.provider as ProviderName,
  subject: row.subject,
  email: row.email,
  createdAt: new Date(row.created_at),
  lastUsedAt: toDate(row.last_used_at),
});

const isUniqueViolation = (error: unknown): boolean => {
  const e = error as { code?: string };
  return e?.code === "23505" || e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
};

/** Thrown inside a transaction to roll it back; turned into the store's "nothing written" answer. */
class Abort extends Error {}

export function createIdentityStore(db: Kysely<DB>, engine: Engine, random: Random): IdentityStore {
  /** PostgreSQL: lock the user's row for the transaction. SQLite's `begin immediate` already serialises writers. */
  const lockUser = async (tx: Transaction<DB>, userId: string) => {
    if (engine === "postgres") await sql`select id from users where id = ${userId} for update`.execute(tx);
  };
  const insertIdentity = (
    tx: Kysely<DB>,
    identity: { userId: string; provider: string; subject: string; email: string | null },
    now: Date,
  ) =>
    tx
      .insertInto("identities")
      .values({
        id: random.uuid(),
        user_id: identity.userId,
        provider: identity.provider,
        subject: identity.subject,
        email: identity.email,
        created_at: now.getTime(),
        last_used_at: now.getTime(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();

  return {
    async findBySubject(provider, subject) {
      const row = await db
        .selectFrom("identities")
        .selectAll()
        .where("provider", "=", provider)
        .where("subject", "=", subject)
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async listForUser(userId) {
      const rows = await db
        .selectFrom("identities")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toRecord);
    },

    async link(identity, now) {
      try {
        return toRecord(await insertIdentity(db, identity, now));
      } catch (error) {
        if (isUniqueViolation(error)) return null;
        throw error;
      }
    },

    async touch(id, email, now) {
      await db.updateTable("identities").set({ last_used_at: now.getTime(), email }).where("id", "=", id).execute();
    },

    async createUserWithIdentity(user, identity, now) {
      try {
        return await db.transaction().execute(async (tx) => {
          const created: UserRecord | null = await createUserStore(tx, random).create(user, now);
          if (!created) throw new Abort();
          await insertIdentity(tx, { ...identity, userId: created.id }, now);
          return created;
        });
      } catch (error) {
        if (error instanceof Abort || isUniqueViolation(error)) return null;
        throw error;
      }
    },

    async takeOverUnconfirmed(userId, noPasswordHash, identity, now) {
      try {
        return await db.transaction().execute(async (tx) => {
          const at = now.getTime();
          const taken = await tx
            .updateTable("users")
            // A new password epoch too: a login with the registrant's password opens no session after this.
            .set((eb) => ({
              password_hash: noPasswordHash,
              password_epoch: eb("password_epoch", "+", 1),
              email_confirmed_at: at,
              updated_at: at,
            }))
            .where("id", "=", userId)
            .where("email_confirmed_at", "is", null)
            .where("deleted_at", "is", null)
            .executeTakeFirst();
          if (Number(taken.numUpdatedRows) !== 1) throw new Abort();
          // Links mailed to the address stay the owner's, but nothing the registrant started may survive.
          await tx
            .updateTable("email_tokens")
            .set({ used_at: at })
            .where("user_id", "=", userId)
            .where("used_at", "is", null)
            .execute();
          await tx
            .updateTable("sessions")
            .set({ revoked_at: at, revoked_reason: "account_taken_over" })
            .where("user_id", "=", userId)
            .where("revoked_at", "is", null)
            .execute();
          await tx.deleteFrom("identities").where("user_id", "=", userId).execute();
          await insertIdentity(tx, { ...identity, userId }, now);
          return true;
        });
      } catch (error) {
        if (error instanceof Abort || isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async unlink(userId, id, otherWaysIn) {
      return db.transaction().execute(async (tx) => {
        await lockUser(tx, userId);
        const identities = await tx.selectFrom("identities").select("id").where("user_id", "=", userId).execute();
        if (!identities.some((i) => i.id === id)) return "not_found" as const;
        if (!otherWaysIn && identities.length <= 1) return "last_way_in" as const;
        await tx.deleteFrom("identities").where("id", "=", id).where("user_id", "=", userId).execute();
        return "deleted" as const;
      });
    },

    async deleteAllForUser(userId) {
      await db.deleteFrom("identities").where("user_id", "=", userId).execute();
    },
  };
}
