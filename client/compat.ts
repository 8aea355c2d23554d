// cos-js-sdk-v5's upload surface (the seed document, reference/seed-cos-js-sdk-uploading-object.txt)
// on top of the functions and the uploader (issue 4 "compat"): code written for the SDK moves over by
// changing the constructor. Methods keep the SDK's names, parameters (`Key`, `Body`, `onProgress`...),
// callbacks `(err, data)` and data shapes, and return a promise as the SDK does without a callback.
//
// Apps: `import { CosDirect } from "cos-direct/compat"`, which resolves to this file in browsers, to
// compat-node.ts in Node (the Node entry's uploader, so `FilePath`, cos-nodejs-sdk-v5's parameter, is
// read from disk by range) and to compat-react-native.ts in React Native (which needs `store`).
//
// What differs from cos-js-sdk-v5, and why:
// - The constructor takes the functions' `endpoint` and a bearer token (`getToken`), never a
//   SecretId/SecretKey or getAuthorization: the functions sign, and they decide the bucket. `Bucket`
//   and `Region` are accepted everywhere and ignored (echoed back in task lists and results).
// - `KeyPrefix` (constructor) is put before every `Key` and taken off every key handed back, so seed
//   code with bare keys (`'1.jpg'`) lands inside the caller's grant (e.g. `users/alice/`).
// - Single PUT versus multipart is decided by the functions' SINGLE_PUT_THRESHOLD for every call, and
//   the part size by their plan (the constructor's `ChunkSize` is a preference they may raise): the
//   per-call `SliceSize` (uploadFile/uploadFiles/sliceUploadFile) and `AsyncLimit` are accepted and
//   ignored (the constructor's ChunkParallelLimit holds). putObject of a body above the threshold is
//   therefore uploaded in parts, and sliceUploadFile of a small one in one PUT (the same object).
// - Object options pass through only where the functions allow them: ContentType, StorageClass, ACL,
//   CacheControl, ContentDisposition, ContentEncoding, `x-cos-meta-*` (top level or in Headers) and
//   `x-cos-traffic-limit`. Expires, Grant*, ContentMD5, UploadAddMetaMd5 and other headers are ignored.
// - onHashProgress reports a resumed upload hashing the parts COS already holds that its checkpoint
//   did not record (the SDK hashes MD5 on resume too); a fresh upload hashes while sending, unreported.
// - A leading "/" in Key is dropped, as the SDK does; then KeyPrefix goes first.
// - `Location` is the functions' object URL without its scheme (as the SDK gives it);
//   `headers` hold only etag and x-cos-hash-crc64ecma (the uploader does not keep COS's headers).
// - cancelTask settles the task's callback with a CancelledError (the SDK leaves it uncalled); every
//   call here settles. restartTask of a failed task starts it again from its checkpoint and calls
//   the callback again when that run ends, as the SDK does.
// - multipartInit needs the size (`Body`, or `ContentLength`) because the functions plan the parts and
//   sign each part's exact length; its data adds `PartSize` and `PartCount`, and every part given to
//   multipartUpload must have the planned size. The upload token is kept here by UploadId, so
//   multipartUpload/ListPart/Complete/Abort work for uploads this instance initiated (or ones given
//   to `rememberUpload`); multipartList lists all of the caller's uploads, without paging.
// - Errors are the client's typed errors (HttpError, ApiError, ...) with the SDK's `statusCode`,
//   `headers` and `error: { Code, Message, RequestId }` added.

import { createUploader, defaultStack } from "./index";
import { isCancelledError } from "./errors";
import { sumProgress } from "./progress";
import type { HttpStack, Progress, Uploader, UploaderOptions, UploadOptions, UploadResult, UploadTask, TaskState } from "./types";
import { CompatMultipart, compatKey, quoted, sdkKey, sdkLocation } from "./compat-multipart";

/** The SDK's callback: `err` alone on failure, `(null, data)` on success. */
export type Callback<T> = (err: CompatError | null, data?: T) => void;

/** An Error with the fields SDK code reads. */
export type CompatError = Error & { statusCode?: number; code?: string; headers: Record<string, string>; error?: { Code?: string; Message: string; RequestId?: string } };

/** progressData as the SDK reports it: `percent` is a fraction (0.5 = 50 %). */
export interface ProgressData {
  loaded: number;
  total: number;
  /** Bytes per second. */
  speed: number;
  /** 0-1, two decimals. */
  percent: number;
  /** Seconds left (an addition; null when unknown). */
  eta?: number | null;
}

