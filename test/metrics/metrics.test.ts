import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { startWardenTarget } from "../../bench/warden.js";
import {
  bearer,
  call,
  createKey,
  introspect,
  loginAs,
  PASSWORD,
  userWithToken,
  withKeyWarden,
} from "../api-keys/fixtures.js";
import { engines } from "../helpers/engines.js";
import { turnOnTotp } from "../mfa/mfa-helpers.js";
import { parsePrometheusText } from "./prometheus-text.js";

const METRICS_TOKEN = "metrics-token-0123456789";

test("the strict parser refuses what Prometheus would", () => {
  const good = '# HELP a_total x\n# TYPE a_total counter\na_total{k="v\\""} 3\n';
  assert.equal(parsePrometheusText(good).sum("a_total"), 3);
  for (const bad of [
    "a_total 1\n",
    "# TYPE a_total counter\na_total{k=v} 1\n",
    "# TYPE a_total counter\na_total 1",
    "# TYPE a_total counter\na_total one\n",
    "# TYPE a_total counter\na_total 1\na_total 2\n",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
  ])
    assert.throws(() => parsePrometheusText(bad), bad);
});

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: counters move after the matching requests; /metrics parses; METRICS_TOKEN guards it`,
    { skip },
    async () => {
      await withKeyWarden(
        engine,
        async (w) => {
          const scrape = async () => {
            const response = await call(w, bearer(METRICS_TOKEN), "GET", "/metrics");
            assert.equal(response.status, 200);
            assert.match(String(response.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
            return parsePrometheusText(response.raw);
          };
          assert.equal((await call(w, undefined, "GET", "/metrics")).status, 401);
          assert.equal((await call(w, bearer("wrong-token-0123456789"), "GET", "/metrics")).status, 401);
          const before = await scrape();
          assert.equal(before.sum("warden_logins_total"), 0);

          const { token } = await userWithToken(w, "dev@example.com");
          await call(w, undefined, "POST", "/api/auth", { email: "dev@example.com", password: "wrong password!" });
          const session = await loginAs(w, "dev@example.com");
          const first = await call(w, undefined, "POST", "/api/auth/token/refresh", {
            refresh_token: session.refreshToken,
          });
          assert.equal(first.status, 200);
          const replay = await call(w, undefined, "POST", "/api/auth/token/refresh", {
            refresh_token: session.refreshToken,
          });
          assert.equal(replay.status, 200, "within the grace window");
          w.clock.advance(30);
          const reuse = await call(w, undefined, "POST", "/api/auth/token/refresh", {
            refresh_token: session.refreshToken,
          });
          assert.equal(reuse.status, 401, "after it: reuse detected");
          await call(w, undefined, "POST", "/api/auth/mfa/verify", { mfaToken: "x".repeat(64), code: "123456" });
          // A 200 that asks for the second step is not a success.
          const { user: withTotp } = await userWithToken(w, "totp@example.com");
          assert.ok(await turnOnTotp(w, withTotp.id, w.deps.box.encrypt("totp", "JBSWY3DPEHPK3PXP")));
          const asked = await call(w, undefined, "POST", "/api/auth", {
            email: "totp@example.com",
            password: PASSWORD,
          });
          assert.equal(asked.body.mfa_required, true, asked.raw);
          // A passkey login with an assertion that names no known credential: counted under its method.
          await call(w, undefined, "POST", "/api/auth/passkey/login", {
            id: "AAAA",
            rawId: "AAAA",
            type: "public-key",
            response: { clientDataJSON: "AAAA", authenticatorData: "AAAA", signature: "AAAA" },
          });
          const key = await createKey(w, token);
          await call(w, key.token, "GET", "/api/v1/me");
          await call(w, `af_${"0".repeat(64)}`, "GET", "/api/v1/me");
          await call(w, key.token, "GET", "/api/v1/api-tokens");
          await introspect(w, key.token);
          await introspect(w, key.token, "not-the-secret-0123456789-0123456789");
          await call(w, undefined, "GET", "/api/v1/me");

          const m = await scrape();
          for (const family of [
            "warden_http_requests_total",
            "warden_logins_total",
            "warden_refreshes_total",
            "warden_mfa_verifications_total",
            "warden_api_key_authentications_total",
            "warden_introspections_total",
            "warden_requests_shed_total",
            "warden_database_errors_total",
            "warden_redis_errors_total",
            "warden_mail_failures_total",
          ])
            assert.equal(m.types.get(family), "counter", family);
          for (const family of ["warden_http_request_duration_seconds", "warden_hash_queue_wait_seconds"])
            assert.equal(m.types.get(family), "histogram", family);
          for (const family of ["warden_hash_queue_depth", "warden_mail_queue_depth"])
            assert.equal(m.types.get(family), "gauge", family);

          assert.equal(m.sum("warden_logins_total", { method: "password", outcome: "success" }), 3);
          assert.equal(m.sum("warden_logins_total", { method: "password", outcome: "mfa_required" }), 1);
          assert.equal(m.sum("warden_logins_total", { method: "password", outcome: "invalid_credentials" }), 1);
          assert.equal(m.sum("warden_logins_total", { method: "passkey" }), 1, "every way in is counted");
          assert.equal(m.sum("warden_logins_total", { method: "passkey", outcome: "success" }), 0);
          assert.equal(m.sum("warden_refreshes_total", { outcome: "rotated" }), 1);
          assert.equal(m.sum("warden_refreshes_total", { outcome: "grace_replay" }), 1);
          assert.equal(m.sum("warden_refreshes_total", { outcome: "reuse_detected" }), 1);
          assert.equal(m.sum("warden_mfa_verifications_total", { outcome: "mfa_challenge_invalid" }), 1);
          assert.equal(m.sum("warden_api_key_authentications_total", { outcome: "success" }), 1);
          assert.equal(m.sum("warden_api_key_authentications_total", { outcome: "invalid" }), 1);
          assert.equal(m.sum("warden_api_key_authentications_total", { outcome: "refused_endpoint" }), 1);
          assert.equal(m.sum("warden_introspections_total", { outcome: "active" }), 1);
          assert.equal(m.sum("warden_introspections_total", { outcome: "unauthorized" }), 1);
          assert.equal(
            m.sum("warden_http_requests_total", { method: "GET", route: "/api/v1/me", status: "401" }),
            1,
            "by route pattern and status",
          );
          assert.equal(m.sum("warden_http_request_duration_seconds_count", { method: "POST", route: "/api/auth" }), 5);
          assert.ok(
            m.sum("warden_hash_queue_wait_seconds_count", { priority: "login" }) >= 3,
            "every login's hash waited (or not) once",
          );
          assert.equal(m.sum("warden_security_events_total", { type: "refresh_token_reuse_detected" }), 1);
          assert.ok(
            !m.samples.some((s) => Object.values(s.labels).some((v) => v.includes(key.id))),
            "no ids in labels",
          );
        },
        { METRICS_TOKEN },
      );
    },
  );
}

/** One request on a connection of its own, so the cluster primary hands it to the next worker in turn. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, body }));
      })
      .on("error", reject);
  });
}

test("WORKERS=2: /metrics on either worker reports the totals of both", async () => {
  const warden = await startWardenTarget({ engine: "sqlite", workers: "2", users: 0, mfaUsers: 0 });
  try {
    const N = 20;
    for (let i = 0; i < N; i++) assert.equal((await get(`${warden.server.url}/healthz`)).status, 200);
    // Scrape several times: each scrape lands on a worker in turn, and each must see all N.
    for (let i = 0; i < 3; i++) {
      const scraped = await get(`${warden.server.url}/metrics`);
      assert.equal(scraped.status, 200);
      const m = parsePrometheusText(scraped.body);
      assert.equal(m.sum("warden_http_requests_total", { route: "/healthz", status: "200" }), N);
    }
  } finally {
    await warden.close();
  }
});
