/**
 * The embedded durable log: Kafka's model (topics, partitions, offsets, consumer groups) in a local
 * directory, with no server. Writers and readers may live in different processes on the same data
 * directory; one writer per partition at a time, any number of readers.
 */
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { WeirError } from "../errors.js";
import { asWeirError, errnoCode, fsyncDir, writeFileAtomic } from "./fs-util.js";
import { commitGroupOffsets, readGroupOffsets } from "./groups.js";
import { Layout } from "./layout.js";
import { tryLock, unlock } from "./lock.js";
import { PartitionTail } from "./partition-tail.js";
import { LogPartitionReader, type PartitionReader } from "./partition-reader.js";
import { PartitionWriter } from "./partition-writer.js";
import { listSegmentBases, logPath } from "./segment-files.js";
import {
  readTopicConfig,
  resolveTopicConfig,
  topicFileContent,
  unknownTopic,
  validateTopicName,
} from "./topic-meta.js";
import { LogTopicWriter, type TopicWriter } from "./topic-writer.js";
import {
  DEFAULT_FLUSH_POLICY,
  type FlushPolicy,
  type GroupOffsets,
  type LogOptions,
  type PartitionDescription,
  type TopicConfig,
  type TopicDescription,
} from "./types.js";

/** Leftovers in log-tmp/ older than this come from a process that died mid-operation. */
const STALE_TMP_MS = 10 * 60 * 1000;

function stderrLogger(message: string): void {
  process.stderr.write(`weir: ${message}\n`);
}

export class EmbeddedLog {
  readonly dataDir: string;
  private readonly layout: Layout;
  private readonly flushPolicy: FlushPolicy;
  private readonly logger: (message: string) => void;
  private readonly writers = new Set<TopicWriter>();
  private readonly readers = new Set<PartitionReader>();
  private closed = false;

  private constructor(dataDir: string, options: LogOptions) {
    this.dataDir = dataDir;
    this.layout = new Layout(dataDir);
    this.flushPolicy = options.flush ?? DEFAULT_FLUSH_POLICY;
    this.logger = options.logger ?? stderrLogger;
  }

  /** Opens (creating if missing) the log in dataDir. BAD_DATA_DIR if it is a file or not writable. */
  static open(dataDir: string, options: LogOptions = {}): EmbeddedLog {
    prepareDataDir(dataDir);
    const log = new EmbeddedLog(dataDir, options);
    try {
      for (const dir of [log.layout.topicsDir, log.layout.groupsDir, log.layout.tmpDir]) {
        mkdirSync(dir, { recursive: true });
      }
      log.removeStaleTmp();
    } catch (err) {
      throw asWeirError(err, `opening the log in ${dataDir}`);
    }
    return log;
  }

  listTopics(): string[] {
    return this.guard("listing topics", () => {
      this.checkOpen();
      let names: string[];
      try {
        names = readdirSync(this.layout.topicsDir);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return [];
        throw err;
      }
      return names.filter((n) => this.hasTopic(n)).sort();
    });
  }

  /** Whether the topic exists (its topic.json is there; describeTopic reports it if it is damaged). */
  hasTopic(name: string): boolean {
    this.checkOpen();
    try {
      validateTopicName(name);
    } catch {
      return false;
    }
    return existsSync(this.layout.topicConfigPath(name));
  }

  /**
   * Creates a topic atomically: it is built in log-tmp/ and renamed into topics/, so other processes
   * see it whole or not at all, and of two racing creators exactly one wins.
   */
  createTopic(name: string, config: Partial<TopicConfig> = {}): TopicDescription {
    return this.guard(`creating topic ${name}`, () => {
      this.checkOpen();
      validateTopicName(name);
      const resolved = resolveTopicConfig(config);
      if (this.hasTopic(name)) throw topicExists(name);
      const staging = this.layout.tmpPath("create");
      mkdirSync(staging);
      try {
        for (let p = 0; p < resolved.partitions; p++) mkdirSync(join(staging, String(p)));
        writeFileAtomic(join(staging, "topic.json"), topicFileContent(name, resolved));
        try {
          renameSync(staging, this.layout.topicDir(name));
        } catch (err) {
          const code = errnoCode(err);
          if (code === "ENOTEMPTY" || code === "EEXIST") throw topicExists(name);
          throw err;
        }
      } catch (err) {
        rmSync(staging, { recursive: true, force: true });
        throw err;
      }
      fsyncDir(this.layout.topicsDir);
      return this.describeTopic(name);
    });
  }

