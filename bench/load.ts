// Load (issue 6 "Load"): `npm run bench:load`, bounded in time, both on 127.0.0.1, with autocannon
// in this process and the servers in their own:
//
//   functions — `npm run dev` (scripts/dev.ts: `wrangler dev` + cos-local) under a mix of
//               create (POST /v1/uploads, a 1,000-part plan: initiates on cos-local),
//               sign-1,000-parts (POST /v1/uploads/{id}/parts) and complete (POST .../complete of an
//               upload prepared beforehand with its one part in cos-local: ListParts, Complete, HEAD),
//               round-robin on each of 100 connections for 30 s, each connection its own subject.
//   cos-local — `npm run cos-local` alone: 50 connections PUT 8 MiB parts of one multipart upload
//               (part numbers 1-100, so the disk holds at most 800 MiB), peak RSS from /proc.
//
// Zero errors (transport errors, timeouts, non-2xx) is the target of both. Writes RELIABILITY.md's
// "load" section; exits 1 when a target is missed.
//
//   npm run bench:load [-- --duration 30 --connections 100 --cos-duration 20 --cos-connections 50 --no-write]

import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { CosClient } from "../functions/cos/client";
import { presignUrl } from "../functions/cos/presign";
import { DEFAULT_BUCKET, DEFAULT_REGION, DEV_SECRET_ID, DEV_SECRET_KEY } from "../emulator/server";
import { devJwt } from "../scripts/dev-env";
import { startCosLocalProcess } from "../scripts/cos-local-process";
import { startDevProcess } from "../scripts/dev-process";
import { callApi, machine, writeSection } from "./report";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "30" },
    connections: { type: "string", default: "100" },
    "cos-duration": { type: "string", default: "20" },
    "cos-connections": { type: "string", default: "50" },
    prepared: { type: "string", default: "4000" },
    "no-write": { type: "boolean", default: false },
  },
});
const MiB = 1024 * 1024;
const PARTS = 1000;

interface Figures {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mbps?: number;
}

function figures(r: autocannon.Result): Figures {
  return {
    requests: r.requests.total,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
  };
}
const clean = (f: Figures) => f.errors === 0 && f.timeouts === 0 && f.non2xx === 0;

