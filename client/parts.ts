// Sending bytes to COS: one part PUT (or the single PUT) with CRC64 computed while reading, upload
// progress, the retry policy, and the checks on COS's answer: ETag readable (else CorsError, at once)
// and x-cos-hash-crc64ecma equal to ours (else IntegrityError).

import type { Api } from "./api";
import type { DonePart } from "./checkpoint";
import { Crc64, crc64Combine } from "./crc64";
import { CorsError, HttpError, IntegrityError, NetworkError, abortError, isAbortError } from "./errors";
import type { ProgressMeter } from "./progress";
import { Priority, type Queue } from "./queue";
import { stallGuard, withRetry } from "./retry";
import { readBytes } from "./sources";
import type { FileSource, HttpResponse, HttpStack, RetryOptions } from "./types";
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

/** Reads bytes [start, end) and their CRC64 (decimal, as COS writes it) when integrity is on. */
export async function readRange(ctx: PartsContext, start: number, end: number): Promise<{ bytes: Uint8Array; crc64?: string }> {
  const bytes = await readBytes(await ctx.source.slice(start, end));
  if (bytes.length !== end - start) throw new Error(`read ${bytes.length} bytes at ${start} of ${ctx.source.name ?? ctx.key}, expected ${end - start} (did the file change?)`);
  return { bytes, crc64: ctx.crc ? new Crc64().update(bytes).toString() : undefined };
}

/** One PUT of `bytes` to COS through the queue; throws HttpError/NetworkError on failure. */
export async function put(ctx: PartsContext, id: number, url: string, headers: Record<string, string>, bytes: Uint8Array, signal: AbortSignal, options: { part: boolean; stillFresh?: () => boolean; onSent?: (sent: number) => void }): Promise<HttpResponse | "stale"> {
  return ctx.queue.run(
    Priority.partBytes,
    async () => {
      if (options.stillFresh && !options.stillFresh()) return "stale" as const;
      let response: HttpResponse;
      const guard = stallGuard(ctx.stallTimeout, signal);
      try {
        response = await ctx.stack.send({
          method: "PUT",
          url,
          headers,
          body: bytes,
          signal: guard.signal,
          onUploadProgress: (sent) => {
            guard.kick();
            options.onSent?.(sent);
            ctx.meter.sending(id, Math.min(sent, bytes.length));
            ctx.onProgress();
          },
        });
      } catch (error) {
        ctx.meter.drop(id);
        if (guard.stalled && !signal.aborted) throw new NetworkError("PUT", url, new Error(`no progress for ${ctx.stallTimeout} ms`));
        if (signal.aborted || isAbortError(error)) throw abortError();
        throw new NetworkError("PUT", url, error);
      } finally {
        guard.done();
      }
      if (response.status < 200 || response.status >= 300) {
        ctx.meter.drop(id);
        throw HttpError.from({ method: "PUT", url }, response);
      }
      return response;
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
  const { bytes, crc64 } = await readRange(ctx, range.start, range.end);
  const md5 = ctx.md5 ? await ctx.md5(bytes) : undefined;
  // The attempt counter resets when an attempt got further into the body than any before it
  // (tus: "the retry counter resets after progress"); other parts finishing do not reset it.
  let reached = 0;
  return withRetry(
    async () => {
      for (;;) {
        const signed = await window.get(n, signal, md5);
        const response = await put(ctx, n, signed.url, signed.headers, bytes, signal, {
          part: true,
          stillFresh: () => window.isFresh(signed),
          onSent: (sent) => (reached = Math.max(reached, sent)),
        });
        if (response === "stale") {
          window.invalidate(n);
          continue;
        }
        const etag = response.header("etag");
        const cosCrc = response.header("x-cos-hash-crc64ecma");
        try {
          // A 2xx without a readable ETag is the bucket's CORS rule hiding it; retrying cannot help.
          if (!etag) throw new CorsError("PUT", signed.url);
          checkCrc(ctx.key, n, crc64, cosCrc);
        } catch (error) {
          ctx.meter.drop(n);
          throw error;
        }
        ctx.queue.succeeded();
        window.invalidate(n);
        ctx.meter.accept(n, bytes.length);
        const size = bytes.length;
        // COS holds the part: its buffer may serve a later part. (A failed part's buffer is left to
        // the GC, as the HTTP stack may not be done with it.)
        ctx.source.release?.(bytes);
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
