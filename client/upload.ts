// One upload task = one explicit state machine (DESIGN.md "client/"), with one transition table:
//
//   queued ─► initiating ─► [hashing] ─► uploading ─► completing ─► done
//     any active state ─► paused ─► queued (resume);  ─► cancelled;  ─► failed ─► queued (resume)
//     failed ─► cancelled (its multipart upload is aborted on COS; `done` keeps the failure)
//
// `initiating` plans the upload with the functions, or resumes it from a checkpoint (listing the
// parts COS holds); `hashing` computes the CRC64 of resumed parts the checkpoint has no CRC for;
// `uploading` sends the single PUT or the parts; `completing` confirms or completes and checks the
// object's CRC64. `done` always settles: the result, a typed error, or CancelledError.

import type { Api, CreateUploadBody, MultipartPlan, ObjectInfo, UploadPlan, UploadRef } from "./api";
import { Claim, endpointPrefix, fingerprint, fitsPlan, isResumeGone, plannedSize, recordsEveryPart, type Checkpoint, type DonePart } from "./checkpoint";
import { CancelledError, SourceError, abortError, callOut, isApiError, isIntegrityError } from "./errors";
import { Crc64 } from "./crc64";
import { checkCrc, combinedCrc, hashRange, put, readRange, uploadPart, type PartsContext } from "./parts";
import { ProgressMeter } from "./progress";
import { Priority, type PriorityValue, type Queue } from "./queue";
import { withRetry } from "./retry";
import { isFileHandle, knownSize, toFileSource, type PathOpener } from "./sources";
import type { FileSource, HttpStack, Progress, RetryOptions, Store, TaskState, UploadOptions, UploadResult, UploadTask } from "./types";
import { PartUrlWindow } from "./window";

/** The one transition table: a state change not listed here is a bug and throws. */
export const TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  queued: ["initiating", "hashing", "uploading", "paused", "cancelled", "failed"],
  initiating: ["hashing", "uploading", "paused", "cancelled", "failed"],
  hashing: ["uploading", "paused", "cancelled", "failed"],
  uploading: ["completing", "paused", "cancelled", "failed"],
  // Back to initiating once: a Complete sent again for an upload COS no longer lists found no object of it.
  completing: ["done", "failed", "initiating"],
  paused: ["queued", "cancelled"],
  failed: ["queued", "cancelled"],
  done: [],
  cancelled: [],
};

/** Parts one signing call may ask for (the functions refuse more: POST /v1/uploads/{id}/parts). */
const MAX_SIGN_BATCH = 1000;

/** States in which nothing moves: their progress reports speed 0. */
const STOPPED: ReadonlySet<TaskState> = new Set(["paused", "failed", "done", "cancelled"]);

export interface TaskDeps {
  api: Api;
  queue: Queue;
  stack: HttpStack;
  store?: Store;
  /** The checkpoint ids this uploader's tasks hold (Claim). */
  claims: Set<string>;
  endpoint: string;
  retry: Required<RetryOptions>;
  crc: boolean;
  stallTimeout: number;
  md5?: (bytes: Uint8Array) => Promise<string>;
  partSize?: number;
  sliceSize: number;
  chunkParallelLimit: number;
  openPath?: PathOpener;
  sizeOfPath?: (path: string) => Promise<number>;
  /** Lets a signal have a listener per part in flight (Node warns past 10: MaxListenersExceededWarning). */
  manyListeners?: (signal: AbortSignal) => void;
  emit(event: "progress" | "state", task: Task): void;
}

let nextId = 0;

/**
 * What tells this body from another of the same name and size, for its checkpoint's fingerprint:
 * the CRC-64 of bytes held in memory, or "" when the source has a lastModified (it is then in the
 * fingerprint). Undefined, no checkpoint, for a body with neither (a nameless Blob, a FileSource
 * without lastModified): two such bodies of one size would otherwise resume each other's upload.
 */
async function contentMark(body: UploadOptions["body"], source: FileSource): Promise<string | undefined> {
  if (typeof body === "string" || body instanceof Uint8Array || body instanceof ArrayBuffer) {
    return new Crc64().update((await source.slice(0, source.size)) as Uint8Array).toString();
  }
  return source.lastModified !== undefined ? "" : undefined;
}
/** How long cancel() waits for the aborted run before it aborts the upload on COS anyway. */
const CANCEL_WAIT_MS = 3_000;
/**
 * Waits for `work` (the aborted run, a checkpoint's removal, a claim's release) for at most
 * CANCEL_WAIT_MS: a run or a store write that hangs must not keep `done` pending.
 */
