// The control endpoint `/_cos-local/` (issue 2 §3 "Faults on request"): unauthenticated, and
// therefore answered only to loopback peers. JSON in, JSON out.
//
//   POST   /_cos-local/faults     arm one fault spec or an array of them (see FaultSpec in faults.ts)
//   GET    /_cos-local/faults     the armed faults
//   DELETE /_cos-local/faults     disarm all
//   GET    /_cos-local/counters   requests served per operation, UploadPart bodies per (uploadId, part)
//   DELETE /_cos-local/counters   reset the counters
//   GET    /_cos-local/health     { ok, buckets, region, rss } (the RSS bench reads it)

import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerState } from "../context";
import type { FaultSpec } from "../faults";

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

function json(res: ServerResponse, status: number, value?: unknown): void {
  const body = value === undefined ? "" : JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
}

export async function handleControl(state: ServerState, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (!LOOPBACK.has(req.socket.remoteAddress ?? "")) return json(res, 403, { error: "the /_cos-local/ control endpoint answers loopback clients only" });
  const route = `${req.method} ${path.replace(/\/+$/, "")}`;
  try {
    switch (route) {
      case "POST /_cos-local/faults": {
        const body = await readJson(req);
        const specs = (Array.isArray(body) ? body : [body]) as FaultSpec[];
        return json(res, 201, { faults: specs.map((spec) => state.faults.add(spec)) });
      }
      case "GET /_cos-local/faults":
        return json(res, 200, { faults: state.faults.list() });
      case "DELETE /_cos-local/faults":
        state.faults.clear();
        return json(res, 204);
      case "GET /_cos-local/counters":
        return json(res, 200, state.counters.snapshot());
      case "DELETE /_cos-local/counters":
        state.counters.reset();
        return json(res, 204);
      case "GET /_cos-local/health":
        return json(res, 200, { ok: true, buckets: state.settings.buckets, region: state.settings.region, rss: process.memoryUsage().rss });
    }
    return json(res, 404, { error: `no control route ${route}; see emulator/routes/control.ts` });
  } catch (error) {
    return json(res, 400, { error: (error as Error).message });
  }
}
