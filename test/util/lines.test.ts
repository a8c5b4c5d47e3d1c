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
import { MAX_RECORD_BYTES, OVERSIZE_RAW_BYTES } from "../../src/util/records.js";
import { decodePrefix, firstInvalidUtf8, isUtf8 } from "../../src/util/text.js";

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

test("LineFile: a line over the limit is handed out as its first bytes with its length, never an error (issue 14)", (t) => {
  const long = "x".repeat(40);
  const file = tempFile(t, `{"a":1}\n${"y".repeat(16)}\r\n${long}\r\n{"b":2}\n${long}`);
  for (const chunkBytes of [1, 4, 7, 64, 1 << 20]) {
    const f = new LineFile(file, 0, { chunkBytes, maxLineBytes: 16 });
    const got: Array<[string, number, number]> = [];
    for (let l = f.nextLine(); l !== null; l = f.nextLine()) got.push([l, f.oversize, f.position]);
    f.close();
    assert.deepEqual(
      got,
      [
        ['{"a":1}', -1, 8],
        ["y".repeat(16), -1, 26], // 16 bytes (and CR LF): at the limit
        [long, 40, 68], // 40 bytes: over it
        ['{"b":2}', -1, 76],
        [long, 40, 116], // the last line, without a line break
      ],
      `chunks of ${chunkBytes}`,
    );
    // Resuming after the over-long line gives what follows it.
    const r = new LineFile(file, 68, { chunkBytes, maxLineBytes: 16 });
    assert.equal(r.nextLine(), '{"b":2}');
    r.close();
  }
  // Only the first OVERSIZE_RAW_BYTES of a line over the limit are kept for its text.
  const huge = tempFile(t, `${"z".repeat(OVERSIZE_RAW_BYTES + 1000)}\n{}\n`);
  const h = new LineFile(huge, 0, { chunkBytes: 4096, maxLineBytes: 5000 });
  assert.equal(h.nextLine(), "z".repeat(OVERSIZE_RAW_BYTES));
  assert.equal(h.oversize, OVERSIZE_RAW_BYTES + 1000);
  assert.equal(h.nextLine(), "{}");
  assert.equal(h.oversize, -1);
  h.close();
});

test("a line over the default limit, the maximum record size, is never held whole (issue 14)", () => {
  const s = new LineSplitter();
  const piece = Buffer.alloc(1 << 20, 0x61); // 1 MiB of "a"
  s.push(Buffer.from("{}\n"));
  assert.equal(s.next(), "{}");
  assert.equal(s.next(), null);
  for (let k = 0; k < MAX_RECORD_BYTES / piece.length + 2; k++) {
    s.push(piece);
    assert.equal(s.next(), null);
  }
  s.push(Buffer.from("\n{}\n"));
  const line = s.next();
  assert.equal(line, "a".repeat(OVERSIZE_RAW_BYTES));
  assert.equal(s.oversize, MAX_RECORD_BYTES + 2 * piece.length);
  assert.equal(s.position, 3 + MAX_RECORD_BYTES + 2 * piece.length + 1);
  assert.equal(s.next(), "{}");
  assert.equal(s.oversize, -1);
});

test("bytes that are not UTF-8: the line decoded with U+FFFD, the offset of its first such byte, its bytes as they are (issue 14)", () => {
  const bytes = Buffer.concat([
    Buffer.from('{"a":"ok é"}\n{"a":"'),
    Buffer.from([0xff, 0xfe]),
    Buffer.from('"}\r\n{"b":"'),
    Buffer.from([0xe2, 0x82]), // a sequence cut short
    Buffer.from('"}\n{"c":"😀"}\n'),
  ]);
  for (const chunks of [[bytes], cut(bytes, [5, 21, 22, 40]), cut(bytes, [...bytes.keys()])]) {
    const s = new LineSplitter();
    const got: Array<[string, number, string]> = [];
    const take = () => {
      for (let l = s.next(); l !== null; l = s.next())
        got.push([l, s.invalidUtf8At, s.lineBytes().toString("hex")]);
    };
    for (const c of chunks) {
      s.push(c);
      take();
    }
    s.end();
    take();
    assert.deepEqual(got, [
      ['{"a":"ok é"}', -1, Buffer.from('{"a":"ok é"}').toString("hex")],
      ['{"a":"\ufffd\ufffd"}', 6, Buffer.from('{"a":"\xff\xfe"}', "latin1").toString("hex")],
      ['{"b":"\ufffd"}', 6, Buffer.from('{"b":"\xe2\x82"}', "latin1").toString("hex")],
      ['{"c":"😀"}', -1, Buffer.from('{"c":"😀"}').toString("hex")],
    ]);
  }
});

/** A piece of a line: text, or bytes that are not UTF-8 (where they stop being UTF-8 is known). */
const pieceArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }).filter((x) => !/[\r\n\ufeff]/.test(x)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      [0x78, 0x80], // a stray continuation byte, after an "x" (so that it cannot complete a piece cut short)
      [0xff],
      [0xc0, 0x80], // overlong
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xe2, 0x82], // cut short
      [0xf0, 0x9f, 0x98], // cut short
    ),
  },
);

