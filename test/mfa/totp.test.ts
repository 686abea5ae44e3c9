import assert from "node:assert/strict";
import { test } from "node:test";
import { Secret } from "otpauth";
import { BACKUP_CODE_ALPHABET, normaliseBackupCode } from "../../src/domain/factors/backup-codes/backup-codes.js";
import {
  buildOtpauthUri,
  findTotpStep,
  generateTotpCode,
  newTotpSecret,
  WARDEN_TOTP,
  type TotpParams,
} from "../../src/domain/factors/totp/totp.js";

// RFC 6238 Appendix B: the seed is the ASCII digits repeated to the hash's block of key length.
const SEEDS = {
  SHA1: "12345678901234567890",
  SHA256: "12345678901234567890123456789012",
  SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
} as const;
const base32 = (ascii: string): string => Secret.fromLatin1(ascii).base32;

const RFC6238_TABLE: Array<[seconds: number, sha1: string, sha256: string, sha512: string]> = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

test("RFC 6238 Appendix B: every row, SHA1/SHA256/SHA512, through Warden's generate and verify path", () => {
  for (const [seconds, ...expected] of RFC6238_TABLE) {
    (["SHA1", "SHA256", "SHA512"] as const).forEach((algorithm, i) => {
      const params: TotpParams = { algorithm, digits: 8, periodSeconds: 30 };
      const secret = base32(SEEDS[algorithm]);
      const at = seconds * 1000;
      assert.equal(generateTotpCode(secret, at, params), expected[i], `${algorithm} at ${seconds}`);
      assert.equal(
        findTotpStep(secret, expected[i]!, at, params),
        Math.floor(seconds / 30),
        `${algorithm} at ${seconds}`,
      );
    });
  }
});

test("RFC 4226 Appendix D: HOTP(0..9) are the TOTP codes Warden accepts at step 0..9 (SHA1, 6 digits)", () => {
  const hotp = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
  const secret = base32(SEEDS.SHA1);
  hotp.forEach((code, counter) => {
    const at = counter * WARDEN_TOTP.periodSeconds * 1000;
    assert.equal(generateTotpCode(secret, at), code);
    assert.equal(findTotpStep(secret, code, at), counter);
  });
});

test("one step of drift either way is accepted and named by its own step; two steps are not", () => {
  const secret = base32(SEEDS.SHA1);
  const now = 1_700_000_000_000;
  const step = Math.floor(now / 30_000);
  for (const offset of [-1, 0, 1])
    assert.equal(findTotpStep(secret, generateTotpCode(secret, now + offset * 30_000), now), step + offset);
  for (const offset of [-2, 2])
    assert.equal(findTotpStep(secret, generateTotpCode(secret, now + offset * 30_000), now), null);
  assert.equal(findTotpStep(secret, "12345", now), null);
  assert.equal(findTotpStep(secret, "abcdef", now), null);
});

test("a new secret is 160 random bits in base32 and the URI has the contract's shape", () => {
  const secret = newTotpSecret({ bytes: (n) => Buffer.alloc(n, 0xab) });
  assert.equal(Buffer.from(Secret.fromBase32(secret).bytes).length, 20);
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.equal(
    buildOtpauthUri("Warden", "alice@example.com", secret),
    `otpauth://totp/Warden:alice%40example.com?secret=${secret}&issuer=Warden`,
  );
});

test("backup codes are read in any case, with or without the dash; other symbols are refused", () => {
  assert.equal(normaliseBackupCode("ABCD-EFGH"), "abcdefgh");
  assert.equal(normaliseBackupCode("abcdefgh"), "abcdefgh");
  assert.equal(normaliseBackupCode(" abcd efgh "), "abcdefgh");
  assert.equal(normaliseBackupCode("abcd-efg0"), null);
  assert.equal(normaliseBackupCode("abcd-efg"), null);
  assert.equal(BACKUP_CODE_ALPHABET.length, 31);
});