export interface CosDirectOptions extends UploaderOptions {
  /** Put before every Key (and taken off keys handed back), e.g. `users/alice/`. Default "". */
  KeyPrefix?: string;
  /** Files uploading at once (the SDK's name for fileParallelLimit). Default 3. */
  FileParallelLimit?: number;
  /** Parts in flight per file (chunkParallelLimit). */
  ChunkParallelLimit?: number;
  /** Preferred part size (partSize). */
  ChunkSize?: number;
  /** The uploader's sliceSize (the functions' SINGLE_PUT_THRESHOLD decides in the end). */
  SliceSize?: number;
  /** Retries per request (retry.attempts counts the first try too, so attempts = ChunkRetryTimes + 1). */
  ChunkRetryTimes?: number;
  /** An uploader to drive instead of creating one. */
  uploader?: Uploader;
}

/** Parameters of putObject / sliceUploadFile / uploadFile, as the seed documents them. */
export interface UploadParams {
  Bucket?: string;
  Region?: string;
  Key: string;
  Body?: Blob | ArrayBuffer | Uint8Array | string;
  /** cos-nodejs-sdk-v5's name for a file path, read by range (CosDirect from compat-node.ts). */
  FilePath?: string;
  ContentType?: string;
  StorageClass?: string;
  ACL?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  Headers?: Record<string, string | number>;
  /** x-cos-traffic-limit in bit/s (the SDK takes it at the top level too). */
  TrafficLimit?: number;
  /** Accepted and ignored (see the header). */
  SliceSize?: number;
  /** Accepted and ignored (see the header). */
  AsyncLimit?: number;
  onTaskReady?: (taskId: string) => void;
  onProgress?: (progressData: ProgressData) => void;
  onHashProgress?: (progressData: ProgressData) => void;
  /** uploadFile: the outcome, with the file's info (its plain-valued params and TaskId). */
  onFileFinish?: (err: CompatError | null, data: UploadData | null, options: FileInfo) => void;
  [metaHeader: `x-cos-meta-${string}`]: string | undefined;
}

/** What putObject / sliceUploadFile / uploadFile call back with. */
export interface UploadData {
  statusCode: number;
  headers: Record<string, string>;
  ETag: string;
  Location: string;
  Bucket?: string;
  Key: string;
}

/** A file of uploadFiles as the SDK hands it back: the file's plain-valued params, its Index and TaskId. */
export type FileInfo = { Index?: number; TaskId: string; Key?: string; Bucket?: string; Region?: string } & Record<string, string | number | boolean | undefined>;

export interface UploadFilesParams {
  /** Each file as for uploadFile, but its own onFileFinish gets `(err, data)` (the batch's gets the file's info). */
  files: (Omit<UploadParams, "onFileFinish"> & { onFileFinish?: (err: CompatError | null, data: UploadData | null) => void })[];
  /** Accepted and ignored: the functions' threshold decides (see the header). */
  SliceSize?: number;
  AsyncLimit?: number;
  /** Every file's progress summed up. */
  onProgress?: (progressData: ProgressData) => void;
  /** Each file's outcome, with its FileInfo (the file's own onFileFinish gets `(err, data)`). */
  onFileFinish?: (err: CompatError | null, data: UploadData | null, options: FileInfo) => void;
}

export interface UploadFilesData {
  files: { options: FileInfo; error: CompatError | null; data: UploadData | null }[];
}

export interface AppendParams {
  Bucket?: string;
  Region?: string;
  Key: string;
  Body: Uint8Array | Blob | string;
  /** 0 for the first append, then the object's length (x-cos-next-append-position). */
  Position: number | string;
  ContentType?: string;
}

export interface AppendData {
  statusCode: number;
  /** etag, x-cos-next-append-position, x-cos-hash-crc64ecma. */
  headers: Record<string, string>;
  ETag: string;
  /** An addition: the position of the next append, as a number. */
  NextAppendPosition: number;
}

/** One entry of getTaskList(), the SDK's fields. */
export interface TaskInfo {
  id: string;
  Bucket?: string;
  Region?: string;
  Key: string;
  FilePath?: string;
  state: "waiting" | "checking" | "uploading" | "paused" | "success" | "error" | "canceled";
  loaded: number;
  size: number;
  speed: number;
  percent: number;
  hashPercent: number;
  error: CompatError | null;
}

/** States of a task that is not over nor stopped. */
const RUNNING: ReadonlySet<TaskState> = new Set(["queued", "initiating", "hashing", "uploading", "completing"]);

