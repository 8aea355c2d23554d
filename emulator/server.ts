// cos-local: a COS XML API server on disk (issue 2 §3). `startCosLocal` starts it on 127.0.0.1;
// every request goes through one pipeline: control endpoint → bucket/key → fault → CORS →
// preflight (never authenticated) → signature → key rules → traffic limit → handler, and one
// error handler writes COS error XML (cos-protocol.md §6).

import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyRequest, type Credential } from "./auth";
import { type Ctx, header, resourceOf, send, type ServerState, type Settings } from "./context";
import { actualResponseHeaders, corsFromXml, CorsRules, DEV_CORS, preflightHeaders, type CorsConfiguration } from "./cors";
import { CosLocalError, cosErrors, errorXml, isCosLocalError } from "./errors";
import { Counters, Faults } from "./faults";
import { applyFault } from "./inject";
import { operationOf, Query, resolveTarget, validateKey } from "./request";
import { BUCKET_OPERATIONS, ROUTES } from "./routes";
import { handleControl } from "./routes/control";
import { Storage } from "./storage";
import { parseTrafficLimit } from "./throttle";

/** Dev credentials for `npm run cos-local` when COS_LOCAL_SECRET_ID/KEY are unset. Never real. */
export const DEV_SECRET_ID = "AKIDcosLocalDevSecretId000000000000";
export const DEV_SECRET_KEY = "cosLocalDevSecretKey000000000000";
export const DEFAULT_BUCKET = "dev-1250000000";
export const DEFAULT_REGION = "ap-guangzhou";

export interface CosLocalOptions {
  /** Directory holding objects and uploads; created if missing. Restarting on it keeps both. */
  dataDir: string;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default "127.0.0.1". */
  host?: string;
  /** The credential requests must be signed with. Default DEV_SECRET_ID / DEV_SECRET_KEY. */
  secretId?: string;
  secretKey?: string;
  /** Makes secretId/secretKey temporary (STS) credentials that need this x-cos-security-token. */
  securityToken?: string;
  /** More credentials accepted besides secretId/secretKey (e.g. a permanent and an STS pair). */
  credentials?: Credential[];
  /** The bucket (`<name>-<appid>`). Default "dev-1250000000". */
  bucket?: string;
  /** Extra buckets besides `bucket`. */
  buckets?: string[];
  /** Region reported in Resource and Location. Default "ap-guangzhou". */
  region?: string;
  /** Verify q-sign signatures and POST policies. Default true; false accepts anonymous requests. */
  verifySignatures?: boolean;
  /** Seconds q-sign-time may start in the future before RequestTimeTooSkewed. Default 900. */
  maxSkewSeconds?: number;
  /**
   * CORS rules in force when a bucket has none from `PUT /?cors`. Default: the dev rule (any origin,
   * all methods and headers, the upload headers exposed). `false`: none, so preflights get 403.
   */
  cors?: CorsConfiguration | false;
  /** A CORSConfiguration XML file (or JSON CorsConfiguration) used instead of `cors`. */
  corsFile?: string;
  /** Code of the 409 for a wrong APPEND position (§4 APPEND: unverified). Default "AppendPositionErr". */
  appendPositionErrorCode?: string;
  /** Smallest size of every part but the last, checked at Complete (EntityTooSmall). Default 1048576. */
  minPartSize?: number;
  /** Largest object, part or append total in bytes (EntityTooLarge). Default 5 GiB. */
  maxObjectSize?: number;
  /** Complete requires part numbers 1..N without gaps (InvalidPart). Default false, as S3. */
  strictPartNumbers?: boolean;
  /** Interval of the whitespace Complete sends while merging. Default 1000 ms. */
  completeHeartbeatMs?: number;
  /** Clock for signature windows and timestamps (Unix ms). Default Date.now. */
  now?: () => number;
}

export interface CosLocal {
  /** `http://127.0.0.1:<port>`; objects are at `${url}/${bucket}/${key}` (path style). */
  url: string;
  host: string;
  port: number;
  bucket: string;
  buckets: string[];
  region: string;
  secretId: string;
  secretKey: string;
  securityToken?: string;
  dataDir: string;
  /** Arm faults programmatically (same specs as POST /_cos-local/faults). */
  faults: Faults;
  /** Requests served, as GET /_cos-local/counters returns them. */
  counters: Counters;
  close(): Promise<void>;
}

async function loadCors(options: CosLocalOptions): Promise<CorsConfiguration | null> {
  if (options.corsFile) {
    const text = await readFile(options.corsFile, "utf8");
    return text.trimStart().startsWith("<") ? corsFromXml(text) : (JSON.parse(text) as CorsConfiguration);
  }
  if (options.cors === false) return null;
  return options.cors ?? DEV_CORS;
}

