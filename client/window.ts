// The sliding window of signed part URLs (issue 4 "Parts"): part URLs are signed in batches ahead of
// the parts that will use them, another batch is asked for before the window runs dry, and a URL
// close to its expiry (judged by the server's clock, from `Date`) is signed again before use.
// With a per-part Content-MD5 the URL signs the digest, so each part is signed on its own.

import type { Api, SignedPart, UploadRef } from "./api";
import { isAbortError } from "./errors";
import { Priority, type Queue } from "./queue";

export interface SignedUrl {
  url: string;
  headers: Record<string, string>;
  /** Server-clock ms. */
  expiresAt: number;
  /** Server-clock ms when it was signed (lifetime = expiresAt - signedAt). */
  signedAt: number;
}

export interface WindowOptions {
  api: Api;
  ref: UploadRef;
  queue: Queue;
  /** Parts that will need a URL soon, in the order they will run (not done, not running). */
  upcoming: () => number[];
  /** Parts per batch. */
  batch: number;
  /** Ask for the next batch when fewer fresh URLs than this are waiting. */
  lowWater: number;
  trafficLimit?: number;
  /** Runs one signing call with the task's retry policy. */
  retry: <T>(fn: () => Promise<T>, signal?: AbortSignal) => Promise<T>;
}

/** Keep at least this much lifetime when a URL is handed out: a minute, or a quarter of short lifetimes. */
const MARGIN_MS = 60_000;

export class PartUrlWindow {
  private readonly signed = new Map<number, SignedUrl>();
  private readonly signing = new Map<number, Promise<void>>();
  /** How many signing calls went out (for tests and logs). */
  batches = 0;

  constructor(private readonly options: WindowOptions) {}

  private fresh(n: number): SignedUrl | undefined {
    const s = this.signed.get(n);
    return s && this.isFresh(s) ? s : undefined;
  }

  /** A URL for part `n` with enough life left; signs when needed. */
  async get(n: number, signal?: AbortSignal, md5?: string): Promise<SignedUrl> {
    if (md5 !== undefined) {
      const [part] = await this.sign([{ partNumber: n, md5 }], signal);
      return this.toSigned(part);
    }
    for (let tries = 0; ; tries++) {
      const ready = this.fresh(n);
      if (ready) {
        this.prefetch(signal);
        return ready;
      }
      if (tries > 3) throw new Error(`the functions returned no URL for part ${n}`);
      const pending = this.signing.get(n);
      // A batch that failed after its own retries is the answer (signing again would retry it twice
      // over); one a pause aborted is signed again.
      if (pending && tries === 0) {
        try {
          await pending;
        } catch (error) {
          if (!isAbortError(error)) throw error;
        }
      } else await this.signBatch([n, ...this.unsigned().filter((m) => m !== n)], signal);
    }
  }

  /**
   * Signs the first batch before the part workers start, so they share one signing call instead of
   * each asking for its own part (they all take a part before any of them asks).
   */
  prime(signal: AbortSignal): void {
    const first = this.unsigned();
    if (first.length) this.signBatch(first, signal).catch(() => undefined);
  }

  /** Upcoming parts with no fresh URL and no signing call under way, in order. */
  private unsigned(): number[] {
    return this.options.upcoming().filter((m) => !this.fresh(m) && !this.signing.has(m));
  }

  /** Whether `url` still has enough life left to be sent now. */
  isFresh(url: SignedUrl): boolean {
    const margin = Math.min(MARGIN_MS, (url.expiresAt - url.signedAt) / 4);
    return url.expiresAt - this.options.api.serverNow() > margin;
  }

  /** Forget part `n`'s URL (done, or 403 "Request has expired"): the next get signs it again. */
  invalidate(n: number): void {
    this.signed.delete(n);
  }

  /**
   * Starts the next batch in the background when the window is getting low. Background batches
   * carry the run's signal: a part waiting on one must not outlive a pause or cancel.
   */
  private prefetch(signal?: AbortSignal): void {
    if (this.signing.size > 0) return;
    const upcoming = this.options.upcoming();
    const freshCount = upcoming.filter((m) => this.fresh(m)).length;
    if (freshCount >= this.options.lowWater) return;
    const next = upcoming.filter((m) => !this.fresh(m));
    if (next.length) this.signBatch(next, signal).catch(() => undefined);
  }

  private signBatch(numbers: number[], signal?: AbortSignal): Promise<void> {
    const batch = numbers.slice(0, this.options.batch);
    const work = this.sign(batch.map((partNumber) => ({ partNumber })), signal).then((parts) => {
      for (const part of parts) this.signed.set(part.partNumber, this.toSigned(part));
    });
    const tracked = work.finally(() => {
      for (const n of batch) if (this.signing.get(n) === tracked) this.signing.delete(n);
    });
    for (const n of batch) this.signing.set(n, tracked);
    return tracked;
  }

  private sign(parts: { partNumber: number; md5?: string }[], signal?: AbortSignal): Promise<SignedPart[]> {
    const { api, ref, queue, trafficLimit } = this.options;
    this.batches++;
    return this.options.retry(() => queue.run(Priority.signing, () => api.signParts(ref, parts, { trafficLimit, signal }), { signal }), signal);
  }

  private toSigned(part: SignedPart): SignedUrl {
    const signedAt = this.options.api.serverNow();
    const expiresAt = Date.parse(part.expiresAt);
    return { url: part.url, headers: part.headers, expiresAt: Number.isNaN(expiresAt) ? signedAt + 5 * 60_000 : expiresAt, signedAt };
  }
}