/** Runs `jobs` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await job(items[next++]);
  }));
}

async function functionsLoad(): Promise<{ figures: Figures; counts: Record<string, number>; prepared: number; reused: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-load-"));
  const dev = await startDevProcess({ dataDir });
  try {
    const connections = Number(values.connections);
    const tokens = await Promise.all(Array.from({ length: connections }, (_, i) => devJwt(`load-${i}`, { ttlSeconds: 3600 })));
    // Uploads to complete under load: one 2-byte part each, already in cos-local.
    const prepared: { subject: number; uploadId: string; token: string; etag: string }[] = [];
    await pool(Array.from({ length: Number(values.prepared) }, (_, i) => i), 16, async (i) => {
      const subject = i % connections;
      const plan = await callApi(dev.apiUrl, tokens[subject], "POST", "/v1/uploads", { key: `users/load-${subject}/done-${i}.bin`, size: 2, maxSinglePutSize: 0 });
      const [part] = (await callApi(dev.apiUrl, tokens[subject], "POST", `/v1/uploads/${plan.uploadId}/parts`, { parts: [{ partNumber: 1 }] }, { "upload-token": plan.token })).parts;
      const put = await fetch(part.url, { method: "PUT", headers: part.headers, body: "ok" });
      if (!put.ok) throw new Error(`prepare part: ${put.status} ${await put.text()}`);
      prepared.push({ subject, uploadId: plan.uploadId, token: plan.token, etag: put.headers.get("etag")! });
    });
    const ready = new Map<number, typeof prepared>();
    for (const p of prepared) ready.set(p.subject, [...(ready.get(p.subject) ?? []), p]);
    const done = new Map<number, typeof prepared>();
    const counts: Record<string, number> = { create: 0, sign: 0, complete: 0 };
    let reused = 0;
    let nextConnection = 0;
    const created: { uploadId: string; token: string; subject: number }[] = [];
    const allParts = JSON.stringify({ parts: Array.from({ length: PARTS }, (_, i) => ({ partNumber: i + 1 })) });
    type Ctx = { subject?: number; uploadId?: string; uploadToken?: string; n: number };
    const headers = (ctx: Ctx, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${tokens[ctx.subject!]}`, "content-type": "application/json", ...extra });
    const result = await autocannon({
      url: dev.apiUrl,
      connections,
      duration: Number(values.duration),
      timeout: 10,
      initialContext: { n: 0 },
      requests: [
        {
          method: "POST",
          path: "/v1/uploads",
          setupRequest: (req, context) => {
            const ctx = context as Ctx;
            ctx.subject ??= nextConnection++ % connections;
            counts.create++;
            return { ...req, headers: headers(ctx), body: JSON.stringify({ key: `users/load-${ctx.subject}/big-${ctx.n++}.bin`, size: PARTS * MiB, partSize: MiB }) };
          },
          onResponse: (status, body, context) => {
            const ctx = context as Ctx;
            if (status !== 200) return;
            const plan = JSON.parse(body);
            ctx.uploadId = plan.uploadId;
            ctx.uploadToken = plan.token;
            created.push({ uploadId: plan.uploadId, token: plan.token, subject: ctx.subject! });
          },
        },
        {
          method: "POST",
          setupRequest: (req, context) => {
            const ctx = context as Ctx;
            counts.sign++;
            return { ...req, path: `/v1/uploads/${ctx.uploadId}/parts`, headers: headers(ctx, { "upload-token": ctx.uploadToken! }), body: allParts };
          },
        },
        {
          method: "POST",
          setupRequest: (req, context) => {
            const ctx = context as Ctx;
            counts.complete++;
            // A fresh prepared upload; when none is left, one completed before (the retried-Complete path).
            let p = ready.get(ctx.subject!)?.pop();
            if (p) done.set(ctx.subject!, [...(done.get(ctx.subject!) ?? []), p]);
            else {
              reused++;
              p = done.get(ctx.subject!)![0];
            }
            return { ...req, path: `/v1/uploads/${p.uploadId}/complete`, headers: headers(ctx, { "upload-token": p.token }), body: JSON.stringify({ parts: [{ partNumber: 1, etag: p.etag }] }) };
          },
        },
      ],
    });
    // Leave no unfinished upload behind: abort the 1,000-part plans.
    await pool(created, 16, async (u) => {
      await callApi(dev.apiUrl, tokens[u.subject], "DELETE", `/v1/uploads/${u.uploadId}`, undefined, { "upload-token": u.token }).catch(() => undefined);
    });
    return { figures: figures(result), counts, prepared: prepared.length, reused };
  } finally {
    await dev.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function cosLocalLoad(): Promise<{ figures: Figures; peakRssMiB: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-load-cos-"));
  const { child, url } = await startCosLocalProcess({ dataDir });
  try {
    const credentials = { secretId: DEV_SECRET_ID, secretKey: DEV_SECRET_KEY };
    const target = { endpoint: url, bucket: DEFAULT_BUCKET, region: DEFAULT_REGION };
    const cos = new CosClient({ credentials, target });
    const key = "load/parts.bin";
    const { uploadId } = await cos.initiateMultipartUpload(key);
    const body = Buffer.alloc(8 * MiB, 7);
    const urls = await Promise.all(
      Array.from({ length: 100 }, async (_, i) =>
        (await presignUrl({ credentials, target, method: "PUT", key, query: { partNumber: String(i + 1), uploadId }, headers: { "content-length": String(body.length) }, now: Date.now(), expires: 3600 })).url,
      ),
    );
    let next = 0;
    let peak = 0;
    const sampler = setInterval(() => {
      readFile(`/proc/${child.pid}/status`, "utf8")
        .then((s) => (peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0) * 1024)))
        .catch(() => undefined);
    }, 200);
    const result = await autocannon({
      url,
      connections: Number(values["cos-connections"]),
      duration: Number(values["cos-duration"]),
      timeout: 30,
      requests: [
        {
          method: "PUT",
          setupRequest: (req) => {
            const signed = new URL(urls[next++ % urls.length]);
            // autocannon sets content-length from the body (a second one would be a malformed request).
            return { ...req, path: signed.pathname + signed.search, headers: {}, body };
          },
        },
      ],
    });
    clearInterval(sampler);
    await cos.abortMultipartUpload(key, uploadId);
    // Bytes sent per second (autocannon's own throughput counts the bytes it reads back).
    const mbps = (result.requests.total * body.length) / result.duration / 1e6;
    return { figures: { ...figures(result), mbps }, peakRssMiB: peak / MiB };
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit").catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const fn = await functionsLoad();
const f = fn.figures;
console.log(`functions: ${f.requests} requests (${JSON.stringify(fn.counts)}), ${f.rps.toFixed(0)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms, errors ${f.errors}, timeouts ${f.timeouts}, non-2xx ${f.non2xx}`);
const cl = await cosLocalLoad();
const c = cl.figures;
console.log(`cos-local: ${c.requests} PUTs of 8 MiB, ${c.mbps!.toFixed(0)} MB/s, p50 ${c.p50} ms, p99 ${c.p99} ms, errors ${c.errors}, timeouts ${c.timeouts}, non-2xx ${c.non2xx}, peak RSS ${cl.peakRssMiB.toFixed(0)} MiB`);
const met = clean(f) && clean(c);

if (!values["no-write"]) {
  writeSection(
    "RELIABILITY.md",
    "load",
    `## Load

Measured by \`npm run bench:load\` (bench/load.ts) on ${new Date().toISOString().slice(0, 10)}; ${machine()}; autocannon in the bench's process, the servers in their own, all on 127.0.0.1.

| target | load | requests | rate | p50 | p99 | errors / timeouts / non-2xx |
|---|---|---|---|---|---|---|
| the functions in \`wrangler dev\` (\`npm run dev\`), cos-local behind them | ${values.connections} connections for ${values.duration} s, each its own subject, cycling create (a 1,000-part plan) → sign 1,000 part URLs → complete | ${f.requests} (create ${fn.counts.create}, sign ${fn.counts.sign}, complete ${fn.counts.complete}) | **${f.rps.toFixed(0)} req/s** | ${f.p50} ms | ${f.p99} ms | ${f.errors} / ${f.timeouts} / ${f.non2xx} |
| cos-local (\`npm run cos-local\`) | ${values["cos-connections"]} connections for ${values["cos-duration"]} s, each PUTting 8 MiB parts of one multipart upload | ${c.requests} | **${c.mbps!.toFixed(0)} MB/s** | ${c.p50} ms | ${c.p99} ms | ${c.errors} / ${c.timeouts} / ${c.non2xx} |

Completes use uploads prepared beforehand (${fn.prepared}, one 2-byte part each in cos-local)${fn.reused ? `; ${fn.reused} completes found none left and completed one again (the retried-Complete path, answered from HEAD)` : ""}. The 1,000-part plans are aborted afterwards.
cos-local peak RSS (VmHWM) under the part load: **${cl.peakRssMiB.toFixed(0)} MiB**.
Target: zero errors, timeouts and non-2xx answers in both: ${met ? "met" : "**missed**"}.`,
    "# Reliability\n",
  );
}
process.exit(met ? 0 : 1);
