import assert from "node:assert/strict";
import { test } from "node:test";
import { postLogin } from "../helpers/login.js";
import { passwordProblems } from "../../src/domain/factors/password/policy.js";
import { engines } from "../helpers/engines.js";
import { startWarden } from "../helpers/warden.js";
import { post } from "./helpers.js";

const register = (w: Awaited<ReturnType<typeof startWarden>>, email: string, password: string) =>
  post(w.app, "/api/auth/register", { email, password });

for (const { engine, skip } of engines) {
  test(`${engine.name}: each password rule is refused at registration with its own sentence`, { skip }, async () => {
    const w = await startWarden({ engine });
    try {
      const cases: Array<[string, string, string[]]> = [
        ["a@example.com", "kq7#zP", ["The password must be at least 8 characters long."]],
        ["b@example.com", "x".repeat(4097), ["The password must be at most 4096 characters long."]],
        ["c@example.com", "iloveyou", ["This password is too common. Please choose another one."]],
        ["d@example.com", "D@Example.com", ["The password must not be your email address."]],
      ];
      for (const [email, password, expected] of cases) {
        const answer = await register(w, email, password);
        assert.equal(answer.status, 400, `${password.slice(0, 20)}: ${answer.raw}`);
        assert.deepEqual(answer.body.errors, { password: expected });
      }
      // No composition rules: eight lower-case letters nobody else uses are fine, so are 4096 characters.
      assert.equal((await register(w, "e@example.com", "qzxwvkjm")).status, 201);
      assert.equal((await register(w, "f@example.com", "ă".repeat(4096))).status, 201);
    } finally {
      await w.close();
    }
  });

  test(
    `${engine.name}: a 64-character password round trips; 80-character passwords differing at the end are distinct`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { REQUIRE_EMAIL_CONFIRMATION: "false" } });
      try {
        const long64 = "correct-horse-battery-staple-".repeat(3).slice(0, 64);
        assert.equal([...long64].length, 64);
        assert.equal((await register(w, "long@example.com", long64)).status, 201);
        assert.equal((await postLogin(w, "long@example.com", long64)).status, 200);

        // bcrypt would cut both at 72 bytes and take one for the other.
        const stem = "the quick brown fox jumps over the lazy dog while the old cat sleeps by the ";
        const first = stem + "mat1";
        const second = stem + "mat2";
        assert.equal(first.length, 80);
        assert.equal((await register(w, "eighty@example.com", first)).status, 201);
        assert.equal((await postLogin(w, "eighty@example.com", second)).status, 401);
        assert.equal((await postLogin(w, "eighty@example.com", first)).status, 200);
      } finally {
        await w.close();
      }
    },
  );
}

test("length counts characters, not bytes; common passwords match in any case", () => {
  assert.deepEqual(passwordProblems("ăîșțâăîș", { minLength: 8 }), []);
  assert.deepEqual(passwordProblems("ăîșțâăî", { minLength: 8 }), ["The password must be at least 8 characters long."]);
  assert.deepEqual(passwordProblems("PassWord1", { minLength: 8 }), [
    "This password is too common. Please choose another one.",
  ]);
});
