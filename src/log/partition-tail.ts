/**
 * A partition's end offset as the files on disk tell it, for readers (which hold no lock and may be
 * in another process than the writer). Incremental: a call scans only the frames appended since the
 * previous one, starting the first time from the last offset-index entry (validated) of the last segment.
 */
import { SegmentCursor } from "./segment-cursor.js";
import { listSegmentBases, offsetIndexPath } from "./segment-files.js";
import { OFFSET_ENTRY_BYTES, offsetHintOf, readLastEntry } from "./segment-index.js";

const TAIL_CHUNK_BYTES = 64 * 1024;
const ATTEMPTS = 5;

export class PartitionTail {
  private cursor: SegmentCursor | null = null;
  /** Offset after the last complete frame seen in cursor's segment. */
  private next = 0;

  constructor(private readonly dir: string) {}

  /** Offset the next appended record will get: the end of the complete, valid frames on disk. */
  endOffset(bases: readonly number[] = listSegmentBases(this.dir)): number {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (bases.length === 0) {
        this.close();
        return 0;
      }
      const last = bases[bases.length - 1];
      if (this.cursor !== null && this.cursor.baseOffset === last) {
        const st = this.cursor.stat();
        if (st.deleted || st.size < this.cursor.filePos) this.close(); // truncated since the last call
      } else {
        this.close();
      }
      if (this.cursor === null && !this.open(last)) {
        bases = listSegmentBases(this.dir); // deleted between listing and opening
        continue;
      }
      this.next = this.cursor!.scan(this.next);
      return this.next;
    }
    return this.next;
  }

  close(): void {
    this.cursor?.close();
    this.cursor = null;
  }

  private open(baseOffset: number): boolean {
    const cursor = SegmentCursor.open(this.dir, baseOffset, TAIL_CHUNK_BYTES);
    if (cursor === null) return false;
    const entry = readLastEntry(offsetIndexPath(this.dir, baseOffset), OFFSET_ENTRY_BYTES);
    this.next = cursor.moveToHint(entry === null ? null : offsetHintOf(entry));
    this.cursor = cursor;
    return true;
  }
}
