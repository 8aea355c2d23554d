// Node entry (`cos-direct` "node" export): node:http(s) with bodies written in chunks (progress
// counted as the socket takes the bytes; client/node/http-stack.ts), checkpoints in memory unless a
// store is given (fileStore(path) survives restarts), and `{ path }` bodies whose parts are streamed
// from disk as they are sent, in reused 1 MiB buffers (client/node/file-source.ts).

import { setMaxListeners } from "node:events";
import { stat } from "node:fs/promises";
import { nodeHttpStack } from "./node/http-stack";
import { memoryStore } from "./platform/stores";
import { openFileSource } from "./node/file-source";
import { createUploaderFor } from "./uploader";
import type { HttpStack, Uploader, UploaderOptions } from "./types";

export * from "./shared-exports";
export { fileStore } from "./node/file-store";
export { openFileSource } from "./node/file-source";
export { nodeHttpStack } from "./node/http-stack";

export function defaultStack(): HttpStack {
  return nodeHttpStack();
}

export function createUploader(options: UploaderOptions): Uploader {
  return createUploaderFor(
    {
      stack: defaultStack, store: memoryStore, chunkParallelLimit: 4, openPath: openFileSource, sizeOfPath: async (path) => (await stat(path)).size,
      // A task's signals get a listener per part in flight (and per part waiting): no limit to warn about.
      manyListeners: (signal) => setMaxListeners(0, signal),
    },
    options,
  );
}
