// What every handler receives: the server's state and one parsed request, plus the few ways a
// handler answers. Handlers throw CosLocalError for COS errors; server.ts turns them into XML.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable, Transform } from "node:stream";
import type { Credential } from "./auth";
import type { CorsRules } from "./cors";
import { CosLocalError } from "./errors";
import type { ActiveFault, Counters, Faults } from "./faults";
import type { Query } from "./request";
import type { Storage } from "./storage";
import { throttle } from "./throttle";

/** startCosLocal's options after defaults (see server.ts for each option's documentation). */
export interface Settings {
  buckets: string[];
  region: string;
  credentials: Credential[];
  verifySignatures: boolean;
  maxSkewSeconds: number;
  appendPositionErrorCode: string;
  minPartSize: number;
  maxObjectSize: number;
  strictPartNumbers: boolean;
  completeHeartbeatMs: number;
  now: () => number;
}

export interface ServerState {
  settings: Settings;
  storage: Storage;
  faults: Faults;
  counters: Counters;
  cors: CorsRules;
}

export interface Ctx {
  state: ServerState;
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  method: string;
  bucket: string;
  key: string;
  query: Query;
  operation: string;
  now: Date;
  /** The request body; a "reset" fault swaps in a stream that kills the socket midway. */
  body: Readable;
  /** x-cos-traffic-limit (or a "slow" fault), bits per second, for the body in either direction. */
  trafficLimit?: number;
  /** The fault this request drew, if any. */
  fault?: ActiveFault;
  /** Transforms a response body passes through (throttle, reset-after-bytes). */
  responseStages: () => Transform[];
}

/** `examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/key`, COS's Resource element (§6). */
export function resourceOf(ctx: Pick<Ctx, "bucket" | "key" | "state">): string {
  return `${ctx.bucket}.cos.${ctx.state.settings.region}.myqcloud.com/${ctx.key}`;
}

/** A request header as one string (Node types unknown headers as string | string[]). */
export function header(ctx: Pick<Ctx, "req">, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Sends a complete response; HEAD never gets a body. */
export function send(ctx: Ctx, status: number, headers: Record<string, string | number> = {}, body?: string | Buffer): void {
  const payload = body === undefined || ctx.method === "HEAD" ? undefined : typeof body === "string" ? Buffer.from(body) : body;
  ctx.res.writeHead(status, { ...headers, ...(payload ? { "Content-Length": payload.length } : status === 204 || ctx.method === "HEAD" ? {} : { "Content-Length": 0 }) });
  ctx.res.end(payload);
}

/** Sends an XML document with COS's declaration. */
export function sendXml(ctx: Ctx, status: number, xml: string, headers: Record<string, string | number> = {}): void {
  send(ctx, status, { "Content-Type": "application/xml", ...headers }, `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
}

/** The body transforms for a download: the traffic limit first, then any fault. */
export function downloadStages(ctx: Ctx): Transform[] {
  return [...(ctx.trafficLimit ? [throttle(ctx.trafficLimit)] : []), ...ctx.responseStages()];
}

/** Reads a small request body (XML documents, JSON) into memory, refusing more than `max` bytes. */
export async function readSmallBody(ctx: Ctx, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.body.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > max) throw new CosLocalError(400, "XMLSizeLimit", `The request body exceeds ${max} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