const atMost = <T>(work: Promise<T> | undefined): Promise<T | undefined> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CANCEL_WAIT_MS)));
  return Promise.race([work?.catch(() => undefined), waited]).finally(() => clearTimeout(timer));
};
const stripQuotes = (etag: string) => etag.replace(/^"+|"+$/g, "");
const sameEtag = (a: string, b: string) => stripQuotes(a) === stripQuotes(b);
const refOf = (plan: { uploadId: string; token: string }) => ({ uploadId: plan.uploadId, token: plan.token });
const resultOf = (info: ObjectInfo): UploadResult => ({ key: info.key, etag: info.etag, size: info.size, location: info.location, ...(info.crc64 ? { crc64: info.crc64 } : {}) });

export class Task implements UploadTask {
  readonly id = `task-${Date.now().toString(36)}-${(nextId++).toString(36)}`;
  state: TaskState = "queued";
  key?: string;
  uploadId?: string;
  private source?: FileSource;
  /** The body's lastModified when first opened (a resumed failure checks it has not changed). */
  private lastModified?: number;
  private meter?: ProgressMeter;
  /** Until the task runs: nothing sent of a known total (0 for a `{ path }` not opened yet). */
  private last: Progress;
  private plan?: UploadPlan;
  private readonly parts = new Map<number, DonePart>();
  /** A single PUT that COS took (with its CRC-64 when integrity is on): resumed after a failed confirm, the task only confirms. */
  private sent?: { crc64?: string };
  private window?: PartUrlWindow;
  /** Parts not yet done nor running, in order (the signing window looks ahead along it). */
  private todo: number[] = [];
  /**
   * Every part is done but COS no longer lists the upload: a Complete whose answer was lost may have
   * made the object, so Complete is sent again. If it finds no object of these bytes, the upload
   * starts over (`startOver`).
   */
  private gonePlan = false;
  /** What cancel(), called while completing, does once it ends (done, failed, or started over). */
  private readonly onCompletingEnd: (() => void)[] = [];
  /** pause() called while completing (and no resume() since): applied if the upload starts over. */
  private pauseAfterCompleting = false;
  /** The upload this task started over from (startOver): its checkpoint is never resumed again. */
  private dropped?: string;
  /** This task's hold on its checkpoint (client/checkpoint.ts Claim); none for an upload without one. */
  private claim?: Claim;
  /** The abort on COS sent last (abortOnCos). */
  private aborting?: { uploadId: string; done: Promise<void> };
  /** The cancel under way: a second cancel() waits for it. */
  private cancelling?: Promise<void>;
  /** Why an upload asked for by its checkpoint can never go on (its file changed, it is gone): said again on resume. */
  private gone?: Error;
  /** How upload() named the object (key, or filename for the functions to choose the key), kept in the checkpoint. */
  private named?: { key: string } | { filename: string };
  private controller?: AbortController;
  private running?: Promise<void>;
  private lastEmit = 0;
  /** Inside to()'s callbacks (nested when a callback changes the state again). */
  private announcing = 0;
  private settle!: { resolve: (r: UploadResult) => void; reject: (e: unknown) => void };
  done!: Promise<UploadResult>;

  /** The task's options but its body (kept apart so a finished task lets it go) and its signal. */
  readonly options: Omit<UploadOptions, "body" | "signal">;
  /** Stops listening to the caller's signal (once done or cancelled). */
  private unlisten?: () => void;
  /** Until done or cancelled (a failed task may be resumed): uploader.tasks() keeps finished tasks, not their bytes. */
  private body: UploadOptions["body"] | undefined;

  constructor(
    options: UploadOptions,
    private readonly deps: TaskDeps,
  ) {
    const { body, signal, ...rest } = options;
    this.options = rest;
    this.body = body;
    if (signal) {
      // An abort is a cancel (aborted on COS, `done` rejects with CancelledError), also when it
      // happened before upload() was called.
      const onAbort = () => void this.cancel();
      if (signal.aborted) queueMicrotask(onAbort);
      signal.addEventListener("abort", onAbort, { once: true });
      this.unlisten = () => signal.removeEventListener("abort", onAbort);
    }
    this.newDone();
    this.last = { loaded: 0, total: knownSize(options.body) ?? 0, speed: 0, percent: 0, eta: null };
    const path = (options.body as { path?: unknown } | null | undefined)?.path;
    // Until its run opens the file (the meter then takes over); a file that is not there, or a
    // handle not allowed to read yet, fails the run, not this.
    const size = typeof path === "string" ? deps.sizeOfPath?.(path) : isFileHandle(options.body) ? options.body.getFile().then((file) => file.size) : undefined;
    size?.then((total) => void (this.meter || (this.last = { ...this.last, total })), () => undefined);
  }

  get progress(): Progress {
    return this.last;
  }

  /** Starts (or restarts) the task: waits for a file slot, then runs. */
  start(): void {
    callOut(this.options.onTaskReady, this.id);
    this.running = this.run();
  }

