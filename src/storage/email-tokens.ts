import type { ExpressionBuilder, Kysely, Selectable } from "kysely";
import type { EmailTokenPurpose, EmailTokenRecord, EmailTokenStore } from "../domain/accounts/ports.js";
import { toDate, type DB, type EmailTokensTable } from "./database.js";

function toRecord(row: Selectable<EmailTokensTable>): EmailTokenRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    purpose: row.purpose as EmailTokenPurpose,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    usedAt: toDate(row.used_at),
    newEmail: row.new_email,
  };
}

/** The token, if it has this purpose and is neither used nor expired at `now`. */
const isLive =
  (tokenHash: string, purpose: EmailTokenPurpose, now: Date) => (eb: ExpressionBuilder<DB, "email_tokens">) =>
    eb.and([
      eb("token_hash", "=", tokenHash),
      eb("purpose", "=", purpose),
      eb("used_at", "is", null),
      eb("expires_at", ">", now.getTime()),
    ]);

export function createEmailTokenStore(db: Kysely<DB>): EmailTokenStore {
  return {
    async create(token) {
      await db
        .insertInto("email_tokens")
        .values({
          token_hash: token.tokenHash,
          user_id: token.userId,
          purpose: token.purpose,
          created_at: token.createdAt.getTime(),
          expires_at: token.expiresAt.getTime(),
          used_at: null,
          new_email: token.newEmail ?? null,
        })
        .execute();
    },

    async findLive(tokenHash, purpose, now) {
      const row = await db
        .selectFrom("email_tokens")
        .selectAll()
        .where(isLive(tokenHash, purpose, now))
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async consume(tokenHash, purpose, now) {
      const row = await db
        .updateTable("email_tokens")
        .set({ used_at: now.getTime() })
        .where(isLive(tokenHash, purpose, now))
        .returningAll()
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    },

    async revokeForUser(userId, purpose, now) {
      const result = await db
        .updateTable("email_tokens")
        .set({ used_at: now.getTime() })
        .where("user_id", "=", userId)
        .where("purpose", "=", purpose)
        .where("used_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
