/** The passkey module's error codes (merged into AuthErrorCode by domain/errors.ts). Sentences are Storno's. */
export const PASSKEY_ERRORS = {
  PASSKEY_CHALLENGE_INVALID: "Challenge expired or not found.",
  PASSKEY_RESPONSE_INVALID: "Invalid response type.",
  /** A `reason` from the verifier is appended after a colon, as Storno does. */
  PASSKEY_ATTESTATION_FAILED: "Attestation verification failed.",
  PASSKEY_ALREADY_REGISTERED: "This passkey is already registered.",
  PASSKEY_SESSION_MISSING: "Missing session ID.",
  PASSKEY_ASSERTION_FAILED: "Assertion verification failed.",
  PASSKEY_NOT_FOUND: "Passkey not found.",
  PASSKEY_NONE_AVAILABLE: "No passkeys available.",
  MFA_CREDENTIAL_MISSING: "Missing credential.",
} as const;
