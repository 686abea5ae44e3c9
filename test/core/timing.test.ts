/**
 * The one timing assertion the issue demands: an unknown email and a wrong password must not be
 * told apart by the response, nor by its time (the dummy hash). Real argon2 parameters, so the
 * hash dominates as it does in production; the two kinds interleaved, so load drifts hit both.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { freshIp, PASSWORD } from "../helpers/login.js";
import { postJson, startWarden } from "../helpers/warden.js";

const TRIES = 30;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
};

test("unknown email and wrong password: same status, same body, median latencies within 20%", async (t) => {
  const w = await startWarden({ argon2: "real", env: { TRUST_PROXY: "true", ACCOUNT_FAILURE_LIMIT: "100000/3600" } });
  try {
    await w.createUser("known@example.com", PASSWORD);
    const attempt = async (email: string) => {
      const started = performance.now();
      const r = await postJson(
        w.app,
        "/api/auth",
        { email, password: "not the password" },
        { "x-forwarded-for": freshIp() },
      );
      return { ...r, ms: performance.now() - started };
    };
    await attempt("known@example.com"); // warm-up: first queries, JIT
    await attempt("warmup@example.com");

    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      const a = await attempt(`nobody${i}@example.com`);
      const b = await attempt("known@example.com");
      assert.equal(a.status, 401);
      assert.equal(b.status, 401);
      assert.equal(a.raw, b.raw);
      unknown.push(a.ms);
      wrong.push(b.ms);
    }
    const [mu, mw] = [median(unknown), median(wrong)];
    t.diagnostic(`median unknown email ${mu.toFixed(1)} ms, wrong password ${mw.toFixed(1)} ms`);
    assert.ok(
      Math.abs(mu - mw) / Math.max(mu, mw) < 0.2,
      `median unknown ${mu.toFixed(1)} ms vs wrong password ${mw.toFixed(1)} ms`,
    );
  } finally {
    await w.close();
  }
});
