// Shared by the cos-local tests: a cos-local on a temp dataDir, and raw HTTP requests signed with
// functions/cos/sign.ts (path style, `/<bucket>/<key>`), so each test controls every byte sent.

import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { encodeKeyPath } from "../../functions/cos/endpoint";
import { authorization, cosEncode, keyTime } from "../../functions/cos/sign";
import { parseXml, type XmlNode } from "../../functions/cos/xml";
import { startCosLocal, type CosLocal, type CosLocalOptions } from "../../emulator/server";

export const SECRET_ID = "AKIDemulatorTest000000000000000000000";
export const SECRET_KEY = "emulatorTestSecretKey00000000000";
export const BUCKET = "emu-1250000000";
export const MB = 1024 * 1024;

export interface Local {
  cos: CosLocal;
  dataDir: string;
  close(): Promise<void>;
}

export async function startLocal(options: Partial<CosLocalOptions> = {}, dataDir?: string): Promise<Local> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "cos-local-test-")));
  const cos = await startCosLocal({ port: 0, dataDir: dir, secretId: SECRET_ID, secretKey: SECRET_KEY, bucket: BUCKET, ...options });
  return {
    cos,
    dataDir: dir,
    async close() {
      await cos.close();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SendOptions {
  method: string;
  /** Object key ("" for the bucket). */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** "header" (default), "query" (presigned, `;` kept), "none" (anonymous). */
  auth?: "header" | "query" | "none";
  /** Which query parameters to sign (default all) and which headers besides host (default all given). */
  signQuery?: string[];
  signHeaders?: string[];
  keyTime?: string;
  secretId?: string;
  secretKey?: string;
  /** Rewrites the presigned query's separators, e.g. `;` → `%3B` (query auth only). */
  mapAuthQuery?: (query: string) => string;
  /** Applied to the request after signing, to tamper with it. */
  tamper?: (req: { query: Record<string, string>; headers: Record<string, string> }) => void;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** Sends one request, signed like an SDK would sign it (header form by default). */
export async function send(local: Local, options: SendOptions): Promise<Reply> {
  const key = options.key ?? "";
  const pathname = `/${local.cos.bucket}/${key}`;
  const query = { ...options.query };
  const host = `127.0.0.1:${local.cos.port}`;
  const headers: Record<string, string> = { ...options.headers };
  const body = typeof options.body === "string" ? Buffer.from(options.body) : options.body;
  if (Buffer.isBuffer(body) && headers["content-length"] === undefined) headers["content-length"] = String(body.length);
  const signedQuery = Object.fromEntries(Object.entries(query).filter(([n]) => !options.signQuery || options.signQuery.includes(n)));
  const signedHeaders: Record<string, string> = { host };
  for (const [name, value] of Object.entries(headers)) if (!options.signHeaders || options.signHeaders.includes(name)) signedHeaders[name] = value;
  let authQuery = "";
  if ((options.auth ?? "header") !== "none") {
    const auth = await authorization({
      secretId: options.secretId ?? SECRET_ID,
      secretKey: options.secretKey ?? SECRET_KEY,
      method: options.method,
      pathname,
      query: signedQuery,
      headers: signedHeaders,
      keyTime: options.keyTime ?? keyTime(Date.now()),
    });
    if (options.auth === "query") authQuery = (options.mapAuthQuery ?? ((q) => q))(auth);
    else headers.authorization = auth;
  }
  options.tamper?.({ query, headers });
  const search = [authQuery, ...Object.entries(query).map(([n, v]) => (v === "" ? cosEncode(n) : `${cosEncode(n)}=${cosEncode(v)}`))].filter(Boolean).join("&");
  return raw(local, { method: options.method, path: `/${local.cos.bucket}/${encodeKeyPath(key)}${search ? `?${search}` : ""}`, headers: { host, ...headers }, body });
}

/** A raw request to cos-local (no signing, path as given). */
export function raw(local: Local, options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | Readable }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: local.cos.port, method: options.method, path: options.path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

/** Parses an XML reply body (an error or a result). */
export function xml(reply: Reply): { root: string; body: XmlNode } {
  return parseXml(reply.text);
}

/** The control endpoint, as JSON. */
export async function control(local: Local, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const reply = await raw(local, {
    method,
    path: `/_cos-local/${path}`,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
  });
  return { status: reply.status, json: reply.text ? JSON.parse(reply.text) : undefined };
}

/** Deterministic pseudo-random bytes (a test can regenerate what it uploaded). */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
