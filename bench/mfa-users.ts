import * as OTPAuth from "otpauth";
import { call, forEachLimited } from "./http-call.js";
import { login, type WardenTarget } from "./warden.js";

/** A user with TOTP on, as the bench client knows it: the secret, the last step used, unused backup codes. */
export interface MfaUser {
  email: string;
  totp: OTPAuth.TOTP;
  lastStep: number;
  /** A login with a TOTP code of this user is under way: a newer step accepted first would make its code stale. */
  totpInFlight: boolean;
  backupCodes: string[];
}

const STEP_SECONDS = 30;
const currentStep = () => Math.floor(Date.now() / 1000 / STEP_SECONDS);

/**
 * Turns TOTP on for each MFA user the way a person would (login, setup, enable with a code),
 * keeping the secret and the ten backup codes for the scenario.
 */
export async function enableMfa(target: WardenTarget): Promise<MfaUser[]> {
  const url = target.server.url;
  return forEachLimited(target.mfaEmails.length, 8, async (i) => {
    const email = target.mfaEmails[i]!;
    const auth = { authorization: `Bearer ${String((await login(target, email)).token)}` };
    const setup = await call(`${url}/api/v1/me/mfa/totp/setup`, { method: "POST", headers: auth });
    if (setup.status !== 200)
      throw new Error(`MFA setup of ${email} answered ${setup.status}: ${JSON.stringify(setup.body)}`);
    const totp = new OTPAuth.TOTP({
      secret: OTPAuth.Secret.fromBase32(String(setup.body.secret)),
      digits: 6,
      period: STEP_SECONDS,
      algorithm: "SHA1",
    });
    const step = currentStep();
    const code = totp.generate({ timestamp: step * STEP_SECONDS * 1000 });
    const enable = await call(`${url}/api/v1/me/mfa/totp/enable`, { body: { code }, headers: auth });
    if (enable.status !== 200)
      throw new Error(`MFA enable of ${email} answered ${enable.status}: ${JSON.stringify(enable.body)}`);
    // The enabling code may have spent this step; the first login code waits for the next one.
    return {
      email,
      totp,
      lastStep: step,
      totpInFlight: false,
      backupCodes: [...(enable.body.backupCodes as string[])],
    };
  });
}

/**
 * A second factor the server will accept now: the current TOTP code if this user has not used
 * this time step yet (a step is accepted once per user) and has no TOTP login under way, else
 * one of its backup codes. The caller clears `totpInFlight` when the login ends.
 */
export function nextSecondFactor(user: MfaUser): { type: "totp" | "backup_code"; code: string } | null {
  const step = currentStep();
  if (step > user.lastStep && !user.totpInFlight) {
    user.lastStep = step;
    user.totpInFlight = true;
    return { type: "totp", code: user.totp.generate({ timestamp: step * STEP_SECONDS * 1000 }) };
  }
  const code = user.backupCodes.pop();
  return code ? { type: "backup_code", code } : null;
}
