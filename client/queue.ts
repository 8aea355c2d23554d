// The uploader's one queue (issue 4, uppy's @uploady/aws-s3 semantics): file slots (fileParallelLimit)
// and request slots shared by every task, with at most chunkParallelLimit part PUTs per file.
// Waiting requests start in priority order: part bytes first (a signed URL is used before it
// expires), then complete/abort, then signing, then new uploads. A 429/503 halves the request limit;
// each run of successes raises it back by one, up to the configured limit. Where the platform sends
// at most a few requests to one host at once (browsers: 6 over HTTP/1.1), PUTs past that wait here,
// not in the platform's own queue, where the stall guard would see no progress and abort them.

import { abortError } from "./errors";

export const Priority = { partBytes: 0, completeAbort: 1, signing: 2, newUpload: 3 } as const;
export type PriorityValue = (typeof Priority)[keyof typeof Priority];

interface Waiter {
  priority: number;
  seq: number;
  /** Set for part PUTs: counted against the file's chunk limit. */
  fileId?: string;
  start(): void;
  cancel(): void;
}

export interface QueueLimits {
  fileParallelLimit: number;
  chunkParallelLimit: number;
  /** PUTs in flight at once over every file (they all go to the bucket's host); unlimited when absent. */
  maxPuts?: number;
}

/** Throttles this close to the last halving are answers to requests sent before it. */
const THROTTLE_BURST_MS = 1000;

export class Queue {
  /** Request slots at full speed: every file's parts plus one API call per file. */
  readonly maxRequests: number;
  /** Current request limit, lowered on throttling. */
  limit: number;
  private running = 0;
  private putsRunning = 0;
  private filesRunning = 0;
  private readonly partsRunning = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  private readonly fileWaiters: Waiter[] = [];
  private seq = 0;
  private successes = 0;
  /** When the limit was last halved: throttles within THROTTLE_BURST_MS of it are the same burst. */
  private throttledAt = -Infinity;
  /** Highest number of part PUTs in flight at once per file, and of files at once (for tests). */
  peakParts = 0;
  peakFiles = 0;
  peakPuts = 0;

  constructor(
    readonly limits: QueueLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.maxRequests = limits.fileParallelLimit * (limits.chunkParallelLimit + 1);
    this.limit = this.maxRequests;
  }

  /** Parts of one file allowed in flight now: the chunk limit, lowered with the request limit. */
  get chunkLimit(): number {
    return Math.max(1, Math.min(this.limits.chunkParallelLimit, Math.ceil((this.limit * this.limits.chunkParallelLimit) / this.maxRequests)));
  }

  /** Waits for a file slot; the returned function gives it back (once). */
  async acquireFile(signal?: AbortSignal): Promise<() => void> {
    await this.wait(this.fileWaiters, Priority.newUpload, undefined, signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.filesRunning--;
      this.pump();
    };
  }

  /** Runs `fn` in a request slot. Pass `fileId` for a part PUT so the per-file chunk limit applies. */
  async run<T>(priority: PriorityValue, fn: () => Promise<T>, options: { fileId?: string; signal?: AbortSignal } = {}): Promise<T> {
    const { fileId } = options;
    await this.wait(this.waiting, priority, fileId, options.signal);
    const put = priority === Priority.partBytes;
    try {
      const result = await fn();
      // Every request that went through counts towards raising a lowered limit back (single PUTs
      // and API calls too, not only parts: else one throttle would slow small files for good).
      this.succeeded();
      return result;
    } finally {
      this.running--;
      if (put) this.putsRunning--;
      if (fileId !== undefined) {
        const n = this.partsRunning.get(fileId)! - 1;
        if (n === 0) this.partsRunning.delete(fileId);
        else this.partsRunning.set(fileId, n);
      }
      this.pump();
    }
  }

  /**
   * A 429/503: halve the request limit (at least 1). The other requests already in flight answer
   * the same within moments: a burst halves it once, not once per answer.
   */
  throttle(): void {
    this.successes = 0;
    if (this.now() - this.throttledAt < THROTTLE_BURST_MS) return;
    this.throttledAt = this.now();
    this.limit = Math.max(1, Math.floor(this.limit / 2));
  }

  /** A request succeeded: after `limit` successes in a row, allow one more request at once. */
  succeeded(): void {
    if (this.limit >= this.maxRequests) return;
    if (++this.successes >= this.limit) {
      this.successes = 0;
      this.limit++;
      this.pump();
    }
  }

  private wait(list: Waiter[], priority: number, fileId: string | undefined, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise((resolve, reject) => {
      const onAbort = () => waiter.cancel();
      const waiter: Waiter = {
        priority,
        seq: this.seq++,
        fileId,
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        cancel: () => {
          const i = list.indexOf(waiter);
          if (i !== -1) list.splice(i, 1);
          reject(abortError());
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      list.push(waiter);
      list.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      this.pump();
    });
  }

  /** Starts what may start; the slot is counted here, synchronously, before the waiter resumes. */
  private pump(): void {
    while (this.fileWaiters.length && this.filesRunning < this.limits.fileParallelLimit) {
      this.filesRunning++;
      this.peakFiles = Math.max(this.peakFiles, this.filesRunning);
      this.fileWaiters.shift()!.start();
    }
    for (let i = 0; i < this.waiting.length && this.running < this.limit; ) {
      const waiter = this.waiting[i];
      const { fileId } = waiter;
      const parts = fileId === undefined ? 0 : (this.partsRunning.get(fileId) ?? 0);
      const put = waiter.priority === Priority.partBytes;
      if ((fileId !== undefined && parts >= this.chunkLimit) || (put && this.putsRunning >= (this.limits.maxPuts ?? Infinity))) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running++;
      if (put) this.peakPuts = Math.max(this.peakPuts, ++this.putsRunning);
      if (fileId !== undefined) {
        this.partsRunning.set(fileId, parts + 1);
        this.peakParts = Math.max(this.peakParts, parts + 1);
      }
      waiter.start();
    }
  }
}
