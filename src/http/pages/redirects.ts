/** Where a page may send the browser after sign-in: Warden's own paths, or an allowed origin. */
export const DEFAULT_AFTER_LOGIN = "/account";

const MAX_REDIRECT_LENGTH = 2048;

/**
 * `redirect_to` is honoured only for Warden's own origin and CORS_ORIGINS; anything else
 * (another host, `//evil.example`, `/\evil.example`, `javascript:`) is dropped, so a crafted
 * login link cannot hand a fresh session's user to a phishing page.
 * Returns a path for Warden's own pages, an absolute URL for an app, or null.
 */
export function safeRedirect(value: unknown, publicUrl: string, allowed: ReadonlySet<string>): string | null {
  if (typeof value !== "string" || value === "" || value.length > MAX_REDIRECT_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(value, `${publicUrl}/`);
  } catch {
    return null;
  }
  if (!allowed.has(url.origin)) return null;
  if (url.origin === new URL(publicUrl).origin) return `${url.pathname}${url.search}${url.hash}`;
  return url.href;
}

/** Only a path on Warden itself (for hops between its own pages, such as the resume step). */
export function safeLocalPath(value: unknown, publicUrl: string): string | null {
  const own = new URL(publicUrl).origin;
  const target = safeRedirect(value, publicUrl, new Set([own]));
  return target !== null && target.startsWith("/") ? target : null;
}
