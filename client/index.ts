// Browser entry (`cos-direct` "browser" export): XHR transport (upload progress, abort), checkpoints in
// localStorage when there is one, else in memory; indexedDbStore (browsers only) keeps file handles too.

import { memoryStore, webStorageStore } from "./platform/stores";
import { xhrStack } from "./platform/xhr";
import { fetchStack } from "./platform/fetch";
import { createUploaderFor } from "./uploader";
import type { HttpStack, Uploader, UploaderOptions } from "./types";

export * from "./shared-exports";
export { indexedDbStore } from "./platform/indexeddb";

/** XHR where there is one (real upload progress), else fetch. */
export function defaultStack(): HttpStack {
  return typeof XMLHttpRequest !== "undefined" ? xhrStack() : fetchStack();
}

function defaultStore() {
  try {
    if (typeof localStorage !== "undefined" && localStorage) return webStorageStore(localStorage);
  } catch {
    // Storage disabled (privacy settings, sandboxed iframe).
  }
  return memoryStore();
}

export function createUploader(options: UploaderOptions): Uploader {
  // Browsers open 6 connections per host over HTTP/1.1: a 7th PUT would wait in the browser, unseen.
  return createUploaderFor({ stack: defaultStack, store: defaultStore, chunkParallelLimit: 3, maxPuts: 6 }, options);
}
