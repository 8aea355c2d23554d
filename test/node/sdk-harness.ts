// Shared setup for the tests where the official cos-nodejs-sdk-v5 judges cos-local (issue 2 §4).
//
// How the SDK reaches cos-local: cos-nodejs-sdk-v5 3.x throws on `ForcePathStyle`, so it can only
// speak virtual-host style. `Domain` makes it build and sign `http://<bucket>.cos.<region>.cos-local.test/<key>`
// (a name that never resolves), and its `Ip` option rewrites only the connection target to
// 127.0.0.1:<port> while sending the original name in `Host` (`_submitRequest` in sdk/base.js).
// cos-local sees a virtual-host request, exactly as COS would, with signature checking on.

import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import COS from "cos-nodejs-sdk-v5";
import { afterAll, beforeAll } from "vitest";
import { type CosLocal, type CosLocalOptions, startCosLocal } from "../../emulator/server";

export const SECRET_ID = "AKIDcosLocalSdkOracle0000000000000000";
export const SECRET_KEY = "cosLocalSdkOracleSecretKey000000";
export const BUCKET = "sdkoracle-1250000000";
export const REGION = "ap-guangzhou";
/** The virtual-host name the SDK builds URLs for and signs as `host`. */
export const DOMAIN = "{Bucket}.cos.{Region}.cos-local.test";
export const HOST = `${BUCKET}.cos.${REGION}.cos-local.test`;
export const MB = 1024 * 1024;

/** Bucket and Region, spread into every SDK call. */
export const loc = { Bucket: BUCKET, Region: REGION } as const;

export interface SdkHarness {
  /** The running cos-local, for its fault and counter controls. */
  server: CosLocal;
  port: number;
  /** Scratch directory for files the tests upload from. */
  files: string;
  /** A COS client aimed at this cos-local; `options` override the defaults (e.g. a wrong SecretKey). */
  cos(options?: Partial<COS.COSOptions>): COS;
  close(): Promise<void>;
}

/** Starts cos-local (signature checking on) with the oracle credentials; `options` add to them. */
export async function startHarness(options: Partial<CosLocalOptions> = {}): Promise<SdkHarness> {
  const root = await mkdtemp(join(tmpdir(), "cos-local-sdk-"));
  const dataDir = join(root, "data");
  const files = join(root, "files");
  await mkdir(dataDir);
  await mkdir(files);
  const server = await startCosLocal({
    port: 0,
    dataDir,
    secretId: SECRET_ID,
    secretKey: SECRET_KEY,
    bucket: BUCKET,
    region: REGION,
    ...options,
  });
  return {
    server,
    port: server.port,
    files,
    cos: (options = {}) =>
      new COS({
        SecretId: SECRET_ID,
        SecretKey: SECRET_KEY,
        Protocol: "http:",
        Domain: DOMAIN,
        Ip: `127.0.0.1:${server.port}`,
        // The SDK caches UploadIds in a JSON file; keep it out of $HOME.
        ConfCwd: join(root, "sdk-conf"),
        ...options,
      }),
    async close() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Starts cos-local before a test file's tests and closes it after them; `ready` receives the harness. */
export function useHarness(ready: (h: SdkHarness) => void, options: Partial<CosLocalOptions> = {}): void {
  let harness: SdkHarness | undefined;
  beforeAll(async () => {
    harness = await startHarness(options);
    ready(harness);
  });
  afterAll(() => harness?.close());
}

/** The object's bytes, read back through the SDK's getObject. */
export async function readBack(cos: COS, Key: string): Promise<Buffer> {
  const got = await cos.getObject({ ...loc, Key });
  return got.Body as Buffer;
}

/** What the SDK rejects with (`util.error` in sdk/util.js): HTTP status, COS code, parsed error body. */
export interface SdkError {
  statusCode?: number;
  code?: string;
  message?: string;
  headers?: Record<string, string>;
  error?: {
    Code?: string;
    Message?: string;
    Resource?: string;
    RequestId?: string;
    StringToSign?: string;
    FormatString?: string;
  };
}

/** Awaits a call that must fail and returns the SDK's error; fails the test if the call succeeds. */
export async function rejection(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error("expected the request to fail, but it succeeded");
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request to cos-local with full control of Host and the request target (node:http, not fetch). */
export function rawRequest(
  port: number,
  init: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: init.method, path: init.path, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** S3's multipart ETag, which cos-local follows (§3.4): md5 of the binary part md5s, then `-N`. */
export function multipartEtag(parts: Uint8Array[]): string {
  const digests = parts.map((part) => createHash("md5").update(part).digest());
  return `"${md5Hex(Buffer.concat(digests))}-${parts.length}"`;
}

/** A presigned URL from the callback form of `getObjectUrl` (which writes q-url-param-list with `%3b`). */
export function presignedUrl(
  cos: COS,
  params: { Key: string; Query?: Record<string, string>; Expires?: number },
): Promise<string> {
  return new Promise((resolve, reject) =>
    cos.getObjectUrl({ ...loc, Sign: true, ...params }, (err, data) => (err ? reject(err) : resolve(data.Url))),
  );
}

export function pathAndQuery(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

/**
 * A TCP pass-through to cos-local that counts open connections, so a test can see how many
 * requests a client really had in flight at once.
 */
export async function connectionTap(targetPort: number): Promise<{ port: number; peak(): number; close(): Promise<void> }> {
  let open = 0;
  let peak = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => sockets.delete(s));
    }
    peak = Math.max(peak, ++open);
    client.on("close", () => {
      open--;
      upstream.destroy();
    });
    upstream.on("close", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    peak: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface UploadListing {
  uploads: { Key: string; UploadId: string }[];
  commonPrefixes: string[];
}

/** multipartList, typed as the SDK really answers (its index.d.ts lacks CommonPrefixes and makes Delimiter required). */
export async function listUploads(cos: COS, Prefix: string, Delimiter?: string): Promise<UploadListing> {
  const params = { ...loc, Prefix, ...(Delimiter === undefined ? {} : { Delimiter }) } as COS.MultipartListParams;
  const result = (await cos.multipartList(params)) as COS.MultipartListResult & { CommonPrefixes?: { Prefix: string } | { Prefix: string }[] };
  return {
    uploads: result.Upload.map((u) => ({ Key: u.Key, UploadId: u.UploadId })),
    commonPrefixes: ([] as { Prefix: string }[]).concat(result.CommonPrefixes ?? []).map((p) => p.Prefix),
  };
}