test("any chunking, any limit: lines, positions, over-long lines and bytes that are not UTF-8 as a byte-level reference says", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(pieceArb, { maxLength: 5 }), fc.boolean()), { maxLength: 12 }),
      fc.array(fc.nat(300), { maxLength: 10 }),
      fc.integer({ min: 1, max: 40 }),
      fc.boolean(),
      (lines, cuts, maxLineBytes, lastBreak) => {
        const parts: Buffer[] = [];
        const expected: Array<{ line: string; invalid: number; oversize: number; position: number }> = [];
        let at = 0;
        lines.forEach(([pieces, crlf], i) => {
          let invalid = -1;
          const body = Buffer.concat(pieces.map((p) => Buffer.from(p)));
          let offset = 0;
          for (const p of pieces) {
            if (typeof p !== "string" && invalid === -1) invalid = p[0] === 0x78 ? offset + 1 : offset;
            offset += typeof p === "string" ? Buffer.byteLength(p) : p.length;
          }
          const last = i === lines.length - 1;
          const brk = last && !lastBreak ? "" : crlf ? "\r\n" : "\n";
          parts.push(body, Buffer.from(brk));
          at += body.length + brk.length;
          const blank = /^[ \t]*$/.test(body.toString("latin1"));
          if (blank) return;
          if (body.length > maxLineBytes)
            expected.push({
              line:
                body.length <= OVERSIZE_RAW_BYTES
                  ? body.toString("utf8")
                  : decodePrefix(body, 0, OVERSIZE_RAW_BYTES),
              invalid: -1,
              oversize: body.length,
              position: at,
            });
          else expected.push({ line: body.toString("utf8"), invalid, oversize: -1, position: at });
        });
        const bytes = Buffer.concat(parts);
        assert.equal(firstInvalidUtf8(bytes) === -1, isUtf8(bytes));
        const s = new LineSplitter({ maxLineBytes });
        const got: typeof expected = [];
        const take = () => {
          for (let l = s.next(); l !== null; l = s.next())
            got.push({ line: l, invalid: s.invalidUtf8At, oversize: s.oversize, position: s.position });
        };
        for (const c of cut(bytes, cuts)) {
          s.push(c);
          take();
        }
        s.end();
        take();
        assert.deepEqual(got, expected);
      },
    ),
    { numRuns: 400 },
  );
});

test("LineFile reads a file as the splitter splits it, whatever its chunk size and limit, and resumes at every position", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "weir-lines-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "in.jsonl");
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(pieceArb, { maxLength: 5 }), fc.constantFrom("\n", "\r\n", "")), {
        maxLength: 8,
      }),
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: 1, max: 30 }),
      fc.boolean(),
      (lines, chunkBytes, maxLineBytes, bom) => {
        const bytes = Buffer.concat([
          ...(bom ? [BOM] : []),
          ...lines.flatMap(([pieces, brk]) => [...pieces.map((p) => Buffer.from(p)), Buffer.from(brk)]),
        ]);
        writeFileSync(file, bytes);
        const s = new LineSplitter({ maxLineBytes });
        const expected: Array<[string, number, number, number]> = [];
        const take = () => {
          for (let l = s.next(); l !== null; l = s.next())
            expected.push([l, s.invalidUtf8At, s.oversize, s.position]);
        };
        s.push(bytes);
        take();
        s.end();
        take();
        const f = new LineFile(file, 0, { chunkBytes, maxLineBytes });
        const got: typeof expected = [];
        for (let l = f.nextLine(); l !== null; l = f.nextLine())
          got.push([l, f.invalidUtf8At, f.oversize, f.position]);
        f.close();
        assert.deepEqual(got, expected);
        for (let k = 0; k < got.length; k++) {
          const r = new LineFile(file, got[k][3], { chunkBytes, maxLineBytes });
          const rest: string[] = [];
          for (let l = r.nextLine(); l !== null; l = r.nextLine()) rest.push(l);
          r.close();
          assert.deepEqual(
            rest,
            expected.slice(k + 1).map((e) => e[0]),
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("firstInvalidUtf8 finds where isUtf8 fails, and nothing where it passes", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 10 }),
      (raw, text) => {
        const bytes = Buffer.concat([Buffer.from(text), Buffer.from(raw), Buffer.from(text)]);
        const at = firstInvalidUtf8(bytes);
        assert.equal(at === -1, isUtf8(bytes));
        if (at >= 0) assert.ok(isUtf8(bytes.subarray(0, at)), "the bytes before it are UTF-8");
      },
    ),
    { numRuns: 2000 },
  );
});

test("LineFile: a missing file is a usage error naming it", () => {
  assert.throws(() => new LineFile("/nonexistent/in.jsonl"), {
    message: "cannot read input file /nonexistent/in.jsonl: ENOENT",
  });
});
