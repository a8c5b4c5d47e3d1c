// Event time (DESIGN.md section 4): accepted forms with exact values, impossible dates, zones and DST.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatTimestamp, normalizeZone, parseEventTime } from "../../src/schema/index.js";

const BASE = 1638230400000; // 2021-11-30T00:00:00.000Z
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number =>
  Date.UTC(y, mo - 1, d, h, mi, s, ms);

describe("parseEventTime: accepted forms", () => {
  test('"YYYY-MM-DD HH:MM:SS" without a zone is UTC', () => {
    assert.equal(parseEventTime("2021-11-30 00:00:00"), 1638230400000);
    assert.equal(parseEventTime("2021-11-30 00:00:07"), BASE + 7000);
    assert.equal(parseEventTime("2021-11-30 00:01:00"), BASE + 60_000);
    assert.equal(parseEventTime("1970-01-01 00:00:00"), 0);
    assert.equal(parseEventTime("1969-12-31 23:59:59"), -1000);
    assert.equal(parseEventTime("2024-02-29 12:34:56"), utc(2024, 2, 29, 12, 34, 56));
    assert.equal(parseEventTime("2000-02-29 00:00:00"), utc(2000, 2, 29));
    assert.equal(parseEventTime("9999-12-31 23:59:59"), utc(9999, 12, 31, 23, 59, 59));
    // Years below 100 are not shifted to 19xx (as Date.UTC would do).
    assert.equal(parseEventTime("0000-01-01 00:00:00"), -62167219200000);
    assert.equal(parseEventTime("0099-06-15 00:00:00"), new Date("0099-06-15T00:00:00Z").getTime());
  });

  test('"T" for the space, a fraction, no seconds, a bare date', () => {
    assert.equal(parseEventTime("2021-11-30T00:00:00"), BASE);
    assert.equal(parseEventTime("2021-11-30t00:00:00"), BASE);
    assert.equal(parseEventTime("2021-11-30 00:00:00.123"), BASE + 123);
    assert.equal(parseEventTime("2021-11-30T00:00:00.5"), BASE + 500);
    assert.equal(parseEventTime("2021-11-30T00:00:00.05"), BASE + 50);
    assert.equal(parseEventTime("2021-11-30T00:00:00.123456789"), BASE + 123);
    assert.equal(parseEventTime("2021-11-30T00:00"), BASE);
    assert.equal(parseEventTime("2021-11-30 13:45"), BASE + (13 * 60 + 45) * 60_000);
    assert.equal(parseEventTime("2021-11-30"), BASE);
  });

  test("ISO-8601 with Z or an offset", () => {
    assert.equal(parseEventTime("2021-11-30T00:00:00Z"), BASE);
    assert.equal(parseEventTime("2021-11-30T00:00:00z"), BASE);
    assert.equal(parseEventTime("2021-11-30T00:00:00.000Z"), BASE);
    assert.equal(parseEventTime("2021-11-30T00:01:00.250Z"), BASE + 60_250);
    assert.equal(parseEventTime("2021-11-30 00:00:00Z"), BASE);
    assert.equal(parseEventTime("2021-11-30T05:30:00+05:30"), BASE);
    assert.equal(parseEventTime("2021-11-29T19:00:00-05:00"), BASE);
    assert.equal(parseEventTime("2021-11-30T00:00:00+00:00"), BASE);
    assert.equal(parseEventTime("2021-11-30T00:00:00-00:00"), BASE);
    assert.equal(parseEventTime("2021-11-30T05:30:00+0530"), BASE);
    assert.equal(parseEventTime("2021-11-30T02:00:00+02"), BASE);
    assert.equal(parseEventTime("2021-11-30T05:30:00.999+05:30"), BASE + 999);
    assert.equal(parseEventTime("2021-11-30T00:00+00:00"), BASE);
    // What Date#toISOString and JSON.stringify(date) write round-trips.
    assert.equal(parseEventTime(new Date(BASE + 1).toISOString()), BASE + 1);
    assert.equal(parseEventTime(JSON.parse(JSON.stringify(new Date(BASE)))), BASE);
  });

  test("an explicit offset wins over the zone", () => {
    assert.equal(parseEventTime("2021-11-30T00:00:00Z", "Asia/Kolkata"), BASE);
    assert.equal(parseEventTime("2021-11-30T01:00:00+01:00", "America/New_York"), BASE);
  });

  test("epoch milliseconds as an integer number, and Date values", () => {
    assert.equal(parseEventTime(1638230400000), 1638230400000);
    assert.equal(parseEventTime(0), 0);
    assert.equal(parseEventTime(-1), -1);
    assert.equal(parseEventTime(8.64e15), 8.64e15);
    assert.equal(parseEventTime(new Date(BASE)), BASE);
    // The zone never applies to an instant.
    assert.equal(parseEventTime(BASE, "Asia/Kolkata"), BASE);
  });
});