const SDK_STATE: Record<TaskState, TaskInfo["state"]> = {
  queued: "waiting",
  hashing: "checking",
  // The SDK says "checking" until the first bytes move.
  initiating: "checking",
  uploading: "uploading",
  completing: "uploading",
  paused: "paused",
  done: "success",
  failed: "error",
  cancelled: "canceled",
};

export function progressData(p: Pick<Progress, "loaded" | "total" | "speed"> & { eta?: number | null; percent?: number }): ProgressData {
  // With total 0, the task's own percent tells a finished empty file (100) from one still waiting (0).
  const percent = p.total ? Math.floor((p.loaded / p.total) * 100) / 100 : p.percent !== undefined ? p.percent / 100 : p.loaded === p.total ? 1 : 0;
  return { loaded: p.loaded, total: p.total, speed: Math.round(p.speed * 100) / 100, percent, ...(p.eta !== undefined ? { eta: p.eta } : {}) };
}

/** A file's params as the SDK hands them back to onFileFinish: plain values only (no Body, no callbacks), the Key without a leading "/", TaskId once known. */
function fileInfo(params: object, index?: number): FileInfo {
  const info: FileInfo = { ...(index !== undefined ? { Index: index } : {}), TaskId: "" };
  for (const [name, value] of Object.entries(params)) if (typeof value !== "object" && typeof value !== "function") info[name] = value;
  if (typeof info.Key === "string") info.Key = sdkKey(info.Key);
  return info;
}

/** Done or cancelled, a task never runs again: the list keeps its entry but not its bytes (as the SDK drops Body). */
function releaseBody(entry: Entry): void {
  entry.params = { ...entry.params, Body: undefined };
}

/** The client's error with the fields SDK code reads (statusCode, headers, error.Code). */
export function compatError(cause: unknown): CompatError {
  const error = (cause instanceof Error ? cause : new Error(String(cause))) as CompatError & { status?: number; code?: string; requestId?: string; apiMessage?: string; cosMessage?: string };
  if (error.headers === undefined) {
    const statusCode = error.statusCode ?? error.status;
    // Always a string, as the SDK's: COS's code, else the status (a bare 503), else the error's name.
    const code = error.code ?? (statusCode ? String(statusCode) : error.name);
    Object.assign(error, {
      statusCode,
      code,
      headers: {},
      error: { Code: code, Message: error.apiMessage ?? error.cosMessage ?? error.message, RequestId: error.requestId },
    });
  }
  return error;
}

/** The SDK's dual style: the callback when there is one, and always a promise. */
export function settle<T>(work: Promise<T>, callback?: Callback<T>): Promise<T> {
  const result = work.catch((cause: unknown) => Promise.reject(compatError(cause)));
  if (callback) {
    result.then(
      (data) => callback(null, data),
      (err: CompatError) => callback(err),
    );
  }
  return result;
}

type ListEvent = "list-update" | "task-list-update";
const isListEvent = (event: string) => event === "list-update" || event === "task-list-update";

interface Entry {
  id: string;
  params: UploadParams;
  task: UploadTask;
  hashPercent: number;
  error: CompatError | null;
  /** Called with each run's outcome (a restarted task runs again). */
  finish: (err: CompatError | null, data?: UploadData) => void;
}

export class CosDirect {
  readonly uploader: Uploader;
  private readonly keyPrefix: string;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(event: { list: TaskInfo[] }) => void>();
  private readonly multipart: CompatMultipart;
  private listUpdate?: ReturnType<typeof setTimeout>;

  /** `platform`: the entry's uploader and transport (compat-node.ts passes the Node entry's). */
  constructor(options: CosDirectOptions, platform: { createUploader: (options: UploaderOptions) => Uploader; defaultStack: () => HttpStack } = { createUploader, defaultStack }) {
    const { KeyPrefix, FileParallelLimit, ChunkParallelLimit, ChunkSize, SliceSize, ChunkRetryTimes, uploader, ...rest } = options;
    if (!rest.endpoint) throw new TypeError("new CosDirect(options): options.endpoint (the functions' URL) is required");
    this.keyPrefix = KeyPrefix ?? "";
    this.uploader =
      uploader ??
      platform.createUploader({
        ...rest,
        fileParallelLimit: rest.fileParallelLimit ?? FileParallelLimit,
        chunkParallelLimit: rest.chunkParallelLimit ?? ChunkParallelLimit,
        partSize: rest.partSize ?? ChunkSize,
        sliceSize: rest.sliceSize ?? SliceSize,
        retry: rest.retry ?? (ChunkRetryTimes === undefined ? undefined : { attempts: ChunkRetryTimes + 1 }),
      });
    this.multipart = new CompatMultipart({ ...rest, httpStack: rest.httpStack ?? platform.defaultStack() }, this.keyPrefix);
    const emit = () => this.emitListUpdate();
    // The uploader's list-update covers new tasks and state changes; progress comes on its own.
    for (const event of ["list-update", "progress"] as const) this.uploader.on(event, emit);
  }

