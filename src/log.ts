import pino, { type DestinationStream, type Logger } from "pino";

/** Every place a secret could sit in a log line; pino replaces them before anything is written. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "res.headers['set-cookie']",
  "*.password",
  "*.currentPassword",
  "*.newPassword",
  "*.token",
  "*.refresh_token",
  "*.refreshToken",
  "*.mfa_token",
  "*.mfaToken",
  "*.code",
  "*.secret",
  "*.passwordHash",
  "*.password_hash",
  "*.privateKey",
];

/**
 * A request's URL as the log shows it: the path, and the names of its query parameters without
 * their values. Mail links carry their single-use tokens in the query (`/reset-password?token=`),
 * and whoever reads the log must not be able to use one.
 */
export function loggableUrl(url: string): string {
  const query = url.indexOf("?");
  if (query === -1) return url;
  const names = url
    .slice(query + 1)
    .split("&")
    .filter(Boolean)
    .map((pair) => `${pair.split("=", 1)[0]}=[redacted]`);
  return `${url.slice(0, query)}?${names.join("&")}`;
}

/** Fastify's request summary ("incoming request"), with the URL through loggableUrl. */
interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      serializers: {
        // Fastify's own serializer for `req`, but for the URL: Fastify takes the logger's serializers over its own.
        req: (request: LoggedRequest) => ({
          method: request.method,
          url: loggableUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }),
        err: pino.stdSerializers.err,
      },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
