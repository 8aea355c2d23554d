// createUploader, shared by the platform entries (index.ts, node.ts, react-native.ts), which pass
// their defaults (DESIGN.md "client/", tus-js-client style: one engine, per-platform wiring).

import { Api } from "./api";
import { Claim, endpointPrefix, isUploadGone, listCheckpoints, recordsEveryPart, type Checkpoint } from "./checkpoint";
import { callOut, isNetworkError } from "./errors";
import { sumProgress } from "./progress";
import { Queue } from "./queue";
import { sendBody } from "./parts";
import { notRetried, RETRY_DEFAULTS, withRetry } from "./retry";
import { readBytes, type PathOpener } from "./sources";
import { Task } from "./upload";
import type { HttpStack, Progress, Store, UnfinishedUpload, Uploader, UploaderEvent, UploaderOptions, UploadFilesOptions, UploadOptions, UploadResult, UploadTask } from "./types";

export interface PlatformDefaults {
  stack: () => HttpStack;
  store: () => Store | undefined;
  chunkParallelLimit: number;
  /** PUTs the platform sends to one host at once; more wait in its own queue, unseen (QueueLimits.maxPuts). */
  maxPuts?: number;
  openPath?: PathOpener;
  /** The size of a `{ path }` body without opening it (Node), so a queued task's total is known. */
  sizeOfPath?: (path: string) => Promise<number>;
  manyListeners?: (signal: AbortSignal) => void;
}

/** A file's own onProgress, then the batch's sum. */
function relayProgress(own: ((p: Progress) => void) | undefined, reportTotal: () => void): (p: Progress) => void {
  return (p) => {
    callOut(own, p);
    reportTotal();
  };
}

/** A batch file's outcome, told to onFileFinish; a failure is returned, not thrown (uploadFiles resolves with each). */
function settleFile(task: UploadTask, file: UploadOptions, onFileFinish: UploadFilesOptions["onFileFinish"]): Promise<UploadResult | Error> {
  return task.done.then(
    (result) => {
      callOut(onFileFinish, null, result, file);
      return result;
    },
    (error: Error) => {
      callOut(onFileFinish, error, null, file);
      return error;
    },
  );
}

