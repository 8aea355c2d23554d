// React Native entry (`cos-direct` "react-native" export): XHR transport (upload progress, abort).
// Checkpoints need a store from the app, e.g. AsyncStorage wrapped as platform/stores.ts shows;
// without one, nothing is resumable across restarts. Bodies: a FileSource over the file URI read by
// range (sources.ts shows one), or bytes.

import { memoryStore } from "./platform/stores";
import { xhrStack } from "./platform/xhr";
import { createUploaderFor } from "./uploader";
import type { HttpStack, Store, Uploader, UploaderOptions } from "./types";

export * from "./shared-exports";

export function defaultStack(): HttpStack {
  return xhrStack();
}

export function createUploader(options: UploaderOptions & { store: Store }): Uploader {
  if (!options.store) throw new TypeError("createUploader (React Native): pass `store`, e.g. AsyncStorage wrapped as a Store (see cos-direct's platform/stores.ts), or memoryStore()");
  // Android's OkHttp sends 5 requests per host at once (the rest wait in its queue, unseen); iOS 4 to 6.
  return createUploaderFor({ stack: defaultStack, store: memoryStore, chunkParallelLimit: 3, maxPuts: 4 }, options);
}
