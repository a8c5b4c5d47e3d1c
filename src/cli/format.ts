/**
 * Text the CLI prints: names quoted for a shell, counts with their noun, sizes and durations of
 * topic settings (-1 is "unlimited"/"forever"), aligned tables.
 */

/** Quote a name for a message the way a shell would need it. */
export function q(text: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatBytes(n: number): string {
  if (n < 0) return "unlimited";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 0) return "forever";
  const units: [string, number][] = [
    ["w", 604_800_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  for (const [name, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${name}`;
  return `${ms}ms`;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/**
 * Render rows as an aligned text table. `align` has one letter per column, "l" or "r"; by default
 * columns whose cells all look numeric are right-aligned.
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: string,
): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const right = header.map((_, c) =>
    align !== undefined
      ? align[c] === "r"
      : rows.length > 0 && rows.every((r) => /^[-\d.,]+( \S+)?$/.test(r[c] ?? "")),
  );
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  return all.map(line).join("\n") + "\n";
}
