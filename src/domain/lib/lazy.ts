/**
 * A library loaded on first use instead of at start. Start-up time and idle memory matter (issue 14:
 * first answer under a second, 150 MB per worker): the WebAuthn and QR-code libraries cost about
 * a second and 35 MB together, and most processes never run a passkey ceremony or a TOTP setup.
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () =>
    (loaded ??= load().catch((error: unknown) => {
      loaded = undefined; // a failed load is retried by the next caller
      throw error;
    }));
}
