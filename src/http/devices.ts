import crypto from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { DeviceContext } from "../domain/context.js";
import type { SecretBox } from "../domain/lib/secret-box.js";

/** HMAC key purpose (derived from WARDEN_SECRET by the SecretBox's HKDF). */
const PURPOSE = "device-cookie";
const DEVICE_ID = /^[A-Za-z0-9_-]{22}$/;

export interface DeviceCookieSettings {
  days: number;
  secure: boolean;
}

/** `name=value` pairs of the Cookie header (RFC 6265 syntax; values are never quoted here). */
function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0) cookies.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return cookies;
}

/**
 * Where the cookie goes: a login through the API (`/api/auth`, its MFA step, `/api/auth/unlock`)
 * sets it for the API's sign-in endpoints; one through the hosted pages (`/login`, `/login/mfa`,
 * `/login/passkey`, the unlock page) for the pages' sign-in forms, which post to `/login...`. A
 * browser sends a cookie only below its path, so one path could not serve both.
 */
const signInPath = (url: string): string => (url.startsWith("/api/auth") ? "/api/auth" : "/login");

/**
 * Known devices for browsers: a completed login sets `wd_<tag>=<device id>.<mac>`, where the
 * tag and the MAC are HMAC-SHA256 under a key derived from WARDEN_SECRET over the user id (and
 * the device id), so the cookie names one user and cannot be forged or moved to another user.
 * HttpOnly (scripts never see it), SameSite=Strict, Secure unless DEVICE_COOKIE_SECURE=false,
 * and sent only where a sign-in can ask for it (signInPath).
 */
export function deviceContext(
  request: FastifyRequest,
  reply: FastifyReply,
  box: SecretBox,
  settings: DeviceCookieSettings,
): DeviceContext {
  let cookies: Map<string, string> | undefined;
  const nameFor = (userId: string) => `wd_${box.keyedHash(PURPOSE, `name:${userId}`).slice(0, 16)}`;
  const macFor = (userId: string, deviceId: string) => box.keyedHash(PURPOSE, `device:${userId}:${deviceId}`);

  const knownId = (userId: string): string | null => {
    cookies ??= readCookies(request.headers.cookie);
    const value = cookies.get(nameFor(userId));
    if (!value) return null;
    const [deviceId, mac] = value.split(".");
    if (!deviceId || !mac || !DEVICE_ID.test(deviceId)) return null;
    const expected = Buffer.from(macFor(userId, deviceId));
    const given = Buffer.from(mac);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? deviceId : null;
  };

  return {
    knownId,
    remember(userId) {
      const deviceId = knownId(userId) ?? crypto.randomBytes(16).toString("base64url");
      const attributes = [
        `Max-Age=${settings.days * 86_400}`,
        `Path=${signInPath(request.url)}`,
        "HttpOnly",
        "SameSite=Strict",
        ...(settings.secure ? ["Secure"] : []),
      ];
      reply.header(
        "set-cookie",
        `${nameFor(userId)}=${deviceId}.${macFor(userId, deviceId)}; ${attributes.join("; ")}`,
      );
    },
  };
}

declare module "fastify" {
  interface FastifyRequest {
    /** Known-device cookies of this request (see deviceContext). */
    device: DeviceContext | undefined;
  }
}

/** Gives every request its DeviceContext; requestContext() passes it to the domain. */
export function installDevices(app: FastifyInstance, box: SecretBox, settings: DeviceCookieSettings): void {
  app.decorateRequest("device", undefined);
  app.addHook("onRequest", async (request, reply) => {
    request.device = deviceContext(request, reply, box, settings);
  });
}
