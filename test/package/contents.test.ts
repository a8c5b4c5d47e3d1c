/**
 * What `npm pack` puts in the package users install (issue 13, items 1 and 7), checked from
 * `npm pack --dry-run` without installing anything: every module the shipped code imports is in the
 * package or a declared dependency, the docs' links resolve inside the package, no source maps, a
 * LICENSE, the metadata a registry page needs, and `engines` no lower than the dependencies allow.
 * scripts/package-test.mjs installs the real tarball and uses it as a user would.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, normalize } from "node:path";
import { before, describe, it } from "node:test";
import ts from "typescript";
import { repoRoot } from "../helpers/services.js";

interface PackedFile {
  path: string;
  size: number;
}

interface PackageJson {
  name: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  repository?: { type?: string; url?: string };
  homepage?: string;
  bugs?: { url?: string };
  license?: string;
}

const root = repoRoot();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as PackageJson;

/** The files `npm pack` would put in the tarball (no scripts run: the build is already there). */
function packedFiles(): Promise<string[]> {
  return new Promise((resolvePack, reject) => {
    execFile(
      "npm",
      ["pack", "--dry-run", "--json", "--ignore-scripts"],
      { cwd: root, maxBuffer: 64 << 20, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`npm pack --dry-run failed: ${err.message}\n${stderr}`));
        const [result] = JSON.parse(stdout) as Array<{ files: PackedFile[] }>;
        resolvePack(result.files.map((f) => f.path).sort());
      },
    );
  });
}

/** The package a bare specifier names: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Module specifiers a JavaScript file imports: static, dynamic with a literal, and re-exports. */
function importsOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Relative link and image targets of a Markdown text, without their #anchor. */
function relativeLinks(markdown: string): Array<{ target: string; image: boolean }> {
  const out: Array<{ target: string; image: boolean }> = [];
  // Fenced code holds commands, not links.
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "");
  for (const m of prose.matchAll(/(!?)\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[2];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
    out.push({ target: target.split("#")[0], image: m[1] === "!" });
  }
  return out;
}

