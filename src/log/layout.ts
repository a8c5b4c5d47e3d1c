/**
 * Where the log keeps things under the data directory:
 *   topics/<topic>/topic.json                 topic configuration
 *   topics/<topic>/<partition>/               segments (see segment-files.ts) and writer.lock
 *   groups/<group>.json                       committed offsets of a consumer group
 *   log-tmp/                                  staging for topic creation, topics being deleted
 */
import { join } from "node:path";

export class Layout {
  readonly topicsDir: string;
  readonly groupsDir: string;
  readonly tmpDir: string;

  constructor(readonly dataDir: string) {
    this.topicsDir = join(dataDir, "topics");
    this.groupsDir = join(dataDir, "groups");
    this.tmpDir = join(dataDir, "log-tmp");
  }

  topicDir(topic: string): string {
    return join(this.topicsDir, topic);
  }

  topicConfigPath(topic: string): string {
    return join(this.topicsDir, topic, "topic.json");
  }

  partitionDir(topic: string, partition: number): string {
    return join(this.topicsDir, topic, String(partition));
  }

  writerLockPath(topic: string, partition: number): string {
    return join(this.partitionDir(topic, partition), "writer.lock");
  }

  groupPath(group: string): string {
    return join(this.groupsDir, `${group}.json`);
  }

  groupLockPath(group: string): string {
    return join(this.groupsDir, `${group}.lock`);
  }

  /** A fresh, unique path in tmpDir; the pid in it tells whose it is. */
  tmpPath(purpose: string): string {
    return join(this.tmpDir, `${purpose}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  }
}
