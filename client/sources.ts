// Upload bodies as FileSources (DESIGN.md "client/": random access, never the whole file in memory):
// Blob/File through Blob.slice, in-memory bytes and strings as views, FileSource passed through.
// Node's `{ path }` is opened by node/file-source.ts, which the Node entry plugs in.
//
// React Native: pass a FileSource over the file's URI, reading one range at a time, e.g. with
// react-native-blob-util or expo-file-system:
//
//   const source: FileSource = {
//     size, name, lastModified, type,
//     async slice(start, end) {
//       const b64 = await FileSystem.readAsStringAsync(uri, { encoding: "base64", position: start, length: end - start });
//       return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
//     },
//   };
//   uploader.upload({ key, body: source });
//
// Only the part being sent (chunkParallelLimit of them per file) is ever in memory.

import type { FileSource, UploadBody } from "./types";

export function isFileSource(body: unknown): body is FileSource {
  return typeof body === "object" && body !== null && typeof (body as FileSource).slice === "function" && typeof (body as FileSource).size === "number" && !isBlob(body);
}

export function isBlob(body: unknown): body is Blob {
  return typeof Blob !== "undefined" && body instanceof Blob;
}

class BytesSource implements FileSource {
  constructor(
    private readonly bytes: Uint8Array,
    readonly type?: string,
  ) {}
  get size() {
    return this.bytes.length;
  }
  async slice(start: number, end: number) {
    return this.bytes.subarray(start, end);
  }
}

class BlobSource implements FileSource {
  readonly name?: string;
  readonly lastModified?: number;
  readonly type?: string;
  constructor(private readonly blob: Blob) {
    const file = blob as Partial<File>;
    this.name = file.name;
    this.lastModified = file.lastModified;
    this.type = blob.type || undefined;
  }
  get size() {
    return this.blob.size;
  }
  async slice(start: number, end: number) {
    return this.blob.slice(start, end);
  }
}

/** Opens a `{ path }` body (Node entry only). */
export type PathOpener = (path: string) => Promise<FileSource>;

/** The body as a FileSource; `{ path }` needs the Node entry's opener. */
export async function toFileSource(body: UploadBody, openPath?: PathOpener): Promise<FileSource> {
  if (typeof body === "string") return new BytesSource(new TextEncoder().encode(body), "text/plain");
  if (body instanceof Uint8Array) return new BytesSource(body);
  if (body instanceof ArrayBuffer) return new BytesSource(new Uint8Array(body));
  if (isBlob(body)) return new BlobSource(body);
  if (isFileSource(body)) return body;
  if (typeof body === "object" && body !== null && typeof (body as { path?: unknown }).path === "string") {
    if (!openPath) throw new TypeError("a { path } body needs the Node entry (cos-direct/node)");
    return openPath((body as { path: string }).path);
  }
  throw new TypeError("body must be a Blob, File, ArrayBuffer, Uint8Array, string, FileSource or (Node) { path }");
}

/** A slice as bytes: Blobs are read (only that range). */
export async function readBytes(data: Uint8Array | Blob): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer());
}
