// Calls to the functions' HTTP API (README "The API"; OpenAPI at GET /v1/openapi.json). Bearer token
// from getToken before each call, the upload token in `Upload-Token`, the injected fetch, ApiError on
// any non-2xx. Each response's `Date` header keeps the server's clock, so the client decides when a
// presigned URL is about to expire by the clock that signed it, not by a skewed device clock.

import type * as z from "zod";
import type {
  AppendRequest,
  CreateUploadRequest,
  CreateUploadResponse,
  DiagnosticsReport,
  ListPartsResponse,
  ObjectResult,
  PresignedRequest,
  SignPartsResponse,
  UnfinishedUploads,
} from "../functions/routes/schemas";
import { ApiError, NetworkError, retryAfterMs } from "./errors";
import { isOffline, stallGuard } from "./retry";
import type { UploaderOptions } from "./types";

export type CreateUploadBody = z.input<typeof CreateUploadRequest>;
export type UploadPlan = z.infer<typeof CreateUploadResponse>;
export type MultipartPlan = Extract<UploadPlan, { kind: "multipart" }>;
export type SignedPart = z.infer<typeof SignPartsResponse>["parts"][number];
export type ListedPart = z.infer<typeof ListPartsResponse>["parts"][number];
export type ObjectInfo = z.infer<typeof ObjectResult>;
export type Presigned = z.infer<typeof PresignedRequest>;
export type UnfinishedList = z.infer<typeof UnfinishedUploads>["uploads"];
export type Diagnostics = z.infer<typeof DiagnosticsReport>;

/** What identifies one multipart upload to the functions. */
export interface UploadRef {
  uploadId: string;
  token: string;
}

/** The path of one multipart upload's resource, or of `sub` under it. */
const uploadPath = (ref: UploadRef, sub = "") => `/v1/uploads/${encodeURIComponent(ref.uploadId)}${sub}`;

export class Api {
  /** Server clock minus device clock, in ms: the latest it can be given the `Date` headers seen. */
  skew = 0;
  private skewLow = -Infinity;
  private skewHigh = Infinity;
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: Pick<UploaderOptions, "endpoint" | "getToken" | "headers" | "fetch" | "stallTimeout">) {
    this.base = options.endpoint.replace(/\/+$/, "");
    const f = options.fetch ?? globalThis.fetch;
    // Unbound window.fetch throws "Illegal invocation" in browsers.
    this.fetch = (input, init) => f.call(globalThis, input, init);
  }

  /** The server's idea of now, in ms. */
  serverNow(): number {
    return Date.now() + this.skew;
  }

  createUpload(body: CreateUploadBody, signal?: AbortSignal): Promise<UploadPlan> {
    return this.call("POST", "/v1/uploads", { body, signal });
  }

  signParts(ref: UploadRef, parts: { partNumber: number; md5?: string }[], options: { trafficLimit?: number; signal?: AbortSignal } = {}): Promise<SignedPart[]> {
    const body = { parts, ...(options.trafficLimit !== undefined ? { trafficLimit: options.trafficLimit } : {}) };
    return this.call<{ parts: SignedPart[] }>("POST", uploadPath(ref, "/parts"), { body, token: ref.token, signal: options.signal }).then((r) => r.parts);
  }

  listParts(ref: UploadRef, signal?: AbortSignal): Promise<ListedPart[]> {
    return this.call<{ parts: ListedPart[] }>("GET", uploadPath(ref, "/parts"), { token: ref.token, signal }).then((r) => r.parts);
  }

  complete(ref: UploadRef, parts: { partNumber: number; etag: string }[], signal?: AbortSignal): Promise<ObjectInfo> {
    return this.call("POST", uploadPath(ref, "/complete"), { body: { parts }, token: ref.token, signal });
  }

  abort(ref: UploadRef, signal?: AbortSignal): Promise<void> {
    return this.call("DELETE", uploadPath(ref), { token: ref.token, signal });
  }

  listUploads(signal?: AbortSignal): Promise<UnfinishedList> {
    return this.call<{ uploads: UnfinishedList }>("GET", "/v1/uploads", { signal }).then((r) => r.uploads);
  }

  append(body: z.input<typeof AppendRequest>, signal?: AbortSignal): Promise<Presigned> {
    return this.call("POST", "/v1/objects/append", { body, signal });
  }

  download(body: { key: string; filename?: string; expires?: number; trafficLimit?: number }, signal?: AbortSignal): Promise<Presigned> {
    return this.call("POST", "/v1/objects/download", { body, signal });
  }

  confirm(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    return this.call("POST", "/v1/objects/confirm", { body: { key }, signal });
  }

  diagnostics(origin: string | undefined, signal?: AbortSignal): Promise<Diagnostics> {
    return this.call("GET", `/v1/diagnostics${origin ? `?origin=${encodeURIComponent(origin)}` : ""}`, { signal });
  }

  /**
   * `Date` is whole seconds, written between our send and our receipt, so the server's clock was
   * in [date - receivedAt, date + 1000 - sentAt] ahead of ours. The bounds tighten with every call;
   * `skew` takes the upper one, so a URL is judged to expire early rather than late. Bounds that
   * stop overlapping mean a clock was changed: start again from this answer.
   */
  observeDate(date: number, sentAt: number, receivedAt: number): void {
    const low = date - receivedAt;
    const high = date + 1000 - sentAt;
    if (low > this.skewHigh || high < this.skewLow) {
      this.skewLow = low;
      this.skewHigh = high;
    } else {
      this.skewLow = Math.max(this.skewLow, low);
      this.skewHigh = Math.min(this.skewHigh, high);
    }
    this.skew = this.skewHigh;
  }

  private async call<T>(method: string, path: string, options: { body?: unknown; token?: string; signal?: AbortSignal }): Promise<T> {
    const url = this.base + path;
    const headers: Record<string, string> = { accept: "application/json", ...this.options.headers };
    // A getToken that needs the network fails like a request while the browser is offline, so a
    // task waits for the network instead of failing.
    const bearer = await Promise.resolve()
      .then(() => this.options.getToken?.())
      .catch((error: unknown) => {
        throw isOffline() ? new NetworkError(method, url, new Error(`getToken failed while offline: ${error instanceof Error ? error.message : String(error)}`, { cause: error })) : error;
      });
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (options.token) headers["upload-token"] = options.token;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    let text: string;
    const sentAt = Date.now();
    const timeout = this.options.stallTimeout ?? 60_000;
    const guard = stallGuard(timeout, options.signal);
    try {
      response = await this.fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: guard.signal });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new NetworkError(method, url, guard.stalled ? new Error(`no answer in ${timeout} ms`) : error);
    } finally {
      guard.done();
    }
    const date = Date.parse(response.headers.get("date") ?? "");
    if (!Number.isNaN(date)) this.observeDate(date, sentAt, Date.now());
    if (!response.ok) {
      let error: { code?: string; message?: string; requestId?: string; details?: Record<string, unknown> } = {};
      try {
        error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
      } catch {
        error = { message: text.slice(0, 200) || response.statusText };
      }
      throw new ApiError(method, url, response.status, error.code ?? `HTTP${response.status}`, error.message ?? "", error.requestId, error.details, retryAfterMs(response.headers.get("retry-after"), response.headers.get("date")));
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