  pause(): void {
    // Called by a listener of this task's own state change: every listener hears that state first.
    if (this.announcing) return void queueMicrotask(() => this.pause());
    // Completing cannot be paused; a Complete that finds the upload gone starts over, and pauses then.
    if (this.state === "completing") return void (this.pauseAfterCompleting = true);
    if (!this.can("paused")) return;
    this.to("paused");
    this.controller?.abort();
  }

  resume(): void {
    // Called by a listener of this task's own state change: every listener hears that state first.
    if (this.announcing) return void queueMicrotask(() => this.resume());
    this.pauseAfterCompleting = false;
    // Paused or failed.
    if (!this.can("queued")) return;
    if (this.state === "failed") this.newDone();
    this.to("queued");
    // The paused run must have stopped before a new one starts, or both could send the same part.
    const previous = this.running;
    this.running = (async () => {
      await previous?.catch(() => undefined);
      if (this.state === "queued") await this.run();
    })();
  }

  cancel(): Promise<void> {
    // As pause() and resume(): after every listener has heard the state under way.
    if (this.announcing) return new Promise((resolve) => queueMicrotask(() => resolve(this.cancel())));
    return (this.cancelling ??= this.cancelOnce().finally(() => (this.cancelling = undefined)));
  }

  private async cancelOnce(): Promise<void> {
    // Once completing, the object is being assembled on COS: too late to cancel. Done, it stays done;
    // a completion that fails, or that starts the upload over, is cancelled then.
    if (this.state === "completing") await new Promise<void>((resolve) => this.onCompletingEnd.push(resolve));
    if (!this.can("cancelled")) return;
    this.to("cancelled");
    this.controller?.abort();
    // The aborted run normally ends within milliseconds; cancel never waits on it for long (a run
    // stuck somewhere must not keep the upload alive on COS, nor `done` pending). A part it still
    // sends after the abort below fails with NoSuchUpload and is dropped.
    await atMost(this.running);
    // The upload to abort: the plan, else the one the claim's checkpoint is for (a task cancelled
    // while resuming it, or failed before it had a plan, or asked to resume it and not yet run).
    let ref: UploadRef | undefined = this.plan?.kind === "multipart" ? this.plan : undefined;
    const { store } = this.deps;
    if (!this.claim && !this.plan && store && this.options.checkpoint) {
      this.claim = (await Claim.take(store, this.options.checkpoint, this.deps.claims)) ?? undefined;
      if (this.claim) this.claim.uploadId = (await this.claim.read().catch(() => null))?.uploadId;
    }
    const claim = this.claim;
    const retaking = claim?.retake();
    if (claim && !(await atMost(retaking))) {
      // Another task or tab has the checkpoint now (or the store hangs): its upload is not this
      // task's to abort. A retake that comes through later lets the claim go at once.
      void retaking!.then((late) => {
        if (late) void claim.release();
      });
      if (ref?.uploadId === claim.uploadId) ref = undefined;
      this.claim = undefined;
    }
    // A run that outlived the wait may let the claim go meanwhile (withoutCheckpoint): the one held here counts.
    const held = this.claim;
    const cp = held && (await atMost(held.read()));
    if (!ref && cp && cp.uploadId === held.uploadId) ref = cp;
    if (ref) await this.abortOnCos(ref);
    await atMost(held?.remove());
    await atMost(this.cleanup());
    this.release();
    this.settle.reject(new CancelledError(this.key));
  }

  private newDone(): void {
    this.done = new Promise<UploadResult>((resolve, reject) => (this.settle = { resolve, reject }));
    // Errors also reach onStateChange / the "state" event; an unobserved `done` must not crash Node.
    this.done.catch(() => undefined);
  }

  /** Whether the transition table allows `next` from the current state. */
  private can(next: TaskState): boolean {
    return TRANSITIONS[this.state].includes(next);
  }

  private to(next: TaskState): void {
    if (!this.can(next)) throw new Error(`task ${this.id}: no transition from ${this.state} to ${next}`);
    const was = this.state;
    this.announcing++;
    this.state = next;
    // Nothing moves in these states: a sum of tasks' speeds (uploadFiles) must not count them.
    if (STOPPED.has(next)) this.last = { ...this.last, speed: 0, eta: next === "done" ? 0 : null };
    try {
      callOut(this.options.onStateChange, next, this);
      this.deps.emit("state", this);
    } finally {
      this.announcing--;
    }
    if (was !== "completing") return;
    for (const then of this.onCompletingEnd.splice(0)) then();
    if (this.pauseAfterCompleting) {
      this.pauseAfterCompleting = false;
      this.pause();
    }
  }

