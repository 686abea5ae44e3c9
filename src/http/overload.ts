import type { FastifyInstance } from "fastify";
import { AuthError } from "../domain/errors.js";
import type { HashPriority } from "../domain/factors/password/hasher.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The route hashes a password: while the hash queue is full it is refused at once (503).
     * `"reauth"`: a logged-in user re-proving the password, judged by its own, smaller share.
     */
    hashesPassword?: boolean | HashPriority;
  }
}

/**
 * Under overload, a route that would hash is refused before any work is done for it (no
 * rate-limit count, no body, no user lookup): a refusal that costs nothing keeps the event loop
 * free for the requests already admitted. Register before the rate limits.
 */
export function installOverloadShedding(
  app: FastifyInstance,
  isHashQueueFull: (priority: HashPriority) => boolean,
): void {
  app.addHook("onRequest", async (request) => {
    const hashes = request.routeOptions.config?.hashesPassword;
    if (hashes && isHashQueueFull(hashes === "reauth" ? "reauth" : "login")) {
      throw new AuthError("OVERLOADED", { retryAfterSeconds: 1 });
    }
  });
}
