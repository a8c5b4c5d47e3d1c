/**
 * The one line reader (src/util/lines.ts) of `weir run --input` and `weir produce`: line breaks,
 * the byte-order mark, blank lines, byte positions for resuming, and that how the input is chunked
 * never changes any of it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { LineFile, LineSplitter, isBlankLine } from "../../src/util/lines.js";

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

interface Got {
  line: string;
  lineNumber: number;
  position: number;
}

/** Every line of `chunks` pushed one by one, with its physical line number and the position after it. */
function splitAll(chunks: Buffer[], from = 0): Got[] {
  const out: Got[] = [];
  const s = new LineSplitter({ from });
  const take = () => {
    for (let line = s.next(); line !== null; line = s.next())
      out.push({ line, lineNumber: s.lineNumber, position: s.position });
  };
  for (const c of chunks) {
    s.push(c);
    take();
  }
  s.end();
  take();
  return out;
}

const lineTexts = (chunks: Buffer[], from = 0) => splitAll(chunks, from).map((g) => g.line);

/** `bytes` cut at the given points. */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

function tempFile(t: { after: (fn: () => void) => void }, content: Buffer | string): string {
  const dir = mkdtempSync(join(tmpdir(), "weir-lines-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "in.jsonl");
  writeFileSync(file, content);
  return file;
}

test("LF, CRLF, a last line without line break; blank lines skipped but counted in line numbers", () => {
  const got = splitAll([Buffer.from("a\r\nb\n\n  \t\n"), Buffer.from("c\r"), Buffer.from("\n \r\nd")]);
  assert.deepEqual(
    got.map((g) => [g.line, g.lineNumber]),
    [
      ["a", 1],
      ["b", 2],
      ["c", 5],
      ["d", 7],
    ],
  );
  assert.deepEqual(lineTexts([Buffer.from("x\n")]), ["x"]);
  assert.deepEqual(lineTexts([]), []);
  assert.deepEqual(lineTexts([Buffer.from("\n\r\n \n")]), []);
});

test("a byte-order mark is dropped at the start of the input only", () => {
  assert.deepEqual(lineTexts([Buffer.concat([BOM, Buffer.from('{"a":1}\n{"a":2}\n')])]), [
    '{"a":1}',
    '{"a":2}',
  ]);
  // Split across chunks, byte by byte.
  const bytes = Buffer.concat([BOM, Buffer.from('{"a":1}\r\n')]);
  assert.deepEqual(lineTexts(cut(bytes, [1, 2, 3, 4])), ['{"a":1}']);
  // A file holding nothing but the mark has no lines.
  assert.deepEqual(lineTexts([BOM]), []);
  // Anywhere else it stays part of its line (and a resumed file does not start at byte 0).
  assert.deepEqual(lineTexts([Buffer.concat([Buffer.from("{}\n"), BOM, Buffer.from("{}\n")])]), [
    "{}",
    "\ufeff{}",
  ]);
  assert.deepEqual(lineTexts([Buffer.concat([BOM, Buffer.from("{}\n")])], 10), ["\ufeff{}"]);
});

test("blank means spaces, tabs and CRs only: other white space is a line (a dead letter, not skipped)", () => {
  for (const blank of ["", " ", "\t \t", " \r"])
    assert.equal(isBlankLine(blank), true, JSON.stringify(blank));
  for (const line of ["\u00a0", "\u000b", "\u000c", "\ufeff", "\u2028", " {}", "x"])
    assert.equal(isBlankLine(line), false, JSON.stringify(line));
  assert.deepEqual(lineTexts([Buffer.from("\u00a0\n\t\n\ufeff\n")]), ["\u00a0", "\ufeff"]);
});

const lineArb = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !/[\r\n]/.test(s)),
  fc.constantFrom("", " ", "\t", "\r", "\ufeff{}", "\u00a0", "é€😀"),
);

