import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { PASSWORD, postLogin } from "../helpers/login.js";
import { FixedClock, startWarden } from "../helpers/warden.js";
import { post, startWardenWithSmtp } from "./helpers.js";
import { linkToken } from "./smtp.js";

for (const { engine, skip } of engines) {
  test(`${engine.name}: register -> mail -> confirm -> login`, { skip }, async () => {
    const { w, smtp, close } = await startWardenWithSmtp({ engine });
    try {
      const registered = await post(w.app, "/api/auth/register", {
        email: "  Ana.Pop@Example.com ",
        password: PASSWORD,
        firstName: "Ana",
      });
      assert.equal(registered.status, 201, registered.raw);
      assert.deepEqual(registered.body, {
        message: "Registration successful. Please check your email to confirm your account.",
        email: "ana.pop@example.com",
      });

      const early = await postLogin(w, "ana.pop@example.com", PASSWORD);
      assert.equal(early.raw, '{"code":403,"message":"Please confirm your email address before logging in."}');

      const mail = await smtp.nextMail("ana.pop@example.com");
      assert.match(mail.raw, /^From: Warden <no-reply@localhost>/m);
      // The address is not confirmed yet: the mail greets nobody by name (finding 10, docs/operations.md).
      assert.match(mail.decoded, /Hello,/);
      assert.doesNotMatch(mail.decoded, /Ana/);
      assert.match(mail.raw, /Content-Type: text\/plain/);
      assert.match(mail.raw, /Content-Type: text\/html/);
      const token = linkToken(mail, "/confirm-email");

      const confirmed = await post(w.app, "/api/auth/confirm-email", { token });
      assert.equal(confirmed.status, 200, confirmed.raw);
      assert.deepEqual(confirmed.body, { message: "Your email address has been confirmed. You can now log in." });

      const again = await post(w.app, "/api/auth/confirm-email", { token });
      assert.equal(again.raw, '{"code":401,"message":"Invalid or expired token."}');

      const login = await postLogin(w, "ana.pop@example.com", PASSWORD);
      assert.equal(login.status, 200, login.raw);
      assert.deepEqual(Object.keys(login.body), ["token", "refresh_token"]);
    } finally {
      await close();
    }
  });

  test(
    `${engine.name}: a confirmation link dies after 24 hours; a later link of a confirmed account gets 409`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const { w, smtp, close } = await startWardenWithSmtp({ engine, clock });
      try {
        await post(w.app, "/api/auth/register", { email: "late@example.com", password: PASSWORD });
        const first = linkToken(await smtp.nextMail("late@example.com"), "/confirm-email");
        clock.advance(24 * 3600 + 1);
        assert.equal((await post(w.app, "/api/auth/confirm-email", { token: first })).status, 401);

        // The per-address cap (one mail per few minutes) has long passed: a new mail is sent.
        assert.equal((await post(w.app, "/api/auth/resend-confirmation", { email: "late@example.com" })).status, 200);
        const second = linkToken(await smtp.nextMail("late@example.com"), "/confirm-email");
        clock.advance(10 * 60);
        assert.equal((await post(w.app, "/api/auth/resend-confirmation", { email: "LATE@example.com" })).status, 200);
        const third = linkToken(await smtp.nextMail("late@example.com"), "/confirm-email");

        assert.equal((await post(w.app, "/api/auth/confirm-email", { token: second })).status, 200);
        const already = await post(w.app, "/api/auth/confirm-email", { token: third });
        assert.equal(already.raw, '{"code":409,"message":"This email address is already confirmed."}');
      } finally {
        await close();
      }
    },
  );

  test(
    `${engine.name}: an existing email in another case gets 409; bad input gets 400 per field`,
    { skip },
    async () => {
      const w = await startWarden({ engine });
      try {
        assert.equal(
          (await post(w.app, "/api/auth/register", { email: "dup@example.com", password: PASSWORD })).status,
          201,
        );
        const dup = await post(w.app, "/api/auth/register", {
          email: " DUP@Example.COM",
          password: "another good phrase",
        });
        assert.equal(dup.raw, '{"code":409,"message":"An account with this email address already exists."}');

        const bad = await post(w.app, "/api/auth/register", { email: "not-an-email", password: "kq7z" });
        assert.equal(bad.status, 400);
        assert.deepEqual(bad.body, {
          code: 400,
          message: "Validation failed.",
          errors: {
            email: ["This value is not a valid email address."],
            password: ["The password must be at least 8 characters long."],
          },
        });
        const missing = await post(w.app, "/api/auth/register", { email: "x@example.com" });
        assert.deepEqual(missing.body.errors, { password: ["This value is required."] });
        const badToken = await post(w.app, "/api/auth/confirm-email", { token: "abc" });
        assert.deepEqual(badToken.body, {
          code: 400,
          message: "Validation failed.",
          errors: { token: ["This value is not valid."] },
        });
        const unknown = await post(w.app, "/api/auth/confirm-email", { token: "A".repeat(43) });
        assert.equal(unknown.status, 401);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: resend-confirmation answers byte for byte the same for unknown, confirmed and waiting addresses`,
    { skip },
    async () => {
      // A fixed clock, so RateLimit-Reset (whole seconds) cannot tick between the requests compared.
      const { w, smtp, close } = await startWardenWithSmtp({ engine, clock: new FixedClock() });
      try {
        await w.createUser("confirmed@example.com", PASSWORD, { confirmed: true });
        await w.createUser("waiting@example.com", PASSWORD, { confirmed: false });
        const answers = [];
        for (const [i, email] of ["nobody@example.com", "confirmed@example.com", "waiting@example.com"].entries()) {
          answers.push(await post(w.app, "/api/auth/resend-confirmation", { email }, `192.0.2.${i + 1}`));
        }
        for (const answer of answers) {
          assert.equal(answer.status, 200);
          assert.equal(answer.raw, answers[0]!.raw);
          const { date: _d, "x-request-id": _r, ...headers } = answer.headers;
          const { date: _d0, "x-request-id": _r0, ...first } = answers[0]!.headers;
          assert.deepEqual(headers, first);
        }
        await w.deps.mailer.idle();
        assert.deepEqual(
          smtp.received.map((m) => m.to),
          ["waiting@example.com"],
        );

        // At most one mail per few minutes per address, whatever the IP.
        assert.equal(
          (await post(w.app, "/api/auth/resend-confirmation", { email: "waiting@example.com" })).raw,
          answers[0]!.raw,
        );
        await w.deps.mailer.idle();
        assert.equal(smtp.received.length, 1);
      } finally {
        await close();
      }
    },
  );

  test(
    `${engine.name}: ALLOW_SIGNUP=false refuses every registration alike with 403; accounts that exist still sign in`,
    { skip },
    async () => {
      const { w, smtp, close } = await startWardenWithSmtp({ engine, env: { ALLOW_SIGNUP: "false" } });
      try {
        await w.createUser("taken@example.com", PASSWORD);
        const refused = [
          await post(w.app, "/api/auth/register", { email: "new@example.com", password: PASSWORD }),
          // A taken address and a weak password get the same answer: nothing is told about either.
          await post(w.app, "/api/auth/register", { email: "taken@example.com", password: PASSWORD }),
          await post(w.app, "/api/auth/register", { email: "weak@example.com", password: "password1" }),
        ];
        for (const r of refused) assert.equal(r.raw, '{"code":403,"message":"Registration is disabled."}');
        assert.equal(await w.deps.users.findByEmail("new@example.com"), null);
        await w.deps.mailer.idle();
        assert.deepEqual(smtp.received, []);
        // Operators still create accounts (`warden user create`), and those sign in.
        assert.equal((await postLogin(w, "taken@example.com", PASSWORD)).status, 200);
      } finally {
        await close();
      }
    },
  );
}

test("registration without required confirmation returns tokens and the account logs in", async () => {
  const w = await startWarden({ env: { REQUIRE_EMAIL_CONFIRMATION: "false" } });
  try {
    const registered = await post(w.app, "/api/auth/register", { email: "quick@example.com", password: PASSWORD });
    assert.equal(registered.status, 201, registered.raw);
    assert.deepEqual(Object.keys(registered.body), ["token", "refresh_token"]);
    assert.equal((await postLogin(w, "quick@example.com", PASSWORD)).status, 200);
  } finally {
    await w.close();
  }
});

test("a Romanian user gets the confirmation mail in Romanian, with the configured product name", async () => {
  const { w, smtp, close } = await startWardenWithSmtp({
    env: { PRODUCT_NAME: "Storno", MAIL_FROM: "Storno <cont@storno.test>" },
  });
  try {
    await post(w.app, "/api/auth/register", {
      email: "ion@example.ro",
      password: PASSWORD,
      firstName: "Ion",
      locale: "ro-RO",
    });
    const mail = await smtp.nextMail("ion@example.ro");
    assert.match(mail.raw, /^From: Storno <cont@storno\.test>/m);
    assert.match(mail.decoded, /Bună ziua,\r?\n/, "no name before the address is confirmed");
    assert.match(mail.decoded, /Vă mulțumim că v-ați înregistrat în Storno/);
    linkToken(mail, "/confirm-email");
  } finally {
    await close();
  }
});

test("register is limited to 10 per hour per IP", async () => {
  const w = await startWarden();
  try {
    const statuses = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (await post(w.app, "/api/auth/register", { email: `r${i}@example.com`, password: PASSWORD }, "198.51.100.7"))
          .status,
      );
    assert.deepEqual(statuses, [...Array(10).fill(201), 429]);
  } finally {
    await w.close();
  }
});