  /**
   * A run's own state change. A run whose signal is aborted is no longer the task's (paused or
   * cancelled, maybe resumed since by a new run): it stops here instead, so it never moves the new
   * run's state (a pause and resume in one tick left a task in "initiating" with nothing running).
   */
  private advance(signal: AbortSignal, next: TaskState): void {
    if (signal.aborted) throw abortError();
    this.to(next);
  }

  private reportProgress = (force = false): void => {
    // A part answering in the same tick as a pause or cancel must not bring the stopped task's speed back.
    if (!this.meter || STOPPED.has(this.state)) return;
    const now = Date.now();
    if (!force && now - this.lastEmit < 100) return;
    this.lastEmit = now;
    this.last = this.meter.snapshot();
    callOut(this.options.onProgress, this.last);
    this.deps.emit("progress", this);
  };

  private async run(): Promise<void> {
    const controller = new AbortController();
    this.deps.manyListeners?.(controller.signal);
    this.controller = controller;
    const { signal } = controller;
    let releaseFile: (() => void) | undefined;
    try {
      releaseFile = await this.deps.queue.acquireFile(signal);
      // A single PUT that COS took has nothing left to read: its resume only confirms.
      if (!this.source && !this.sent) {
        const source = await toFileSource(this.body!, this.deps.openPath); // set: no run starts once done or cancelled
        // Opened again after a failure: the parts in COS are of the file as it was.
        if (this.meter && (source.size !== this.meter.total || source.lastModified !== this.lastModified)) {
          await Promise.resolve()
            .then(() => source.close?.())
            .catch(() => undefined);
          throw new SourceError(source.name ?? this.key ?? "the body", new Error("it changed since the upload started; upload it anew"));
        }
        this.source = source;
        this.lastModified = source.lastModified;
      }
      this.meter ??= new ProgressMeter(this.source!.size);
      if (this.plan?.kind === "multipart") {
        // Resumed after a failure (which let the claim go): if another task or tab took the upload
        // over since, it is theirs now; if the same file started another upload under this
        // checkpoint's id since, this one goes on without a checkpoint.
        if (this.claim && !(await this.claim.retake())) throw this.heldElsewhere();
        const cp = await this.readClaimed();
        if (cp && cp.uploadId !== this.plan.uploadId) this.withoutCheckpoint();
        const { partCount } = this.plan;
        await this.syncParts(this.plan, signal).catch(async (error: unknown) => {
          if (isApiError(error) && error.code === "UploadNotFound" && this.parts.size === partCount) {
            this.gonePlan = true;
            return;
          }
          if (!isResumeGone(error)) throw error;
          // Aborted or swept while paused or failed (or its token expired): the parts sent are lost,
          // and the file starts over; but an upload asked for by its checkpoint fails instead.
          await atMost(this.claim?.remove());
          this.startOver(error as Error);
        });
      }
      // Twice at most: a gone upload whose object is not there starts over once.
      for (;;) {
        if (!this.plan) {
          this.advance(signal, "initiating");
          await this.initiate(signal);
        }
        const plan = this.plan!;
        if (plan.kind === "single") await this.uploadSingle(plan, signal);
        else if (!(await this.uploadMultipart(plan, signal))) continue;
        break;
      }
    } catch (error) {
      // Paused or cancelled: those paths own the state; an abort is not a failure.
      if (signal.aborted || this.controller !== controller) {
        // A run that outlived cancel's wait (cancel is through) may have opened the body and taken
        // the claim again: both go with the run. While cancel is under way, cancel lets them go.
        if (this.state === "cancelled" && !this.cancelling) await this.cleanup();
        return;
      }
      // Taken first: a listener of "failed" may resume the task at once, which makes a new `done`.
      const { reject } = this.settle;
      this.to("failed");
      // The claim is let go before `done` says so (a retry from done.catch finds the checkpoint),
      // but a store write that hangs does not keep `done` pending.
      await atMost(this.cleanup());
      reject(error);
    } finally {
      releaseFile?.();
    }
  }

  private context(): PartsContext {
    return { ...this.deps, source: this.source!, key: this.key!, fileId: this.id, meter: this.meter!, onProgress: () => this.reportProgress() };
  }

  /** The task's retry policy; a 429/503 lowers the queue's concurrency. */
  private retryContext(signal?: AbortSignal) {
    return { options: this.deps.retry, signal, onThrottle: () => this.deps.queue.throttle() };
  }

  private retrying<T>(priority: PriorityValue, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(() => this.deps.queue.run(priority, fn, { signal }), this.retryContext(signal));
  }