test("any chunking gives the same lines, line numbers and positions; resuming at a position gives the rest", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(lineArb, fc.boolean()), { maxLength: 20 }),
      fc.array(fc.nat(200), { maxLength: 10 }),
      fc.boolean(),
      fc.boolean(),
      (lines, cuts, bom, lastBreak) => {
        // The reference: lines with their own break (LF or CRLF), positions counted in bytes.
        const parts: Buffer[] = bom ? [BOM] : [];
        let at = parts.length > 0 ? 3 : 0;
        const expected: Got[] = [];
        lines.forEach(([text, crlf], i) => {
          const last = i === lines.length - 1;
          const body = Buffer.from(text, "utf8");
          const brk = last && !lastBreak ? "" : crlf ? "\r\n" : "\n";
          parts.push(body, Buffer.from(brk));
          at += body.length + brk.length;
          // A CR right before the line break (or at the very end) goes, and a mark at byte 0.
          let line = brk === "\r\n" || !text.endsWith("\r") ? text : text.slice(0, -1);
          if (i === 0 && !bom && line.startsWith("\ufeff")) line = line.slice(1);
          if (!/^[ \t\r]*$/.test(line)) expected.push({ line, lineNumber: i + 1, position: at });
        });
        const bytes = Buffer.concat(parts);
        const got = splitAll(cut(bytes, cuts));
        assert.deepEqual(got, expected);
        for (let k = 0; k < got.length; k++) {
          const p = got[k].position;
          const rest = splitAll([bytes.subarray(p)], p).map((g) => g.line);
          assert.deepEqual(
            rest,
            expected.slice(k + 1).map((e) => e.line),
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("LineFile: read()/next() batches and nextLine() give the splitter's lines, with positions to resume at", (t) => {
  const content = Buffer.concat([
    BOM,
    Buffer.from('{"a":1}\r\n\n{"b":"é€😀"}\n   \n{"c":3}\r\n\ufeff{"d":4}\n{"e":5}'),
  ]);
  const file = tempFile(t, content);
  const whole = lineTexts([content]);
  assert.deepEqual(whole, ['{"a":1}', '{"b":"é€😀"}', '{"c":3}', '\ufeff{"d":4}', '{"e":5}']);
  for (const chunkBytes of [1, 2, 3, 5, 16, 1 << 20]) {
    const batched: string[] = [];
    const f = new LineFile(file, 0, { chunkBytes, maxLineBytes: 1 << 20 });
    while (f.read()) for (let l = f.next(); l !== null; l = f.next()) batched.push(l);
    assert.equal(f.position, content.length);
    assert.equal(f.read(), false);
    f.close();
    assert.deepEqual(batched, whole, `read/next, chunks of ${chunkBytes}`);

    const g = new LineFile(file, 0, { chunkBytes, maxLineBytes: 1 << 20 });
    const positions: number[] = [];
    const pulled: string[] = [];
    for (let l = g.nextLine(); l !== null; l = g.nextLine()) {
      pulled.push(l);
      positions.push(g.position);
    }
    g.close();
    assert.deepEqual(pulled, whole, `nextLine, chunks of ${chunkBytes}`);
    positions.forEach((p, k) => {
      const r = new LineFile(file, p, { chunkBytes, maxLineBytes: 1 << 20 });
      const rest: string[] = [];
      for (let l = r.nextLine(); l !== null; l = r.nextLine()) rest.push(l);
      r.close();
      assert.deepEqual(rest, whole.slice(k + 1), `resumed at ${p}`);
    });
  }
});

test("LineFile: a line longer than maxLineBytes is an error naming the file and where the line starts", (t) => {
  const file = tempFile(t, `{"a":1}\n${"x".repeat(15)}\n{"b":2}\n`);
  const ok = new LineFile(file, 0, { chunkBytes: 4, maxLineBytes: 16 }); // 15 bytes and the break: 16
  const got: string[] = [];
  for (let l = ok.nextLine(); l !== null; l = ok.nextLine()) got.push(l);
  ok.close();
  assert.equal(got.length, 3);
  const tooLong = new LineFile(file, 0, { chunkBytes: 4, maxLineBytes: 15 });
  assert.equal(tooLong.nextLine(), '{"a":1}');
  assert.throws(() => tooLong.nextLine(), { message: `${file}: a line longer than 15 bytes at byte 8` });
  tooLong.close();
  // The default: no longer than a chunk.
  const byChunk = new LineFile(file, 0, { chunkBytes: 8 });
  assert.equal(byChunk.nextLine(), '{"a":1}');
  assert.throws(() => byChunk.nextLine(), /a line longer than 8 bytes at byte 8/);
  byChunk.close();
});

test("LineFile: a missing file is a usage error naming it", () => {
  assert.throws(() => new LineFile("/nonexistent/in.jsonl"), {
    message: "cannot read input file /nonexistent/in.jsonl: ENOENT",
  });
});