describe("the npm package", () => {
  let files: string[] = [];
  let shipped = new Set<string>();

  before(async () => {
    files = await packedFiles();
    shipped = new Set(files);
    assert.ok(
      shipped.has("dist/src/index.js"),
      "dist/ is not built: run `npm run build` before this test (npm test does)",
    );
  });

  it("ships the compiled built-in examples that the CLI imports, and no tests or benchmarks", () => {
    assert.ok(shipped.has("dist/examples/index.js"), "dist/examples/index.js (weir run nobroker)");
    assert.ok(
      shipped.has("dist/examples/nobroker/pipeline.js"),
      "dist/examples/nobroker/pipeline.js (weir demo)",
    );
    const internal = files.filter((f) => /^(dist\/)?(test|bench)\//.test(f) || /(^|\/)src\/.*\.ts$/.test(f));
    assert.deepEqual(
      internal.filter((f) => !f.endsWith(".d.ts")),
      [],
      "tests, benchmarks and TypeScript sources stay out of the package",
    );
  });

  it("resolves every relative import of the shipped code to a shipped file", () => {
    const missing: string[] = [];
    for (const file of files) {
      if (!/^(bin|dist\/src|dist\/examples)\/.*\.js$/.test(file)) continue;
      for (const spec of importsOf(readFileSync(join(root, file), "utf8"))) {
        if (!spec.startsWith(".")) continue;
        const target = normalize(join(dirname(file), spec));
        if (!shipped.has(target)) missing.push(`${file} imports ${spec} (${target}, not in the package)`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("imports only Node's modules and declared dependencies at run time", () => {
    const builtins = new Set(builtinModules);
    const dependencies = new Set(Object.keys(pkg.dependencies ?? {}));
    const undeclared: string[] = [];
    for (const file of files) {
      if (!/^(bin|dist\/src|dist\/examples)\/.*\.js$/.test(file)) continue;
      for (const spec of importsOf(readFileSync(join(root, file), "utf8"))) {
        if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec)) continue;
        if (!dependencies.has(packageOf(spec))) undeclared.push(`${file} imports ${spec}`);
      }
    }
    assert.deepEqual(undeclared, [], "a package the shipped code imports must be in `dependencies`");
  });

  it("declares @types/node when the shipped type declarations use Node's types", () => {
    const usesNode = files.filter(
      (f) =>
        f.endsWith(".d.ts") &&
        /\bBuffer\b|\bNodeJS\.|from "node:|reference types="node"/.test(readFileSync(join(root, f), "utf8")),
    );
    if (usesNode.length > 0) {
      assert.ok(
        pkg.dependencies?.["@types/node"] !== undefined,
        `${usesNode.slice(0, 3).join(", ")} use Node's types: @types/node must be a dependency, not a devDependency`,
      );
    }
  });

  it("ships no source maps", () => {
    assert.deepEqual(
      files.filter((f) => f.endsWith(".map")),
      [],
    );
    const pointing = files.filter(
      (f) => /\.(js|css)$/.test(f) && /sourceMappingURL=/.test(readFileSync(join(root, f), "utf8")),
    );
    assert.deepEqual(pointing, [], "files that name a source map the package does not hold");
  });

  it("resolves every relative link of its Markdown files to a shipped file (images: in the repository)", () => {
    // Screenshots and charts (1.3 MB) stay out of the package and show from the repository; a link
    // to a page must work offline (docs/packaging.md).
    const broken: string[] = [];
    for (const file of files) {
      if (!file.endsWith(".md")) continue;
      for (const { target: link, image } of relativeLinks(readFileSync(join(root, file), "utf8"))) {
        if (link === "") continue;
        const target = normalize(join(dirname(file), decodeURIComponent(link)));
        const isDir = files.some((f) => f.startsWith(`${target}/`));
        const found = image ? existsSync(join(root, target)) : shipped.has(target) || isDir;
        if (!found) broken.push(`${file}: ${link}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("ships the Apache-2.0 license text, a NOTICE, the README and the changelog", () => {
    for (const f of ["LICENSE", "NOTICE", "README.md", "CHANGELOG.md", "package.json"])
      assert.ok(shipped.has(f), `${f} is in the package`);
    assert.equal(pkg.license, "Apache-2.0");
    const license = readFileSync(join(root, "LICENSE"), "utf8");
    assert.match(license, /^\s*Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.match(readFileSync(join(root, "NOTICE"), "utf8"), /Copyright \d{4} the Weir authors/);
  });

  it("shows users how to install it", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.ok(/^npm install weir\b/m.test(readme), "README.md has a line `npm install weir`");
  });

  it("names its repository, homepage and issue tracker consistently", () => {
    const url = pkg.repository?.url ?? "";
    const m = /^git\+(https:\/\/github\.com\/[^/]+\/[^/]+?)\.git$/.exec(url);
    assert.ok(m, `repository.url ${JSON.stringify(url)} is git+https://github.com/OWNER/NAME.git`);
    assert.equal(pkg.repository?.type, "git");
    assert.equal(pkg.homepage, `${m[1]}#readme`);
    assert.equal(pkg.bugs?.url, `${m[1]}/issues`);
  });
});

/**
 * Packages whose `engines` claim more than the code needs. Each names why the claim is not ours to
 * follow; the test fails when the claim changes, so the entry is looked at again.
 */
const ENGINES_EXCEPTIONS: Record<string, { declares: string; why: string }> = {
  "@platformatic/dynamic-buffer": {
    declares: ">= 22.19.0",
    why: "a dependency of @platformatic/kafka 1.x, which documents and tests Node 20.19.4+; Weir's suite runs on Node 20",
  },
  "@platformatic/wasm-utils": {
    declares: ">= 22.19.0",
    why: "a dependency of @platformatic/kafka 1.x, which documents and tests Node 20.19.4+; Weir's suite runs on Node 20",
  },
};

interface Semver {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string } | null;
}

describe("engines", () => {
  it("asks for no older Node than the production dependencies support", () => {
    // npm's own semver (installed with the dev tools) reads the ranges as npm does.
    const semver = createRequire(import.meta.url)("semver") as Semver;
    const ours = pkg.engines?.node;
    assert.ok(ours, "package.json has engines.node");
    // The oldest version of each alternative: "^20.19.4 || ^22.18.0 || >=24.6.0" -> 20.19.4, 22.18.0, 24.6.0.
    const floors = ours.split("||").map((part) => semver.minVersion(part.trim())!.version);
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean; engines?: { node?: string } }>;
    };
    const problems: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = entry.engines?.node;
      if (path === "" || entry.dev === true || range === undefined) continue;
      const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
      const exception = ENGINES_EXCEPTIONS[name];
      if (exception !== undefined) {
        assert.equal(
          range,
          exception.declares,
          `${name}'s engines changed: look at ENGINES_EXCEPTIONS again`,
        );
        continue;
      }
      for (const floor of floors)
        if (!semver.satisfies(floor, range))
          problems.push(`${name} needs node ${range}; ours allows ${floor}`);
    }
    assert.deepEqual(problems, []);
  });
});
