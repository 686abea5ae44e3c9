import type { FastifyRequest } from "fastify";
import type { RequestContext } from "../domain/context.js";
import "./devices.js";

/** Who is asking, as recorded with sessions and events. The IP honours TRUST_PROXY (Fastify's `trustProxy`). */
export function requestContext(request: FastifyRequest): RequestContext {
  const userAgent = request.headers["user-agent"];
  return {
    ip: request.ip ?? null,
    userAgent: userAgent ? userAgent.slice(0, 512) : null,
    device: request.device,
    noteEvent: (type) => request.observation?.events.push(type),
  };
}
