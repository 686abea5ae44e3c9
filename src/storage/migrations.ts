import crypto from "node:crypto";
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import { apiKeysMigration } from "./api-keys.js";

/**
 * Migrations in order. Append new ones; never edit one that has shipped.
 * Column types are chosen to mean the same on SQLite and PostgreSQL: text, integer, bigint.
 */
const migrations: Record<string, Migration> = {
  "0001_initial": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("users")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("email", "text", (c) => c.notNull().unique())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("first_name", "text")
        .addColumn("last_name", "text")
        .addColumn("phone", "text")
        .addColumn("locale", "text")
        .addColumn("timezone", "text")
        .addColumn("roles", "text", (c) => c.notNull())
        .addColumn("preferences", "text", (c) => c.notNull())
        .addColumn("email_confirmed_at", "bigint")
        .addColumn("deactivated_at", "bigint")
        .addColumn("deleted_at", "bigint")
        .addColumn("totp_secret_enc", "text")
        .addColumn("totp_pending_secret_enc", "text")
        .addColumn("totp_enabled_at", "bigint")
        .addColumn("totp_last_step", "bigint")
        .addColumn("last_connected_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("signing_keys")
        .addColumn("kid", "text", (c) => c.primaryKey())
        .addColumn("public_jwk", "text", (c) => c.notNull())
        .addColumn("private_key_enc", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("retired_at", "bigint")
        .execute();

      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("last_used_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("ip", "text")
        .addColumn("user_agent", "text")
        .addColumn("revoked_at", "bigint")
        .addColumn("revoked_reason", "text")
        .execute();
      await db.schema.createIndex("sessions_user_id").on("sessions").column("user_id").execute();

      await db.schema
        .createTable("refresh_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
        .addColumn("user_id", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .addColumn("successor_hash", "text")
        .addColumn("successor_enc", "text")
        .execute();
      await db.schema.createIndex("refresh_tokens_session_id").on("refresh_tokens").column("session_id").execute();

      await db.schema
        .createTable("mfa_challenges")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("failed_attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("consumed_at", "bigint")
        .addColumn("ip", "text")
        .addColumn("user_agent", "text")
        .execute();
      await db.schema.createIndex("mfa_challenges_user_id").on("mfa_challenges").column("user_id").execute();

      await db.schema
        .createTable("backup_codes")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("code_hash", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .addUniqueConstraint("backup_codes_user_code", ["user_id", "code_hash"])
        .execute();

      await db.schema
        .createTable("email_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("purpose", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .execute();
      await db.schema
        .createIndex("email_tokens_user_purpose")
        .on("email_tokens")
        .columns(["user_id", "purpose"])
        .execute();

      await db.schema
        .createTable("security_events")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text")
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("ip", "text")
        .addColumn("user_agent", "text")
        .addColumn("detail", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("security_events_user_created")
        .on("security_events")
        .columns(["user_id", "created_at"])
        .execute();
    },
  },
  /**
   * Helper C1 (hold under attack): the kinds of legacy hash imported, so every instance can time
   * one verification of each at start and stretch failed logins to the slowest (docs/threat-model.md).
   */
  "0100_legacy_hash_classes": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("legacy_hash_classes")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("sample_hash", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();
    },
  },
  /** Issue 10: a revoked signing key leaves the JWKS and verification at once, on every instance. */
  "0110_signing_key_revocation": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("signing_keys").addColumn("revoked_at", "bigint").execute();
    },
  },
  /** Passkeys, their single-use WebAuthn challenges, step-up challenges and verification tokens (issue 11). */
  "0200_passkeys_step_up": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("passkeys")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        // base64url of the raw credential ID; unique across users, so one authenticator key has one owner.
        .addColumn("credential_id", "text", (c) => c.notNull().unique())
        .addColumn("public_key", "text", (c) => c.notNull())
        .addColumn("counter", "bigint", (c) => c.notNull())
        .addColumn("transports", "text", (c) => c.notNull())
        .addColumn("device_type", "text", (c) => c.notNull())
        .addColumn("backed_up", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("last_used_at", "bigint")
        .execute();
      await db.schema.createIndex("passkeys_user_id").on("passkeys").column("user_id").execute();

      await db.schema
        .createTable("webauthn_challenges")
        .addColumn("challenge_hash", "text", (c) => c.primaryKey())
        .addColumn("ceremony", "text", (c) => c.notNull())
        .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
        .addColumn("binding_hash", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("consumed_at", "bigint")
        .execute();
      await db.schema
        .createIndex("webauthn_challenges_expires_at")
        .on("webauthn_challenges")
        .column("expires_at")
        .execute();

      await db.schema
        .createTable("step_up_challenges")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("failed_attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("consumed_at", "bigint")
        .execute();
      await db.schema.createIndex("step_up_challenges_user_id").on("step_up_challenges").column("user_id").execute();

      await db.schema
        .createTable("verification_tokens")
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("session_id", "text", (c) => c.notNull().references("sessions.id").onDelete("cascade"))
        .addColumn("method", "text", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .execute();
      await db.schema.createIndex("verification_tokens_user_id").on("verification_tokens").column("user_id").execute();
    },
  },
  // Google/Apple sign-in and email codes (issue 11): linked identities, one pending email code per
  // user, and when the password was reset or the email changed (email codes are withheld after).
  "0300_federation_and_email_codes": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("identities")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("provider", "text", (c) => c.notNull())
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("email", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("last_used_at", "bigint")
        .addUniqueConstraint("identities_provider_subject", ["provider", "subject"])
        .execute();
      await db.schema.createIndex("identities_user_id").on("identities").column("user_id").execute();

      await db.schema
        .createTable("email_otp_codes")
        .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
        .addColumn("challenge_hash", "text", (c) => c.notNull())
        .addColumn("code_hash", "text", (c) => c.notNull())
        .addColumn("sent_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .execute();

      await db.schema.alterTable("users").addColumn("password_reset_at", "bigint").execute();
      await db.schema.alterTable("users").addColumn("email_changed_at", "bigint").execute();
    },
  },
  // API keys (issue 13): the table lives beside its store in api-keys.ts. It depends on nothing
  // after 0300, so a database already past 0520 takes it as well (unordered migrations are allowed).
  "0400_api_keys": apiKeysMigration,
  // Issue 9 (unit of work, factor model, how sessions were authenticated). Numbered after 0300 so
  // that a fresh database and one already at 0300 apply them in the same order.
  /** A password epoch, so a login that verified the old password cannot open a session after a reset. */
  "0500_password_epoch": {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable("users")
        .addColumn("password_epoch", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  /**
   * TOTP authenticators get the `factors` table. Every TOTP secret on `users` (in use or pending)
   * is carried over as it is (still encrypted under the same SecretBox purpose), with its last
   * accepted step, so users keep their authenticator; then the columns go. Passkeys keep their own
   * table (0200): the SecondFactor registry, not one table, is what makes them one model.
   */
  "0510_factors": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("factors")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("secret_enc", "text", (c) => c.notNull())
        .addColumn("last_step", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("confirmed_at", "bigint")
        .addColumn("last_used_at", "bigint")
        .execute();
      await db.schema.createIndex("factors_user_id").on("factors").column("user_id").execute();
      // One enrolment in progress per type: a second setup replaces the first (FactorStore.savePending).
      await db.schema
        .createIndex("factors_one_pending")
        .on("factors")
        .columns(["user_id", "type"])
        .unique()
        .where(sql.ref("state"), "=", "pending")
        .execute();
      // One confirmed factor per type and user, whatever races (FactorStore.confirm).
      await db.schema
        .createIndex("factors_one_confirmed")
        .on("factors")
        .columns(["user_id", "type"])
        .unique()
        .where(sql.ref("state"), "=", "confirmed")
        .execute();

      const users = await db
        .selectFrom("users")
        .select(["id", "totp_secret_enc", "totp_pending_secret_enc", "totp_enabled_at", "totp_last_step", "updated_at"])
        .where((eb) => eb.or([eb("totp_secret_enc", "is not", null), eb("totp_pending_secret_enc", "is not", null)]))
        .execute();
      for (const user of users) {
        if (user.totp_secret_enc && user.totp_enabled_at !== null) {
          await db
            .insertInto("factors")
            .values({
              id: crypto.randomUUID(),
              user_id: user.id,
              type: "totp",
              state: "confirmed",
              secret_enc: user.totp_secret_enc,
              last_step: user.totp_last_step,
              created_at: Number(user.totp_enabled_at),
              confirmed_at: Number(user.totp_enabled_at),
            })
            .execute();
        }
        if (user.totp_pending_secret_enc) {
          await db
            .insertInto("factors")
            .values({
              id: crypto.randomUUID(),
              user_id: user.id,
              type: "totp",
              state: "pending",
              secret_enc: user.totp_pending_secret_enc,
              // The step guard was the user's, not the secret's: a code already used stays used.
              last_step: user.totp_last_step,
              created_at: Number(user.updated_at),
            })
            .execute();
        }
      }
      for (const column of ["totp_secret_enc", "totp_pending_secret_enc", "totp_enabled_at", "totp_last_step"]) {
        await db.schema.alterTable("users").dropColumn(column).execute();
      }
    },
  },
  /**
   * Sessions record when and how the user authenticated; a login waiting for its second factor
   * records its first. Older sessions: at their creation (a refresh never re-authenticated), by
   * methods not recorded (amr null).
   */
  "0520_session_authentication": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("sessions").addColumn("auth_time", "bigint").execute();
      await db.schema.alterTable("sessions").addColumn("amr", "text").execute();
      await db
        .updateTable("sessions")
        .set((eb: any) => ({ auth_time: eb.ref("created_at") }))
        .execute();
      await db.schema.alterTable("mfa_challenges").addColumn("amr", "text").execute();
    },
  },
  /**
   * The retention purge (src/storage/retention.ts) finds old rows by these columns, and deleting
   * a session or a user finds the rows that reference it by the last three. Without them each
   * purge read whole tables, and every deleted session read all of step_up_challenges and
   * verification_tokens; on SQLite a DELETE holds the write lock while it reads, so logins and
   * refreshes waited behind it. Each index costs a B-tree insert per row written.
   * test/contract/schema-indexes.test.ts keeps it so.
   */
  "0530_purge_indexes": {
    async up(db: Kysely<any>) {
      const indexes: Array<[table: string, column: string]> = [
        ["sessions", "expires_at"],
        ["sessions", "revoked_at"],
        ["refresh_tokens", "expires_at"],
        ["api_keys", "expires_at"],
        ["api_keys", "revoked_at"],
        ["mfa_challenges", "expires_at"],
        ["email_tokens", "expires_at"],
        ["step_up_challenges", "expires_at"],
        ["verification_tokens", "expires_at"],
        ["security_events", "created_at"],
        ["step_up_challenges", "session_id"],
        ["verification_tokens", "session_id"],
        ["webauthn_challenges", "user_id"],
      ];
      for (const [table, column] of indexes) {
        await db.schema.createIndex(`${table}_${column}`).ifNotExists().on(table).column(column).execute();
      }
    },
  },
  /** Changing the email address: the link mailed to the new address carries it in its token's row. */
  "0540_email_change": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("email_tokens").addColumn("new_email", "text").execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Brings the schema up to date. Safe to run from several processes at once (the migrator locks). */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // Helpers' migrations carry their own prefixes (0110_, 0200_...) and land on main in any
  // order: a database already at 0200 must still accept a 0110 merged after it.
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Brings the schema to `name` exactly (tests build a database as an older release left it). */
export async function migrateTo(db: Kysely<any>, name: string): Promise<void> {
  const { error } = await new Migrator({ db, provider }).migrateTo(name);
  if (error) throw error instanceof Error ? error : new Error(String(error));
}
