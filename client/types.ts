// The client library's public types and its platform seams (DESIGN.md "client/", in the manner of
// tus-js-client: HttpStack, FileSource, Store as interfaces; each platform entry wires defaults).
// The wire types of the functions' HTTP API come from functions/routes/schemas.ts by `import type`.

// ---------------------------------------------------------------------------------------------
// Platform seams
// ---------------------------------------------------------------------------------------------

/** One HTTP request as the upload engine needs it: a body, upload progress, abort, the response. */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /**
   * undefined for no body. A Uint8Array or a Blob (browser) is sent as is. A stack must not keep a
   * Uint8Array body after `send` settles: the engine may reuse the buffer for a later part. A
   * StreamBody goes only to a stack that says `streams: true`.
   */
  body?: Uint8Array | Blob | string | StreamBody;
  signal?: AbortSignal;
  /** Called with the bytes of the body sent so far (monotonic, ≤ body size). */
  onUploadProgress?: (sent: number) => void;
}

export interface HttpResponse {
  status: number;
  /** Header lookup, case-insensitive; null when absent or not readable (CORS-hidden). */
  header(name: string): string | null;
  text: string;
}

/** Sends requests. Browser/React Native: XHR (upload progress). Node: node:http(s). Tests: a fake. */
export interface HttpStack {
  send(request: HttpRequest): Promise<HttpResponse>;
  /** The stack can send a StreamBody (Node's node:http stack): file parts are then read while they are sent. */
  streams?: boolean;
  /**
   * False when this body's upload progress is known only once the response arrives (fetch without a
   * streamed body). The engine then waits for an answer in proportion to the size instead of
   * aborting the request after `stallTimeout` without progress.
   */
  reportsProgress?(body: HttpRequest["body"]): boolean;
}

/** A body read while it is sent; each `chunks()` reads it again from the start (a retry). */
export interface StreamBody {
  readonly size: number;
  chunks(): AsyncIterable<Uint8Array>;
  /** The stack is done with `chunk` (the socket has taken it): its memory may hold a later chunk. */
  release?(chunk: Uint8Array): void;
}

/** Random access to the bytes of one upload body, never reading the whole of a large file. */
export interface FileSource {
  readonly size: number;
  /** File name when known (File.name, the path's base name). */
  readonly name?: string;
  /** Unix ms, when known (File.lastModified, fs mtime): part of the resume fingerprint. */
  readonly lastModified?: number;
  /** The MIME type when known (File.type). */
  readonly type?: string;
  /** Bytes [start, end). */
  slice(start: number, end: number): Promise<Uint8Array | Blob>;
  /**
   * The engine is done with bytes `slice` returned (their part has its ETag, or their CRC is
   * computed), so a source may reuse the buffer for a later slice (Node's file source pools them).
   */
  release?(bytes: Uint8Array): void;
  /**
   * Bytes [start, end) as a body read chunk by chunk while it is sent (Node's file source), so no
   * whole part sits in memory and sending starts at once. Used with stacks that can send it.
   */
  stream?(start: number, end: number): StreamBody;
  /** Releases handles (Node file descriptors). */
  close?(): Promise<void>;
}

/** Key-value storage for resume checkpoints: localStorage, IndexedDB, a file, memory, AsyncStorage. */
export interface Store {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  /** Removes the value, and the file handle kept under the same key if any. */
  remove(key: string): Promise<void>;
  /** Keys starting with `prefix` (to list local checkpoints). */
  keys(prefix: string): Promise<string[]>;
  /**
   * Keeps a file handle under a checkpoint's key, so that `unfinished()` can hand it back after a
   * reload and the upload resumes without the file being picked again. Only stores that can hold a
   * FileSystemFileHandle have it (indexedDbStore: Web Storage and JSON hold strings only).
   */
  setHandle?(key: string, handle: FileHandle): Promise<void>;
  getHandle?(key: string): Promise<FileHandle | null>;
}

/**
 * A file handle (the File System Access API's FileSystemFileHandle: from showOpenFilePicker, a
 * drop's DataTransferItem.getAsFileSystemHandle, or the origin private file system). As a body it
 * is read as the File it opens; a store with setHandle keeps it for resuming after a reload.
 */
