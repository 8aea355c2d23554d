// Sending bytes to COS: one part PUT (or the single PUT) with CRC64 computed while reading, upload
// progress, the retry policy, and the checks on COS's answer: ETag readable (else CorsError, at once)
// and x-cos-hash-crc64ecma equal to ours (else IntegrityError).

import type { Api } from "./api";
import type { DonePart } from "./checkpoint";
import { Crc64, crc64Combine } from "./crc64";
import { CorsError, HttpError, IntegrityError, NetworkError, SourceError, abortError, isSourceError } from "./errors";
import type { ProgressMeter } from "./progress";
import { Priority, type Queue } from "./queue";
import { stallGuard, withRetry } from "./retry";
import { isBlob, readBytes, sizeOf } from "./sources";
import type { FileSource, HttpResponse, HttpStack, RetryOptions, StreamBody } from "./types";
import type { PartUrlWindow } from "./window";

export interface PartsContext {
  api: Api;
  queue: Queue;
  stack: HttpStack;
  source: FileSource;
  key: string;
  fileId: string;
  meter: ProgressMeter;
  retry: Required<RetryOptions>;
  crc: boolean;
  /** ms without progress before a PUT is aborted and retried. */
  stallTimeout: number;
  md5?: (bytes: Uint8Array) => Promise<string>;
  onProgress: () => void;
}

/** A range of the source, ready to send. */
export interface ReadPart {
  /**
   * What to PUT: the Blob slice itself when the source is a Blob (browsers upload a Blob from their
   * own storage, over ten times faster in Chromium than the same bytes as a Uint8Array), a
   * StreamBody when the source and the stack can stream (Node files), else the bytes.
   */
  body: Uint8Array | Blob | StreamBody;
  size: number;
  /**
   * Decimal CRC64 of the bytes sent, as COS writes it (undefined with integrity off). Needed only to
   * check COS's answer: a Blob is read and hashed from the first call (made as its PUT starts, so
   * while it is being sent), a StreamBody is hashed as its chunks go out (the last full pass's).
   */
  crc64: () => Promise<string | undefined>;
  /** Content-MD5 (base64) from the pluggable hasher, when there is one (it is signed: known before sending). */
  md5?: string;
}

const crcOf = (bytes: Uint8Array) => new Crc64().update(bytes).toString();

/** Reads [start, end): bytes are read only to hash them (CRC64, MD5) or when the source gives no Blob. */
export async function readRange(ctx: PartsContext, start: number, end: number): Promise<ReadPart> {
  const stream = ctx.stack.streams && !ctx.md5 && ctx.source.stream?.(start, end);
  if (stream) return hashedStream(ctx, stream);
  const slice = await ctx.source.slice(start, end).catch((error) => sourceFailed(ctx, error));
  const size = sizeOf(slice);
  if (size !== end - start) sourceFailed(ctx, new Error(`read ${size} bytes at ${start}, expected ${end - start}`));
  const read = () => readBytes(slice).catch((error) => sourceFailed(ctx, error));
  if (slice instanceof Uint8Array || ctx.md5) {
    const bytes = await read();
    const crc64 = Promise.resolve(ctx.crc ? crcOf(bytes) : undefined);
    return { body: slice, size, crc64: () => crc64, md5: ctx.md5 && (await ctx.md5(bytes)) };
  }
  // Read and hashed once asked for: uploadPart asks as the PUT starts, so reading the Blob does not
  // slow the signing calls before it.
  let crc64: Promise<string | undefined> | undefined;
  return { body: slice, size, crc64: () => (crc64 ??= ctx.crc ? read().then(crcOf) : Promise.resolve(undefined)) };
}

/** The CRC64 of [start, end) without sending it (a part COS holds that the checkpoint never recorded). */
export async function hashRange(ctx: PartsContext, start: number, end: number): Promise<string | undefined> {
  const { body, crc64 } = await readRange(ctx, start, end);
  if (body instanceof Uint8Array) ctx.source.release?.(body);
  else if ("chunks" in body) for await (const chunk of body.chunks()) body.release?.(chunk);
  return crc64();
}

