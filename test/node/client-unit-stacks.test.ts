// Platform seams: the Node stack (node:http) writes a byte body in chunks (progress from the bytes the
// socket took, exact content-length, abort, headers, text), the fetch stack streams a byte body (progress counted as it is pulled, exact
// content-length, abort), the XHR stack reports upload progress and returns null for CORS-hidden
// headers (with a stand-in XMLHttpRequest), Web Storage as a Store, and sources from every body kind.

import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchStack, memoryStore, nodeHttpStack, webStorageStore, xhrStack } from "../../client/node";
import { knownSize, toFileSource } from "../../client/sources";
import type { HttpResponse, HttpStack } from "../../client/types";
import { bytes } from "../shared/bytes";

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
  vi.unstubAllGlobals();
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  return new Promise((resolve) => server!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server!.address() as { port: number }).port}`)));
}

/** PUTs 1 MiB + 7 bytes through `stack` to a local server; checks the request and the progress reports. */
async function putStreamed(stack: HttpStack, minReports: number): Promise<HttpResponse> {
  let received = 0;
  let headers: Record<string, unknown> = {};
  const url = await listen((req, res) => {
    headers = req.headers;
    req.on("data", (c: Buffer) => (received += c.length));
    req.on("end", () => res.writeHead(200, { etag: '"e1"', "x-cos-hash-crc64ecma": "42" }).end("ok ✓"));
  });
  const body = bytes(1024 * 1024 + 7, 70);
  const sent: number[] = [];
  const response = await stack.send({ method: "PUT", url: `${url}/k?x=1`, headers: { "content-type": "application/octet-stream" }, body, onUploadProgress: (n) => sent.push(n) });
  expect(response.status).toBe(200);
  expect(response.header("ETag")).toBe('"e1"');
  expect(response.header("x-missing")).toBeNull();
  expect(headers["content-length"]).toBe(String(body.length));
  expect(headers["content-type"]).toBe("application/octet-stream");
  expect(headers["transfer-encoding"]).toBeUndefined();
  expect(received).toBe(body.length);
  expect(sent.length).toBeGreaterThan(minReports);
  expect(sent.at(-1)).toBe(body.length);
  for (let i = 1; i < sent.length; i++) expect(sent[i]).toBeGreaterThan(sent[i - 1]);
  return response;
}

/** A PUT to a server that never answers, aborted 20 ms in, rejects with an AbortError. */
async function abortsMidway(stack: HttpStack): Promise<void> {
  const url = await listen(() => undefined); // never answers
  const controller = new AbortController();
  const pending = stack.send({ method: "PUT", url, headers: {}, body: bytes(1000, 71), signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  await expect(stack.send({ method: "PUT", url, headers: {}, signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
}

/** A server that answers 503 before reading the body: what `stack` reports sent for a body of `size`. */
async function earlyError(stack: HttpStack, size: number): Promise<{ status: number; sent: number[] }> {
  const url = await listen((_req, res) => {
    res.writeHead(503, { connection: "close" }).end("<Error><Code>SlowDown</Code></Error>");
  });
  const sent: number[] = [];
  const response = await stack.send({ method: "PUT", url, headers: {}, body: bytes(size, 72), onUploadProgress: (n) => sent.push(n) }).catch(() => undefined);
  return { status: response?.status ?? 0, sent };
}

describe("fetchStack (Node)", () => {
  it("streams the body with its exact content-length and reports progress as the bytes are pulled", async () => {
    await putStreamed(fetchStack({ stream: true }), 10);
  });

  it("aborts with an AbortError", async () => {
    await abortsMidway(fetchStack());
  });

  it("without streaming, reports the body sent only on a 2xx (an early 503 reports nothing)", async () => {
    const { status, sent } = await earlyError(fetchStack({ stream: false }), 1000);
    expect(status).toBe(503);
    expect(sent).toEqual([]);
  });
});

describe("nodeHttpStack", () => {
  it("writes the body with its exact content-length, reports progress as the socket takes it, reads headers and text", async () => {
    const response = await putStreamed(nodeHttpStack(), 3);
    expect(response.header("x-cos-hash-crc64ecma")).toBe("42");
    expect(response.text).toBe("ok ✓");
  });

  it("sends string bodies and no body", async () => {
    const got: string[] = [];
    const url = await listen((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => {
        got.push(`${req.method} ${req.headers["content-length"] ?? "-"} ${text}`);
        res.writeHead(204).end();
      });
    });
    expect((await nodeHttpStack().send({ method: "POST", url, headers: {}, body: "héllo" })).status).toBe(204);
    expect((await nodeHttpStack().send({ method: "DELETE", url, headers: {} })).status).toBe(204);
    expect(got).toEqual(["POST 6 héllo", "DELETE - "]);
  });

  it("aborts with an AbortError, before and during the request", async () => {
    await abortsMidway(nodeHttpStack());
  });

  it("an error answered before the body was read reports only the bytes the socket took, not the whole body", async () => {
    const size = 64 * 1024 * 1024;
    const { status, sent } = await earlyError(nodeHttpStack(), size);
    expect(status).toBe(503);
    expect(sent.at(-1) ?? 0).toBeLessThan(size);
  });

  it("a refused connection rejects with the socket's error", async () => {
    await expect(nodeHttpStack().send({ method: "GET", url: "http://127.0.0.1:9/", headers: {} })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("xhrStack", () => {
  const opened: string[] = [];
  const bodies: unknown[] = [];
  class FakeXhr {
    upload: { onprogress?: (e: { loaded: number }) => void } = {};
    status = 0;
    responseText = "";
    onload?: () => void;
    onerror?: () => void;
    onabort?: () => void;
    ontimeout?: () => void;
    headers: Record<string, string> = {};
    open(method: string, url: string) {
      opened.push(`${method} ${url}`);
    }
    setRequestHeader(name: string, value: string) {
      this.headers[name] = value;
    }
    getResponseHeader(name: string) {
      return name.toLowerCase() === "x-cos-request-id" ? "req-1" : null; // ETag not exposed
    }
    abort() {
      this.onabort?.();
    }
    send(body: Blob | Uint8Array) {
      bodies.push(body);
      const size = body instanceof Blob ? body.size : body.length;
      this.upload.onprogress?.({ loaded: size / 2 });
      this.upload.onprogress?.({ loaded: size });
      this.status = 200;
      this.onload?.();
    }
  }

  it("sends through XMLHttpRequest with upload progress; headers CORS hides read as null", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const sent: number[] = [];
    const response = await xhrStack().send({ method: "PUT", url: "https://b.test/k", headers: { "content-length": "4", "content-md5": "x" }, body: new Uint8Array(4), onUploadProgress: (n) => sent.push(n) });
    expect(opened).toEqual(["PUT https://b.test/k"]);
    expect(sent).toEqual([2, 4]);
    expect(response.header("etag")).toBeNull();
    expect(response.header("x-cos-request-id")).toBe("req-1");
  });

  it("sends bytes as a Blob of the same bytes (Chromium sends those ~7× faster), and as they are where a Blob cannot hold bytes (React Native)", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const body = bytes(3000, 72).subarray(1000, 2500);
    bodies.length = 0;
    await xhrStack().send({ method: "PUT", url: "https://b.test/k", headers: {}, body });
    expect(bodies[0]).toBeInstanceOf(Blob);
    expect(new Uint8Array(await (bodies[0] as Blob).arrayBuffer())).toEqual(body);
    await xhrStack().send({ method: "PUT", url: "https://b.test/k", headers: {}, body: "text" });
    expect(bodies[1]).toBe("text");
    vi.stubGlobal(
      "Blob",
      class {
        constructor() {
          throw new Error("Creating blobs from 'ArrayBuffer' and 'ArrayBufferView' are not supported");
        }
      },
    );
    await xhrStack().send({ method: "PUT", url: "https://b.test/k", headers: {}, body });
    expect(bodies[2]).toBe(body);
  });
});

describe("stores and sources", () => {
  it("webStorageStore lists keys by prefix over any Web Storage", async () => {
    const map = new Map<string, string>();
    const storage = {
      get length() { return map.size; },
      key: (i: number) => [...map.keys()][i] ?? null,
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
      clear: () => map.clear(),
    } as Storage;
    const store = webStorageStore(storage);
    await store.set("cos-direct:upload:a", "1");
    await store.set("other", "2");
    expect(await store.keys("cos-direct:")).toEqual(["cos-direct:upload:a"]);
    await store.remove("cos-direct:upload:a");
    expect(await store.get("cos-direct:upload:a")).toBeNull();
    const memory = memoryStore();
    await memory.set("k", "v");
    expect(await memory.get("k")).toBe("v");
  });

  it("knows a string body's UTF-8 size without encoding it, as TextEncoder counts it", () => {
    for (const text of ["", "ascii", "é", "语言", "😀 pair", "lone \ud800 high", "lone \udc00 low", "end \ud83d", "\u07ff\u0800\uffff"]) {
      expect(knownSize(text), JSON.stringify(text)).toBe(new TextEncoder().encode(text).length);
    }
  });

  it("turns every body kind into a FileSource read by range", async () => {
    const data = bytes(100, 72);
    const file = new File([data], "photo.jpg", { type: "image/jpeg", lastModified: 1234 });
    const fromFile = await toFileSource(file);
    expect(fromFile).toMatchObject({ size: 100, name: "photo.jpg", type: "image/jpeg", lastModified: 1234 });
    expect(new Uint8Array(await (await fromFile.slice(10, 20) as Blob).arrayBuffer())).toEqual(data.subarray(10, 20));
    expect(await (await toFileSource(data.buffer)).slice(5, 8)).toEqual(data.subarray(5, 8));
    expect(await (await toFileSource(data)).slice(0, 3)).toEqual(data.subarray(0, 3));
    expect(new TextDecoder().decode((await (await toFileSource("héllo")).slice(0, 6)) as Uint8Array)).toBe("héllo");
    const custom = { size: 3, slice: async () => new Uint8Array(3) };
    expect(await toFileSource(custom)).toBe(custom);
    await expect(toFileSource({ path: "/x" })).rejects.toThrow(/Node entry/);
  });
});
