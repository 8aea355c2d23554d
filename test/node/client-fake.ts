// A fake of the functions' API (as `fetch`) and of COS (as an HttpStack) for the client's unit tests,
// in the manner of tus-js-client's test stack: every request is logged, `intercept` answers or breaks
// chosen requests, and `manual()` holds requests until the test takes them with `nextRequest()` and
// answers with `respondWith()`. Everything else is answered by a tiny in-memory COS.

import { Crc64, crc64Combine } from "../../client/crc64";
import { vi } from "vitest";
import type { HttpRequest, HttpResponse, HttpStack, UploadTask } from "../../client/types";

export interface FakeRequest {
  /** "api" for the functions, "cos" for presigned requests. */
  to: "api" | "cos";
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body?: Uint8Array;
  json?: any;
  signal?: AbortSignal;
  onUploadProgress?: (sent: number) => void;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | object;
}

/** A request held by manual mode: answer it, let the fake COS answer it, or fail it. */
export interface HeldRequest extends FakeRequest {
  respondWith(reply: FakeReply): void;
  passThrough(): void;
  fail(error: Error): void;
}

interface FakeUpload {
  key: string;
  size: number;
  partSize: number;
  partCount: number;
  parts: Map<number, { bytes: Uint8Array; etag: string; crc: string }>;
}

const crcOf = (b: Uint8Array) => new Crc64().update(b).toString();
let etagSeq = 0;

export class FakeCos {
  /** Every request, in the order it arrived. */
  readonly log: FakeRequest[] = [];
  readonly uploads = new Map<string, FakeUpload>();
  readonly objects = new Map<string, Uint8Array>();
  readonly aborted: string[] = [];
  /** Completed uploads' keys and sizes: a Complete sent again is answered from the object, as the functions do. */
  readonly completed = new Map<string, { key: string; size: number }>();
  /** Server clock minus real clock (ms): the Date header and URL expiry use it. */
  skew = 0;
  singleThreshold = 1024;
  partSize = 1024;
  /** Lifetime of presigned URLs in ms. */
  urlLifetime = 15 * 60_000;
  /** ms before a COS request "arrives" (and its signature time is checked). */
  latency = 0;
  /** ms each COS PUT takes (so concurrency can be observed). */
  putDelay = 0;
  /** Hide these response headers from the client (a CORS rule without ExposeHeader). */
  hidden = new Set<string>();
  /** Report a wrong CRC for this part number (0: the whole object at complete). */
  wrongCrc?: number;
  /** COS requests refused with 403 "Request has expired". */
  expiredRefused = 0;
  inFlight = 0;
  peakInFlight = 0;
  /** Answer (or break) a request before the fake does; return undefined to pass. */
  intercept?: (req: FakeRequest) => FakeReply | Error | "hang" | undefined;
  private manualMode = false;
  private held: HeldRequest[] = [];
  private waiters: ((r: HeldRequest) => void)[] = [];
  private seq = 0;

  now = () => Date.now() + this.skew;

  /** Hold every request until the test takes it with nextRequest(). */
  manual(on = true): void {
    this.manualMode = on;
  }