/** The upload's own bytes could not be read: a SourceError naming the file (never retried). */
function sourceFailed(ctx: PartsContext, error: unknown): never {
  throw isSourceError(error) ? error : new SourceError(ctx.source.name ?? ctx.key, error);
}

/**
 * A StreamBody whose chunks are hashed on their way out. crc64() is the CRC of the last pass that
 * handed out every byte: it is known as soon as the last chunk is, since COS cannot have answered a
 * PUT before it got them all (the generator itself may finish after the response arrives).
 */
function hashedStream(ctx: PartsContext, stream: StreamBody): ReadPart {
  let last = ctx.crc && stream.size === 0 ? new Crc64().toString() : undefined;
  const body: StreamBody = {
    size: stream.size,
    async *chunks() {
      const hash = ctx.crc ? new Crc64() : undefined;
      if (stream.size > 0) last = undefined; // this pass's, once it has handed out every byte
      let hashed = 0;
      const chunks = stream.chunks()[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await chunks.next().catch((error) => sourceFailed(ctx, error));
          if (next.done) break;
          hash?.update(next.value);
          hashed += next.value.length;
          if (hash && hashed === stream.size) last = hash.toString();
          yield next.value;
        }
      } finally {
        await chunks.return?.();
      }
    },
    release: stream.release && ((chunk) => stream.release!(chunk)),
  };
  return {
    body,
    size: stream.size,
    crc64: async () => {
      if (ctx.crc && last === undefined) throw new Error("the part's CRC64 is asked for before all of it was read");
      return last;
    },
  };
}

/** 128 kbit/s: how long a PUT without live progress may take (see HttpStack.reportsProgress). */
const SLOW_LINK_BYTES_PER_S = 16 * 1024;

/**
 * One request with a body to COS under a stall guard: `stallTimeout` ms without progress aborts it
 * (for a stack that reports no progress, without an answer, allowing the body's time at a slow
 * link's rate). A stall or a transport failure becomes a NetworkError naming the request, after
 * `onFailure` (which may throw a better-fitting error); an abort through `signal` an abort error; a
 * non-2xx answer an HttpError. Used for parts and single PUTs, and for appends.
 */
export async function sendBody(
  stack: HttpStack,
  request: { method: string; url: string; headers: Record<string, string>; body: Uint8Array | Blob | StreamBody },
  options: { stallTimeout: number; signal?: AbortSignal; onSent?: (sent: number) => void; onFailure?: (error: unknown) => Promise<void> },
): Promise<HttpResponse> {
  const live = stack.reportsProgress?.(request.body) !== false;
  const timeout = live ? options.stallTimeout : options.stallTimeout + (sizeOf(request.body) / SLOW_LINK_BYTES_PER_S) * 1000;
  const guard = stallGuard(timeout, options.signal);
  let response: HttpResponse;
  try {
    response = await stack.send({
      ...request,
      signal: guard.signal,
      onUploadProgress: (sent) => {
        guard.kick();
        options.onSent?.(sent);
      },
    });
  } catch (error) {
    if (guard.stalled && !options.signal?.aborted) throw new NetworkError(request.method, request.url, new Error(live ? `no progress for ${timeout} ms` : `no answer in ${Math.round(timeout)} ms`));
    if (options.signal?.aborted) throw abortError();
    // An abort nobody here asked for (the browser dropping the XHR) is a failed request like any other.
    await options.onFailure?.(error);
    throw new NetworkError(request.method, request.url, error);
  } finally {
    guard.done();
  }
  if (response.status < 200 || response.status >= 300) throw HttpError.from(request, response);
  return response;
}

