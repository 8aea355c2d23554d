// Node entry (`cos-direct` "node" export): fetch with streamed bodies (progress counted as the socket
// takes the bytes), checkpoints in memory unless a store is given (fileStore(path) survives restarts),
// and `{ path }` bodies read by range from disk.

import { fetchStack } from "./platform/fetch";
import { memoryStore } from "./platform/stores";
import { openFileSource } from "./node/file-source";
import { createUploaderFor } from "./uploader";
import type { HttpStack, Uploader, UploaderOptions } from "./types";

export * from "./shared-exports";
export { fileStore } from "./node/file-store";
export { openFileSource } from "./node/file-source";

export function defaultStack(): HttpStack {
  return fetchStack({ stream: true });
}

export function createUploader(options: UploaderOptions): Uploader {
  return createUploaderFor({ stack: defaultStack, store: memoryStore, chunkParallelLimit: 4, openPath: openFileSource }, options);
}
