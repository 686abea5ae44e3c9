/**
 * The documentation's walkthroughs run as printed: each `sh` block marked with EXAMPLE_MARK is
 * run by bash in Warden's folder, in order, against a real `npm start` on its embedded defaults
 * but for the port and where its data lives (a scratch folder instead of ./data, for the server,
 * the CLI and the examples' own `data/` paths alike). A `# ...` comment right under a command
 * (no blank line between) is what that command prints: compared with whitespace ignored, where
 * `...` and `<a placeholder>` stand for any text. Other comments are prose.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ROOT, run, startServerProcess } from "../helpers/process.js";

const EXAMPLE_MARK = "<!-- example: runs as printed in npm test (test/docs/examples.test.ts) -->";

interface Step {
  command: string;
  /** What the command prints, from the comment lines right under it; null when none. */
  expected: string | null;
}

/** The marked `sh` blocks of a Markdown file, in order. */
function markedExamples(markdown: string): string[] {
  const blocks: string[] = [];
  const pattern = new RegExp(`${escapeRegExp(EXAMPLE_MARK)}\\s*\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\``, "g");
  for (const match of markdown.matchAll(pattern)) blocks.push(match[1]!);
  return blocks;
}

/** A block's commands (continuation lines joined) and what each one is shown to print. */
function exampleSteps(block: string): Step[] {
  const steps: Step[] = [];
  let continuing = false;
  let underCommand = false;
  for (const line of block.split("\n")) {
    const last = steps.at(-1);
    if (continuing && last) {
      last.command += `\n${line}`;
      continuing = line.endsWith("\\");
    } else if (line.trim() === "") {
      underCommand = false;
    } else if (line.startsWith("#")) {
      if (underCommand && last) last.expected = `${last.expected ?? ""}${line.replace(/^# ?/, "")}\n`;
    } else {
      steps.push({ command: line, expected: null });
      continuing = line.endsWith("\\");
      underCommand = true;
    }
  }
  return steps;
}

