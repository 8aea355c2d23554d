// Names every entry exports besides createUploader and defaultStack (tus-js-client style: each
// platform entry exports the same names).

export * from "./errors";
export type * from "./types";
export { Crc64, crc64, crc64Combine } from "./crc64";
export { checkSetup, type CheckSetupOptions, type SetupReport } from "./diagnostics";
export { memoryStore, webStorageStore } from "./platform/stores";
export { xhrStack } from "./platform/xhr";
export { fetchStack } from "./platform/fetch";
export { shouldRetry, retryDelay } from "./retry";
export { TRANSITIONS } from "./upload";
