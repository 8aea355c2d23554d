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
// Only the part being sent (chunkParallelLimit of them per file) is ever in memory. Give
// lastModified: a FileSource without one gets no checkpoint (nothing would tell an edited file of the
// same size from the one whose parts are in COS), so it cannot resume after a restart.

import { SourceError } from "./errors";
import type { FileHandle, FileSource, StreamBody, UploadBody } from "./types";

export function isFileSource(body: unknown): body is FileSource {
  return typeof body === "object" && body !== null && typeof (body as FileSource).slice === "function" && typeof (body as FileSource).size === "number" && !isBlob(body);
}

export function isFileHandle(body: unknown): body is FileHandle {
  return typeof body === "object" && body !== null && (body as FileHandle).kind === "file" && typeof (body as FileHandle).getFile === "function";
}

/**
 * The File a handle opens. A handle read back from IndexedDB after a reload has lost its read
 * permission, and only the app can ask for it again (the browser's prompt needs a click, long gone
 * when a queued task runs): without it, or with a file gone, a SourceError naming the file.
 */
async function openHandle(handle: FileHandle): Promise<FileSource> {
  try {
    if (handle.queryPermission && (await handle.queryPermission({ mode: "read" })) !== "granted") {
      throw Object.assign(new Error('no permission to read it: call handle.requestPermission({ mode: "read" }) from a click first'), { name: "NotAllowedError" });
    }
    return blobSource(await handle.getFile());
  } catch (error) {
    throw new SourceError(handle.name, error);
  }
}

export function isBlob(body: unknown): body is Blob {
  return typeof Blob !== "undefined" && body instanceof Blob;
}

/** In-memory bytes: slices are views, nothing is copied. */
function bytesSource(bytes: Uint8Array, type?: string): FileSource {
  return { size: bytes.length, type, slice: async (start, end) => bytes.subarray(start, end) };
}

/** A Blob or File: slices are Blobs, read one at a time. */
function blobSource(blob: Blob): FileSource {
  const file = blob as Partial<File>;
  return { size: blob.size, name: file.name, lastModified: file.lastModified, type: blob.type || undefined, slice: async (start, end) => blob.slice(start, end) };
}

/** Opens a `{ path }` body (Node entry only). */
export type PathOpener = (path: string) => Promise<FileSource>;

/** The body as a FileSource; `{ path }` needs the Node entry's opener. */
export async function toFileSource(body: UploadBody, openPath?: PathOpener): Promise<FileSource> {
  if (typeof body === "string") return bytesSource(new TextEncoder().encode(body), "text/plain");
  if (body instanceof Uint8Array) return bytesSource(body);
  if (body instanceof ArrayBuffer) return bytesSource(new Uint8Array(body));
  if (isBlob(body)) return blobSource(body);
  if (isFileSource(body)) return body;
  if (isFileHandle(body)) return openHandle(body);
  if (typeof body === "object" && body !== null && typeof (body as { path?: unknown }).path === "string") {
    if (!openPath) throw new TypeError("a { path } body needs the Node entry (cos-direct/node)");
    return openPath((body as { path: string }).path);
  }
  throw new TypeError("body must be a Blob, File, ArrayBuffer, Uint8Array, string, FileSource, FileSystemFileHandle or (Node) { path }");
}

/** UTF-8 length of `text` as TextEncoder would encode it (a lone surrogate as U+FFFD: 3 bytes), without encoding it. */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const pair = c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (pair) i++;
  }
  return n;
}

/** The body's size when it is known without opening anything (not a `{ path }`): progress totals of queued tasks. */
export function knownSize(body: UploadBody): number | undefined {
  // Counted, not encoded: the run encodes the string once when it opens the body.
  if (typeof body === "string") return utf8Length(body);
  return body instanceof ArrayBuffer || body instanceof Uint8Array ? body.byteLength : isBlob(body) || isFileSource(body) ? body.size : undefined;
}

/** The byte length of a body the engine sends. */
export const sizeOf = (body: Uint8Array | Blob | StreamBody): number => (body instanceof Uint8Array ? body.length : body.size);

/** A slice as bytes: Blobs are read (only that range). */
export async function readBytes(data: Uint8Array | Blob): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer());
}