  // -------------------------------------------------------------------------------------------
  // Simple and advanced uploads (the task queue)
  // -------------------------------------------------------------------------------------------

  /** PUT Object: uploads `Body` at `Key` (in parts when it is above the functions' single-PUT threshold). */
  putObject(params: UploadParams, callback?: Callback<UploadData>): Promise<UploadData> {
    return this.addTask(params, callback);
  }

  /** Slice Upload File: a multipart upload that resumes from its checkpoint, pausable by taskId. */
  sliceUploadFile(params: UploadParams, callback?: Callback<UploadData>): Promise<UploadData> {
    return this.addTask(params, callback);
  }

  /** Upload File: one PUT or multipart (the functions' threshold decides, see above), then onFileFinish. */
  uploadFile(params: UploadParams, callback?: Callback<UploadData>): Promise<UploadData> {
    // onFileFinish gets the file's info, as the SDK's (and nothing here keeps `params`, whose Body is let go when done).
    const { onFileFinish, onTaskReady: ownReady } = params;
    const info = fileInfo(params);
    const onTaskReady = (id: string) => {
      info.TaskId = id;
      ownReady?.(id);
    };
    return this.addTask({ ...params, onTaskReady }, callback, (err, data) => onFileFinish?.(err, data, info));
  }

  /** Upload Files: every file as uploadFile; onProgress sums them up; data.files has each outcome. */
  uploadFiles(params: UploadFilesParams, callback?: Callback<UploadFilesData>): Promise<UploadFilesData> {
    // The sum of the files' tasks: a queued one counts with its size from the start (when the body's
    // size is known), so the sum's percent does not drop as files start.
    const ids: string[] = [];
    const onTotalProgress = params.onProgress;
    const onTotalFileFinish = params.onFileFinish;
    const report = () => {
      // As the SDK's uploadFiles reports it: loaded, total, speed and percent, no eta.
      const { eta: _eta, ...sum } = sumProgress(ids.flatMap((id) => this.entries.get(id)?.task.progress ?? []));
      onTotalProgress?.(progressData(sum));
    };
    // Each file's latest outcome: one restarted from onFileFinish counts as its restart ends.
    const outcomes: { options: FileInfo; error: CompatError | null; data: UploadData | null }[] = [];
    const work = Promise.all(
      params.files.map((file, i) => {
        // What the SDK hands back as each file's options: its plain values (no Body, no callbacks), Index and TaskId.
        const info = fileInfo(file, i);
        // Only the file's callbacks are captured, not the file (its Body).
        const { onProgress: ownProgress, onTaskReady: ownReady, onFileFinish: ownFinish } = file as UploadFilesParams["files"][number];
        const onProgress = (p: ProgressData) => {
          ownProgress?.(p);
          report();
        };
        const onTaskReady = (id: string) => {
          ids[i] = info.TaskId = id;
          ownReady?.(id);
        };
        const onFinish = (err: CompatError | null, data: UploadData | null) => {
          outcomes[i] = { options: info, error: err, data: err ? null : data };
          ownFinish?.(err, data);
          onTotalFileFinish?.(err, data, info);
        };
        return this.addTask({ ...file, onProgress, onTaskReady, onFileFinish: undefined }, undefined, onFinish).catch(() => undefined);
      }),
    ).then(() => ({ files: outcomes }));
    return settle(work, callback);
  }

  /** APPEND Object at `Position`; data.headers carry x-cos-next-append-position. */
  appendObject(params: AppendParams, callback?: Callback<AppendData>): Promise<AppendData> {
    const work = this.uploader.append(compatKey(this.keyPrefix, params.Key), params.Body, { position: Number(params.Position), contentType: params.ContentType }).then((r) => ({
      statusCode: 200,
      headers: { etag: quoted(r.etag), "x-cos-next-append-position": String(r.nextPosition), ...(r.crc64 ? { "x-cos-hash-crc64ecma": r.crc64 } : {}) },
      ETag: quoted(r.etag),
      NextAppendPosition: r.nextPosition,
    }));
    return settle(work, callback);
  }

