import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Page } from "playwright-core";
import { freePort, ROOT } from "../helpers/process.js";

const SDK = path.join(ROOT, "sdk/dist");

/**
 * The app on its own origin: one HTML page that creates a client from its query string
 * (`?warden=<base>&autoRefresh=0&lockTimeoutMs=...`) and exposes it as `window.warden`, and the SDK.
 */
export async function startAppOrigin(hostname = "127.0.0.1"): Promise<{ origin: string; close(): Promise<void> }> {
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>App</title></head><body>
<h1>App</h1>
<script type="module">
import { createWardenClient, WardenError } from "/warden.js";
const q = new URLSearchParams(location.search);
window.WardenError = WardenError;
window.events = [];
window.warden = createWardenClient({
  baseUrl: q.get("warden"),
  autoRefresh: q.get("autoRefresh") !== "0",
  lockTimeoutMs: Number(q.get("lockTimeoutMs") ?? 10000),
});
window.warden.onAuthStateChange((event) => window.events.push(event));
document.body.dataset.ready = "yes";
</script></body></html>`;
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://x");
    if (url.pathname === "/spa.html") {
      // The README's example as printed, pointed at this test's Warden.
      const example = fs.readFileSync(path.join(ROOT, "docs/examples/spa.html"), "utf8");
      response
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end(example.replace("http://127.0.0.1:3000", url.searchParams.get("warden") ?? ""));
    } else if (url.pathname === "/") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
    } else if (/^\/[a-z-]+\.js$/.test(url.pathname) && fs.existsSync(path.join(SDK, url.pathname))) {
      // sdk/dist/warden.js and the module it imports (webauthn.js), served beside the page.
      response.writeHead(200, { "content-type": "text/javascript" }).end(fs.readFileSync(path.join(SDK, url.pathname)));
    } else {
      response.writeHead(404).end();
    }
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    origin: `http://${hostname}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Runs `body` in the app's page with its `warden` client; a WardenError comes back as `{error: {name, status, message, stepUp}}`. */
export const inApp = <T>(page: Page, body: string, arg?: unknown): Promise<T> =>
  page.evaluate(
    async ([source, value]) => {
      const run = new Function("warden", "arg", `return (async () => { ${source} })();`);
      try {
        return await run((window as any).warden, value);
      } catch (error: any) {
        return {
          error: { name: error?.name, status: error?.status, message: error?.message, stepUp: error?.isStepUpRequired },
        };
      }
    },
    [body, arg] as const,
  ) as Promise<T>;