export async function startCosLocal(options: CosLocalOptions): Promise<CosLocal> {
  const bucket = options.bucket ?? DEFAULT_BUCKET;
  const buckets = [bucket, ...(options.buckets ?? []).filter((b) => b !== bucket)];
  for (const b of buckets) if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(b)) throw new Error(`cos-local: invalid bucket name ${JSON.stringify(b)} (lowercase letters, digits and "-", like examplebucket-1250000000)`);
  const secretId = options.secretId ?? DEV_SECRET_ID;
  const secretKey = options.secretKey ?? DEV_SECRET_KEY;
  const settings: Settings = {
    buckets,
    region: options.region ?? DEFAULT_REGION,
    credentials: [{ secretId, secretKey, securityToken: options.securityToken }, ...(options.credentials ?? [])],
    verifySignatures: options.verifySignatures ?? true,
    maxSkewSeconds: options.maxSkewSeconds ?? 900,
    appendPositionErrorCode: options.appendPositionErrorCode ?? "AppendPositionErr",
    minPartSize: options.minPartSize ?? 1024 * 1024,
    maxObjectSize: options.maxObjectSize ?? 5 * 1024 ** 3,
    strictPartNumbers: options.strictPartNumbers ?? false,
    completeHeartbeatMs: options.completeHeartbeatMs ?? 1000,
    now: options.now ?? Date.now,
  };
  const storage = new Storage(options.dataDir);
  await storage.init(buckets);
  const state: ServerState = { settings, storage, faults: new Faults(), counters: new Counters(), cors: new CorsRules(storage, await loadCors(options)) };

  const server = createServer((req, res) => void handle(state, req, res));
  // Large parts under a traffic limit take long; Node's default 5-minute request timeout would cut them.
  server.requestTimeout = 0;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    bucket,
    buckets,
    region: settings.region,
    secretId,
    secretKey,
    securityToken: options.securityToken,
    dataDir: options.dataDir,
    faults: state.faults,
    counters: state.counters,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function newId(): string {
  return randomBytes(18).toString("base64url");
}

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = newId();
  res.setHeader("x-cos-request-id", requestId);
  res.setHeader("Server", "tencent-cos");
  res.setHeader("Date", new Date().toUTCString());
  const rawUrl = req.url ?? "/";
  const mark = rawUrl.indexOf("?");
  const rawPath = mark < 0 ? rawUrl : rawUrl.slice(0, mark);
  if (rawPath.startsWith("/_cos-local/")) return handleControl(state, req, res, rawPath);

  const method = (req.method ?? "GET").toUpperCase();
  let resource = "";
  try {
    const query = Query.parse(mark < 0 ? "" : rawUrl.slice(mark + 1));
    const target = resolveTarget(rawPath, req.headers, state.settings.buckets);
    const operation = operationOf(method, target.key, query, req.headers);
    const ctx: Ctx = {
      state,
      req,
      res,
      requestId,
      method,
      bucket: target.bucket,
      key: target.key,
      query,
      operation,
      now: new Date(state.settings.now()),
      body: req,
      responseStages: () => [],
    };
    resource = resourceOf(ctx);
    state.counters.request(operation);

    const cors = await state.cors.effective(target.bucket);
    if (method !== "OPTIONS" && cors) for (const [name, value] of Object.entries(actualResponseHeaders(cors, req.headers, method))) res.setHeader(name, value);

    const fault = state.faults.take({ method, path: target.signedPathname, query, operation });
    if (fault && (await applyFault(ctx, fault)) === "handled") return;

    if (method === "OPTIONS") {
      // Preflights are never authenticated (§5); no rules or no match → 403.
      return send(ctx, 200, preflightHeaders(cors ?? { rules: [] }, req.headers));
    }
    if (state.settings.verifySignatures && operation !== "PostObject") {
      await verifyRequest({ method, pathname: target.signedPathname, query, headers: req.headers }, { credentials: state.settings.credentials, nowMs: ctx.now.getTime(), maxSkewSeconds: state.settings.maxSkewSeconds });
    }
    if (!BUCKET_OPERATIONS.has(operation)) validateKey(target.key);
    const limit = parseTrafficLimit(header(ctx, "x-cos-traffic-limit") ?? query.get("x-cos-traffic-limit"));
    if (ctx.trafficLimit === undefined) ctx.trafficLimit = limit;

    const route = ROUTES[operation];
    if (!route) {
      throw operation === "MethodNotAllowed"
        ? new CosLocalError(405, "MethodNotAllowed", `The specified method ${method} is not allowed against this resource.`)
        : new CosLocalError(501, "NotImplemented", `cos-local does not implement this request (${method} ${target.key ? "object" : "bucket"} with ${query.params.map((p) => p.name).join("&") || "no sub-resource"}).`);
    }
    await route(ctx);
  } catch (error) {
    sendError(res, method, resource, requestId, error);
  }
}

/** The single error handler: COS error XML, x-cos-trace-id, no body on HEAD or 304 (§6). */
function sendError(res: ServerResponse, method: string, resource: string, requestId: string, error: unknown): void {
  if (res.headersSent || res.socket?.destroyed !== false) {
    // Mid-body or client gone: the only honest signal left is a broken connection.
    res.destroy();
    return;
  }
  if (!isCosLocalError(error)) console.error(`cos-local: ${method} ${resource}: ${(error as Error)?.stack ?? error}`);
  const cosError = isCosLocalError(error) ? error : cosErrors.internal();
  const traceId = newId();
  const headers: Record<string, string | number> = { "x-cos-trace-id": traceId, ...cosError.headers };
  if (method === "HEAD" || cosError.status === 304) {
    res.writeHead(cosError.status, headers);
    res.end();
    return;
  }
  const body = errorXml({ code: cosError.code, message: cosError.message, resource, requestId, traceId, extra: cosError.extra });
  res.writeHead(cosError.status, { ...headers, "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
