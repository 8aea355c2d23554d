// The client's typed errors, ky style (STYLE.md): `name` is a const, type guards compare `name`
// (so they work across bundles), and every message names the request, the status and what to do.

import type { HttpRequest, HttpResponse } from "./types";

/** The URL without its query string: presigned queries carry signatures and are long. */
export function withoutQuery(url: string): string {
  const i = url.search(/[?#]/);
  return i === -1 ? url : url.slice(0, i);
}

function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? m[1] : undefined;
}

/**
 * Retry-After (seconds or an HTTP date) as a wait in ms; undefined when absent or unreadable. An
 * HTTP date is the server's clock: it is measured against the answer's own `Date` when there is
 * one (RFC 9110 §10.2.3), so a device clock minutes off does not stretch or cancel the wait; only
 * without `Date` (a browser reads it from COS only when CORS exposes it) is the device clock used.
 */
export function retryAfterMs(value: string | null, date: string | null = null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  const serverNow = date ? Date.parse(date) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - (Number.isNaN(serverNow) ? now : serverNow));
}

/** A COS request answered with a non-2xx status (COS XML error body when there is one). */
export class HttpError extends Error {
  override readonly name = "HttpError" as const;
  constructor(
    readonly method: string,
    /** Without the query string. */
    readonly url: string,
    readonly status: number,
    /** COS error code (AccessDenied, SlowDown...) when the body had one. */
    readonly code: string | undefined,
    /** COS's x-cos-request-id, for Tencent support. */
    readonly requestId: string | undefined,
    /** COS's own message (e.g. "Request has expired"). */
    readonly cosMessage: string | undefined,
    /** From Retry-After, in ms. */
    readonly retryAfter?: number,
  ) {
    super(
      `${method} ${url} failed with ${status}${code ? ` ${code}` : ""}${cosMessage ? ` (${cosMessage})` : ""}` +
        `${requestId ? `, COS request id ${requestId}` : ""}`,
    );
  }

  static from(request: Pick<HttpRequest, "method" | "url">, response: HttpResponse): HttpError {
    const text = response.text ?? "";
    return new HttpError(
      request.method,
      withoutQuery(request.url),
      response.status,
      xmlField(text, "Code"),
      response.header("x-cos-request-id") ?? xmlField(text, "RequestId"),
      xmlField(text, "Message"),
      retryAfterMs(response.header("retry-after"), response.header("date")),
    );
  }
}

/** The request never got a response: connection refused or reset, DNS, offline, or CORS preflight. */
export class NetworkError extends Error {
  override readonly name = "NetworkError" as const;
  /** Without the query string (a presigned URL's signature stays out of errors and logs). */
  readonly url: string;
  constructor(
    readonly method: string,
    url: string,
    override readonly cause?: unknown,
  ) {
    super(`${method} ${(url = withoutQuery(url))} got no response (network error${cause instanceof Error && cause.message ? `: ${cause.message}` : ""}); check the connection and, in browsers, the CORS rules`);
    this.url = url;
  }
}

/** The functions answered `{ error: { code, message, requestId } }` with a non-2xx status. */
export class ApiError extends Error {
  override readonly name = "ApiError" as const;
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    readonly requestId: string | undefined,
    readonly details?: Record<string, unknown>,
    readonly retryAfter?: number,
  ) {
    super(`${method} ${withoutQuery(url)} failed with ${status} ${code}: ${apiMessage}${requestId ? ` (request id ${requestId})` : ""}`);
  }
}

/** The task was cancelled (`task.cancel()`, `cancelAll()`): `done` rejects with this. */
export class CancelledError extends Error {
  override readonly name = "CancelledError" as const;
  constructor(readonly key?: string) {
    super(`the upload${key ? ` of ${key}` : ""} was cancelled`);
  }
}

/** COS's CRC64 of a part (or of the whole object) differs from the one computed while reading it. */
export class IntegrityError extends Error {
  override readonly name = "IntegrityError" as const;
  constructor(
    readonly key: string,
    /** The part, or undefined for the whole object. */
    readonly partNumber: number | undefined,
    /** Computed locally from the bytes read. */
    readonly expected: string,
    /** What COS reported (x-cos-hash-crc64ecma). */
    readonly got: string,
  ) {
    super(
      `CRC64 mismatch for ${partNumber === undefined ? "the object" : `part ${partNumber} of`} ${key}: computed ${expected} from the bytes read, COS reports ${got}; ` +
        `the data changed on the way or the file changed while uploading — upload it again`,
    );
  }
}

/** A 2xx response whose ETag the browser hides: the bucket's CORS rule does not expose it. */
export class CorsError extends Error {
  override readonly name = "CorsError" as const;
  /** Without the query string. */
  readonly url: string;
  constructor(
    readonly method: string,
    url: string,
  ) {
    super(`${method} ${(url = withoutQuery(url))} succeeded but its ETag header is not readable: add ETag (and x-cos-hash-crc64ecma, Date) to ExposeHeader in the bucket's CORS rule`);
    this.url = url;
  }
}

/**
 * The upload's own file could not be read: moved, deleted, truncated or changed since it was picked
 * (browsers refuse to read a File that changed). Not retried: resuming needs the file again.
 */
export class SourceError extends Error {
  override readonly name = "SourceError" as const;
  constructor(
    /** The file's name, or the object key when the body has no name. */
    readonly source: string,
    override readonly cause?: unknown,
  ) {
    const refused = (cause as Error | undefined)?.name === "NotAllowedError"; // a file handle's read permission
    const why = refused ? "the person has to allow reading it again (or pick it again)" : "it was moved, deleted or changed while uploading; pick it again to resume";
    super(`could not read ${source}${cause instanceof Error && cause.message ? ` (${cause.message})` : ""}: ${why}`);
  }
}

/** Anything `done` can reject with besides CancelledError. */
export type UploadError = HttpError | NetworkError | ApiError | IntegrityError | CorsError | SourceError;

const is =
  <T extends Error>(name: string) =>
  (error: unknown): error is T =>
    error instanceof Error && error.name === name;

export const isHttpError = is<HttpError>("HttpError");
export const isNetworkError = is<NetworkError>("NetworkError");
export const isApiError = is<ApiError>("ApiError");
export const isCancelledError = is<CancelledError>("CancelledError");
export const isIntegrityError = is<IntegrityError>("IntegrityError");
export const isCorsError = is<CorsError>("CorsError");
export const isSourceError = is<SourceError>("SourceError");

/**
 * Calls the app's callback. What it throws is reported as an uncaught error would be (thrown again
 * from a timer, RxJS style: the console in browsers, `uncaughtException` in Node) and never reaches
 * the engine, whose state and `done` stay consistent.
 */
export function callOut<A extends unknown[]>(callback: ((...args: A) => unknown) | undefined, ...args: A): void {
  try {
    callback?.(...args);
  } catch (error) {
    setTimeout(() => {
      throw error;
    });
  }
}

/** An AbortError (pause/cancel aborted the request or the wait). */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

export function abortError(): Error {
  const error = new Error("aborted");
  error.name = "AbortError";
  return error;
}