  nextRequest(): Promise<HeldRequest> {
    const first = this.held.shift();
    if (first) return Promise.resolve(first);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  readonly fetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const text = typeof init?.body === "string" ? init.body : undefined;
    const req = this.request("api", init?.method ?? "GET", url, (init?.headers ?? {}) as Record<string, string>, text ? new TextEncoder().encode(text) : undefined, init?.signal ?? undefined);
    req.json = text ? JSON.parse(text) : undefined;
    const reply = await this.handle(req);
    const body = reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    return new Response(reply.status === 204 ? null : body, { status: reply.status, headers: { date: new Date(this.now()).toUTCString(), "content-type": "application/json", ...reply.headers } });
  }) as typeof fetch;

  readonly stack: HttpStack = {
    send: async (r: HttpRequest): Promise<HttpResponse> => {
      const body = typeof r.body === "string" ? new TextEncoder().encode(r.body) : r.body instanceof Uint8Array ? r.body.slice() /* a copy, as a server receives one: the engine reuses part buffers */ : r.body && !("chunks" in r.body) ? new Uint8Array(await r.body.arrayBuffer()) : undefined;
      const req = this.request("cos", r.method, r.url, r.headers, body, r.signal);
      req.onUploadProgress = r.onUploadProgress;
      const reply = await this.handle(req);
      const headers = Object.fromEntries(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      return { status: reply.status, header: (name) => (this.hidden.has(name.toLowerCase()) ? null : (headers[name.toLowerCase()] ?? null)), text: typeof reply.body === "string" ? reply.body : "" };
    },
  };

  /** Requests matching `method` and a path fragment. */
  find(method: string, pathPart: string | RegExp): FakeRequest[] {
    return this.log.filter((r) => r.method === method && (typeof pathPart === "string" ? r.path.includes(pathPart) : pathPart.test(r.path)));
  }

  /** Part PUTs, as their part numbers in arrival order. */
  partPuts(): number[] {
    return this.log.filter((r) => r.to === "cos" && r.query.has("partNumber")).map((r) => Number(r.query.get("partNumber")));
  }

  /** Part numbers signed, in order (flattened over batches). */
  signedParts(): number[] {
    return this.find("POST", /\/parts$/).flatMap((r) => r.json.parts.map((p: { partNumber: number }) => p.partNumber));
  }

  private request(to: "api" | "cos", method: string, url: string, headers: Record<string, string>, body: Uint8Array | undefined, signal?: AbortSignal): FakeRequest {
    const u = new URL(url);
    const req: FakeRequest = { to, method, url, path: decodeURIComponent(u.pathname), query: u.searchParams, headers, body, signal };
    this.log.push(req);
    return req;
  }

  private async handle(req: FakeRequest): Promise<FakeReply> {
    if (this.manualMode) {
      const reply = await new Promise<FakeReply | Error | "pass">((resolve) => {
        const held: HeldRequest = { ...req, respondWith: resolve, passThrough: () => resolve("pass"), fail: resolve };
        const waiter = this.waiters.shift();
        if (waiter) waiter(held);
        else this.held.push(held);
      });
      if (reply instanceof Error) throw reply;
      if (reply !== "pass") return reply;
    }
    const intercepted = this.intercept?.(req);
    if (intercepted === "hang") {
      // A stalled connection: nothing until the client gives up on it.
      return new Promise<never>((_, reject) =>
        req.signal?.addEventListener("abort", () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }))),
      );
    }
    if (intercepted instanceof Error) throw intercepted;
    if (intercepted) return intercepted;
    if (req.to === "api") return this.api(req);
    return this.cos(req);
  }

  private api(req: FakeRequest): FakeReply {
    const m = /^\/v1\/uploads(?:\/([^/]+)(\/parts|\/complete)?)?$/.exec(req.path);
    const body = req.json;
    if (req.path === "/v1/uploads" && req.method === "POST") {
      const key = body.key ?? `users/test/${body.filename}`;
      if (body.size <= this.singleThreshold) {
        return { status: 200, body: { kind: "single", key, url: this.url(key, {}), method: "PUT", headers: { "content-type": body.contentType ?? "application/octet-stream" }, expiresAt: new Date(this.now() + this.urlLifetime).toISOString() } };
      }
      const partSize = body.partSize ?? this.partSize;
      const uploadId = `up-${++this.seq}`;
      const partCount = Math.ceil(body.size / partSize);
      this.uploads.set(uploadId, { key, size: body.size, partSize, partCount, parts: new Map() });
      return { status: 200, body: { kind: "multipart", key, uploadId, partSize, partCount, token: `token-${uploadId}`, expiresAt: new Date(this.now() + 86400_000).toISOString() } };
    }
    if (req.path === "/v1/uploads" && req.method === "GET") {
      return { status: 200, body: { uploads: [...this.uploads].map(([uploadId, u]) => ({ key: u.key, uploadId, initiated: "2026-01-01T00:00:00.000Z" })) } };
    }
    if (req.path === "/v1/objects/confirm") {
      const bytes = this.objects.get(body.key);
      if (!bytes) return { status: 404, body: { error: { code: "ObjectNotFound", message: "no object", requestId: "req-confirm" } } };
      return { status: 200, body: this.objectResult(body.key, bytes) };
    }
    if (req.path === "/v1/objects/download") return { status: 200, body: { key: body.key, url: this.url(body.key, {}), method: "GET", headers: {}, expiresAt: "" } };
    if (req.path === "/v1/objects/append") return { status: 200, body: { key: body.key, url: this.url(body.key, { append: "", position: String(body.position) }), method: "POST", headers: { "content-type": "application/octet-stream" }, expiresAt: "" } };
    if (!m) return { status: 404, body: { error: { code: "NotFound", message: req.path, requestId: "r" } } };
    const uploadId = decodeURIComponent(m[1]);
    const upload = this.uploads.get(uploadId);
    if (!upload) {
      // A Complete sent again after its answer was lost (routes/uploads.ts): the object, if it is this upload's.
      const done = m[2] === "/complete" ? this.completed.get(uploadId) : undefined;
      const object = done && this.objects.get(done.key);
      if (done && object?.length === done.size) return { status: 200, body: this.objectResult(done.key, object) };
      return { status: 404, body: { error: { code: "UploadNotFound", message: "no such upload", requestId: "req-404" } } };
    }
    if (req.headers["upload-token"] !== `token-${uploadId}`) return { status: 403, body: { error: { code: "UploadTokenMismatch", message: "token", requestId: "r" } } };
    if (m[2] === "/parts" && req.method === "POST") {
      const expiresAt = new Date(this.now() + this.urlLifetime).toISOString();
      return {
        status: 200,
        body: {
          parts: body.parts.map(({ partNumber }: { partNumber: number }) => ({
            partNumber, size: Math.min(upload.partSize, upload.size - (partNumber - 1) * upload.partSize),
            url: this.url(upload.key, { partNumber: String(partNumber), uploadId, exp: String(this.now() + this.urlLifetime) }), headers: {}, expiresAt,
          })),
        },
      };
    }
    if (m[2] === "/parts") {
      return { status: 200, body: { parts: [...upload.parts].map(([partNumber, p]) => ({ partNumber, etag: p.etag, size: p.bytes.length, lastModified: "" })) } };
    }
    if (m[2] === "/complete") {
      const chosen: { partNumber: number; etag: string }[] = body.parts;
      const chunks = chosen.map((p) => upload.parts.get(p.partNumber)!);
      if (chunks.some((c, i) => !c || c.etag !== chosen[i].etag) || chosen.length !== upload.partCount) return { status: 409, body: { error: { code: "PartsMismatch", message: "parts", requestId: "req-409" } } };
      const whole = new Uint8Array(upload.size);
      let at = 0;
      for (const c of chunks) {
        whole.set(c.bytes, at);
        at += c.bytes.length;
      }
      this.objects.set(upload.key, whole);
      this.uploads.delete(uploadId);
      this.completed.set(uploadId, { key: upload.key, size: upload.size });
      // COS combines the part CRCs (cos-protocol.md §4).
      const crc = chunks.reduce((acc, c) => crc64Combine(acc, BigInt(c.crc), c.bytes.length), 0n).toString();
      return { status: 200, body: { ...this.objectResult(upload.key, whole), crc64: this.wrongCrc === 0 ? "12345" : crc } };
    }
    if (req.method === "DELETE") {
      this.uploads.delete(uploadId);
      this.aborted.push(uploadId);
      return { status: 204 };
    }
    return { status: 405, body: { error: { code: "MethodNotAllowed", message: req.method, requestId: "r" } } };
  }

  private async cos(req: FakeRequest): Promise<FakeReply> {
    // The request reaches COS `latency` ms after it was sent: its signature time is judged then
    // (computed, not waited for, so a busy event loop does not move the verdict).
    const exp = req.query.get("exp");
    const arrival = this.now() + this.latency;
    if (this.latency) await new Promise((r) => setTimeout(r, this.latency));
    if (exp && Number(exp) < arrival) {
      this.expiredRefused++;
      return { status: 403, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestId>req-expired</RequestId></Error>" };
    }
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      const bytes = req.body ?? new Uint8Array(0);
      if (this.putDelay) {
        req.onUploadProgress?.(Math.floor(bytes.length / 2));
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, this.putDelay);
          req.signal?.addEventListener("abort", () => {
            clearTimeout(t);
            const e = new Error("aborted");
            e.name = "AbortError";
            reject(e);
          });
        });
      }
      if (req.signal?.aborted) {
        const e = new Error("aborted");
        e.name = "AbortError";
        throw e;
      }
      req.onUploadProgress?.(bytes.length);
      const etag = `"etag-${++etagSeq}"`;
      const crc = crcOf(bytes);
      const partNumber = req.query.get("partNumber");
      if (partNumber) {
        const upload = this.uploads.get(req.query.get("uploadId")!);
        if (!upload) return { status: 404, body: "<Error><Code>NoSuchUpload</Code></Error>" };
        upload.parts.set(Number(partNumber), { bytes, etag, crc });
        return { status: 200, headers: { etag, "x-cos-hash-crc64ecma": this.wrongCrc === Number(partNumber) ? "999" : crc, "x-cos-request-id": `req-part-${partNumber}` } };
      }
      const key = req.path.slice(1);
      if (req.query.has("append")) {
        const before = this.objects.get(key) ?? new Uint8Array(0);
        if (Number(req.query.get("position")) !== before.length) return { status: 409, body: "<Error><Code>PositionNotEqualToLength</Code></Error>" };
        const after = new Uint8Array(before.length + bytes.length);
        after.set(before);
        after.set(bytes, before.length);
        this.objects.set(key, after);
        return { status: 200, headers: { etag, "x-cos-hash-crc64ecma": crcOf(after), "x-cos-next-append-position": String(after.length) } };
      }
      this.objects.set(key, bytes);
      return { status: 200, headers: { etag, "x-cos-hash-crc64ecma": crc } };
    } finally {
      this.inFlight--;
    }
  }

  private url(key: string, query: Record<string, string>): string {
    const q = new URLSearchParams({ ...query, "q-signature": "secret-signature" });
    return `https://bucket.cos.test/${encodeURIComponent(key).replace(/%2F/g, "/")}?${q}`;
  }

  private objectResult(key: string, bytes: Uint8Array) {
    return { key, etag: `"obj-${bytes.length}"`, size: bytes.length, location: `https://bucket.cos.test/${key}`, crc64: crcOf(bytes), contentType: "application/octet-stream" };
  }
}