/** `...`, `…` and `<a placeholder>` match any text; whitespace is ignored on both sides. */
function printedAs(expected: string, actual: string): boolean {
  const parts = expected.split(/\.\.\.|…|<[a-z0-9][a-z0-9 -]*>/i).map((part) => escapeRegExp(part.replace(/\s+/g, "")));
  return new RegExp(`^${parts.join("[\\s\\S]*?")}$`).test(actual.replace(/\s+/g, ""));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A bash script of `blocks` in which every command with a printed answer writes its output to
 * `outDir/<n>`, in the same shell (so its assignments hold for the commands after it).
 */
function scriptOf(blocks: string[], outDir: string): { script: string; checks: Array<{ n: number; step: Step }> } {
  const checks: Array<{ n: number; step: Step }> = [];
  const lines = ["set -exo pipefail"];
  for (const block of blocks)
    for (const step of exampleSteps(block)) {
      if (step.expected === null) {
        lines.push(step.command);
        continue;
      }
      const n = checks.length;
      checks.push({ n, step });
      lines.push(`{\n${step.command}\n} > ${JSON.stringify(path.join(outDir, String(n)))}`);
    }
  return { script: lines.join("\n"), checks };
}

/** The script with Warden's address on `port` and its `data/` folder at `dataDir`: all the run changes. */
function relocated(script: string, port: number, dataDir: string): string {
  return script
    .replaceAll("http://localhost:3000", `http://localhost:${port}`)
    .replace(/(?<![\w./-])data\//g, `${dataDir}/`);
}

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The README and every page in docs/. */
const docPages = () =>
  ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((name) => `docs/${name}`)].filter((file) =>
    file.endsWith(".md"),
  );

interface Chain {
  /** [file, index of its marked block], in order. */
  walkthroughs: Array<[string, number]>;
  /** Files the docs have the reader put in `data/` before `npm start`: name -> contents. */
  dataFiles?: Record<string, () => string>;
  /** What the docs have the reader set for `npm start` (and export to the shell), beyond the data folder. */
  env?: (dataDir: string) => Record<string, string>;
}

/**
 * The walkthroughs, in the order a reader meets them, as chains: each walkthrough of a chain
 * starts where the one before left off (the tour's account; mfa.md's TOTP, session and backup
 * codes; accounts.md's Ana), and each chain runs against a server of its own, so its logins and
 * mail fit the per-IP limits (the README's tour starts two of them). [file, index of its marked block].
 */
const CHAINS: Record<string, Chain> = {
  "the README's tour, then two-factor, step-up and email codes": {
    walkthroughs: [
      ["README.md", 0],
      ["docs/mfa.md", 0],
      ["docs/mfa.md", 1],
      ["docs/step-up.md", 0],
      ["docs/email-codes.md", 0],
      ["docs/mfa.md", 2],
    ],
  },
  // Registration, reset, then sessions.md's blocks with the account's deletion last.
  "registration and reset by mail, then sessions and the account": {
    walkthroughs: [
      ["docs/accounts.md", 0],
      ["docs/accounts.md", 1],
      ["docs/sessions.md", 0],
      ["docs/sessions.md", 1],
      ["docs/sessions.md", 2],
      ["docs/sessions.md", 4],
      ["docs/sessions.md", 5],
      ["docs/sessions.md", 3],
    ],
  },
  // Started as integrators.md starts it: its scopes catalogue, an introspection secret.
  "the README's tour, then passkey options, API keys, introspection, the admin API, CLI and operations": {
    walkthroughs: [
      ["README.md", 0],
      ["docs/passkeys.md", 0],
      ["docs/integrators.md", 0],
      ["docs/integrators.md", 1],
      ["docs/operators.md", 0],
      ["docs/operators.md", 1],
      ["docs/operations.md", 0],
      ["docs/operations.md", 1],
      ["docs/operations.md", 2],
    ],
    // The catalogue integrators.md has the reader write, read off the page itself.
    dataFiles: {
      "api-key-scopes.json": () => /^echo '(.+)' > data\/api-key-scopes\.json$/m.exec(read("docs/integrators.md"))![1]!,
    },
    env: (dataDir) => ({
      API_KEY_SCOPES_FILE: path.join(dataDir, "api-key-scopes.json"),
      INTROSPECTION_SECRET: crypto.randomBytes(32).toString("hex"),
    }),
  },
  // core.md's login contract on a fresh server (its rate-limit headers count from the first login), then browser.md's cookie.
  "the login contract, then the refresh cookie and its CSRF check": {
    walkthroughs: [
      ["docs/core.md", 0],
      ["docs/core.md", 1],
      ["docs/core.md", 2],
      ["docs/browser.md", 0],
    ],
  },
  // Ana again, on a server of her own: her new address would not be the one sessions.md signs in with.
  "registration and reset by mail, then a new email address": {
    walkthroughs: [
      ["docs/accounts.md", 0],
      ["docs/accounts.md", 1],
      ["docs/accounts.md", 2],
    ],
  },
  "sign-up closed": {
    walkthroughs: [["docs/accounts.md", 3]],
    env: () => ({ ALLOW_SIGNUP: "false" }),
  },
};

test("the marked examples: a parsed step keeps its continuation lines and its printed answer", () => {
  const steps = exampleSteps(
    ["# prose", "curl -s $B/x \\", "  -d '{}' | jq 'keys'", '# [ "a",', '#   "b" ]', "X=1", "", "# prose again"].join(
      "\n",
    ),
  );
  assert.deepEqual(steps, [
    { command: "curl -s $B/x \\\n  -d '{}' | jq 'keys'", expected: '[ "a",\n  "b" ]\n' },
    { command: "X=1", expected: null },
  ]);
  assert.ok(printedAs('{ "id": "<user id>", "n": 1 }', '{\n  "id": "f9d8",\n  "n": 1\n}'));
  assert.ok(!printedAs('{ "n": 1 }', '{ "n": 2 }'));
  assert.ok(!printedAs("[ ... ]", "[ 1 ] extra"));
});

test("every marked example is in one of the chains run here", () => {
  const marked = docPages().flatMap((file) => markedExamples(read(file)).map((_, index) => `${file}#${index}`));
  const chained = Object.values(CHAINS).flatMap((chain) =>
    chain.walkthroughs.map(([file, index]) => `${file}#${index}`),
  );
  assert.deepEqual([...marked].sort(), [...new Set(chained)].sort());
});

for (const [name, chain] of Object.entries(CHAINS))
  test(`the walkthroughs run as printed against npm start: ${name}`, async () => {
    const blocks = chain.walkthroughs.map(([file, index]) => {
      const block = markedExamples(read(file))[index];
      assert.ok(block, `${file} has a marked example number ${index + 1}`);
      assert.ok(
        exampleSteps(block).some((step) => step.expected !== null),
        `${file}'s marked example number ${index + 1} shows what a command prints`,
      );
      return block;
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-docs-"));
    const dataDir = path.join(dir, "data");
    fs.mkdirSync(dataDir, { mode: 0o700 });
    for (const [name, text] of Object.entries(chain.dataFiles ?? {}))
      fs.writeFileSync(path.join(dataDir, name), text());
    const env = {
      DATABASE_URL: `sqlite:${path.join(dataDir, "warden.db")}`,
      DATA_DIR: dataDir,
      ...chain.env?.(dataDir),
    };
    const before = fs.readdirSync(ROOT).sort();
    const server = await startServerProcess("npm", ["start", "--silent"], env, "/readyz");
    try {
      const outDir = path.join(dir, "printed");
      fs.mkdirSync(outDir);
      const { script, checks } = scriptOf(blocks, outDir);
      const ran = await run("bash", ["-c", relocated(script, server.port, env.DATA_DIR)], { env });
      assert.equal(
        ran.code,
        0,
        `the walkthroughs ran to the end; the last of their trace:\n${ran.stderr.slice(-3000)}`,
      );
      for (const { n, step } of checks) {
        const printed = fs.readFileSync(path.join(outDir, String(n)), "utf8");
        assert.ok(
          printedAs(step.expected!, printed),
          `${step.command}\nprinted:\n${printed}\nthe docs say:\n${step.expected}`,
        );
      }
      assert.deepEqual(fs.readdirSync(ROOT).sort(), before, "the walkthroughs leave no file in Warden's folder");
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

test("every file the README and docs/ point to exists: Markdown links and the source paths they name", () => {
  const pages = docPages();
  const missing: string[] = [];
  for (const page of pages) {
    const text = read(page);
    for (const [, target] of text.matchAll(/\]\(([^)#:\s]+)(?:#[^)]*)?\)/g))
      if (!fs.existsSync(path.join(ROOT, path.dirname(page), target!))) missing.push(`${page} links ${target}`);
    for (const [named] of text.matchAll(
      /(?<![\w./-])(?:src|test|bench|scripts|sdk|docs)\/[\w./-]*\.(?:ts|cts|mjs|js|md)\b/g,
    ))
      if (!fs.existsSync(path.join(ROOT, named))) missing.push(`${page} names ${named}`);
  }
  assert.ok(pages.length > 15, "the docs were found");
  assert.deepEqual(missing, []);
});
