import type { Kysely, Selectable } from "kysely";
import type { NewUser, ProfilePatch, UserRecord, UserStore } from "../domain/accounts/ports.js";
import type { Random } from "../domain/lib/ports.js";
import { allOrNothing, toDate, type DB, type UsersTable } from "./database.js";
import { isUniqueViolation } from "./faults.js";

export function toUserRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    passwordEpoch: Number(row.password_epoch),
    firstName: row.first_name,
    lastName: row.last_name,
    phone: row.phone,
    locale: row.locale,
    timezone: row.timezone,
    roles: JSON.parse(row.roles) as string[],
    preferences: JSON.parse(row.preferences) as Record<string, unknown>,
    emailConfirmedAt: toDate(row.email_confirmed_at),
    deactivatedAt: toDate(row.deactivated_at),
    deletedAt: toDate(row.deleted_at),
    lastConnectedAt: toDate(row.last_connected_at),
    passwordResetAt: toDate(row.password_reset_at),
    emailChangedAt: toDate(row.email_changed_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function createUserStore(db: Kysely<DB>, random: Random): UserStore {
  const users = () => db.selectFrom("users").selectAll();
  const update = (id: string, now: Date) =>
    db.updateTable("users").where("id", "=", id).set({ updated_at: now.getTime() });

  return {
    async findById(id) {
      const row = await users().where("id", "=", id).executeTakeFirst();
      return row ? toUserRecord(row) : null;
    },

    async findByEmail(email) {
      const row = await users().where("email", "=", email).executeTakeFirst();
      return row ? toUserRecord(row) : null;
    },

    async create(user: NewUser, now) {
      // `on conflict do nothing`, not a caught error: inside a unit of work on PostgreSQL a failed
      // insert would abort the whole transaction.
      const row = await db
        .insertInto("users")
        .values({
          id: random.uuid(),
          email: user.email,
          password_hash: user.passwordHash,
          password_epoch: 0,
          first_name: user.firstName ?? null,
          last_name: user.lastName ?? null,
          phone: null,
          locale: user.locale ?? null,
          timezone: null,
          roles: JSON.stringify(user.roles),
          preferences: "{}",
          email_confirmed_at: user.emailConfirmedAt?.getTime() ?? null,
          deactivated_at: user.deactivatedAt?.getTime() ?? null,
          deleted_at: null,
          last_connected_at: null,
          password_reset_at: null,
          email_changed_at: null,
          created_at: now.getTime(),
          updated_at: now.getTime(),
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      return row ? toUserRecord(row) : null;
    },

    async replacePasswordHash(id, expectedHash, newHash, now) {
      const result = await update(id, now)
        .set({ password_hash: newHash })
        .where("password_hash", "=", expectedHash)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async changePasswordHash(id, expectedHash, newHash, now) {
      const result = await update(id, now)
        .set((eb) => ({ password_hash: newHash, password_epoch: eb("password_epoch", "+", 1) }))
        .where("password_hash", "=", expectedHash)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async setPasswordHash(id, newHash, now) {
      await update(id, now)
        .set((eb) => ({ password_hash: newHash, password_epoch: eb("password_epoch", "+", 1) }))
        .execute();
    },

    async confirmPasswordEpoch(id, passwordEpoch, connectedAt) {
      // A write for its row lock (PostgreSQL) and its condition; it changes nothing unless a
      // session is being opened.
      const result = await db
        .updateTable("users")
        .set((eb) =>
          connectedAt ? { last_connected_at: connectedAt.getTime() } : { password_epoch: eb.ref("password_epoch") },
        )
        .where("id", "=", id)
        .where("password_epoch", "=", passwordEpoch)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async lock(id) {
      // A write that changes nothing takes the row lock on both engines (SQLite: the write lock).
      const row = await db
        .updateTable("users")
        .set((eb) => ({ updated_at: eb.ref("updated_at") }))
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row ? toUserRecord(row) : null;
    },

    async notePasswordReset(id, now) {
      await update(id, now).set({ password_reset_at: now.getTime() }).execute();
    },

    async setDeactivated(id, deactivatedAt, now) {
      await update(id, now)
        .set({ deactivated_at: deactivatedAt?.getTime() ?? null })
        .execute();
    },

    async confirmEmail(id, now) {
      const result = await update(id, now)
        .set({ email_confirmed_at: now.getTime() })
        .where("email_confirmed_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async changeEmail(id, email, now) {
      // `where not exists` answers the common case without an error; a registration of the
      // same address committing at the same moment still meets the unique index, inside a
      // savepoint so that on PostgreSQL the caller's transaction stays usable.
      try {
        return await allOrNothing(db, async (tx) => {
          const result = await tx
            .updateTable("users")
            .where("id", "=", id)
            .set((eb) => ({
              email,
              email_confirmed_at: eb.fn.coalesce("email_confirmed_at", eb.val(now.getTime())),
              email_changed_at: now.getTime(),
              updated_at: now.getTime(),
            }))
            .where(({ not, exists, selectFrom }) =>
              not(exists(selectFrom("users as other").select("other.id").where("other.email", "=", email))),
            )
            .executeTakeFirst();
          return Number(result.numUpdatedRows) === 1;
        });
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async updateProfile(id, patch: ProfilePatch, now) {
      const set: Partial<UsersTable> = {};
      if (patch.firstName !== undefined) set.first_name = patch.firstName;
      if (patch.lastName !== undefined) set.last_name = patch.lastName;
      if (patch.phone !== undefined) set.phone = patch.phone;
      if (patch.locale !== undefined) set.locale = patch.locale;
      if (patch.timezone !== undefined) set.timezone = patch.timezone;
      if (patch.preferences !== undefined) set.preferences = JSON.stringify(patch.preferences);
      await update(id, now).set(set).execute();
    },

    async markDeleted(id, now) {
      await update(id, now)
        .set((eb) => ({
          email: `deleted-${id}@invalid`,
          password_hash: "!",
          password_epoch: eb("password_epoch", "+", 1),
          first_name: null,
          last_name: null,
          phone: null,
          preferences: "{}",
          deleted_at: now.getTime(),
        }))
        .execute();
    },
  };
}
