/**
 * Keyed aggregate over session windows: a key's events within `gap` of each other form one window
 * [first event, last event + gap). A new event that bridges two sessions merges them (with the
 * aggregate's merge). Closing and lateness follow the same rules as tumbling windows: a session
 * fires when the watermark reaches its end; an event whose own session [t, t + gap) would end at or
 * before the watermark (plus allowed lateness) is late. After an end of input (which fires every
 * session), an event before the end of the last session the end fired is late: it could belong to a
 * session that has fired for good.
 */
import type { AggregateFunction, Key, RecordContext } from "../graph/graph.js";
import type { SessionWindowSpec, Window } from "../time/windows.js";
import type { Clock, LateHandler } from "./window-aggregate.js";
import { firedRaw, iso, lateReason } from "./window-aggregate.js";
import type { DeadLetterHandler } from "./source.js";
import {
  StepFailure,
  type Operator,
  type Stateful,
  type StepCounters,
  type TimeDriven,
  type UpdateConsumer,
  newRecordContext,
} from "./types.js";

interface Session {
  key: Key;
  start: number;
  end: number;
  window: Window;
  acc: unknown;
  /** Per consumer: holds the key once that consumer fired for this session (crossing). */
  fired: Set<Key>[];
  closed: boolean;
  /** Creation order, to fire sessions ending together deterministically. */
  seq: number;
}

/** The sessions, and (once an input ended) the end of the last session the end of input fired. */
type SessionsSnapshot = SessionSnapshot[] | { sessions: SessionSnapshot[]; closedThrough: number };

interface SessionSnapshot {
  key: Key;
  start: number;
  end: number;
  acc: unknown;
  fired: boolean[];
  closed: boolean;
  seq: number;
}

export class SessionAggregateOperator implements Operator, Stateful, TimeDriven {
  readonly counters: StepCounters = { recordsIn: 0, recordsOut: 0 };
  private readonly consumers: Array<UpdateConsumer & { mode: string }> = [];
  private sessions = new Map<Key, Session[]>();
  private seq = 0;
  private nextDue = Infinity;
  /** Sessions ending at or before this were closed by an end of input. */
  private closedThrough = -Infinity;
  private readonly gapMs: number;
  private readonly processingTime: boolean;
  private readonly fireCtx: RecordContext = newRecordContext();

  constructor(
    readonly id: string,
    private readonly fn: AggregateFunction<any, any, any>,
    spec: SessionWindowSpec,
    private readonly allowedLatenessMs: number,
    private readonly clock: Clock,
    private readonly onLate: LateHandler,
    /** A step after this one threw on a result fired by time: that result becomes a dead letter. */
    private readonly onFailure: DeadLetterHandler = (_ctx, reason) => {
      throw new Error(reason);
    },
  ) {
    this.gapMs = spec.gapMs;
    this.processingTime = spec.time === "processing";
  }

  addConsumer(c: UpdateConsumer & { mode: string }): void {
    this.consumers.push(c);
  }