export interface FileHandle {
  readonly kind: "file";
  readonly name: string;
  getFile(): Promise<File>;
  /**
   * Chromium: "granted", "prompt" or "denied". A handle read back from IndexedDB after a reload is
   * at "prompt": the upload then fails with a SourceError until the app calls requestPermission.
   */
  queryPermission?(descriptor: { mode: "read" }): Promise<string>;
  /** Asks the person; only from a click (user activation), so the app calls it, never the client. */
  requestPermission?(descriptor: { mode: "read" }): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// createUploader
// ---------------------------------------------------------------------------------------------

export interface RetryOptions {
  /** Attempts per request before giving up, counted since the last progress. Default 5. */
  attempts?: number;
  /** Backoff base in ms; delay = min(maxDelay, base * 2^n) with full jitter. Default 500. */
  baseDelay?: number;
  /** Default 20000. */
  maxDelay?: number;
}

export interface UploaderOptions {
  /** The functions' base URL, e.g. `http://127.0.0.1:8787` (the client adds `/v1/...`). */
  endpoint: string;
  /** Bearer token for the functions (a JWT); called before each API call, so it may refresh. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Extra headers for every API call (e.g. `x-dev-subject` in dev). */
  headers?: Record<string, string>;
  /** fetch for API calls. Default: the global fetch. */
  fetch?: typeof fetch;
  /** Transport for COS requests. Default: the platform's (XHR in browsers, node:http(s) in Node). */
  httpStack?: HttpStack;
  /** Files uploading at once. Default 3. */
  fileParallelLimit?: number;
  /**
   * Parts in flight per file. Default 3 (browser) / 4 (Node). Over every file, the browser entry
   * sends at most 6 PUTs at once and React Native 4 (the connections those platforms open to one
   * host): a PUT past that would wait unseen in the platform's queue and trip `stallTimeout`.
   */
  chunkParallelLimit?: number;
  /**
   * Bodies up to this size go in one presigned PUT; larger ones in parts. Default 8 MiB. The
   * functions' SINGLE_PUT_THRESHOLD caps it: a body above that goes in parts whatever this says.
   */
  sliceSize?: number;
  /** Preferred part size (the functions may raise it). Default: the functions' plan. */
  partSize?: number;
  retry?: RetryOptions;
  /**
   * A request that makes no progress (no body bytes sent, no response) for this many ms is aborted
   * and retried as a network error, so a stalled connection never hangs an upload. Default 60000.
   */
  stallTimeout?: number;
  /** Where resume checkpoints live. Default: memory (Node entry: memory; browser entry: localStorage when present). */
  store?: Store;
  /** CRC64 per part and for the object, checked against COS (default true). */
  integrity?: boolean | { crc64?: boolean; md5?: (bytes: Uint8Array) => Promise<string> };
}

export type TaskState = "queued" | "hashing" | "initiating" | "uploading" | "paused" | "completing" | "done" | "failed" | "cancelled";

export interface Progress {
  /**
   * Bytes COS has accepted (a failed part's bytes are taken back); monotonic across reports, except
   * when the upload starts over because the bytes sent are no longer in COS (its multipart upload
   * was aborted, or its object deleted before it was confirmed): then it goes back to 0.
   */
  loaded: number;
  total: number;
  /** Smoothed bytes per second. */
  speed: number;
  /** 0-100. */
  percent: number;
  /** Seconds left at the current speed; null when unknown. */
  eta: number | null;
}

/** What `done` resolves to. */
export interface UploadResult {
  key: string;
  etag: string;
  size: number;
  location: string;
  crc64?: string;
}

/** Bodies the client accepts; Node adds `{ path }` (a file path) in its entry. */
export type UploadBody = Blob | ArrayBuffer | Uint8Array | string | FileSource | FileHandle | { path: string };

export interface UploadOptions {
  /** Full object key (inside your prefix), or... */
  key?: string;
  /** ...a file name (the functions choose the key). Defaults to the File's name when neither is given. */
  filename?: string;
  body: UploadBody;
  contentType?: string;
  metadata?: Record<string, string>;
  storageClass?: string;
  /** Accepted for seed compatibility; the functions decide ACLs (private). */
  acl?: string;
  /** Cache-Control, Content-Disposition, Content-Encoding. */
  headers?: { "cache-control"?: string; "content-disposition"?: string; "content-encoding"?: string };
  /** x-cos-traffic-limit in bit/s. */
  trafficLimit?: number;
  onProgress?: (progress: Progress) => void;
  onHashProgress?: (progress: { loaded: number; total: number; percent: number }) => void;
  onTaskReady?: (taskId: string) => void;
  onStateChange?: (state: TaskState, task: UploadTask) => void;
  /**
   * Aborting it cancels the task, as cancel() does (the upload is aborted on COS, `done` rejects
   * with CancelledError); too late once the task is completing.
   */
  signal?: AbortSignal;
  /**
   * The checkpoint of an unfinished upload to continue (`resumeOptions` sets it). The body must be
   * the file it was made for: one changed since (size, lastModified) fails with a SourceError, and
   * the old upload is aborted on COS. Cancelling the task, even before it runs, aborts that upload.
   * Files only (a file handle, a File, a path): a checkpoint of bytes held in memory is a TypeError
   * (those resume by being uploaded again with the same store).
   */
  checkpoint?: string;
}

/** The upload() options a checkpoint keeps, so that an upload resumed from it asks for the same. */
export type KeptOptions = Pick<UploadOptions, "key" | "filename" | "contentType" | "metadata" | "storageClass" | "headers" | "trafficLimit">;

export interface UploadTask {
  readonly id: string;
  readonly state: TaskState;
  readonly progress: Progress;
  /** Known once the functions planned the upload. */
  readonly key?: string;
  readonly uploadId?: string;
  /**
   * Stops the parts in flight; finished ones are kept. Called from a state listener (onStateChange,
   * the "state" event), pause, resume and cancel take effect once every listener has heard that state.
   * While completing, pause and cancel wait for the Complete: a task done stays done, a failed one
   * is then cancelled, and one that starts the upload over (its checkpoint's upload was gone) is
   * then paused or cancelled.
   */
  pause(): void;
  resume(): void;
  /** Aborts the multipart upload on the server; `done` rejects with a CancelledError. */
  cancel(): Promise<void>;
  /** Always settles: the result, or an UploadError / CancelledError. */
  readonly done: Promise<UploadResult>;
}

export interface UploadFilesOptions {
  onProgress?: (progress: Progress) => void;
  onFileFinish?: (error: Error | null, result: UploadResult | null, options: UploadOptions) => void;
}

export interface UnfinishedUpload {
  key: string;
  uploadId: string;
  initiated: string;
  /** True when this device holds a checkpoint (and token) for it, so it can resume. */
  resumable: boolean;
  /** From this device's checkpoint (resumable only): the file's name, its size, and the bytes COS holds. */
  name?: string;
  size?: number;
  bytesDone?: number;
  /**
   * When the store kept the file's handle (indexedDbStore with a FileHandle body): the upload()
   * options that resume it without the file being picked again (the first upload's key or filename,
   * content type, metadata, headers, storage class, traffic limit, and `checkpoint`). A handle read
   * back after a reload needs the person's permission again: call
   * `resumeOptions.body.requestPermission({ mode: "read" })` from a click first.
   */
  resumeOptions?: UploadOptions & { body: FileHandle; checkpoint: string };
}

export type UploaderEvent = "list-update" | "progress" | "state";

export interface Uploader {
  upload(options: UploadOptions): UploadTask;
  uploadFiles(files: UploadOptions[], options?: UploadFilesOptions): Promise<(UploadResult | Error)[]>;
  tasks(): UploadTask[];
  on(event: UploaderEvent, listener: (task: UploadTask) => void): () => void;
  pauseAll(): void;
  resumeAll(): void;
  cancelAll(): Promise<void>;
  /**
   * Presigned APPEND then the POST; resolves with the next append position. A POST that gets no
   * answer is not sent again (COS may have appended): the NetworkError says so; read the object's
   * length before appending at a new position.
   */
  append(key: string, body: Uint8Array | Blob | string, options: { position: number; contentType?: string; signal?: AbortSignal }): Promise<{ nextPosition: number; etag: string; crc64?: string }>;
  /** A presigned GET URL. */
  downloadUrl(key: string, options?: { filename?: string; expires?: number }): Promise<string>;
  unfinished(): Promise<UnfinishedUpload[]>;
}
