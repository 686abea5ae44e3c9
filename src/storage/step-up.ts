import type { Kysely } from "kysely";
import type { StepUpStore } from "../domain/sessions/step-up-ports.js";
import type { DB } from "./database.js";

export function createStepUpStore(db: Kysely<DB>): StepUpStore {
  return {
    async createChallenge(c) {
      await db
        .insertInto("step_up_challenges")
        .values({
          token_hash: c.tokenHash,
          user_id: c.userId,
          session_id: c.sessionId,
          created_at: c.createdAt.getTime(),
          expires_at: c.expiresAt.getTime(),
          failed_attempts: 0,
          consumed_at: null,
        })
        .execute();
    },

    async findOpenChallenge(tokenHash, owner, now, maxAttempts) {
      const row = await db
        .selectFrom("step_up_challenges")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .where("user_id", "=", owner.userId)
        .where("session_id", "=", owner.sessionId)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .where("failed_attempts", "<", maxAttempts)
        .executeTakeFirst();
      if (!row) return null;
      return {
        tokenHash: row.token_hash,
        userId: row.user_id,
        sessionId: row.session_id,
        createdAt: new Date(Number(row.created_at)),
        expiresAt: new Date(Number(row.expires_at)),
      };
    },

    async recordAttempt(tokenHash, owner, now, maxAttempts) {
      const row = await db
        .updateTable("step_up_challenges")
        .set((eb) => ({ failed_attempts: eb("failed_attempts", "+", 1) }))
        .where("token_hash", "=", tokenHash)
        .where("user_id", "=", owner.userId)
        .where("session_id", "=", owner.sessionId)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .where("failed_attempts", "<", maxAttempts)
        .returning("failed_attempts")
        .executeTakeFirst();
      return row ? Number(row.failed_attempts) : null;
    },

    async consumeChallenge(tokenHash, now) {
      const result = await db
        .updateTable("step_up_challenges")
        .set({ consumed_at: now.getTime() })
        .where("token_hash", "=", tokenHash)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async createVerificationToken(t) {
      await db
        .insertInto("verification_tokens")
        .values({
          token_hash: t.tokenHash,
          user_id: t.userId,
          session_id: t.sessionId,
          method: t.method,
          created_at: t.createdAt.getTime(),
          expires_at: t.expiresAt.getTime(),
          used_at: null,
        })
        .execute();
    },

    async consumeVerificationToken(tokenHash, owner, now) {
      const result = await db
        .updateTable("verification_tokens")
        .set({ used_at: now.getTime() })
        .where("token_hash", "=", tokenHash)
        .where("user_id", "=", owner.userId)
        .where("session_id", "=", owner.sessionId)
        .where("used_at", "is", null)
        .where("expires_at", ">", now.getTime())
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
