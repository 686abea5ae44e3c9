// The hosted pages' only script (CSP: script-src 'self'). Every form works without it except
// the passkey ceremonies and Google's hand-back, which exist only in a browser's JavaScript.
// It drives the SDK's WebAuthn helpers (/assets/sdk/, built from sdk/src) and never sees a token:
// the ceremony's answer is posted with the page's own form, CSRF token and all.
import {
  getPasskeyCredential,
  createPasskeyCredential,
  isPasskeySupported,
  PasskeyCancelledError,
} from "/assets/sdk/warden.js";

const supported = isPasskeySupported();

/** `<form data-passkey="get|create">`: the ceremony on submit, its answer in the form's `credential` field. */
for (const form of document.querySelectorAll("form[data-passkey]")) {
  const error = form.querySelector("[data-passkey-error]");
  if (!supported) {
    // Stays hidden; a page whose only way on is a passkey says so in its `data-passkey-unsupported` note.
    for (const note of document.querySelectorAll("[data-passkey-unsupported]")) note.hidden = false;
    continue;
  }
  form.hidden = false;
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const button = form.querySelector("button[type=submit]");
    button?.setAttribute("aria-busy", "true");
    if (error) error.textContent = "";
    try {
      const options = await optionsFor(form);
      const credential =
        form.dataset.passkey === "create"
          ? await createPasskeyCredential(options)
          : await getPasskeyCredential(options);
      form.elements.namedItem("credential").value = JSON.stringify(credential);
      form.submit();
    } catch (problem) {
      busy = false;
      button?.removeAttribute("aria-busy");
      // Said next to the button, in the live region screen readers announce.
      if (error)
        error.textContent =
          problem instanceof PasskeyCancelledError
            ? form.dataset.msgCancelled
            : (problem?.pageMessage ?? form.dataset.msgFailed);
      if (!(problem instanceof PasskeyCancelledError) && !problem?.pageMessage) console.warn(problem);
    }
  });
}

/** Options embedded by the server (`data-options`, JSON), or fetched on submit (`data-options-url`). */
async function optionsFor(form) {
  if (form.dataset.options) return JSON.parse(form.dataset.options);
  const response = await fetch(form.dataset.optionsUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const problem = new Error(body?.message ?? `HTTP ${response.status}`);
    problem.pageMessage = response.status === 429 ? form.dataset.msgRateLimited : form.dataset.msgFailed;
    throw problem;
  }
  // A discoverable sign-in names its ceremony; the page posts the name back with the answer.
  if (body.sessionId && form.elements.namedItem("session_id"))
    form.elements.namedItem("session_id").value = body.sessionId;
  return body;
}

/**
 * Google's hand-back puts the ID token in the URL fragment, which never reaches a server: copy it
 * into the form, drop it from the address bar and history, and post it to Warden's own origin.
 */
for (const form of document.querySelectorAll("form[data-fragment]")) {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const name of ["id_token", "state", "error"]) {
    const input = form.elements.namedItem(name);
    if (input && params.has(name)) input.value = params.get(name);
  }
  history.replaceState(null, "", location.pathname);
  form.submit();
}

/** Apple's form_post arrives cross-site without Warden's SameSite=Lax cookies: post it on from Warden's own origin. */
for (const form of document.querySelectorAll("form[data-autosubmit]")) form.submit();