describe("parseEventTime: rejected input", () => {
  const rejected: unknown[] = [
    "2021-13-45 00:00:00",
    "2021-13-01 00:00:00",
    "2021-00-10 00:00:00",
    "2021-11-00 00:00:00",
    "2021-11-31 00:00:00",
    "2021-04-31 00:00:00",
    "2021-02-29 00:00:00",
    "2021-02-30 00:00:00",
    "1900-02-29 00:00:00",
    "2021-11-30 24:00:00",
    "2021-11-30 23:60:00",
    "2021-11-30 23:59:60",
    "2021-11-30 99:99:99",
    "2021-02-30T00:00:00Z",
    "2021-11-30T24:00:00+01:00",
    "2021-11-30T00:00:00+24:00",
    "2021-11-30T00:00:00+05:60",
    "2021-11-30T00:00:00.Z",
    "2021-11-30T00:00:00.1234567890Z",
    "2021-11-30T00:00:00 Z",
    "2021-11-30T00:00:00UTC",
    "2021-11-30T00:00:00+5:30",
    "21-11-30 00:00:00",
    "2021-1-30 00:00:00",
    "2021/11/30 00:00:00",
    "2021-11-30  00:00:00",
    " 2021-11-30 00:00:00",
    "2021-11-30 00:00:00 ",
    "2021-11-30_00:00:00",
    "2021-11-30 0a:00:00",
    "2021-11-30 -1:00:00",
    "2021-11-30 00:00:0",
    "+02021-11-30T00:00:00Z",
    "２０２１-11-30 00:00:00",
    "Tue Nov 30 2021 00:00:00 GMT+0000",
    "30/11/2021",
    "1638230400000",
    "yesterday",
    "",
    1.5,
    -0.5,
    8.64e15 + 1,
    Number.MAX_SAFE_INTEGER,
    NaN,
    Infinity,
    null,
    undefined,
    true,
    {},
    [BASE],
    new Date(NaN),
  ];
  for (const input of rejected) {
    test(`rejects ${typeof input === "string" ? JSON.stringify(input) : String(input)}`, () => {
      assert.equal(parseEventTime(input), undefined);
      assert.equal(parseEventTime(input, "Europe/Berlin"), undefined);
    });
  }

  test("impossible dates are never rolled over (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (y, m, d) => {
          const text = `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")} 00:00:00`;
          const probe = new Date(0);
          probe.setUTCFullYear(y, m - 1, d);
          const real = probe.getUTCDate() === d;
          assert.equal(parseEventTime(text), real ? probe.getTime() : undefined);
        },
      ),
    );
  });
});

