/**
 * The task's table updates and lake rows on their way to storage. Tables are written at the end of
 * every batch (one transaction per table); lake rows are appended to the datasets' unpublished
 * files and published at each checkpoint. Both roll back to a checkpoint the way output topics do.
 *
 * A table store that is down (PostgreSQL stopped) makes the run wait and retry with backoff: no
 * crash, no lost update; it catches up when the server returns.
 */
import type { RecordContext } from "../graph/graph.js";
import { isWeirError } from "../errors.js";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { LakeDataset } from "../sinks/lake/index.js";
import type {
  LakeDatasetSpec,
  LakePosition,
  TableSpec,
  TableUpdate,
  VersionedTableStore,
} from "../sinks/types.js";

export class TableOutputs {
  private readonly pending = new Map<string, TableUpdate[]>();
  private buffered = 0;

  private constructor(
    readonly store: VersionedTableStore,
    private readonly logger: (message: string) => void,
    private readonly stopping: () => boolean,
  ) {}

  static async open(
    location: string | undefined,
    dataDir: string,
    specs: readonly TableSpec[],
    logger: (message: string) => void,
    stopping: () => boolean,
  ): Promise<TableOutputs> {
    const { openTableStore } = await import("../sinks/table/index.js");
    const outputs = new TableOutputs(openTableStore(location, dataDir), logger, stopping);
    for (const spec of specs) {
      await outputs.retrying(`create table ${spec.name}`, () => outputs.store.ensureTable(spec));
      outputs.pending.set(spec.name, []);
    }
    return outputs;
  }

  add(table: string, key: string, value: unknown, ctx: RecordContext, seq: number, json?: string): void {
    this.pending.get(table)!.push({
      key,
      value,
      eventTime: ctx.timestamp,
      topic: ctx.topic,
      partition: ctx.partition,
      offset: ctx.offset,
      seq,
      json,
    });
    this.buffered++;
  }

  /** Write what the last batch produced. Waits (with backoff) while the store is down. */
  async flush(): Promise<void> {
    if (this.buffered === 0) return;
    for (const [table, list] of this.pending) {
      if (list.length === 0) continue;
      await this.retrying(`write ${list.length} update(s) to table ${table}`, () =>
        this.store.writeBatch(table, list),
      );
      list.length = 0;
    }
    this.buffered = 0;
    for (const notice of this.store.takeNotices?.() ?? []) this.logger(notice);
  }

  async lastSeqs(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of this.pending.keys())
      out[table] = await this.retrying(`read table ${table}`, () => this.store.lastSeq(table));
    return out;
  }

  /** Remove updates made after a checkpoint (tables the checkpoint does not know are left alone). */
  async rollBackTo(seqs: Record<string, number>): Promise<void> {
    for (const table of this.pending.keys()) {
      const seq = seqs[table];
      if (seq === undefined) continue;
      const last = await this.retrying(`read table ${table}`, () => this.store.lastSeq(table));
      if (last > seq) {
        await this.retrying(`roll back table ${table}`, () => this.store.rollbackTo(table, seq));
        this.logger(`rolled back ${last - seq} update(s) of table ${table} made after the last checkpoint`);
      }
    }
  }

  /** Drop versions beyond each table's limit among checkpointed updates. */
  async compact(seqs: Record<string, number>): Promise<void> {
    for (const [table, seq] of Object.entries(seqs)) {
      if (this.pending.has(table))
        await this.retrying(`compact table ${table}`, () => this.store.compact(table, seq));
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** Run `op`, retrying with backoff (100 ms doubling to 5 s) while the store says it is unavailable. */
  private async retrying<T>(what: string, op: () => Promise<T>): Promise<T> {
    let delay = 100;
    let reported = false;
    for (;;) {
      try {
        const result = await op();
        if (reported) this.logger(`table store ${this.store.location} is back; continuing`);
        return result;
      } catch (err) {
        if (!isWeirError(err) || !err.retryable || this.stopping()) throw err;
        if (!reported) {
          this.logger(
            `table store ${this.store.location} is unavailable (${err.message}); waiting to ${what}, retrying`,
          );
          reported = true;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(5000, delay * 2);
      }
    }
  }
}

export class LakeOutputs {
  private constructor(
    private readonly datasets: Map<string, LakeDataset>,
    /** Held for the run so DuckDB is loaded once at start, not at the first checkpoint (a latency spike). */
    private readonly warmDuckDb: DuckDBConnection | undefined,
  ) {}

  static async open(dataDir: string, specs: readonly LakeDatasetSpec[]): Promise<LakeOutputs> {
    const { LakeDataset } = await import("../sinks/lake/index.js");
    const needsDuckDb = specs.some((s) => s.format !== "jsonl");
    const warm = needsDuckDb ? await (await import("../sinks/lake/duck.js")).acquireConnection() : undefined;
    const datasets = new Map<string, LakeDataset>();
    try {
      for (const spec of specs) datasets.set(spec.name, LakeDataset.open(dataDir, spec));
    } catch (err) {
      // Release what was opened (a dataset locked by another process fails the whole open).
      for (const ds of datasets.values()) await ds.close();
      if (warm !== undefined) (await import("../sinks/lake/duck.js")).releaseConnection(warm);
      throw err;
    }
    return new LakeOutputs(datasets, warm);
  }

  land(dataset: string, row: unknown, eventTime: number): void {
    this.datasets.get(dataset)!.append(row as Record<string, unknown>, eventTime);
  }

  /** Publish every dataset's rows since the last checkpoint as files of commit `commit`. */
  async publish(commit: number): Promise<void> {
    for (const ds of this.datasets.values()) await ds.publish(commit);
  }

  /** The checkpoint recording commit `commit` is durable (lets compaction merge that commit's files). */
  checkpointed(commit: number): void {
    for (const ds of this.datasets.values()) ds.checkpointed(commit);
  }

  positions(): Record<string, LakePosition> {
    const out: Record<string, LakePosition> = {};
    for (const [name, ds] of this.datasets) out[name] = ds.position();
    return out;
  }

  /** Remove files published after a checkpoint, and anything unpublished. */
  async rollBackTo(positions: Record<string, LakePosition>): Promise<void> {
    for (const [name, ds] of this.datasets) await ds.rollbackTo(positions[name] ?? ds.position());
  }

  async close(): Promise<void> {
    for (const ds of this.datasets.values()) await ds.close();
    if (this.warmDuckDb !== undefined)
      await (await import("../sinks/lake/duck.js")).releaseConnection(this.warmDuckDb);
  }
}
