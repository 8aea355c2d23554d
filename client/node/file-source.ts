// A file on disk as a FileSource (Node): fs.open once, then read(position) of each range, so a
// 2 GiB file never sits in memory — only the parts in flight do.

import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import type { FileSource } from "../types";

export async function openFileSource(path: string): Promise<FileSource> {
  const handle = await open(path, "r");
  const stat = await handle.stat();
  return new NodeFileSource(handle, stat.size, basename(path), Math.floor(stat.mtimeMs));
}

class NodeFileSource implements FileSource {
  private closed = false;
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
    readonly lastModified: number,
  ) {}

  async slice(start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.handle.read(out, done, out.length - done, start + done);
      if (bytesRead === 0) throw new Error(`${this.name}: the file ended at ${start + done} bytes, expected ${this.size} (it changed while uploading)`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
