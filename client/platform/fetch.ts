// HttpStack over fetch (Node, and any runtime with fetch). In Node a byte body is sent as a
// ReadableStream pulled in 64 KiB chunks (`duplex: "half"`), so upload progress is counted as the
// socket takes the bytes; content-length is set explicitly (COS signs it), so nothing is chunked.

import { abortError } from "../errors";
import type { HttpRequest, HttpResponse, HttpStack } from "../types";

const CHUNK = 64 * 1024;

/** A body stream that reports the bytes pulled from it. */
export function progressStream(bytes: Uint8Array, onProgress: (sent: number) => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        const end = Math.min(offset + CHUNK, bytes.length);
        controller.enqueue(bytes.subarray(offset, end));
        offset = end;
        onProgress(offset);
      },
    },
    { highWaterMark: 0 },
  );
}

export function fetchStack(options: { fetch?: typeof fetch; stream?: boolean } = {}): HttpStack {
  const f = options.fetch ?? globalThis.fetch;
  const stream = options.stream ?? (typeof process !== "undefined" && !!process.versions?.node);
  return {
    reportsProgress: (body) => stream && body instanceof Uint8Array && body.length > 0,
    async send(request: HttpRequest): Promise<HttpResponse> {
      if (request.signal?.aborted) throw abortError();
      const { body, onUploadProgress } = request;
      const headers: Record<string, string> = { ...request.headers };
      let payload: BodyInit | undefined = body as BodyInit | undefined;
      if (body instanceof Uint8Array && body.length > 0 && stream && onUploadProgress) {
        headers["content-length"] = String(body.length);
        payload = progressStream(body, onUploadProgress);
      }
      const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, body: payload, signal: request.signal };
      if (payload instanceof ReadableStream) init.duplex = "half";
      let response: Response;
      try {
        response = await f.call(globalThis, request.url, init);
      } catch (error) {
        if (request.signal?.aborted) throw abortError();
        throw error;
      }
      const text = await response.text();
      // Without a stream nothing was counted on the way: a 2xx says the whole body arrived; an error
      // answer (an expired URL, 503) may have come before COS read it, so it reports nothing.
      if (onUploadProgress && response.ok && body !== undefined && !(payload instanceof ReadableStream)) {
        onUploadProgress(typeof body === "string" ? new TextEncoder().encode(body).length : body instanceof Uint8Array ? body.length : body.size);
      }
      return { status: response.status, header: (name) => response.headers.get(name), text };
    },
  };
}