  /** Plans the upload with the functions, or picks it up from this device's checkpoint. */
  private async initiate(signal: AbortSignal): Promise<void> {
    const source = this.source!;
    const { options, deps } = this;
    if (options.checkpoint && !deps.store) throw new TypeError("upload: `checkpoint` needs the uploader's store");
    if (options.checkpoint && !options.checkpoint.startsWith(endpointPrefix(deps.endpoint))) throw new TypeError("upload: `checkpoint` was made by an uploader of another endpoint");
    if (this.gone) throw this.gone;
    const target = options.key ?? options.filename ?? source.name;
    if (!target) throw new TypeError("upload: give a key or a filename (the body has no name)");
    this.named = options.key ? { key: options.key } : { filename: target };
    const name = source.name ?? target;
    const mark = deps.store && source.size > 0 ? await contentMark(this.body!, source) : undefined;
    if (deps.store && (mark !== undefined || options.checkpoint)) {
      // A named checkpoint (resumeOptions), else the one this body's fingerprint names.
      const id = options.checkpoint ?? fingerprint(deps.endpoint, options.key ? `key:${options.key}` : `name:${target}`, source, deps.partSize, mark);
      // Held since an earlier try (paused while initiating), taken again, or taken now.
      if (!(this.claim && (await this.claim.retake()))) this.claim = (await Claim.take(deps.store, id, deps.claims, isFileHandle(this.body) ? this.body : undefined)) ?? undefined;
      // Another task or tab holds this upload: upload afresh, without its checkpoint; but an upload
      // asked for by its checkpoint is that one, so never afresh: it fails instead.
      if (!this.claim && options.checkpoint) throw this.heldElsewhere();
      const stored = await this.readClaimed();
      // The upload this task started over from, its checkpoint still there (the store failed to
      // remove it): not resumed again, but written over by the new upload's.
      const cp = stored && stored.uploadId === this.dropped ? null : stored;
      if (this.claim) this.claim.uploadId = cp?.uploadId; // the claim is for the stored upload, if any
      if (options.checkpoint && !cp) throw new Error(`${name}: this upload is no longer unfinished here (completed, cancelled or forgotten); upload the file anew`);
      // Bytes held in memory have no date to tell them from other bytes of their size: only their own
      // fingerprint (their CRC-64) finds their checkpoint, by uploading them again with the same store.
      if (options.checkpoint && cp!.lastModified === undefined) throw new TypeError("upload: `checkpoint` resumes files only; upload bytes held in memory again to resume them");
      if (options.checkpoint && !(cp!.size === source.size && cp!.lastModified === source.lastModified)) {
        await this.dropCheckpoint(cp);
        throw (this.gone = new SourceError(name, new Error("it changed since the upload started; upload it anew")));
      }
      if (cp && cp.size === source.size) await this.resumeFrom(cp, signal);
    }
    if (!this.plan) {
      // The request itself is not aborted by a pause or cancel: once sent, the upload may exist on
      // COS, and only its answer says which one to keep (paused) or abort (cancelled).
      const plan = this.adopt(await this.retrying(Priority.newUpload, () => deps.api.createUpload(this.createBody(target)), signal));
      if (plan.kind === "multipart") await this.checkpoint();
      else this.withoutCheckpoint();
      if (signal.aborted) {
        // Cancelled while it was on its way, and cancel did not wait for it: aborted here.
        if (this.state === "cancelled" && plan.kind === "multipart") await this.abortOnCos(plan);
        throw abortError();
      }
    }
  }

  /** The task's plan from now on; its key and uploadId are known from it. */
  private adopt<P extends UploadPlan>(plan: P): P {
    this.plan = plan;
    this.key = plan.key;
    if (plan.kind === "multipart") this.uploadId = plan.uploadId;
    return plan;
  }

  /**
   * Aborts a multipart upload on COS (retried; one that still fails is left to the sweeper), once:
   * a run that gets its plan while cancel runs, and cancel, may both come to abort it.
   */
  private abortOnCos(ref: UploadRef): Promise<void> {
    if (this.aborting?.uploadId !== ref.uploadId) {
      const done = this.retrying(Priority.completeAbort, () => this.deps.api.abort(refOf(ref))).catch(() => undefined);
      this.aborting = { uploadId: ref.uploadId, done };
    }
    return this.aborting.done;
  }

  /** The POST /v1/uploads body for this task. */
  private createBody(target: string): CreateUploadBody {
    const { options } = this;
    const source = this.source!;
    const contentType = options.contentType ?? (source.type && /^[\w.+-]+\/[\w.+-]+/.test(source.type) ? source.type : undefined);
    const h = options.headers ?? {};
    return {
      ...(options.key !== undefined ? { key: options.key } : { filename: target }),
      size: source.size, contentType, metadata: options.metadata, storageClass: options.storageClass as CreateUploadBody["storageClass"],
      cacheControl: h["cache-control"], contentDisposition: h["content-disposition"], contentEncoding: h["content-encoding"],
      partSize: this.deps.partSize, maxSinglePutSize: this.deps.sliceSize, trafficLimit: options.trafficLimit,
    };
  }

