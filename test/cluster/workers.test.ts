import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { processTree, startServer, freePort } from "../../bench/server-process.js";
import { BENCH_PASSWORD, startWardenTarget, userEmail } from "../../bench/warden.js";
import { engines } from "../helpers/engines.js";

/** One login on a connection of its own, so the cluster primary hands it to the next worker in turn. */
function loginOnNewConnection(
  url: string,
  email: string,
  ip: string,
): Promise<{ status: number; retryAfter?: string }> {
  const body = JSON.stringify({ email, password: BENCH_PASSWORD });
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/api/auth`,
      {
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/json",
          "x-forwarded-for": ip,
          "content-length": Buffer.byteLength(body),
        },
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({ status: response.statusCode!, retryAfter: response.headers["retry-after"] as string | undefined }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: WORKERS=2 serves one port from two processes and counts the login limit across both`,
    { skip },
    async () => {
      const warden = await startWardenTarget({
        engine: engine.name,
        workers: "2",
        users: 1,
        mfaUsers: 0,
        redisUrl: process.env.TEST_REDIS_URL,
      });
      try {
        assert.equal(
          processTree(warden.server.pid).filter((pid) => pid !== warden.server.pid).length >= 2,
          true,
          "two workers under the primary",
        );
        const answers = [];
        // Six connections alternate between the two workers: with counters per process, all six would pass.
        for (let i = 0; i < 6; i++)
          answers.push(await loginOnNewConnection(warden.server.url, userEmail(0), "203.0.113.7"));
        assert.deepEqual(
          answers.map((a) => a.status),
          [200, 200, 200, 200, 200, 429],
        );
        assert.ok(Number(answers[5]!.retryAfter) >= 1, "429 carries Retry-After");
        assert.equal(
          (await loginOnNewConnection(warden.server.url, userEmail(0), "203.0.113.8")).status,
          200,
          "another address is not limited",
        );
      } finally {
        await warden.close();
      }
    },
  );
}

test("WORKERS=2: when the first worker cannot start, the primary exits with an error instead of restarting it forever", async () => {
  const started = startServer({
    args: ["dist/main.js"],
    env: {
      WORKERS: "2",
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere",
      WARDEN_SECRET: "x".repeat(40),
      LOG_LEVEL: "fatal",
    },
    port: await freePort(),
    readyPath: "/readyz",
    timeoutMs: 30_000,
  });
  await assert.rejects(started, /exited before it was ready/);
});