  // -------------------------------------------------------------------------------------------
  // The six multipart operations (compat-multipart.ts)
  // -------------------------------------------------------------------------------------------

  multipartInit(params: Parameters<CompatMultipart["init"]>[0], callback?: Callback<Awaited<ReturnType<CompatMultipart["init"]>>>) {
    return settle(this.multipart.init(params), callback);
  }
  multipartUpload(params: Parameters<CompatMultipart["upload"]>[0], callback?: Callback<Awaited<ReturnType<CompatMultipart["upload"]>>>) {
    return settle(this.multipart.upload(params), callback);
  }
  multipartListPart(params: Parameters<CompatMultipart["listPart"]>[0], callback?: Callback<Awaited<ReturnType<CompatMultipart["listPart"]>>>) {
    return settle(this.multipart.listPart(params), callback);
  }
  multipartComplete(params: Parameters<CompatMultipart["complete"]>[0], callback?: Callback<Awaited<ReturnType<CompatMultipart["complete"]>>>) {
    return settle(this.multipart.complete(params), callback);
  }
  multipartAbort(params: Parameters<CompatMultipart["abort"]>[0], callback?: Callback<Awaited<ReturnType<CompatMultipart["abort"]>>>) {
    return settle(this.multipart.abort(params), callback);
  }
  multipartList(params: Parameters<CompatMultipart["list"]>[0], callback?: Callback<Awaited<ReturnType<CompatMultipart["list"]>>>) {
    return settle(this.multipart.list(params), callback);
  }
  /** Hands over an upload token for an UploadId initiated elsewhere (e.g. by another instance). */
  rememberUpload(uploadId: string, token: string): void {
    this.multipart.remember(uploadId, token);
  }

  // -------------------------------------------------------------------------------------------
  // The queue
  // -------------------------------------------------------------------------------------------

  getTaskList(): TaskInfo[] {
    return [...this.entries.values()].map((e) => {
      const p = progressData(e.task.progress);
      return {
        id: e.id,
        Bucket: e.params.Bucket,
        Region: e.params.Region,
        Key: sdkKey(e.params.Key),
        FilePath: e.params.FilePath,
        state: SDK_STATE[e.task.state],
        loaded: p.loaded,
        size: p.total,
        speed: p.speed,
        percent: p.percent,
        hashPercent: e.hashPercent,
        error: e.error,
      };
    });
  }

  pauseTask(id: string): void {
    this.entries.get(id)?.task.pause();
  }

  /** Resumes a paused task, or runs a failed one again (from its checkpoint); its callback runs again at the end. */
  restartTask(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (entry.task.state !== "failed") return entry.task.resume();
    // The failed run's outcome is told first (its callback, the list's error), as the SDK does: the
    // state says "error" a moment before `done` rejects (the run lets go of its checkpoint first).
    const failed = entry.task.done;
    void failed.catch(() => undefined).then(() => {
      if (entry.task.state !== "failed" || entry.task.done !== failed) return;
      entry.task.resume();
      this.wire(entry);
    });
  }

  /** Whether any task is waiting or uploading (an app's "leave this page?" check). */
  isUploadRunning(): boolean {
    return [...this.entries.values()].some((e) => RUNNING.has(e.task.state));
  }

  cancelTask(id: string): void {
    const entry = this.entries.get(id);
    // A failed task's done keeps its failure, so wire() does not see this cancel: let its Body go here.
    void entry?.task.cancel().then(() => entry.task.state === "cancelled" && releaseBody(entry), () => {});
  }

  /** `list-update` ({ list }) on every change of the task list or a task's progress; `task-list-update` is the SDK's other name for it. */
  on(event: ListEvent, listener: (event: { list: TaskInfo[] }) => void): void {
    if (isListEvent(event)) this.listeners.add(listener);
  }

  off(event: ListEvent, listener: (event: { list: TaskInfo[] }) => void): void {
    if (isListEvent(event)) this.listeners.delete(listener);
  }

  /**
   * From a timer, as the SDK sends it, and once per burst: a new task is in the list by then (it is
   * registered after the uploader announces it), and a listener may restart a task that just failed.
   */
  private emitListUpdate(): void {
    if (!this.listeners.size || this.listUpdate) return;
    this.listUpdate = setTimeout(() => {
      this.listUpdate = undefined;
      const list = this.getTaskList();
      for (const listener of this.listeners) listener({ list });
    });
  }