  /** Resumes from a checkpoint: keeps the parts COS holds with the planned size and the same ETag. */
  private async resumeFrom(cp: Checkpoint, signal: AbortSignal): Promise<void> {
    let listed;
    try {
      listed = await this.listParts(cp, signal);
    } catch (error) {
      if (!isApiError(error)) throw error;
      // Gone with every part sent: a Complete whose answer was lost (and a reload since) may have made
      // the object. Complete is sent again (the functions answer it from the object, if it is this one's).
      if (error.code === "UploadNotFound" && recordsEveryPart(cp)) {
        this.keepParts(cp, cp.parts);
        this.adoptCheckpoint(cp);
        this.gonePlan = true;
        return;
      }
      this.parts.clear();
      // Gone (completed, aborted, swept), or its upload token is no longer good: the checkpoint
      // goes, and the file starts over; but an upload asked for by its checkpoint is that one, so
      // it fails with the reason instead.
      if (isResumeGone(error)) {
        await atMost(this.claim?.remove());
        if (this.options.checkpoint) throw (this.gone = error);
        return;
      }
      // Another caller's (a shared device: the fingerprint names no caller): theirs to keep, and
      // this file starts over without a checkpoint. Anything else (a login expired: 401) fails the
      // task and keeps the checkpoint for a later try.
      if (error.code === "NotYourUpload" && !this.options.checkpoint) {
        this.withoutCheckpoint();
        return;
      }
      throw error;
    }
    this.keepParts(cp, listed);
    this.adoptCheckpoint(cp);
  }

  /** Keeps the parts of `listed` that have the planned size (and the checkpoint's ETag, if it has one). */
  private keepParts(cp: Checkpoint, listed: { partNumber: number; etag: string; size: number }[]): void {
    const mine = new Map(cp.parts.map((p) => [p.partNumber, p]));
    for (const p of listed) {
      const known = mine.get(p.partNumber);
      if (!fitsPlan(cp, p) || (known && !sameEtag(known.etag, p.etag))) continue;
      this.parts.set(p.partNumber, { partNumber: p.partNumber, etag: p.etag, size: p.size, ...(known?.crc64 ? { crc64: known.crc64 } : {}) });
    }
  }

  private adoptCheckpoint(cp: Checkpoint): void {
    this.adopt({ kind: "multipart", key: cp.key, uploadId: cp.uploadId, token: cp.token, partSize: cp.partSize, partCount: cp.partCount, expiresAt: "" });
  }

  /**
   * After a pause or a failure: a part whose request was cut off may still have reached COS whole
   * (its content-length is signed, so only whole parts land). Such parts are taken as done rather
   * than sent again; their CRC64 is computed locally (hashing) and checked in the object's CRC.
   */
  private async syncParts(plan: Extract<UploadPlan, { kind: "multipart" }>, signal: AbortSignal): Promise<void> {
    for (const p of await this.listParts(plan, signal)) {
      const known = this.parts.get(p.partNumber);
      if (!fitsPlan({ ...plan, size: this.source!.size }, p)) continue;
      if (!known || !sameEtag(known.etag, p.etag)) this.parts.set(p.partNumber, { partNumber: p.partNumber, etag: p.etag, size: p.size });
    }
  }

  private listParts(ref: UploadRef, signal: AbortSignal) {
    return this.retrying(Priority.signing, () => this.deps.api.listParts(refOf(ref), signal), signal);
  }

  private checkpoint(): Promise<void> {
    const plan = this.plan;
    // Not once cancelled: a plan that arrives after cancel (its create was on its way) is aborted, not kept.
    if (!this.claim || plan?.kind !== "multipart" || this.state === "cancelled") return Promise.resolve();
    const { key, uploadId, token, partSize, partCount } = plan;
    const { contentType, metadata, storageClass, headers, trafficLimit } = this.options;
    const options = { ...this.named, contentType, metadata, storageClass, headers, trafficLimit };
    return this.claim.save({ v: 1, key, uploadId, token, partSize, partCount, size: this.meter!.total, name: this.source?.name, lastModified: this.lastModified, parts: [...this.parts.values()], options, updatedAt: 0 });
  }

  /**
   * The claimed checkpoint (null without a claim). A store that fails to read it leaves the task
   * without a checkpoint: it cannot tell whose upload it names, so it must not write over it. An
   * upload asked for by its checkpoint fails instead.
   */
  private async readClaimed(): Promise<Checkpoint | null> {
    try {
      return (await this.claim?.read()) ?? null;
    } catch (error) {
      if (this.options.checkpoint) throw error;
      this.withoutCheckpoint();
      return null;
    }
  }

