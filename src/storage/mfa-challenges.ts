import type { Kysely } from "kysely";
import type { MfaChallengeStore } from "../domain/factors/ports.js";
import { toDate, type DB } from "./database.js";

/** Challenges from before 0520 recorded no first factor: they were all password logins. */
const storedAmr = (amr: string | null): string[] => (amr ? (JSON.parse(amr) as string[]) : ["pwd"]);

export function createMfaChallengeStore(db: Kysely<DB>): MfaChallengeStore {
  return {
    async create(challenge) {
      await db
        .insertInto("mfa_challenges")
        .values({
          token_hash: challenge.tokenHash,
          user_id: challenge.userId,
          created_at: challenge.createdAt.getTime(),
          expires_at: challenge.expiresAt.getTime(),
          failed_attempts: 0,
          consumed_at: null,
          ip: challenge.ip,
          user_agent: challenge.userAgent,
          amr: JSON.stringify(challenge.amr),
        })
        .execute();
    },

    async revokeForUser(userId, now) {
      await db
        .updateTable("mfa_challenges")
        .set({ consumed_at: now.getTime() })
        .where("user_id", "=", userId)
        .where("consumed_at", "is", null)
        .execute();
    },

    async recordAttempt(tokenHash, now, maxAttempts) {
      const row = await db
        .updateTable("mfa_challenges")
        .set((eb) => ({ failed_attempts: eb("failed_attempts", "+", 1) }))
        .where("token_hash", "=", tokenHash)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .where("failed_attempts", "<", maxAttempts)
        .returning(["user_id", "failed_attempts", "amr"])
        .executeTakeFirst();
      return row ? { userId: row.user_id, attempts: Number(row.failed_attempts), amr: storedAmr(row.amr) } : null;
    },

    async consume(tokenHash, now) {
      const result = await db
        .updateTable("mfa_challenges")
        .set({ consumed_at: now.getTime() })
        .where("token_hash", "=", tokenHash)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async find(tokenHash) {
      const row = await db
        .selectFrom("mfa_challenges")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      if (!row) return null;
      return {
        tokenHash: row.token_hash,
        userId: row.user_id,
        createdAt: new Date(row.created_at),
        expiresAt: new Date(row.expires_at),
        failedAttempts: row.failed_attempts,
        consumedAt: toDate(row.consumed_at),
        ip: row.ip,
        userAgent: row.user_agent,
        amr: storedAmr(row.amr),
      };
    },
  };
}
