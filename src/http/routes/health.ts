import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import type { Counters } from "../../storage/counters.js";
import type { Database } from "../../storage/database.js";
import type { SigningKeys } from "../../domain/sessions/signing-keys.js";

/** A readiness probe that hangs is as bad as one that lies: each check gets this long. */
const CHECK_TIMEOUT_MS = 2_000;

const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });

const readiness = {
  type: "object",
  properties: {
    status: { type: "string", enum: ["ok"] },
    database: { type: "string", enum: ["ok"] },
    redis: { type: "string", enum: ["ok", "not configured"] },
  },
  required: ["status", "database", "redis"],
} as const;

const notReady = {
  type: "object",
  properties: {
    code: { type: "integer" },
    message: { type: "string" },
    database: { type: "string", enum: ["ok", "unavailable"] },
    redis: { type: "string", enum: ["ok", "unavailable", "not configured"] },
  },
  required: ["code", "message", "database", "redis"],
} as const;

export function healthRoutes(
  app: FastifyInstance,
  database: Database,
  counters: Counters,
  keys: Pick<SigningKeys, "secretRotated">,
): void {
  app.get(
    "/healthz",
    { schema: { operationId: "getHealth", summary: "The process is up", tags: ["operations"], security: [] } },
    async () => ({
      status: "ok",
    }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        operationId: "getReadiness",
        summary: "The database and Redis (when configured) answer",
        description:
          "503 while either is unreachable. Logins keep working without Redis (per-instance limits), but an instance is only ready with both. Also 503 once `warden secret rotate` has changed WARDEN_SECRET under a running instance: it serves nothing until restarted with the new secret.",
        tags: ["operations"],
        security: [],
        response: { 200: readiness, 503: notReady },
      },
    },
    async (request, reply) => {
      const usesRedis = counters.kind === "redis";
      const [db, redis] = await Promise.allSettled([
        withTimeout(sql`select 1`.execute(database.db), "the database"),
        usesRedis ? withTimeout(counters.ping(), "Redis") : Promise.resolve(),
      ]);
      const state = {
        database: db.status === "fulfilled" ? "ok" : "unavailable",
        redis: !usesRedis ? "not configured" : redis.status === "fulfilled" ? "ok" : "unavailable",
      };
      const ready = db.status === "fulfilled" && redis.status === "fulfilled";
      if (ready && !keys.secretRotated) return { status: "ok", ...state };
      for (const result of [db, redis])
        if (result.status === "rejected") request.log.warn({ err: result.reason }, "readiness check failed");
      const message =
        db.status === "rejected"
          ? "Database unavailable."
          : redis.status === "rejected"
            ? "Redis unavailable."
            : "WARDEN_SECRET was rotated: restart this instance with the new secret.";
      return reply
        .code(503)
        .header("retry-after", "5")
        .send({ code: 503, message, ...state });
    },
  );
}