  push(value: unknown, ctx: RecordContext): void {
    this.counters.recordsIn++;
    const key = ctx.key;
    if (key === undefined)
      throw new StepFailure(this.id, new Error("a window needs a keyed stream (keyBy before it)"));
    const now = this.clock.now();
    const t = this.processingTime ? now : ctx.timestamp;
    const end = t + this.gapMs;
    if (!this.processingTime && end + this.allowedLatenessMs <= now) {
      this.onLate(ctx, lateReason(t, [t, end], now, this.allowedLatenessMs));
      return;
    }
    if (t < this.closedThrough) {
      this.onLate(
        ctx,
        `late: event time ${iso(t)} is before ${iso(this.closedThrough)}, where the end of an earlier input closed every session`,
      );
      return;
    }
    const fn = this.fn;
    const list = this.sessions.get(key) ?? [];
    // Sessions this event touches merge into one.
    const touching = list.filter((s) => t <= s.end && end >= s.start);
    let session: Session;
    try {
      if (touching.length === 0) {
        session = this.newSession(
          key,
          t,
          end,
          fn.init(),
          this.consumers.map(() => new Set<Key>()),
        );
        list.push(session);
        list.sort((a, b) => a.start - b.start);
        this.sessions.set(key, list);
      } else {
        session = touching[0];
        for (let i = 1; i < touching.length; i++) {
          const other = touching[i];
          session.acc = fn.merge!(session.acc, other.acc);
          session.start = Math.min(session.start, other.start);
          session.end = Math.max(session.end, other.end);
          session.fired.forEach((set, c) => other.fired[c].forEach((k) => set.add(k)));
          session.closed = session.closed && other.closed;
          list.splice(list.indexOf(other), 1);
        }
        if (t < session.start || end > session.end) {
          session.start = Math.min(session.start, t);
          session.end = Math.max(session.end, end);
          session.closed = session.closed && session.end <= now;
        }
        session.window = Object.freeze({ start: new Date(session.start), end: new Date(session.end) });
      }
      session.acc = fn.add(session.acc, value);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    if (session.end < this.nextDue) this.nextDue = session.end;
    let result: unknown;
    try {
      result = fn.result(session.acc);
    } catch (err) {
      throw new StepFailure(this.id, err);
    }
    this.counters.recordsOut++;
    for (let i = 0; i < this.consumers.length; i++) {
      this.consumers[i].update(key, result, session.window, ctx, session.fired[i]);
      if (session.closed) this.consumers[i].final(key, result, session.window, ctx);
    }
  }

  private newSession(key: Key, start: number, end: number, acc: unknown, fired: Set<Key>[]): Session {
    return {
      key,
      start,
      end,
      window: Object.freeze({ start: new Date(start), end: new Date(end) }),
      acc,
      fired,
      closed: false,
      seq: this.seq++,
    };
  }

  onTime(): void {
    const now = this.clock.now();
    if (now < this.nextDue) return;
    const due: Session[] = [];
    for (const list of this.sessions.values())
      for (const s of list) {
        if (!s.closed && s.end <= now) due.push(s);
        if (now === Infinity && s.end > this.closedThrough) this.closedThrough = s.end;
      }
    due.sort((a, b) => a.end - b.end || a.seq - b.seq);
    const ctx = this.fireCtx;
    for (const s of due) {
      s.closed = true;
      ctx.key = s.key;
      ctx.timestamp = s.end - 1;
      let result: unknown;
      try {
        result = this.fn.result(s.acc);
      } catch (err) {
        ctx.raw = firedRaw(s.key, s.window, undefined);
        this.onFailure(ctx, new StepFailure(this.id, err).message, this.id);
        ctx.raw = "";
        continue;
      }
      for (const c of this.consumers) {
        try {
          c.final(s.key, result, s.window, ctx);
        } catch (err) {
          if (!(err instanceof StepFailure)) throw err;
          ctx.raw = firedRaw(s.key, s.window, result);
          this.onFailure(ctx, err.message, err.stepId);
          ctx.raw = "";
        }
      }
    }
    ctx.key = undefined;
    let next = Infinity;
    for (const [key, list] of this.sessions) {
      const keep = list.filter((s) => s.end + this.allowedLatenessMs > now);
      if (keep.length === 0) this.sessions.delete(key);
      else if (keep.length !== list.length) this.sessions.set(key, keep);
      for (const s of keep) next = Math.min(next, s.closed ? s.end + this.allowedLatenessMs : s.end);
    }
    this.nextDue = next;
  }

  stateSize(): number {
    let n = 0;
    for (const list of this.sessions.values()) n += list.length;
    return n;
  }

  snapshot(): SessionsSnapshot {
    const save = this.fn.save;
    const out: SessionSnapshot[] = [];
    for (const list of this.sessions.values()) {
      for (const s of list) {
        out.push({
          key: s.key,
          start: s.start,
          end: s.end,
          acc: save ? save(s.acc) : s.acc,
          fired: s.fired.map((f) => f.size > 0),
          closed: s.closed,
          seq: s.seq,
        });
      }
    }
    return this.closedThrough === -Infinity ? out : { sessions: out, closedThrough: this.closedThrough };
  }

  restore(state: unknown): void {
    const load = this.fn.load;
    this.sessions = new Map();
    let next = Infinity;
    const saved = state as SessionsSnapshot;
    this.closedThrough = Array.isArray(saved) ? -Infinity : saved.closedThrough;
    for (const s of Array.isArray(saved) ? saved : saved.sessions) {
      const fired = this.consumers.map((_, i) => (s.fired[i] ? new Set<Key>([s.key]) : new Set<Key>()));
      const session = this.newSession(s.key, s.start, s.end, load ? load(s.acc) : s.acc, fired);
      session.closed = s.closed;
      session.seq = s.seq;
      this.seq = Math.max(this.seq, s.seq + 1);
      const list = this.sessions.get(s.key) ?? [];
      list.push(session);
      this.sessions.set(s.key, list);
      next = Math.min(next, s.closed ? s.end + this.allowedLatenessMs : s.end);
    }
    this.nextDue = next;
  }
}