import { until } from "../shared/until";

export { until };

/**
 * Starts an upload (`start`, with COS slowed a little), lets `parts` parts reach COS, then abandons
 * it paused, as a crash or a reload would; resolves with its uploadId once its checkpoint is written.
 */
export async function abandonAfter(cos: FakeCos, start: () => UploadTask, parts: number): Promise<string> {
  cos.putDelay = 20;
  const task = start();
  await until(() => (cos.uploads.get(task.uploadId ?? "")?.parts.size ?? 0) >= parts, `${parts} parts in COS`);
  task.pause();
  cos.putDelay = 0;
  await new Promise((r) => setTimeout(r, 20)); // the checkpoint write settles
  return task.uploadId!;
}

/**
 * An exclusive Web Lock manager, as browsers have (stubbed as navigator.locks): a name this tab
 * takes is held until its callback's promise settles; names in `elsewhere` are another tab's.
 */
export function fakeLocks() {
  const held = new Set<string>();
  const elsewhere = new Set<string>();
  vi.stubGlobal("navigator", {
    locks: {
      request: async (name: string, _options: unknown, callback: (lock: unknown) => Promise<void>) => {
        if (held.has(name) || elsewhere.has(name)) return callback(null);
        held.add(name);
        try {
          await callback({ name });
        } finally {
          held.delete(name);
        }
      },
    },
  });
  return { held, elsewhere };
}
