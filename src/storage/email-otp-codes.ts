import type { Kysely } from "kysely";
import type { EmailOtpStore } from "../domain/factors/email-otp/ports.js";
import { toDate, type DB } from "./database.js";

export function createEmailOtpStore(db: Kysely<DB>): EmailOtpStore {
  return {
    async replace(code, sentNoLaterThan) {
      const row = await db
        .insertInto("email_otp_codes")
        .values({
          user_id: code.userId,
          challenge_hash: code.challengeHash,
          code_hash: code.codeHash,
          sent_at: code.sentAt.getTime(),
          expires_at: code.expiresAt.getTime(),
          used_at: null,
        })
        .onConflict((oc) =>
          oc
            .column("user_id")
            .doUpdateSet((eb) => ({
              challenge_hash: eb.ref("excluded.challenge_hash"),
              code_hash: eb.ref("excluded.code_hash"),
              sent_at: eb.ref("excluded.sent_at"),
              expires_at: eb.ref("excluded.expires_at"),
              used_at: null,
            }))
            .where("email_otp_codes.sent_at", "<=", sentNoLaterThan.getTime()),
        )
        .returning("user_id")
        .executeTakeFirst();
      return row !== undefined;
    },

    async find(userId) {
      const row = await db.selectFrom("email_otp_codes").selectAll().where("user_id", "=", userId).executeTakeFirst();
      if (!row) return null;
      return {
        userId: row.user_id,
        challengeHash: row.challenge_hash,
        codeHash: row.code_hash,
        sentAt: new Date(row.sent_at),
        expiresAt: new Date(row.expires_at),
        usedAt: toDate(row.used_at),
      };
    },

    async consume(userId, challengeHash, codeHash, now) {
      const result = await db
        .updateTable("email_otp_codes")
        .set({ used_at: now.getTime() })
        .where("user_id", "=", userId)
        .where("challenge_hash", "=", challengeHash)
        .where("code_hash", "=", codeHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async deleteForUser(userId) {
      await db.deleteFrom("email_otp_codes").where("user_id", "=", userId).execute();
    },
  };
}
