// A file on disk as a FileSource (Node): fs.open once, then positional reads of each range, so a
// 2 GiB file never sits in memory. Parts go out as streams (`stream`): 1 MiB reads handed to the
// socket as they complete, so a PUT starts at once and reading overlaps sending, as a piped
// createReadStream would (a whole 8 MiB part read before its PUT left each connection idle ~9% of
// the time). `slice` (whole parts, for a Content-MD5 hasher or another stack) pools its buffers: the
// engine releases a part's bytes once COS holds the part, and the next slice of the same length reads
// into that buffer instead of allocating another (V8 frees large typed arrays late, so fresh 8 MiB
// buffers per part let RSS climb well past the parts in flight).

import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import type { FileSource, StreamBody } from "../types";

/** Free buffers kept for reuse; the parts in flight hold the others. */
const POOL_MAX = 4;
/** Bytes per read of a streamed part (createReadStream's piping in the raw benchmark uses the same). */
const STREAM_CHUNK = 1024 * 1024;
/**
 * Released chunks kept for reuse. Reusing them, rather than a fresh buffer per read, spares the
 * garbage collector ~0.3 s of CPU per GiB.
 */
const CHUNKS_MAX = 16;

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
  /** Streamed chunks the HTTP stack released (the socket took them), for the next reads. */
  private freeChunks: Uint8Array[] = [];
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
    try {
      await this.read(out, start);
    } catch (error) {
      this.release(out);
      throw error;
    }
    return out;
  }

  stream(start: number, end: number): StreamBody {
    const read = (position: number, length: number) => this.read(this.chunkBuffer(length), position);
    return {
      size: end - start,
      release: (chunk) => this.releaseChunk(chunk),
      async *chunks() {
        // One read ahead: the next chunk is read from disk while this one goes to the socket.
        let next = start < end ? read(start, Math.min(STREAM_CHUNK, end - start)) : undefined;
        for (let at = start; next; ) {
          const chunk = await next;
          at += chunk.length;
          next = at < end ? read(at, Math.min(STREAM_CHUNK, end - at)) : undefined;
          next?.catch(() => undefined); // a consumer that stops early never awaits it
          yield chunk;
        }
      },
    };
  }

  /** A buffer for a streamed chunk: a released one when the length fits, else a new one. */
  private chunkBuffer(length: number): Uint8Array {
    const free = length === STREAM_CHUNK ? this.freeChunks.pop() : undefined;
    if (free) return free;
    const out = Buffer.allocUnsafeSlow(length);
    if (length === STREAM_CHUNK) this.mine.add(out);
    return out;
  }

  private releaseChunk(chunk: Uint8Array): void {
    if (this.closed || !this.mine.has(chunk) || chunk.length !== STREAM_CHUNK || this.freeChunks.length >= CHUNKS_MAX) return;
    this.freeChunks.push(chunk);
  }

  /** Fills `out` from `position`; a file that ended early changed while uploading. */
  private async read(out: Uint8Array, position: number): Promise<Uint8Array> {
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.handle.read(out, done, out.length - done, position + done);
      if (bytesRead === 0) throw new Error(`the file ended at ${position + done} bytes, expected ${this.size}`);
      done += bytesRead;
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
    this.freeChunks = [];
    await this.handle.close();
  }
}
