// A file on disk as a FileSource (Node): fs.open once, then read(position) of each range, so a
// 2 GiB file never sits in memory — only the parts in flight do. Part buffers are pooled: the engine
// releases a part's bytes once COS holds the part, and the next slice of the same length reads into
// that buffer instead of allocating another (V8 frees large typed arrays late, so fresh 8 MiB buffers
// per part let RSS climb well past the parts in flight).

import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import type { FileSource } from "../types";

/** Free buffers kept for reuse; the parts in flight hold the others. */
const POOL_MAX = 4;

export async function openFileSource(path: string): Promise<FileSource> {
  const handle = await open(path, "r");
  const stat = await handle.stat();
  return new NodeFileSource(handle, stat.size, basename(path), Math.floor(stat.mtimeMs));
}

class NodeFileSource implements FileSource {
  private closed = false;
  /** Buffers this source allocated (only those come back to the pool). */
  private readonly mine = new WeakSet<Uint8Array>();
  private free: Uint8Array[] = [];
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
    readonly lastModified: number,
  ) {}

  async slice(start: number, end: number): Promise<Uint8Array> {
    const length = end - start;
    const at = this.free.findIndex((b) => b.length === length);
    const out = at >= 0 ? this.free.splice(at, 1)[0] : new Uint8Array(length);
    this.mine.add(out);
    let done = 0;
    try {
      while (done < out.length) {
        const { bytesRead } = await this.handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`${this.name}: the file ended at ${start + done} bytes, expected ${this.size} (it changed while uploading)`);
        done += bytesRead;
      }
    } catch (error) {
      this.release(out);
      throw error;
    }
    return out;
  }

  release(bytes: Uint8Array): void {
    if (this.closed || !this.mine.has(bytes) || this.free.includes(bytes)) return;
    this.free.push(bytes);
    if (this.free.length > POOL_MAX) this.free.shift();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.free = [];
    await this.handle.close();
  }
}
