import type { FastifyInstance } from "fastify";
import { AuthError } from "../domain/errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route hashes a password: while the hash queue is full it is refused at once (503). */
    hashesPassword?: boolean;
  }
}

/**
 * Under overload, a route that would hash is refused before any work is done for it (no
 * rate-limit count, no body, no user lookup): a refusal that costs nothing keeps the event loop
 * free for the requests already admitted. Register before the rate limits.
 */
export function installOverloadShedding(app: FastifyInstance, isHashQueueFull: () => boolean): void {
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.config?.hashesPassword && isHashQueueFull()) {
      throw new AuthError("OVERLOADED", { retryAfterSeconds: 1 });
    }
  });
}