  /**
   * Creates the topic if it does not exist; true when this call created it, false when it was there
   * already or another process created it first (safe when processes race).
   */
  createTopicIfMissing(name: string, config: Partial<TopicConfig> = {}): boolean {
    return this.guard(`creating topic ${name}`, () => {
      this.checkOpen();
      if (this.hasTopic(name)) return false;
      try {
        this.createTopic(name, config);
        return true;
      } catch (err) {
        if (err instanceof WeirError && err.code === "TOPIC_EXISTS") return false;
        throw err;
      }
    });
  }

  /** Creates the topic if it does not exist (safe when processes race); returns it either way. */
  ensureTopic(name: string, config: Partial<TopicConfig> = {}): TopicDescription {
    this.createTopicIfMissing(name, config);
    return this.describeTopic(name);
  }

  describeTopic(name: string): TopicDescription {
    return this.guard(`describing topic ${name}`, () => {
      this.checkOpen();
      const config = this.requireTopic(name);
      const partitions: PartitionDescription[] = [];
      for (let p = 0; p < config.partitions; p++) {
        const dir = this.layout.partitionDir(name, p);
        const bases = listSegmentBases(dir);
        let sizeBytes = 0;
        for (const base of bases) {
          try {
            sizeBytes += statSync(logPath(dir, base)).size;
          } catch (err) {
            if (errnoCode(err) !== "ENOENT") throw err; // deleted by retention meanwhile
          }
        }
        const tail = new PartitionTail(dir);
        try {
          partitions.push({
            partition: p,
            startOffset: bases[0] ?? 0,
            endOffset: tail.endOffset(bases),
            sizeBytes,
            segments: bases.length,
          });
        } finally {
          tail.close();
        }
      }
      return { name, config, partitions };
    });
  }

  /** Deletes a topic and its data. PARTITION_LOCKED while a writer (in any process) has it open. */
  deleteTopic(name: string): void {
    return this.guard(`deleting topic ${name}`, () => {
      this.checkOpen();
      const config = this.requireTopic(name);
      const locks = this.lockPartitions(name, config.partitions);
      const trash = this.layout.tmpPath(`delete-${name}`);
      try {
        renameSync(this.layout.topicDir(name), trash);
        fsyncDir(this.layout.topicsDir);
      } finally {
        for (const path of locks) unlock(path); // moved with the directory: unlock only forgets them
      }
      rmSync(trash, { recursive: true, force: true });
    });
  }

  /** The writer of a topic; locks all its partitions for this process. */
  writer(topic: string): TopicWriter {
    return this.guard(`opening the writer of ${topic}`, () => {
      this.checkOpen();
      const config = this.requireTopic(topic);
      const locks = this.lockPartitions(topic, config.partitions);
      const partitions: PartitionWriter[] = [];
      try {
        for (let p = 0; p < config.partitions; p++) {
          partitions.push(
            PartitionWriter.open({
              topic,
              partition: p,
              dir: this.layout.partitionDir(topic, p),
              config,
              logger: this.logger,
            }),
          );
        }
      } catch (err) {
        for (const w of partitions) w.close(false);
        for (const path of locks) unlock(path);
        throw err;
      }
      const writer: TopicWriter = new LogTopicWriter(topic, partitions, this.flushPolicy, this.logger, () => {
        for (const path of locks) unlock(path);
        this.writers.delete(writer);
      });
      this.writers.add(writer);
      return writer;
    });
  }

