import type { Kysely } from "kysely";
import type { WebAuthnChallengeStore } from "../domain/factors/passkeys/ports.js";
import type { DB } from "./database.js";

export function createWebAuthnChallengeStore(db: Kysely<DB>): WebAuthnChallengeStore {
  return {
    async create(c) {
      await db
        .insertInto("webauthn_challenges")
        .values({
          challenge_hash: c.challengeHash,
          ceremony: c.ceremony,
          user_id: c.userId,
          binding_hash: c.bindingHash,
          created_at: c.createdAt.getTime(),
          expires_at: c.expiresAt.getTime(),
          consumed_at: null,
        })
        .execute();
    },

    async consume(challengeHash, expected, now) {
      let query = db
        .updateTable("webauthn_challenges")
        .set({ consumed_at: now.getTime() })
        .where("challenge_hash", "=", challengeHash)
        .where("ceremony", "=", expected.ceremony)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now.getTime());
      query =
        expected.userId === null ? query.where("user_id", "is", null) : query.where("user_id", "=", expected.userId);
      query =
        expected.bindingHash === null
          ? query.where("binding_hash", "is", null)
          : query.where("binding_hash", "=", expected.bindingHash);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async deleteExpired(cutoff) {
      const result = await db
        .deleteFrom("webauthn_challenges")
        .where("expires_at", "<", cutoff.getTime())
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
