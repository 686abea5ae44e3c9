import type { FastifyInstance } from "fastify";
import { AuthError } from "../domain/errors.js";
import type { HashPriority } from "../domain/factors/password/hasher.js";
import { SealedValueError } from "../domain/lib/secret-box.js";
import type { SigningKeys } from "../domain/sessions/signing-keys.js";

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

/**
 * Once `warden secret rotate` has resealed the database under a new master secret, an instance
 * still running on the old one (found within a second by the key ring's reload) refuses every
 * request with 503 and Retry-After, API and hosted pages alike, except the liveness probe:
 * anything it sealed or hashed from then on (a TOTP secret, backup codes, a device cookie) no
 * instance on the new secret could open. A load balancer sends the clients to those that can;
 * `/readyz` says why (routes/health.ts).
 */
export function refuseAfterSecretRotation(app: FastifyInstance, keys: Pick<SigningKeys, "secretRotated">): void {
  app.addHook("onRequest", async (request) => {
    const route = request.routeOptions.url;
    if (keys.secretRotated && route !== "/healthz" && route !== "/readyz") {
      throw new SealedValueError("this instance's WARDEN_SECRET was rotated away; restart it with the new secret");
    }
  });
}