/** One PUT of `body` to COS through the queue; throws HttpError/NetworkError on failure, its bytes taken back from progress. */
export async function put(ctx: PartsContext, id: number, url: string, headers: Record<string, string>, body: Uint8Array | Blob | StreamBody, signal: AbortSignal, options: { part: boolean; stillFresh?: () => boolean; onSent?: (sent: number) => void }): Promise<HttpResponse | "stale"> {
  return ctx.queue.run(
    Priority.partBytes,
    async () => {
      if (options.stillFresh && !options.stillFresh()) return "stale" as const;
      try {
        return await sendBody(ctx.stack, { method: "PUT", url, headers, body }, {
          stallTimeout: ctx.stallTimeout,
          signal,
          onSent: (sent) => {
            options.onSent?.(sent);
            ctx.meter.sending(id, Math.min(sent, sizeOf(body)));
            ctx.onProgress();
          },
          onFailure: async (error) => {
            if (isSourceError(error)) throw error; // a streamed body's file failed to read
            // A browser sends a File it can no longer read (moved, deleted, changed) as a network error.
            if (isBlob(body)) await readBytes(body.slice(0, 1)).catch((unreadable) => sourceFailed(ctx, unreadable));
          },
        });
      } catch (error) {
        ctx.meter.drop(id);
        throw error;
      }
    },
    { fileId: options.part ? ctx.fileId : undefined, signal },
  );
}

/** Checks COS's CRC of what it stored against ours. */
export function checkCrc(key: string, partNumber: number | undefined, ours: string | undefined, cos: string | null | undefined): void {
  if (ours !== undefined && cos && cos !== ours) throw new IntegrityError(key, partNumber, ours, cos);
}

/** Uploads part `n` of the plan (read, CRC, sign, PUT, check); returns it as a finished part. */
export async function uploadPart(ctx: PartsContext, window: PartUrlWindow, n: number, range: { start: number; end: number }, signal: AbortSignal): Promise<DonePart> {
  const { body, size, md5, ...read } = await readRange(ctx, range.start, range.end);
  // The attempt counter resets when an attempt got further into the body than any before it
  // (tus: "the retry counter resets after progress"); other parts finishing do not reset it.
  let reached = 0;
  return withRetry(
    async () => {
      for (;;) {
        const signed = await window.get(n, signal, md5);
        const sending = put(ctx, n, signed.url, signed.headers, body, signal, {
          part: true,
          stillFresh: () => window.isFresh(signed),
          onSent: (sent) => (reached = Math.max(reached, sent)),
        });
        read.crc64().catch(() => undefined); // starts hashing a Blob while it is sent; awaited below
        const response = await sending;
        if (response === "stale") {
          window.invalidate(n);
          continue;
        }
        const etag = response.header("etag");
        const cosCrc = response.header("x-cos-hash-crc64ecma");
        let crc64: string | undefined;
        try {
          crc64 = await read.crc64();
          // A 2xx without a readable ETag is the bucket's CORS rule hiding it; retrying cannot help.
          if (!etag) throw new CorsError("PUT", signed.url);
          checkCrc(ctx.key, n, crc64, cosCrc);
        } catch (error) {
          ctx.meter.drop(n);
          throw error;
        }
        window.invalidate(n);
        ctx.meter.accept(n, size);
        // COS holds the part: its buffer may serve a later part. (A failed part's buffer is left to
        // the GC, as the HTTP stack may not be done with it.)
        if (body instanceof Uint8Array) ctx.source.release?.(body);
        return { partNumber: n, etag, size, ...(crc64 ?? cosCrc ? { crc64: crc64 ?? cosCrc! } : {}) };
      }
    },
    {
      options: ctx.retry,
      signal,
      progressMark: () => reached,
      onResign: () => window.invalidate(n),
      onThrottle: () => ctx.queue.throttle(),
    },
  );
}

/** The whole object's CRC64 from its parts' (in order), or undefined when one is unknown. */
export function combinedCrc(parts: DonePart[]): string | undefined {
  let crc = 0n;
  for (const part of parts) {
    if (part.crc64 === undefined) return undefined;
    crc = crc64Combine(crc, BigInt(part.crc64), part.size);
  }
  return crc.toString();
}
