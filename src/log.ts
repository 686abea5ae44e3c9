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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
