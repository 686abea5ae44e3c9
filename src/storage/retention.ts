import type { Kysely } from "kysely";
import type { RetentionStore } from "../domain/security/retention.js";
import type { Counters } from "./counters.js";
import type { DB } from "./database.js";

/** Each table on its own statement: a purge never holds locks across tables, and one failure leaves the rest done. */
export function createRetentionStore(db: Kysely<DB>, counters: Pick<Counters, "purgeExpired">): RetentionStore {
  const count = (result: { numDeletedRows: bigint }) => Number(result.numDeletedRows);
  return {
    async purge(cutoffs) {
      const tokens = cutoffs.tokensExpiredBefore.getTime();
      const ended = cutoffs.sessionsEndedBefore.getTime();
      const sessionIds = db
        .selectFrom("sessions")
        .select("id")
        .where((eb) => eb.or([eb("revoked_at", "<", ended), eb("expires_at", "<", ended)]));
      // Refresh tokens of the sessions that go, first: SQLite only cascades with foreign_keys on.
      const sessionTokens = count(
        await db.deleteFrom("refresh_tokens").where("session_id", "in", sessionIds).executeTakeFirstOrThrow(),
      );
      const sessions = count(
        await db
          .deleteFrom("sessions")
          .where((eb) => eb.or([eb("revoked_at", "<", ended), eb("expires_at", "<", ended)]))
          .executeTakeFirstOrThrow(),
      );
      // A key that ended long ago answers like an unknown one (403, introspection inactive) once it goes.
      const keysEnded = cutoffs.apiKeysEndedBefore.getTime();
      const apiKeys = count(
        await db
          .deleteFrom("api_keys")
          .where((eb) => eb.or([eb("revoked_at", "<", keysEnded), eb("expires_at", "<", keysEnded)]))
          .executeTakeFirstOrThrow(),
      );
      const refreshTokens =
        sessionTokens +
        count(await db.deleteFrom("refresh_tokens").where("expires_at", "<", tokens).executeTakeFirstOrThrow());
      const mfaChallenges = count(
        await db.deleteFrom("mfa_challenges").where("expires_at", "<", tokens).executeTakeFirstOrThrow(),
      );
      const emailTokens = count(
        await db.deleteFrom("email_tokens").where("expires_at", "<", tokens).executeTakeFirstOrThrow(),
      );
      const expired = async (table: "webauthn_challenges" | "step_up_challenges" | "verification_tokens") =>
        count(await db.deleteFrom(table).where("expires_at", "<", tokens).executeTakeFirstOrThrow());
      const webauthnChallenges = await expired("webauthn_challenges");
      const stepUpChallenges = await expired("step_up_challenges");
      const verificationTokens = await expired("verification_tokens");
      const securityEvents = count(
        await db
          .deleteFrom("security_events")
          .where("created_at", "<", cutoffs.eventsBefore.getTime())
          .executeTakeFirstOrThrow(),
      );
      const counterRows = await counters.purgeExpired(cutoffs.now);
      return {
        refreshTokens,
        mfaChallenges,
        emailTokens,
        webauthnChallenges,
        stepUpChallenges,
        verificationTokens,
        sessions,
        apiKeys,
        securityEvents,
        counters: counterRows,
      };
    },
  };
}
