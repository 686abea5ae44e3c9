import crypto from "node:crypto";
import type { Random } from "../lib/ports.js";

/**
 * `af_` + 56 random hex + 8 hex of checksum: the first 8 hex of SHA-256 over the 56 random hex.
 * The checksum lets Warden refuse a mistyped or made-up key without a database lookup, and lets
 * secret scanners tell a real key from a look-alike. 224 random bits: no guessing.
 */
export const API_KEY_PATTERN = /^af_[0-9a-f]{64}$/;
export const TOKEN_PREFIX_LENGTH = 12;
const RANDOM_HEX = 56;

const checksumOf = (randomHex: string): string =>
  crypto.createHash("sha256").update(randomHex).digest("hex").slice(0, 8);

export function newApiKey(random: Pick<Random, "bytes">): string {
  const body = random.bytes(RANDOM_HEX / 2).toString("hex");
  return `af_${body}${checksumOf(body)}`;
}

/** Shape and checksum only; says nothing about whether the key exists. */
export function isWellFormedApiKey(token: string): boolean {
  if (!API_KEY_PATTERN.test(token)) return false;
  const body = token.slice(3, 3 + RANDOM_HEX);
  const expected = Buffer.from(checksumOf(body));
  return crypto.timingSafeEqual(expected, Buffer.from(token.slice(3 + RANDOM_HEX)));
}

/** What `Authorization` carries when it is an API key (`af_...` bare, as Storno sends it, or `Bearer af_...`); else null. */
export function apiKeyInAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^(?:Bearer\s+)?(af_\S*)\s*$/i.exec(header.trim());
  return match ? match[1]! : null;
}

export const hashApiKey = (token: string): string => crypto.createHash("sha256").update(token).digest("hex");
