/** Operations: OpenAPI document, health and readiness, graceful shutdown of the real process. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { scratchEnv, startServerProcess } from "../helpers/process.js";
import { startWarden } from "../helpers/warden.js";

test("GET /openapi.json is OpenAPI 3.1 and documents POST /api/auth with its responses", async () => {
  const w = await startWarden();
  try {
    const r = await w.app.inject({ url: "/openapi.json" });
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.equal(doc.openapi, "3.1.0");
    const login = doc.paths["/api/auth"]?.post;
    assert.ok(login, "POST /api/auth is listed");
    assert.deepEqual(Object.keys(login.requestBody.content["application/json"].schema.properties).sort(), [
      "email",
      "password",
    ]);
    assert.deepEqual(Object.keys(login.responses).sort(), ["200", "400", "401", "403", "429", "503"]);
    assert.ok(doc.paths["/.well-known/jwks.json"]);
    assert.equal(doc.paths["/openapi.json"], undefined);
  } finally {
    await w.close();
  }
});

for (const { engine, skip } of engines) {
  test(
    `/healthz 200; /readyz 200 while the ${engine.name} database answers, 503 when it does not`,
    { skip },
    async () => {
      const w = await startWarden({ engine });
      try {
        assert.equal((await w.app.inject({ url: "/healthz" })).statusCode, 200);
        const ready = await w.app.inject({ url: "/readyz" });
        assert.equal(ready.statusCode, 200);
        await w.deps.database.close();
        const down = await w.app.inject({ url: "/readyz" });
        assert.equal(down.statusCode, 503);
        assert.deepEqual(down.json(), {
          code: 503,
          message: "Database unavailable.",
          database: "unavailable",
          redis: "not configured",
        });
        assert.equal((await w.app.inject({ url: "/healthz" })).statusCode, 200, "the process is still up");
      } finally {
        await w.close().catch(() => {});
      }
    },
  );
}

const isListening = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => true,
    () => false,
  );

test("node dist/main.js starts on its own, answers, and exits 0 on SIGTERM", async () => {
  const scratch = scratchEnv();
  try {
    const { child, port, output, exited } = await startServerProcess(process.execPath, ["dist/main.js"], scratch.env);
    const jwks = await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json();
    assert.equal(jwks.keys.length, 1, "a signing key was created on first start");
    child.kill("SIGTERM");
    const [code] = await exited;
    assert.equal(code, 0, output.text);
    assert.match(output.text, /shutting down/);
    assert.equal(await isListening(port), false, "nothing serves the port any more");
  } finally {
    scratch.cleanup();
  }
});

test("SIGTERM to `npm start` reaches the server: it shuts down instead of running on orphaned", async () => {
  const scratch = scratchEnv();
  try {
    const { child, port, output, exited } = await startServerProcess("npm", ["start", "--silent"], scratch.env);
    child.kill("SIGTERM");
    await exited;
    let listening = true;
    for (let i = 0; i < 50 && listening; i++) {
      listening = await isListening(port);
      if (listening) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(listening, false, `the server stopped with npm: ${output.text}`);
    assert.match(output.text, /shutting down/);
  } finally {
    scratch.cleanup();
  }
});

test("`npm start` sizes libuv's thread pool to the password hashes the process runs at once", async () => {
  const threads = async (hashConcurrency: string) => {
    const scratch = scratchEnv();
    try {
      const server = await startServerProcess("npm", ["start", "--silent"], {
        ...scratch.env,
        HASH_CONCURRENCY: hashConcurrency,
      });
      // The server is npm's grandchild (npm, its shell exec'ing node); its pool was made at start.
      const count = fs.readdirSync(`/proc/${serverUnder(server.child.pid!)}/task`).length;
      server.child.kill("SIGTERM");
      await server.exited;
      return count;
    } finally {
      scratch.cleanup();
    }
  };
  assert.equal((await threads("3")) - (await threads("1")), 2, "two more hash slots, two more pool threads");
});

/** The pid of the `dist/main.js` process among `pid`'s descendants (Linux /proc). */
function serverUnder(pid: number): number {
  const parentOf = (p: string) => Number(fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
  const descends = (p: number): boolean => p === pid || (p > 1 && descends(parentOf(String(p))));
  for (const p of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const command = fs.readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (command.includes("dist/main.js") && descends(Number(p))) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no dist/main.js under ${pid}`);
}

test("SQLite runs in WAL mode, so readers never wait for the writer", async () => {
  const w = await startWarden();
  try {
    assert.equal(w.deps.database.sqlite!.pragma("journal_mode", { simple: true }), "wal");
  } finally {
    await w.close();
  }
});