describe("parseEventTime: zones", () => {
  test("Asia/Kolkata is +05:30 all year", () => {
    assert.equal(parseEventTime("2021-11-30 05:30:00", "Asia/Kolkata"), BASE);
    assert.equal(parseEventTime("2021-06-30 05:30:00", "Asia/Kolkata"), utc(2021, 6, 30));
    assert.equal(parseEventTime("2021-11-30 00:00:00", "Asia/Kolkata"), BASE - 5.5 * 3600_000);
    assert.equal(parseEventTime("2021-11-30T05:30:00.250", "Asia/Kolkata"), BASE + 250);
    assert.equal(parseEventTime("2021-11-30", "Asia/Kolkata"), BASE - 5.5 * 3600_000);
  });

  test("zone names: case-insensitive IANA names, UTC spellings, fixed offsets", () => {
    assert.equal(parseEventTime("2021-11-30 05:30:00", "asia/kolkata"), BASE);
    assert.equal(parseEventTime("2021-11-30 05:30:00", "Asia/Calcutta"), BASE);
    assert.equal(parseEventTime("2021-11-30 05:30:00", "+05:30"), BASE);
    assert.equal(parseEventTime("2021-11-29 19:00:00", "-0500"), BASE);
    for (const z of ["UTC", "Etc/UTC", "GMT", "utc", "+00:00", "Z"]) {
      assert.equal(parseEventTime("2021-11-30 00:00:00", z), BASE, z);
      assert.equal(normalizeZone(z), "UTC");
    }
    assert.equal(normalizeZone("Asia/Kolkata"), "Asia/Kolkata");
    assert.equal(normalizeZone("europe/berlin"), "Europe/Berlin");
    assert.equal(normalizeZone("+0530"), "+05:30");
  });

  test("an unknown zone is the caller's mistake: WeirError USAGE", () => {
    assert.throws(() => parseEventTime("2021-11-30 00:00:00", "Mars/Olympus_Mons"), {
      name: "WeirError",
      code: "USAGE",
      message: /unknown time zone "Mars\/Olympus_Mons"/,
    });
    assert.throws(() => normalizeZone("+25:00"), { code: "USAGE" });
  });

  test("America/New_York across both DST changes of 2021", () => {
    const z = "America/New_York";
    assert.equal(parseEventTime("2021-01-15 12:00:00", z), utc(2021, 1, 15, 17)); // EST -5
    assert.equal(parseEventTime("2021-07-15 12:00:00", z), utc(2021, 7, 15, 16)); // EDT -4
    // Spring forward: 02:00 EST -> 03:00 EDT (07:00Z).
    assert.equal(parseEventTime("2021-03-14 01:59:59", z), utc(2021, 3, 14, 6, 59, 59));
    assert.equal(parseEventTime("2021-03-14 03:00:00", z), utc(2021, 3, 14, 7));
    // 02:30 does not exist: moved forward by the gap, to 03:30 EDT.
    assert.equal(parseEventTime("2021-03-14 02:30:00", z), utc(2021, 3, 14, 7, 30));
    // Fall back: 02:00 EDT -> 01:00 EST (06:00Z). 01:30 happens twice: the earlier one (EDT).
    assert.equal(parseEventTime("2021-11-07 00:59:59", z), utc(2021, 11, 7, 4, 59, 59));
    assert.equal(parseEventTime("2021-11-07 01:30:00", z), utc(2021, 11, 7, 5, 30));
    assert.equal(parseEventTime("2021-11-07 02:00:00", z), utc(2021, 11, 7, 7));
    // The same instants from the other direction of the cache (later first, then earlier).
    assert.equal(parseEventTime("2021-11-08 00:00:00", z), utc(2021, 11, 8, 5));
    assert.equal(parseEventTime("2021-11-06 00:00:00", z), utc(2021, 11, 6, 4));
  });

  test("Europe/Berlin across both DST changes of 2021", () => {
    const z = "Europe/Berlin";
    assert.equal(parseEventTime("2021-03-28 01:59:59", z), utc(2021, 3, 28, 0, 59, 59));
    assert.equal(parseEventTime("2021-03-28 02:30:00", z), utc(2021, 3, 28, 1, 30)); // gap -> 03:30 CEST
    assert.equal(parseEventTime("2021-03-28 03:00:00", z), utc(2021, 3, 28, 1));
    assert.equal(parseEventTime("2021-10-31 02:30:00", z), utc(2021, 10, 31, 0, 30)); // twice: CEST
    assert.equal(parseEventTime("2021-10-31 03:00:00", z), utc(2021, 10, 31, 2));
  });

  test("Australia/Lord_Howe: a half-hour DST shift at a half-hour UTC instant", () => {
    const z = "Australia/Lord_Howe";
    // 2021-10-03 02:00 (+10:30) -> 02:30 (+11), at 2021-10-02T15:30Z.
    assert.equal(parseEventTime("2021-10-03 01:59:59", z), utc(2021, 10, 2, 15, 29, 59));
    assert.equal(parseEventTime("2021-10-03 02:15:00", z), utc(2021, 10, 2, 15, 45)); // gap -> 02:45 (+11)
    assert.equal(parseEventTime("2021-10-03 02:30:00", z), utc(2021, 10, 2, 15, 30));
    // 2022-04-03 02:00 (+11) -> 01:30 (+10:30), at 2022-04-02T15:00Z; 01:45 happens twice.
    assert.equal(parseEventTime("2022-04-03 01:45:00", z), utc(2022, 4, 2, 14, 45));
    assert.equal(parseEventTime("2022-04-03 02:00:00", z), utc(2022, 4, 2, 15, 30));
  });

  // Independent reference: the wall-clock text of an instant in a zone, from Intl.
  const formatters = new Map<string, Intl.DateTimeFormat>();
  function wallClock(t: number, zone: string): string {
    let f = formatters.get(zone);
    if (f === undefined) {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
      formatters.set(zone, f);
    }
    const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  }

  /** Parsing the wall clock of t gives t, or (wall clock shown twice) the earlier instant showing it. */
  function checkRoundTrip(t: number, zone: string): void {
    const wall = wallClock(t, zone);
    const parsed = parseEventTime(wall, zone);
    assert.notEqual(parsed, undefined, `${wall} ${zone}`);
    if (parsed !== t) {
      assert.ok(
        parsed! < t && t - parsed! <= 2 * 3600_000,
        `${wall} in ${zone}: got ${parsed}, want ${t} or earlier`,
      );
      assert.equal(wallClock(parsed!, zone), wall);
    }
  }

  const DST_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Tehran",
  ];

  test("every 15 minutes within a day of each 2021 transition, wall clock -> instant round-trips", () => {
    for (const zone of DST_ZONES) {
      let transitions = 0;
      let prev = wallOffset(utc(2021, 1, 1), zone);
      for (let t = utc(2021, 1, 1); t < utc(2022, 1, 1); t += 3600_000) {
        const o = wallOffset(t, zone);
        if (o === prev) continue;
        prev = o;
        transitions++;
        for (let u = t - 86_400_000; u <= t + 86_400_000; u += 15 * 60_000) checkRoundTrip(u, zone);
      }
      assert.ok(transitions >= 1 || zone === "Asia/Tehran", `${zone}: expected DST transitions in 2021`);
    }
  });

  function wallOffset(t: number, zone: string): number {
    const w = wallClock(t, zone);
    return Date.parse(w.replace(" ", "T") + "Z") - t;
  }

  test("random instants 1900-2100 round-trip through the wall clock (property)", () => {
    const zones = [
      ...DST_ZONES,
      "Asia/Kolkata",
      "Asia/Kathmandu",
      "Pacific/Chatham",
      "Europe/London",
      "America/St_Johns",
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: utc(1900, 1, 1) / 1000, max: utc(2100, 1, 1) / 1000 }),
        fc.constantFrom(...zones),
        (s, zone) => {
          checkRoundTrip(s * 1000, zone);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("formatTimestamp", () => {
  test("ISO-8601 UTC with milliseconds", () => {
    assert.equal(formatTimestamp(1638230460000), "2021-11-30T00:01:00.000Z");
    assert.equal(formatTimestamp(0), "1970-01-01T00:00:00.000Z");
    assert.equal(formatTimestamp(BASE + 7), "2021-11-30T00:00:00.007Z");
    assert.equal(formatTimestamp(new Date(BASE)), "2021-11-30T00:00:00.000Z");
    assert.throws(() => formatTimestamp(NaN), { code: "USAGE" });
    assert.throws(() => formatTimestamp(9e15), { code: "USAGE" });
  });

  test("parseEventTime(formatTimestamp(t)) === t for every instant in years 0000-9999 (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62167219200000, max: 253402300799999 }), (t) => {
        assert.equal(parseEventTime(formatTimestamp(t)), t);
      }),
      { numRuns: 2000 },
    );
  });

  test('"YYYY-MM-DD HH:MM:SS" agrees with Date.parse of the same ISO text (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799 }), (s) => {
        const iso = new Date(s * 1000).toISOString(); // 2021-11-30T00:00:00.000Z
        const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
        assert.equal(parseEventTime(text), Date.parse(iso));
      }),
      { numRuns: 2000 },
    );
  });
});
