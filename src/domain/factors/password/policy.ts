import { createRequire } from "node:module";

/** Longest password accepted. Far above any real one; bounds the work argon2 is asked to do. */
export const PASSWORD_MAX_LENGTH = 4096;

/**
 * ~49,000 passwords most seen in breaches, from zxcvbn-ts's maintained list; checked offline.
 * Read when a password is first set, not at start: the package holds every zxcvbn dictionary
 * (about 12 MB in memory), and a process that only logs users in never needs it. Its CommonJS
 * build keeps the check synchronous.
 */
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)("@zxcvbn-ts/language-common") as {
      dictionary: Record<string, string[]>;
    };
    common = new Set(dictionary["passwords-common"]!.map((p) => p.toLowerCase()));
  }
  return common;
}

export const PASSWORD_RULES = {
  tooShort: (min: number) => `The password must be at least ${min} characters long.`,
  tooLong: `The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`,
  common: "This password is too common. Please choose another one.",
  email: "The password must not be your email address.",
} as const;

/**
 * NIST SP 800-63B 5.1.1.2: a minimum length, no composition rules, no truncation, and a check
 * against passwords known to be common. Returns the sentences of every rule broken (empty: fine).
 * Length counts characters (code points), so "ăîșț" is four, as a user would count.
 */
export function passwordProblems(password: string, options: { minLength: number; email?: string | null }): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < options.minLength) problems.push(PASSWORD_RULES.tooShort(options.minLength));
  if (length > PASSWORD_MAX_LENGTH) problems.push(PASSWORD_RULES.tooLong);
  const lowered = password.toLowerCase();
  if (commonPasswords().has(lowered)) problems.push(PASSWORD_RULES.common);
  if (options.email && lowered.trim() === options.email.trim().toLowerCase()) problems.push(PASSWORD_RULES.email);
  return problems;
}