  /** Goes on without a checkpoint (a single PUT; the checkpoint is another caller's or another upload's): the claim goes. */
  private withoutCheckpoint(): void {
    this.claim?.release();
    this.claim = undefined;
  }

  /** The failure of a task whose upload a task here or in another tab holds (its Web Lock). */
  private heldElsewhere(): Error {
    return new Error(`${this.source?.name ?? this.key ?? "the file"} is already being uploaded, in this tab or another`);
  }

  /** A checkpoint that can no longer be resumed (its file changed): its upload is aborted on COS, and it goes. */
  private async dropCheckpoint(cp: Checkpoint | null | undefined): Promise<void> {
    if (cp) await this.abortOnCos(cp);
    await this.claim?.remove();
  }

  private async uploadSingle(plan: Extract<UploadPlan, { kind: "single" }>, signal: AbortSignal): Promise<void> {
    this.advance(signal, "uploading");
    // Sent once: a resume after a failed confirm does not send the file again.
    if (!this.sent) {
      this.reportProgress(true); // from 0, or back at 0 when the object COS took is gone
      this.sent = await this.putSingle(plan, signal);
      this.reportProgress(true); // all of it, whatever the throttle let through while it was sent
    }
    this.advance(signal, "completing");
    let info: ObjectInfo;
    try {
      // No signal for the retries: nothing stops a completing task, so they must not wait offline.
      info = await this.retrying(Priority.completeAbort, () => this.deps.api.confirm(this.key!, signal));
      checkCrc(this.key!, undefined, this.sent.crc64, info.crc64);
    } catch (error) {
      // COS does not hold these bytes (the object was deleted, or other bytes replaced it since): a
      // resume sends the file again. Other failures (5xx, offline, a login expired) only confirm again.
      if (isIntegrityError(error) || (isApiError(error) && error.code === "ObjectNotFound")) {
        this.sent = undefined;
        this.restartProgress();
      }
      throw error;
    }
    await this.finish(resultOf(info));
  }

  /** The whole body in one presigned PUT; its CRC-64 (integrity on) is checked against COS's. */
  private async putSingle(plan: Extract<UploadPlan, { kind: "single" }>, signal: AbortSignal): Promise<{ crc64?: string }> {
    const ctx = this.context();
    const size = this.source!.size;
    const read = await readRange(ctx, 0, size);
    read.crc64().catch(() => undefined); // a Blob is hashed while it is sent; awaited after the PUT
    // A URL that expired (a long pause, a skewed clock): plan again for a fresh one.
    let expired = false;
    const response = await withRetry(async () => {
      if (expired) {
        const { filename: _filename, ...body } = this.createBody(plan.key);
        const fresh = await this.deps.api.createUpload({ ...body, key: plan.key }, signal);
        if (fresh.kind !== "single") {
          // The functions' threshold changed meanwhile: that plan is not this task's to run.
          await this.deps.api.abort(refOf(fresh)).catch(() => undefined);
          throw new Error(`the functions now plan ${plan.key} as a multipart upload; start the upload again`);
        }
        plan = this.adopt(fresh);
        expired = false;
      }
      return put(ctx, 0, plan.url, plan.headers, read.body, signal, { part: false });
    }, { ...this.retryContext(signal), onResign: () => (expired = true) });
    if (response === "stale") throw abortError();
    const crc64 = await read.crc64();
    checkCrc(this.key!, undefined, crc64, response.header("x-cos-hash-crc64ecma"));
    this.meter!.accept(0, size);
    return { crc64 };
  }

  private partRange(plan: MultipartPlan, n: number) {
    const start = (n - 1) * plan.partSize;
    return { start, end: start + plannedSize(plan.partSize, this.meter!.total, n) };
  }

