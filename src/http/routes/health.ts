import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import type { Database } from "../../storage/database.js";

export function healthRoutes(app: FastifyInstance, database: Database): void {
  app.get(
    "/healthz",
    { schema: { operationId: "getHealth", security: [], summary: "The process is up", tags: ["operations"] } },
    async () => ({
      status: "ok",
    }),
  );

  app.get(
    "/readyz",
    { schema: { operationId: "getReadiness", security: [], summary: "The database answers", tags: ["operations"] } },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(database.db);
        return { status: "ok" };
      } catch (error) {
        request.log.warn({ err: error }, "readiness check failed");
        return reply.code(503).send({ code: 503, message: "Database unavailable." });
      }
    },
  );
}