  /** A reader of one partition, from fromOffset (default: the start offset). Takes no lock. */
  reader(topic: string, partition: number, fromOffset?: number): PartitionReader {
    return this.guard(`opening a reader of ${topic}/${partition}`, () => {
      this.checkOpen();
      const config = this.requireTopic(topic);
      if (!Number.isInteger(partition) || partition < 0 || partition >= config.partitions) {
        throw new WeirError(
          "USAGE",
          `topic "${topic}" has ${config.partitions} partition(s) (0-${config.partitions - 1}); there is no partition ${partition}`,
        );
      }
      const reader: PartitionReader = new LogPartitionReader(
        topic,
        partition,
        this.layout.partitionDir(topic, partition),
        fromOffset,
        () => this.readers.delete(reader),
      );
      this.readers.add(reader);
      return reader;
    });
  }

  readGroupOffsets(group: string): GroupOffsets {
    return this.guard(`reading offsets of group ${group}`, () => {
      this.checkOpen();
      return readGroupOffsets(this.layout, group);
    });
  }

  /** Merges offsets into the group's stored offsets; durable and atomic when it returns. */
  commitGroupOffsets(group: string, offsets: GroupOffsets): void {
    return this.guard(`committing offsets of group ${group}`, () => {
      this.checkOpen();
      commitGroupOffsets(this.layout, group, offsets);
    });
  }

  /** Closes every writer (flushing it) and reader opened through this log. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let error: unknown = null;
    for (const w of [...this.writers]) {
      try {
        w.close();
      } catch (err) {
        error ??= err;
      }
    }
    for (const r of [...this.readers]) r.close();
    if (error !== null) throw error;
  }

  /** Runs fn, giving its failures to the caller as WeirErrors (see asWeirError). */
  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw asWeirError(err, doing);
    }
  }

  private requireTopic(name: string): TopicConfig {
    validateTopicName(name);
    const config = readTopicConfig(this.layout, name);
    if (config === null) throw unknownTopic(name);
    return config;
  }

  /** Takes the writer lock of every partition, or none (PARTITION_LOCKED naming the holder). */
  private lockPartitions(topic: string, partitions: number): string[] {
    const locked: string[] = [];
    for (let p = 0; p < partitions; p++) {
      const path = this.layout.writerLockPath(topic, p);
      const attempt = tryLock(path);
      if (!attempt.acquired) {
        for (const l of locked) unlock(l);
        const holder = attempt.holderIsThisProcess
          ? `a writer in this process (pid ${attempt.holderPid}); close it first`
          : attempt.holderPid === 0
            ? "another process that is just taking it; try again"
            : `process ${attempt.holderPid}; stop it or wait until it closes its writer`;
        throw new WeirError("PARTITION_LOCKED", `partition ${topic}/${p} is locked by ${holder}`, {
          retryable: true,
        });
      }
      locked.push(path);
    }
    return locked;
  }

  private removeStaleTmp(): void {
    const now = Date.now();
    for (const name of readdirSync(this.layout.tmpDir)) {
      const path = join(this.layout.tmpDir, name);
      try {
        if (now - statSync(path).mtimeMs > STALE_TMP_MS) rmSync(path, { recursive: true, force: true });
      } catch {
        // another process is cleaning it up too
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new WeirError("CLOSED", `the log at ${this.dataDir} is closed`);
  }
}

function topicExists(name: string): WeirError {
  return new WeirError(
    "TOPIC_EXISTS",
    `topic "${name}" already exists (see \`weir topics describe ${name}\`)`,
  );
}

/** Creates the data directory if needed and checks it is a writable directory. */
function prepareDataDir(dataDir: string): void {
  const bad = (why: string, cause?: unknown): WeirError =>
    new WeirError(
      "BAD_DATA_DIR",
      `data directory ${dataDir} ${why}; pass --data-dir (or set WEIR_DATA_DIR) to a writable directory`,
      {
        cause,
      },
    );
  try {
    if (!statSync(dataDir).isDirectory()) throw bad("is a file, not a directory");
  } catch (err) {
    if (err instanceof WeirError) throw err;
    if (errnoCode(err) !== "ENOENT") throw bad(`cannot be used (${errnoCode(err) ?? String(err)})`, err);
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (mkdirErr) {
      throw bad(`cannot be created (${errnoCode(mkdirErr) ?? String(mkdirErr)})`, mkdirErr);
    }
  }
  try {
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw bad("is not writable", err);
  }
}
