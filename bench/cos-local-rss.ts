// Peak RSS of cos-local during a 1 GiB multipart upload (issue 2 "What it must show": under 200 MB).
//
//   npm run bench:rss                     # 64 parts × 16 MiB, 4 in flight
//   npm run bench:rss -- --parts 8 --part-mib 8 --concurrency 2
//
// cos-local runs as a child process (`node --import tsx emulator/cli.ts`), so its RSS is its own;
// it is sampled from /proc/<pid>/status (VmRSS) every 20 ms. Part bodies are generated on the fly
// in 64 KiB chunks, signed with functions/cos/sign.ts, and streamed: the 1 GiB never exists in
// memory on either side. Exits 1 if the peak reaches 200 MB or the upload fails.

import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { authorization, keyTime } from "../functions/cos/sign";
import { parseXml, text } from "../functions/cos/xml";
import { startCosLocalProcess } from "../scripts/cos-local-process";
import { rssBytes } from "./report";

const { values } = parseArgs({
  options: {
    parts: { type: "string", default: "64" },
    "part-mib": { type: "string", default: "16" },
    concurrency: { type: "string", default: "4" },
    "limit-mb": { type: "string", default: "200" },
  },
});
const PARTS = Number(values.parts);
const PART_SIZE = Number(values["part-mib"]) * 1024 * 1024;
const CONCURRENCY = Number(values.concurrency);
const LIMIT_MB = Number(values["limit-mb"]);
const CHUNK = 64 * 1024;

const SECRET_ID = "AKIDbenchRss000000000000000000000000";
const SECRET_KEY = "benchRssSecretKey000000000000000";
const BUCKET = "bench-1250000000";
const KEY = "bench/1gib.bin";

interface Server {
  pid: number;
  host: string;
  port: number;
  stop(): void;
}

async function startServer(dataDir: string): Promise<Server> {
  const { child, port } = await startCosLocalProcess({ dataDir, env: { COS_LOCAL_SECRET_ID: SECRET_ID, COS_LOCAL_SECRET_KEY: SECRET_KEY, COS_LOCAL_BUCKET: BUCKET } });
  return { pid: child.pid!, host: "127.0.0.1", port, stop: () => child.kill("SIGTERM") };
}

/** Deterministic part bytes, produced 64 KiB at a time; the MD5 is computed as they stream. */
function partStream(partNumber: number, md5: ReturnType<typeof createHash>): Readable {
  const block = Buffer.alloc(CHUNK);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= PART_SIZE) return void this.push(null);
      const size = Math.min(CHUNK, PART_SIZE - sent);
      block.writeUInt32LE(partNumber, 0);
      block.writeUInt32LE(sent, 4);
      const chunk = Buffer.from(block.subarray(0, size));
      md5.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
}

async function call(server: Server, method: string, query: Record<string, string>, body?: Readable | Buffer, length = 0): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const pathname = `/${BUCKET}/${KEY}`;
  const host = `${server.host}:${server.port}`;
  const headers = { host, "content-length": String(length) };
  const auth = await authorization({ secretId: SECRET_ID, secretKey: SECRET_KEY, method, pathname, query, headers, keyTime: keyTime(Date.now(), 3600) });
  const search = Object.entries(query).map(([n, v]) => (v === "" ? n : `${n}=${encodeURIComponent(v)}`)).join("&");
  return new Promise((resolve, reject) => {
    const req = request({ host: server.host, port: server.port, method, path: `${pathname}?${search}`, headers: { ...headers, authorization: auth } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "cos-local-bench-"));
  const server = await startServer(dataDir);
  let peak = await rssBytes(server.pid);
  const baseline = peak;
  const sampler = setInterval(() => void rssBytes(server.pid).then((rss) => (peak = Math.max(peak, rss)), () => undefined), 20);
  const started = Date.now();
  try {
    const init = await call(server, "POST", { uploads: "" });
    const uploadId = text(parseXml(init.text).body, "UploadId");
    if (!uploadId) throw new Error(`Initiate failed: ${init.status} ${init.text}`);
    const etags: string[] = new Array(PARTS);
    let next = 1;
    const worker = async () => {
      while (next <= PARTS) {
        const partNumber = next++;
        const md5 = createHash("md5");
        const reply = await call(server, "PUT", { partNumber: String(partNumber), uploadId }, partStream(partNumber, md5), PART_SIZE);
        const expected = `"${md5.digest("hex")}"`;
        if (reply.status !== 200 || reply.headers.etag !== expected) throw new Error(`UploadPart ${partNumber}: ${reply.status} ETag ${String(reply.headers.etag)}, expected ${expected}: ${reply.text}`);
        etags[partNumber - 1] = expected;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const uploadedMs = Date.now() - started;
    const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
    const done = await call(server, "POST", { uploadId }, Buffer.from(xml), Buffer.byteLength(xml));
    if (done.status !== 200 || !/-\d+(&quot;|")<\/ETag>/.test(done.text)) throw new Error(`Complete failed: ${done.status} ${done.text}`);
    const head = await call(server, "HEAD", {});
    const total = PARTS * PART_SIZE;
    if (Number(head.headers["content-length"]) !== total) throw new Error(`HEAD says ${String(head.headers["content-length"])} bytes, expected ${total}`);
    const totalMs = Date.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, await rssBytes(server.pid));
    const mb = (n: number) => (n / 1e6).toFixed(1);
    console.log(`uploaded ${PARTS} × ${PART_SIZE / 1048576} MiB = ${(total / 1073741824).toFixed(2)} GiB, ${CONCURRENCY} parts in flight`);
    console.log(`parts: ${(uploadedMs / 1000).toFixed(1)} s (${mb(total / (uploadedMs / 1000))} MB/s); with Complete: ${(totalMs / 1000).toFixed(1)} s`);
    console.log(`cos-local RSS: baseline ${mb(baseline)} MB, peak ${mb(peak)} MB (limit ${LIMIT_MB} MB)`);
    if (peak >= LIMIT_MB * 1e6) {
      console.error(`FAIL: peak RSS ${mb(peak)} MB ≥ ${LIMIT_MB} MB`);
      process.exitCode = 1;
    }
  } finally {
    clearInterval(sampler);
    server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  process.exit(1);
});