  /** Uploads the parts left and completes; false when the upload started over (it is to be planned anew). */
  private async uploadMultipart(plan: MultipartPlan, signal: AbortSignal): Promise<boolean> {
    const ctx = this.context();
    const unknownCrc = this.deps.crc ? [...this.parts.values()].filter((p) => p.crc64 === undefined) : [];
    if (unknownCrc.length) {
      // Parts COS holds that the checkpoint never recorded (a crash between PUT and save).
      this.advance(signal, "hashing");
      let hashed = 0;
      const total = unknownCrc.reduce((s, p) => s + p.size, 0);
      for (const part of unknownCrc) {
        const { start, end } = this.partRange(plan, part.partNumber);
        part.crc64 = await hashRange(ctx, start, end);
        hashed += part.size;
        callOut(this.options.onHashProgress, { loaded: hashed, total, percent: (hashed / total) * 100 });
        if (signal.aborted) throw abortError();
      }
    }
    this.advance(signal, "uploading");
    const meter = this.meter!;
    meter.start([...this.parts.values()].reduce((s, p) => s + p.size, 0));
    this.reportProgress(true);
    const todo: number[] = (this.todo = []);
    for (let n = 1; n <= plan.partCount; n++) if (!this.parts.has(n)) todo.push(n);
    const limit = this.deps.chunkParallelLimit;
    this.window ??= new PartUrlWindow({
      api: this.deps.api, ref: refOf(plan), queue: this.deps.queue,
      upcoming: () => this.todo, batch: Math.min(MAX_SIGN_BATCH, Math.max(8, limit * 4)), lowWater: Math.min(MAX_SIGN_BATCH, limit * 2), trafficLimit: this.options.trafficLimit,
      retry: (fn, s) => withRetry(fn, this.retryContext(s)),
    });
    const window = this.window;
    // One failure stops the other parts at once (their bytes are taken back by the meter).
    const inner = new AbortController();
    this.deps.manyListeners?.(inner.signal);
    const stop = () => inner.abort();
    signal.addEventListener("abort", stop, { once: true });
    if (!ctx.md5) window.prime(inner.signal);
    let firstError: unknown;
    const worker = async () => {
      for (let n = todo.shift(); n !== undefined && !inner.signal.aborted; n = todo.shift()) {
        try {
          const part = await uploadPart(ctx, window, n, this.partRange(plan, n), inner.signal);
          this.parts.set(n, part);
          void this.checkpoint();
          this.reportProgress(true);
        } catch (error) {
          firstError ??= error;
          inner.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(limit, todo.length) }, worker));
    } finally {
      signal.removeEventListener("abort", stop);
    }
    if (signal.aborted) throw abortError();
    if (firstError !== undefined) throw firstError;
    this.to("completing");
    const parts = [...this.parts.values()].sort((a, b) => a.partNumber - b.partNumber);
    // No signal for the retries: nothing stops a completing task, so they must not wait offline.
    let info: ObjectInfo;
    try {
      info = await this.retrying(Priority.completeAbort, () => this.deps.api.complete(refOf(plan), parts.map(({ partNumber, etag }) => ({ partNumber, etag })), signal));
      if (this.deps.crc) checkCrc(this.key!, undefined, combinedCrc(parts), info.crc64);
    } catch (error) {
      // Gone with no object of it, or completed with other bytes than these: nothing is left to resume,
      // so the checkpoint goes (kept, a reload would send Complete again and fail the same way).
      if (!(isIntegrityError(error) || (isApiError(error) && error.code === "UploadNotFound"))) throw error;
      await atMost(this.claim?.remove());
      // Complete sent again for an upload COS no longer lists (above): no object of these bytes is
      // there, so the upload was aborted or swept, not completed. The file starts over, unless the
      // upload was asked for by its checkpoint, which names that upload only.
      if (!this.gonePlan) throw error;
      this.gonePlan = false;
      this.startOver(error);
      return false;
    }
    await atMost(this.claim?.remove());
    await this.finish(resultOf(info));
    return true;
  }

  /**
   * Forgets the plan and the parts: the bytes sent so far are not in COS (`why`), and the next run
   * plans afresh; but an upload asked for by its checkpoint names that upload only, so it fails.
   */
  private startOver(why: Error): void {
    this.dropped = this.uploadId;
    this.plan = undefined;
    this.uploadId = undefined;
    this.parts.clear();
    this.window = undefined;
    this.restartProgress();
    if (this.options.checkpoint) throw (this.gone = why);
  }

  /** Back at 0: the bytes sent are not in COS. Said at once, also for a task that fails now (its bar must not stay full). */
  private restartProgress(): void {
    this.meter!.restart();
    this.last = { ...this.last, loaded: 0, percent: 0, speed: 0, eta: null };
    callOut(this.options.onProgress, this.last);
    this.deps.emit("progress", this);
  }

  private async finish(result: UploadResult): Promise<void> {
    this.meter!.finish();
    this.reportProgress(true);
    this.to("done");
    await atMost(this.cleanup());
    this.release();
    this.settle.resolve(result);
  }

  /**
   * Done or cancelled: the task never runs again, but uploader.tasks() keeps it. It lets go of the
   * body and of the URL window (whose closures share the last run's scope, and so its source).
   */
  private release(): void {
    this.body = undefined;
    this.window = undefined;
    this.unlisten?.();
  }

  /** The task stopped (failed, done, cancelled): its claim goes (once its writes landed), and its source is closed. */
  private async cleanup(): Promise<void> {
    const source = this.source;
    // A failed task may be resumed: it opens its body again.
    this.source = undefined;
    void Promise.resolve()
      .then(() => source?.close?.())
      .catch(() => undefined);
    await this.claim?.release();
  }
}
