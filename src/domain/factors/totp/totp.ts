import { Secret, TOTP } from "otpauth";
import { lazy } from "../../lib/lazy.js";
import type { DomainDeps } from "../../context.js";
import type { Random } from "../../lib/ports.js";
import type { FactorRecord } from "../ports.js";

/** RFC 6238 parameters. Warden's codes use WARDEN_TOTP; the RFC test vectors pass others. */
export interface TotpParams {
  algorithm: "SHA1" | "SHA256" | "SHA512";
  digits: number;
  periodSeconds: number;
}

/** What every authenticator app assumes when the URI says nothing: SHA1, 6 digits, 30 s. */
export const WARDEN_TOTP: TotpParams = { algorithm: "SHA1", digits: 6, periodSeconds: 30 };

/** One step either way: a phone clock off by up to 30 s, or a code typed as it rolled over. */
const DRIFT_STEPS = 1;

/** SecretBox purpose under which TOTP secrets are encrypted at rest. */
export const TOTP_SECRET_PURPOSE = "totp-secret";

/** 160 bits from the CSPRNG (RFC 4226 section 4 recommends 160), base32 without padding. */
export const newTotpSecret = (random: Pick<Random, "bytes">): string =>
  new Secret({ buffer: new Uint8Array(random.bytes(20)).buffer }).base32;

export const totpStepAt = (timestampMs: number, params: TotpParams = WARDEN_TOTP): number =>
  TOTP.counter({ period: params.periodSeconds, timestamp: timestampMs });

/** The code an authenticator shows at `timestampMs`. */
export function generateTotpCode(secretBase32: string, timestampMs: number, params: TotpParams = WARDEN_TOTP): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secretBase32),
    algorithm: params.algorithm,
    digits: params.digits,
    period: params.periodSeconds,
    timestamp: timestampMs,
  });
}

/**
 * The time step `code` belongs to, within one step of `timestampMs`, or null when it matches
 * none. Comparison is constant-time (otpauth uses crypto.timingSafeEqual). The caller must
 * still refuse steps already accepted for the user: that is what makes a code single-use.
 */
export function findTotpStep(
  secretBase32: string,
  code: string,
  timestampMs: number,
  params: TotpParams = WARDEN_TOTP,
): number | null {
  const token = code.replace(/\s+/g, "");
  if (!new RegExp(`^\\d{${params.digits}}$`).test(token)) return null;
  const delta = TOTP.validate({
    token,
    secret: Secret.fromBase32(secretBase32),
    algorithm: params.algorithm,
    digits: params.digits,
    period: params.periodSeconds,
    timestamp: timestampMs,
    window: DRIFT_STEPS,
  });
  return delta === null ? null : totpStepAt(timestampMs, params) + delta;
}

/** Key URI format (Google Authenticator): `otpauth://totp/<Issuer>:<account>?secret=...&issuer=<Issuer>`. */
export function buildOtpauthUri(issuer: string, account: string, secretBase32: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}`;
}

const qrcode = lazy(() => import("qrcode"));

/** The URI as a 300x300 PNG data URI, for apps that scan rather than type. */
export const renderQrCode = async (uri: string): Promise<string> =>
  (await qrcode()).default.toDataURL(uri, { width: 300, margin: 1, errorCorrectionLevel: "M" });

/**
 * Checks `code` against the factor's encrypted secret and, when it matches, records its time step
 * as accepted with a compare-and-set: a step at or before the last accepted one is refused, so
 * a code works once, and of two concurrent requests with one code exactly one passes.
 */
export async function acceptTotpCode(
  deps: Pick<DomainDeps, "box" | "clock" | "factors">,
  factor: FactorRecord,
  code: string,
): Promise<boolean> {
  if (!factor.secretEnc) return false;
  const secret = deps.box.decrypt(TOTP_SECRET_PURPOSE, factor.secretEnc);
  const now = deps.clock.now();
  const step = findTotpStep(secret, code, now.getTime());
  return step !== null && (await deps.factors.advanceStep(factor.id, step, now));
}