  /**
   * Queues one upload; onTaskReady gets its id at once, as in the SDK. Each run's outcome goes to
   * `onFinish` and the callback (a restarted task calls them again); the promise takes the first.
   */
  private addTask(params: UploadParams, callback?: Callback<UploadData>, onFinish?: (err: CompatError | null, data: UploadData | null) => void): Promise<UploadData> {
    let first: ((err: CompatError | null, data?: UploadData) => void) | undefined;
    const promise = new Promise<UploadData>((resolve, reject) => {
      first = (err, data) => (err ? reject(err) : resolve(data!));
    });
    const entry: Entry = {
      id: "",
      params,
      task: undefined as unknown as UploadTask,
      hashPercent: 0,
      error: null,
      finish: (err, data) => {
        first?.(err, data);
        first = undefined;
        onFinish?.(err, data ?? null);
        callback?.(err, data);
      },
    };
    if (callback) promise.catch(() => {}); // the callback has the error; the promise is there for those who want it
    try {
      this.run(entry);
    } catch (cause) {
      entry.finish(compatError(cause));
      return promise;
    }
    params.onTaskReady?.(entry.id);
    return promise;
  }

  /** Starts the entry's upload. */
  private run(entry: Entry): void {
    // The task keeps these callbacks: they read entry.params when called, so the params (and their
    // Body) can be let go once the task is over.
    const task = this.uploader.upload({
      ...this.uploadOptions(entry.params),
      onProgress: (p) => entry.params.onProgress?.(progressData(p)),
      onHashProgress: (p) => {
        const data = progressData({ ...p, speed: 0 });
        entry.hashPercent = data.percent;
        entry.params.onHashProgress?.(data);
      },
    });
    this.entries.set((entry.id = task.id), entry);
    entry.task = task;
    this.wire(entry);
  }

  /** Passes the outcome of the task's current run (a resumed failed task has a new `done`) to the entry. */
  private wire(entry: Entry): void {
    entry.error = null;
    entry.task.done.then(
      (result) => {
        releaseBody(entry);
        entry.finish(null, this.uploadData(result));
      },
      (cause: unknown) => {
        const err = compatError(cause);
        if (isCancelledError(cause)) releaseBody(entry);
        else entry.error = err;
        entry.finish(err);
        this.emitListUpdate();
      },
    );
  }

  private uploadOptions(params: UploadParams): UploadOptions {
    const headers = Object.fromEntries(Object.entries(params.Headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));
    const metadata: Record<string, string> = {};
    for (const [name, value] of [...Object.entries(params), ...Object.entries(headers)]) {
      const m = /^x-cos-meta-(.+)$/i.exec(name);
      if (m && typeof value === "string") metadata[m[1].toLowerCase()] = value;
    }
    const body = params.Body ?? (params.FilePath !== undefined ? { path: params.FilePath } : undefined);
    if (body === undefined) throw new TypeError(`${params.Key}: give Body (or FilePath in Node)`);
    const objectHeaders = {
      ...(params.CacheControl ?? headers["cache-control"] ? { "cache-control": params.CacheControl ?? headers["cache-control"] } : {}),
      ...(params.ContentDisposition ?? headers["content-disposition"] ? { "content-disposition": params.ContentDisposition ?? headers["content-disposition"] } : {}),
      ...(params.ContentEncoding ?? headers["content-encoding"] ? { "content-encoding": params.ContentEncoding ?? headers["content-encoding"] } : {}),
    };
    const trafficLimit = params.TrafficLimit ?? headers["x-cos-traffic-limit"];
    return {
      key: compatKey(this.keyPrefix, params.Key),
      body,
      contentType: params.ContentType ?? headers["content-type"],
      storageClass: params.StorageClass ?? headers["x-cos-storage-class"],
      acl: params.ACL ?? headers["x-cos-acl"],
      ...(Object.keys(metadata).length ? { metadata } : {}),
      ...(Object.keys(objectHeaders).length ? { headers: objectHeaders } : {}),
      ...(trafficLimit ? { trafficLimit: Number(trafficLimit) } : {}),
    };
  }

  private uploadData(result: UploadResult): UploadData {
    const etag = quoted(result.etag);
    return {
      statusCode: 200,
      headers: { etag, ...(result.crc64 ? { "x-cos-hash-crc64ecma": result.crc64 } : {}) },
      ETag: etag,
      ...sdkLocation(result.location),
      Key: result.key.startsWith(this.keyPrefix) ? result.key.slice(this.keyPrefix.length) : result.key,
    };
  }
}
