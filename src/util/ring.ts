/** A fixed-size ring: it keeps the last `size` items pushed, oldest first when read. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;

  constructor(private readonly size: number) {}

  push(item: T): void {
    if (this.items.length < this.size) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.size;
    }
  }

  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}
