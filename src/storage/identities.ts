import { sql, type Kysely, type Selectable } from "kysely";
import type { IdentityRecord, IdentityStore, ProviderName } from "../domain/federation/ports.js";
import type { UserRecord } from "../domain/accounts/ports.js";
import type { Random } from "../domain/lib/ports.js";
import { allOrNothing, atomically, toDate, type DB, type Engine, type IdentitiesTable } from "./database.js";
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

/** Thrown inside allOrNothing to undo the store's own writes; turned into its "nothing written" answer. */
class Abort extends Error {}

/**
 * Linked identities. Works alone or inside the unit of work (`deps.transaction`): a taken
 * (provider, subject) is found by `insert ... on conflict do nothing`, never by a caught unique
 * violation, which on PostgreSQL would abort the caller's transaction; a write of several
 * statements that finds a conflict halfway is undone in a savepoint (allOrNothing).
 */
export function createIdentityStore(db: Kysely<DB>, engine: Engine, random: Random): IdentityStore {
  /** PostgreSQL: lock the user's row for the transaction. SQLite's `begin immediate` already serialises writers. */
  const lockUser = async (tx: Kysely<DB>, userId: string) => {
    if (engine === "postgres") await sql`select id from users where id = ${userId} for update`.execute(tx);
  };
  /** The new identity, or undefined when (provider, subject) is linked already: the unique index decides. */
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
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();

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
      const row = await insertIdentity(db, identity, now);
      return row ? toRecord(row) : null;
    },

    async touch(id, email, now) {
      await db.updateTable("identities").set({ last_used_at: now.getTime(), email }).where("id", "=", id).execute();
    },

    async createUserWithIdentity(user, identity, now) {
      try {
        return await allOrNothing(db, async (tx) => {
          const created: UserRecord | null = await createUserStore(tx, random).create(user, now);
          if (!created) return null;
          // The identity taken meanwhile: the user just created goes too.
          if (!(await insertIdentity(tx, { ...identity, userId: created.id }, now))) throw new Abort();
          return created;
        });
      } catch (error) {
        if (error instanceof Abort) return null;
        throw error;
      }
    },

    async takeOverUnconfirmed(userId, noPasswordHash, identity, now) {
      try {
        return await allOrNothing(db, async (tx) => {
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
          if (Number(taken.numUpdatedRows) !== 1) return false;
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
          // The identity taken meanwhile: everything above is undone.
          if (!(await insertIdentity(tx, { ...identity, userId }, now))) throw new Abort();
          return true;
        });
      } catch (error) {
        if (error instanceof Abort) return false;
        throw error;
      }
    },

    async unlink(userId, id, otherWaysIn) {
      return atomically(db, async (tx) => {
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