export function createUploaderFor(platform: PlatformDefaults, options: UploaderOptions): Uploader {
  const stallTimeout = options.stallTimeout ?? 60_000;
  const api = new Api({ ...options, stallTimeout });
  const stack = options.httpStack ?? platform.stack();
  const store = options.store ?? platform.store();
  const chunkParallelLimit = Math.max(1, options.chunkParallelLimit ?? platform.chunkParallelLimit);
  const queue = new Queue({ fileParallelLimit: Math.max(1, options.fileParallelLimit ?? 3), chunkParallelLimit, maxPuts: platform.maxPuts });
  const retry = { ...RETRY_DEFAULTS, ...options.retry };
  const integrity = options.integrity ?? true;
  const crc = typeof integrity === "boolean" ? integrity : integrity.crc64 !== false;
  const md5 = typeof integrity === "object" ? integrity.md5 : undefined;
  const listeners = new Map<UploaderEvent, Set<(task: UploadTask) => void>>();
  const all: Task[] = [];

  /** The checkpoint ids this uploader's tasks hold: no two of them drive one upload, Web Locks or not. */
  const claims = new Set<string>();
  /**
   * A local checkpoint whose upload COS does not list: it goes if COS says the upload is gone
   * (completed, aborted, swept), so dead checkpoints and their file handles do not pile up in the
   * store. Anything else (another caller's upload on a shared device, a failure) keeps it.
   */
  const forgetIfGone = async (id: string, cp: Checkpoint) => {
    // Kept, so that the file uploaded again sends Complete again rather than every part.
    if (recordsEveryPart(cp)) return;
    // A token the functions cannot verify is no proof: their secret may be misconfigured for a while.
    const gone = await api.listParts(cp).then(() => false, isUploadGone);
    // Not while a task (here or in another tab) holds it, and only if it still names that upload:
    // meanwhile the same file may have started a new upload under the same id.
    const claim = gone && (await Claim.take(store!, id, claims));
    if (!claim) return;
    claim.uploadId = cp.uploadId;
    await claim.remove();
    claim.release();
  };

  const emit = (event: UploaderEvent, task: UploadTask) => {
    for (const listener of listeners.get(event) ?? []) callOut(listener, task);
    if (event === "state") for (const listener of listeners.get("list-update") ?? []) callOut(listener, task);
  };

  const uploader: Uploader = {
    upload(uploadOptions: UploadOptions): UploadTask {
      const task = new Task(uploadOptions, { api, queue, stack, store, claims, endpoint: options.endpoint, retry, crc, stallTimeout, md5, partSize: options.partSize, sliceSize: options.sliceSize ?? 8 * 1024 * 1024, chunkParallelLimit, openPath: platform.openPath, sizeOfPath: platform.sizeOfPath, manyListeners: platform.manyListeners, emit });
      all.push(task);
      emit("list-update", task);
      task.start();
      return task;
    },

    async uploadFiles(files, filesOptions = {}) {
      // No closure here names `files` or a file: the tasks keep their onProgress (and so this scope)
      // after they finish, and must not keep the bodies with it.
      const { onProgress: onTotal, onFileFinish } = filesOptions;
      const tasks: UploadTask[] = [];
      const reportTotal = () => callOut(onTotal, sumProgress(tasks.map((t) => t.progress)));
      for (const file of files) tasks.push(uploader.upload({ ...file, onProgress: relayProgress(file.onProgress, reportTotal) }));
      return Promise.all(files.map((file, i) => settleFile(tasks[i], file, onFileFinish)));
    },

    tasks: () => [...all],

    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      return () => set.delete(listener);
    },

    pauseAll: () => all.forEach((t) => t.pause()),
    resumeAll: () => all.forEach((t) => t.state === "paused" && t.resume()),
    cancelAll: async () => {
      await Promise.all(all.map((t) => t.cancel()));
    },

    async append(key, body, appendOptions) {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : await readBytes(body);
      const sign = () => withRetry(() => api.append({ key, position: appendOptions.position, size: bytes.length, contentType: appendOptions.contentType }, appendOptions.signal), { options: retry, signal: appendOptions.signal });
      let signed: Awaited<ReturnType<typeof sign>> | undefined;
      const response = await withRetry(
        async () => {
          signed ??= await sign();
          return sendBody(stack, { method: signed.method, url: signed.url, headers: signed.headers, body: bytes }, { stallTimeout, signal: appendOptions.signal }).catch((error: unknown) => {
            // Not sent again after no answer: COS may have appended before the answer was lost, and a
            // second APPEND would fail at the old position (409) or, at the next one, add the bytes twice.
            throw isNetworkError(error) ? notRetried(error) : error;
          });
        },
        // An expired URL (a long wait for the network, a skewed clock) did not append: sign again.
        { options: retry, signal: appendOptions.signal, onResign: () => (signed = undefined) },
      );
      const next = response.header("x-cos-next-append-position");
      const crc64 = response.header("x-cos-hash-crc64ecma");
      return {
        // Hidden by CORS (not in ExposeHeader): the position follows from what was sent.
        nextPosition: next !== null ? Number(next) : appendOptions.position + bytes.length,
        etag: response.header("etag") ?? "",
        ...(crc64 ? { crc64 } : {}),
      };
    },

    async downloadUrl(key, downloadOptions = {}) {
      const signed = await withRetry(() => api.download({ key, ...downloadOptions }), { options: retry });
      return signed.url;
    },

    async unfinished(): Promise<UnfinishedUpload[]> {
      const [remote, stored] = await Promise.all([withRetry(() => api.listUploads(), { options: retry }), store ? listCheckpoints(store) : []]);
      // This endpoint's only: another deployment in front of the same bucket lists the same uploads.
      const local = stored.filter(({ id }) => id.startsWith(endpointPrefix(options.endpoint)));
      const here = new Map(local.map((entry) => [entry.cp.uploadId, entry]));
      const listed = new Set(remote.map((u) => u.uploadId));
      await Promise.all(local.filter(({ cp }) => !listed.has(cp.uploadId)).map(({ id, cp }) => forgetIfGone(id, cp)));
      return Promise.all(
        remote.map(async (u): Promise<UnfinishedUpload> => {
          const listed = { key: u.key, uploadId: u.uploadId, initiated: u.initiated };
          const entry = here.get(u.uploadId);
          if (!entry) return { ...listed, resumable: false };
          const { id, cp } = entry;
          // The handle kept with the checkpoint (indexedDbStore): resumable without picking the file again.
          const handle = cp.options && (await store!.getHandle?.(id).catch(() => null));
          const mine = { ...(cp.name ? { name: cp.name } : {}), size: cp.size, bytesDone: cp.parts.reduce((sum, part) => sum + part.size, 0) };
          return { ...listed, resumable: true, ...mine, ...(handle ? { resumeOptions: { ...cp.options, body: handle, checkpoint: id } } : {}) };
        }),
      );
    },
  };
  return uploader;
}
