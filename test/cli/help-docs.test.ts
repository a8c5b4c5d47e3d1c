/**
 * `weir --help`, docs/cli.md and the README say the same things: every environment variable the
 * code reads, every built-in example, every command and every option (with the same defaults), and
 * `weir help` exits 0. Also: what the README's own commands write is ignored by git and prettier.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENVIRONMENT, TEST_ONLY_ENVIRONMENT } from "../../src/cli/environment.js";
import { EXAMPLES } from "../../examples/index.js";
import { runCli } from "./helpers.js";

const fromSources = import.meta.url.endsWith(".ts");
const ROOT = fileURLToPath(new URL(fromSources ? "../../" : "../../../", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

const helpTexts = new Map<string, Promise<string>>();

/** The output of `weir ...args` (a help command), which must exit 0; each asked for once. */
function help(args: string[]): Promise<string> {
  const key = args.join(" ");
  let text = helpTexts.get(key);
  if (text === undefined) {
    text = runCli(args).then((r) => {
      assert.equal(r.code, 0, `weir ${key}: ${r.stderr}`);
      return r.stdout;
    });
    helpTexts.set(key, text);
  }
  return text;
}

/** The lines of a help section ("Options:", "Commands:") up to the next blank line. */
function section(text: string, title: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(title);
  if (start === -1) return [];
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** Entries of a help section: lines starting at two spaces, their wrapped continuations joined. */
function entries(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (/^ {2}\S/.test(line)) out.push(line.trim());
    else if (out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
  }
  return out;
}

/** The sub-commands `weir [command] --help` lists (without `help`). */
async function subcommands(path: string[]): Promise<string[]> {
  return entries(section(await help([...path, "--help"]), "Commands:"))
    .map((e) => e.split(/[\s|]/)[0])
    .filter((name) => name !== "help");
}

interface HelpOption {
  flags: string[];
  default?: string;
}

/** The command's own options (not the global ones) as its --help shows them. */
function options(helpText: string): HelpOption[] {
  return entries(section(helpText, "Options:"))
    .map((e) => {
      const spec = e.split(/\s{2,}/)[0];
      const flags = spec.split(/,\s*/).map((f) => f.split(" ")[0]);
      const d = /[(,]\s*default: ("[^"]*"|[^),]+)\)/.exec(e);
      return { flags, default: d?.[1].replace(/^"|"$/g, "") };
    })
    .filter((o) => !o.flags.includes("--help"));
}

/** The `## ` sections of a markdown file: heading and body. */
function mdSections(text: string): Array<{ heading: string; body: string }> {
  return text
    .split(/^(?=## )/m)
    .map((part) => ({ heading: part.split("\n")[0], body: part }))
    .filter((s) => s.heading.startsWith("## "));
}

function srcFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? srcFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("every environment variable read in src/ is listed by `weir --help` and in docs/cli.md", async () => {
  const read_ = new Set<string>();
  for (const file of srcFiles(join(ROOT, "src")))
    for (const m of readFileSync(file, "utf8").matchAll(/\bWEIR_[A-Z_]+\b/g)) read_.add(m[0]);
  // Fault injection for tests is read in src/ but deliberately left out of the user's documentation.
  for (const name of TEST_ONLY_ENVIRONMENT) {
    assert.ok(read_.delete(name), `${name} (test-only) is read in src/`);
    assert.ok(!read("docs/cli.md").includes(name), `${name} is not in docs/cli.md`);
  }
  const table = ENVIRONMENT.map((v) => v.name);
  assert.deepEqual([...read_].sort(), [...table].sort(), "src/cli/environment.ts lists what src/ reads");
  const environment = entries(section(await help(["--help"]), "Environment:")).map((e) => e.split(" ")[0]);
  assert.deepEqual(environment, table);
  const documented = [...read("docs/cli.md").matchAll(/^\| `(WEIR_[A-Z_]+)/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...table].sort(), "docs/cli.md's environment table");
});

test("the help of run, replay, describe and promote lists every built-in example (run's and replay's with options)", async () => {
  assert.ok(EXAMPLES.length >= 5);
  for (const args of [
    ["run", "--help"],
    ["help", "run"],
    ["replay", "--help"],
  ]) {
    const text = await help(args);
    for (const e of EXAMPLES) {
      assert.match(text, new RegExp(`^ {2}${e.name} +${escape(e.description)}$`, "m"), `${args}: ${e.name}`);
      for (const o of e.options)
        assert.match(
          text,
          new RegExp(`--${o.flag} +${escape(o.description)}`),
          `${args}: ${e.name} --${o.flag}`,
        );
    }
  }
  for (const command of ["describe", "promote"]) {
    const text = await help([command, "--help"]);
    for (const e of EXAMPLES) assert.match(text, new RegExp(`^ {2}${e.name} `, "m"), `${command}: ${e.name}`);
  }
  const runDocs = mdSections(read("docs/cli.md")).find((s) => s.heading.startsWith("## `weir run"))!;
  for (const e of EXAMPLES)
    assert.ok(runDocs.body.includes(`\`${e.name}\``), `docs/cli.md, weir run: ${e.name}`);
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("`weir help`, `weir help <command>` and `weir help --help` print help and exit 0", async () => {
  for (const args of [["help"], ["help", "run"], ["help", "--help"], ["help", "topics"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `weir ${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: weir/, args.join(" "));
  }
  // A command that needs a sub-command, without one: help on stderr, a usage error.
  const r = await runCli(["topics"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Usage: weir topics/);
});

test("the README's CLI table has every command, and every flag it shows is in that command's --help", async () => {
  const commands = await subcommands([]);
  assert.ok(commands.length >= 14, commands.join(" "));
  const readme = read("README.md");
  const table = readme.slice(
    readme.indexOf("\n## CLI\n"),
    readme.indexOf("\n## ", readme.indexOf("\n## CLI\n") + 1),
  );
  const rows = table.split("\n").filter((l) => l.startsWith("| `weir"));
  const cliDoc = read("docs/cli.md");
  const overview = cliDoc.slice(
    cliDoc.indexOf("```\n"),
    cliDoc.indexOf("```\n", cliDoc.indexOf("```\n") + 4),
  );
  for (const command of commands) {
    assert.ok(
      rows.some((r) => r.includes(`\`weir ${command}`)),
      `README's CLI table has no row for weir ${command}`,
    );
    assert.match(
      overview,
      new RegExp(`^weir ${command}\\b`, "m"),
      `docs/cli.md's overview lacks weir ${command}`,
    );
  }
  for (const row of rows) {
    const cell = row.split(/(?<!\\)\|/)[1];
    const named = [...cell.matchAll(/`weir ([a-z-]+)((?:\s(?:[a-z]+\\\|)+[a-z]+)?)/g)];
    const texts: string[] = [];
    for (const [, command, subs] of named) {
      assert.ok(commands.includes(command), `README row names weir ${command}, which is not a command`);
      texts.push(await help([command, "--help"]));
      const listed = await subcommands([command]);
      for (const sub of subs
        .trim()
        .split("\\|")
        .filter((s) => s !== ""))
        assert.ok(listed.includes(sub), `README: weir ${command} ${sub} is not a sub-command`);
    }
    const flags = [...cell.matchAll(/(?<=[\s[])(--?[a-z][a-z-]*)/g)].map((m) => m[1]);
    for (const flag of flags)
      assert.ok(
        texts.some((t) => options(t).some((o) => o.flags.includes(flag))),
        `README row ${cell.trim()}: ${flag} is not an option of ${named.map((n) => n[1]).join(", ")}`,
      );
  }
});

test("every option of every command is in its section of docs/cli.md, with the default --help shows", async () => {
  const sections = mdSections(read("docs/cli.md"));
  const sectionOf = (command: string) => {
    const s = sections.find((x) => x.heading.includes(`\`weir ${command}`));
    assert.ok(s, `docs/cli.md has no section for weir ${command}`);
    return s.body;
  };
  // replay takes every `weir run` option, documented once, with run.
  const alsoIn: Record<string, string> = { replay: "run" };
  for (const command of await subcommands([])) {
    const docs = sectionOf(command) + (alsoIn[command] ? sectionOf(alsoIn[command]) : "");
    const paths = [[command], ...(await subcommands([command])).map((sub) => [command, sub])];
    for (const path of paths) {
      for (const option of options(await help([...path, "--help"]))) {
        const long = option.flags.find((f) => f.startsWith("--")) ?? option.flags[0];
        assert.match(
          docs,
          new RegExp(`${escape(long)}(?![\\w-])`),
          `docs/cli.md, weir ${path.join(" ")}: ${long}`,
        );
        // A table row for the option with a default column says the same default as --help.
        const row = docs
          .split("\n")
          .find((l) => new RegExp(`^\\| \`[^\`]*${escape(long)}(?![\\w-])`).test(l));
        const shown = option.default;
        if (row === undefined || shown === undefined || !/^[\w.:/-]+$/.test(shown)) continue;
        const header = docs
          .slice(0, docs.indexOf(row))
          .split("\n")
          .reverse()
          .find((l) => l.startsWith("| option"));
        if (header === undefined || header.split("|")[2].trim() !== "default") continue;
        const documented = row.split("|")[2].trim().replace(/`/g, "");
        assert.equal(documented, shown, `docs/cli.md, weir ${path.join(" ")} ${long}: default`);
      }
    }
  }
});

test("what the README's and docs' commands write (-o FILE, -o DIR, weir report) is ignored by git and prettier", () => {
  const written = new Set<string>(["report"]); // weir report's default --out
  for (const doc of ["README.md", "docs/examples.md"])
    for (const m of read(doc).matchAll(
      /weir (?:generate|report) [^\n`]*?(?:-o|--output|--out) ([a-z][\w./-]*)/g,
    ))
      written.add(m[1]);
  assert.ok(written.has("events.jsonl") && written.has("data"), [...written].join(" "));
  // Paths, whether or not they exist: both tools match them against their ignore files.
  const files = [...written].map((p) => (p.endsWith(".jsonl") ? p : `${p}/energy-weather.html`));
  for (const file of files) {
    const git = spawnSync("git", ["check-ignore", "-q", file], { cwd: ROOT });
    assert.equal(git.status, 0, `git does not ignore ${file}`);
    const prettier = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/prettier/bin/prettier.cjs"), "--file-info", file],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(prettier.status, 0, prettier.stderr);
    assert.equal(JSON.parse(prettier.stdout).ignored, true, `prettier checks ${file}`);
  }
});
