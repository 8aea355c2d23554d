// One retry policy for every request the client makes (issue 4 "Retries"), ky and uppy style:
// network errors, 5xx and 429 are retried with exponential backoff and full jitter, Retry-After is
// honoured, an expired presigned URL (403 "Request has expired") is signed again rather than
// retried as is, and any other 4xx is final. The attempt counter resets once the task made progress.
// While the browser is offline, network errors wait for it to come back instead of using attempts up.

import { abortError, isApiError, isHttpError, isNetworkError } from "./errors";
import type { RetryOptions } from "./types";

export type RetryDecision = false | "retry" | "resign";

/** A non-2xx answer, from COS or from the functions. */
const isStatusError = (error: unknown) => isHttpError(error) || isApiError(error);

/** Whether a failed request is worth another try, and how. */
export function shouldRetry(error: unknown): RetryDecision {
  if (isNetworkError(error)) return "retry";
  if (!isStatusError(error)) return false;
  if (isHttpError(error) && error.status === 403 && /request has expired/i.test(error.cosMessage ?? "")) return "resign";
  return error.status >= 500 || error.status === 429 || error.status === 408 ? "retry" : false;
}

/** 429 and 503 (SlowDown) mean "too many requests at once": the queue lowers its concurrency. */
export function isThrottle(error: unknown): boolean {
  return isStatusError(error) && (error.status === 429 || error.status === 503);
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { attempts: 5, baseDelay: 500, maxDelay: 20_000 };

/**
 * The wait before retry number `attempt` (0-based): full jitter over min(maxDelay, base·2^attempt),
 * or Retry-After when the server sent one (never less than it asked for).
 */
export function retryDelay(attempt: number, options: Required<RetryOptions>, retryAfter?: number, random = Math.random): number {
  const jitter = random() * Math.min(options.maxDelay, options.baseDelay * 2 ** attempt);
  return retryAfter === undefined ? jitter : Math.max(retryAfter, jitter);
}

/**
 * An AbortSignal that fires when `signal` does or when `kick()` is not called for `ms`; `stalled`
 * tells which. `done()` clears the timer.
 */
export function stallGuard(ms: number, signal?: AbortSignal) {
  const controller = new AbortController();
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, ms);
  };
  kick();
  return {
    signal: controller.signal,
    kick,
    get stalled() {
      return stalled;
    },
    done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** Resolves after `ms`, or rejects with an AbortError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface RetryContext {
  options: Required<RetryOptions>;
  signal?: AbortSignal;
  /** A counter the task bumps on progress (a part got its ETag): a change resets the attempts. */
  progressMark?: () => number;
  /** Called before retrying a "resign" failure (drop the stale URL). At most `attempts` in a row. */
  onResign?: (error: unknown) => void;
  /** Called on 429/503 so the queue lowers its concurrency. */
  onThrottle?: () => void;
  /** Called before each wait, for logs and tests. */
  onRetry?: (error: unknown, attempt: number, delay: number) => void;
  random?: () => number;
}

/** Failures a retry loop already gave up on: a loop around it (a part around its signing call) does not retry them again. */
const givenUp = new WeakSet<object>();

/** Marks a failure that must not be retried, whatever its kind (a request that may have taken effect). */
export function notRetried<T extends object>(error: T): T {
  givenUp.add(error);
  return error;
}

/** A browser that knows it has no network (navigator.onLine is false; true proves nothing). */
export const isOffline = () => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false;

/**
 * Resolves once the browser is back online (its "online" event, or a look every few seconds where
 * there is none), or after `atMostMs` in any case: navigator.onLine can be false while the network
 * works (Chromium behind some VPNs and virtual network adapters), and a wait for an event that never
 * comes would hold the upload for good. Rejects with an AbortError when `signal` aborts first.
 */
export function backOnline(signal?: AbortSignal, pollMs = 3000, atMostMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const events = globalThis as { addEventListener?: EventTarget["addEventListener"]; removeEventListener?: EventTarget["removeEventListener"] };
    const poll = setInterval(() => isOffline() || finish(), pollMs);
    const limit = setTimeout(() => finish(), atMostMs);
    const finish = (error?: Error) => {
      clearInterval(poll);
      clearTimeout(limit);
      events.removeEventListener?.("online", onOnline);
      signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onOnline = () => finish();
    const onAbort = () => finish(abortError());
    events.addEventListener?.("online", onOnline);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    else if (!isOffline()) onOnline();
  });
}

/**
 * Runs `fn` until it succeeds, a failure is final, or `attempts` failures happen without progress.
 * With a `signal` (a task's run: pause and cancel end the wait), a network error while the browser is
 * offline is not an attempt: the loop waits for the network to come back (a tunnel, a lift, a
 * plane), then starts its attempts afresh. It tries again every 30 s meanwhile, in case the browser
 * is wrong about being offline (a failure then, still offline, waits again). Calls nobody could
 * stop (cancel's abort, unfinished()) count it as an attempt, as before.
 */
export async function withRetry<T>(fn: () => Promise<T>, context: RetryContext): Promise<T> {
  let attempt = 0;
  let mark = context.progressMark?.();
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (context.signal?.aborted || givenUp.has(error as object)) throw error;
      const decision = shouldRetry(error);
      if (!decision) throw error;
      if (context.signal && isNetworkError(error) && isOffline()) {
        await backOnline(context.signal);
        attempt = 0; // the outage was not this request's doing
        continue;
      }
      const now = context.progressMark?.();
      if (now !== mark) {
        attempt = 0;
        mark = now;
      }
      if (++attempt >= context.options.attempts) {
        givenUp.add(error as object);
        throw error;
      }
      if (isThrottle(error)) context.onThrottle?.();
      if (decision === "resign") {
        // A fresh signature, not a wait: the URL was fine, only its time window passed.
        context.onResign?.(error);
        continue;
      }
      const retryAfter = isStatusError(error) ? error.retryAfter : undefined;
      const delay = retryDelay(attempt - 1, context.options, retryAfter, context.random);
      context.onRetry?.(error, attempt, delay);
      await sleep(delay, context.signal);
    }
  }
}
