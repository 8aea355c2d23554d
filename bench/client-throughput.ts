// Client throughput (issue 4 "Benchmarks"): a 1 GiB file from Node to cos-local, in one run, four ways:
//   client — createUploader (client/node) through the functions in workerd (test/node/client-harness.ts);
//   raw    — the same part size and concurrency with nothing else: the functions plan the upload and
//            sign every part URL in one call, then node:http PUTs each part straight from a file range
//            stream, then complete (the ceiling the client is judged against);
//   SDK    — cos-nodejs-sdk-v5 sliceUploadFile, same ChunkSize and ChunkParallelLimit, aimed at cos-local
//            as test/node/sdk-harness.ts does (virtual-host Domain, Ip to 127.0.0.1);
//   client-no-crc — the client with integrity off: no target, it shows what the CRC-64 check costs.
// cos-local and the functions run in this process (and workerd's); each upload runs in a fresh child
// process (this file with --child), as an uploading program would, so no uploader shares a thread
// with cos-local. The child times the upload itself (plan to complete), not its own start-up.
// Runs are interleaved --rounds times, the order rotated each round; medians are compared. The
// client's object is read back and its SHA-256 compared on the first round; raw and SDK sizes are
// checked by complete/HEAD.
// Targets: client ≥ 0.95 × raw and ahead of the SDK. Writes its section of BENCHMARKS.md; exits 1 on a miss.
//
//   npx tsx bench/client-throughput.ts [--mib 1024] [--part-mib 8] [--concurrency 4] [--rounds 8] [--no-write]
//   BENCH_PROF=/tmp/prof npx tsx bench/client-throughput.ts ...   (a V8 CPU profile of each upload child)

import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import COS from "cos-nodejs-sdk-v5";
import { createUploader } from "../client/node";
import { MiB, startClientHarness, writeRandomFile } from "../test/node/client-harness";
import { callApi, compareUploads, machine, UPLOAD_WAYS, waysOfRound, type UploadWay as Way, median, UPLOAD_BENCH_OPTIONS, writeSection } from "./report";

const { values } = parseArgs({
  options: {
    ...UPLOAD_BENCH_OPTIONS,
    mib: { type: "string", default: "1024" },
    child: { type: "string" },
  },
});

const WAYS = UPLOAD_WAYS;

/** What a child needs to upload `path` one way. */
interface Job {
  way: Way;
  endpoint: string;
  token: string;
  path: string;
  key: string;
  size: number;
  part: number;
  concurrency: number;
  cos: { port: number; bucket: string; region: string; secretId: string; secretKey: string };
  confDir: string;
}

const api = (job: Job, method: string, path: string, body: unknown, headers: Record<string, string> = {}) => callApi(job.endpoint, job.token, method, path, body, headers);

/** The raw baseline: plan, sign all parts, PUT them `concurrency` at a time from file ranges, complete. */
async function rawUpload(job: Job): Promise<void> {
  const { size, path } = job;
  const plan = await api(job, "POST", "/v1/uploads", { key: job.key, size, partSize: job.part });
  const auth = { "upload-token": plan.token as string };
  const numbers = Array.from({ length: plan.partCount as number }, (_, i) => ({ partNumber: i + 1 }));
  const urls: { partNumber: number; url: string; headers: Record<string, string> }[] = [];
  for (let i = 0; i < numbers.length; i += 1000) urls.push(...(await api(job, "POST", `/v1/uploads/${plan.uploadId}/parts`, { parts: numbers.slice(i, i + 1000) }, auth)).parts);
  const etags: { partNumber: number; etag: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const part = urls[next++];
      const start = (part.partNumber - 1) * plan.partSize;
      const end = Math.min(size, start + plan.partSize);
      const etag = await new Promise<string>((resolve, reject) => {
        // content-length is signed into the URL; a piped body would otherwise go chunked.
        const req = request(part.url, { method: "PUT", headers: { ...part.headers, "content-length": String(end - start) } }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => (res.statusCode === 200 ? resolve(String(res.headers.etag)) : reject(new Error(`part ${part.partNumber}: ${res.statusCode} ${text}`))));
        });
        req.on("error", reject);
        createReadStream(path, { start, end: end - 1, highWaterMark: MiB }).pipe(req);
      });
      etags.push({ partNumber: part.partNumber, etag });
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  etags.sort((a, b) => a.partNumber - b.partNumber);
  const done = await api(job, "POST", `/v1/uploads/${plan.uploadId}/complete`, { parts: etags }, auth);
  if (done.size !== size) throw new Error(`raw: complete says ${done.size} bytes`);
}

async function clientUpload(job: Job): Promise<void> {
  const integrity = job.way === "client";
  const uploader = createUploader({ endpoint: job.endpoint, getToken: () => job.token, partSize: job.part, chunkParallelLimit: job.concurrency, integrity });
  const result = await uploader.upload({ key: job.key, body: { path: job.path } }).done;
  if (result.size !== job.size) throw new Error(`client: ${JSON.stringify(result)}`);
}

async function sdkUpload(job: Job): Promise<void> {
  const cos = new COS({
    SecretId: job.cos.secretId,
    SecretKey: job.cos.secretKey,
    Protocol: "http:",
    Domain: "{Bucket}.cos.{Region}.cos-local.test",
    Ip: `127.0.0.1:${job.cos.port}`,
    ChunkParallelLimit: job.concurrency,
    ChunkSize: job.part,
    ConfCwd: job.confDir,
  });
  const where = { Bucket: job.cos.bucket, Region: job.cos.region, Key: job.key };
  await cos.sliceUploadFile({ ...where, FilePath: job.path, ChunkSize: job.part });
  const head = await cos.headObject(where);
  if (Number(head.headers?.["content-length"]) !== job.size) throw new Error(`SDK: HEAD says ${head.headers?.["content-length"]} bytes`);
}

const UPLOADS: Record<Way, (job: Job) => Promise<void>> = { client: clientUpload, raw: rawUpload, sdk: sdkUpload, "client-no-crc": clientUpload };

/** Child mode: one upload, then its time in seconds on stdout. */
async function child(job: Job): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await UPLOADS[job.way](job);
  const used = process.cpuUsage(cpu);
  console.log(`seconds ${(performance.now() - started) / 1000} cpu ${(used.user + used.system) / 1e6}`);
}

async function main(): Promise<boolean> {
  const SIZE = Number(values.mib) * MiB;
  const PART = Number(values["part-mib"]) * MiB;
  const CONCURRENCY = Number(values.concurrency);
  const ROUNDS = Math.max(1, Number(values.rounds));
  const root = await mkdtemp(join(tmpdir(), "bench-client-throughput-"));
  const h = await startClientHarness({ vars: { PART_SIZE: String(PART), SINGLE_PUT_THRESHOLD: String(8 * MiB) } });
  try {
    const path = join(root, "upload.bin");
    const digest = await writeRandomFile(path, SIZE);
    const token = await h.token("alice", 7200);
    const { port, bucket, region, secretId, secretKey } = h.cos;
    const seconds: Record<Way, number[]> = { client: [], raw: [], sdk: [], "client-no-crc": [] };
    /** CPU seconds of the uploading process (all threads), per run. */
    const cpu: Record<Way, number[]> = { client: [], raw: [], sdk: [], "client-no-crc": [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const way of waysOfRound(round)) {
        const key = `users/alice/bench/${way}.bin`; // overwritten each round: cos-local keeps one copy per way
        const job: Job = { way, endpoint: h.endpoint, token, path, key, size: SIZE, part: PART, concurrency: CONCURRENCY, cos: { port, bucket, region, secretId, secretKey }, confDir: join(root, "sdk-conf") };
        // Not spawnSync: this process serves cos-local while the child uploads.
        const out = await new Promise<string>((resolve, reject) => {
          let text = "";
          const proc = spawnChild(job);
          proc.stdout!.on("data", (c: Buffer) => (text += c.toString()));
          proc.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`${way} upload failed (exit ${code}):\n${text}`))));
        });
        const [, s, c] = (/seconds (\S+) cpu (\S+)/.exec(out) ?? []).map(Number);
        seconds[way].push(s);
        cpu[way].push(c);
        console.log(`round ${round} ${way}: ${s.toFixed(2)} s, ${(SIZE / MiB / s).toFixed(0)} MiB/s, uploader CPU ${c.toFixed(2)} s`);
        if (round === 1 && way === "client" && (await h.readBackSha256(key)) !== digest) throw new Error("client: the bytes read back differ from the file");
      }
    }
    const { rate, ratioRaw, ratioSdk, ratioNoCrc, cells, runs } = compareUploads(SIZE / MiB, seconds);
    const met = ratioRaw >= 0.95 && ratioSdk > 1;
    const row = (way: Way, what: string) =>
      `| ${what} | ${cells(way)} | ${median(cpu[way]).toFixed(2)} s | ${runs(way)} |`;
    const summary = `client ${rate("client").toFixed(0)} MiB/s = ${ratioRaw.toFixed(3)}× raw, ${ratioSdk.toFixed(2)}× the SDK (without CRC-64: ${ratioNoCrc.toFixed(3)}× raw)`;
    console.log(`${summary}: targets ${met ? "met" : "MISSED"}`);
    if (!values["no-write"]) {
      writeSection(
        "BENCHMARKS.md",
        "client-throughput",
        `## Client throughput: ${(SIZE / MiB / 1024).toFixed(2).replace(/\.00$/, "")} GiB from Node to cos-local

Measured by \`npm run bench\` (bench/client-throughput.ts) on ${new Date().toISOString().slice(0, 10)}; ${machine()}.
The file and cos-local's data in ${tmpdir()}${tmpdir().startsWith("/dev/shm") ? " (tmpfs: \`TMPDIR=/dev/shm npm run bench\`, so disk writeback does not decide the figures)" : ""}, ${PART / MiB} MiB parts, ${CONCURRENCY} in flight, all on 127.0.0.1: cos-local in the bench's process, the functions in workerd, each upload in a fresh Node child process.
${ROUNDS} rounds, the four ways interleaved, their order rotated each round; the median is compared. Each time covers the whole upload (plan, signing, parts, complete), timed inside the uploading process.

| way | median | throughput | uploader CPU (median) | runs |
|---|---|---|---|---|
${row("client", "cos-direct client: `createUploader().upload({ body: { path } })` (CRC64 per part on)")}
${row("raw", "raw baseline: the functions' presigned part URLs, node:http PUT of file range streams, nothing else")}
${row("sdk", "cos-nodejs-sdk-v5 `sliceUploadFile` (same ChunkSize and ChunkParallelLimit)")}
${row("client-no-crc", "cos-direct client with `integrity: false` (no target: shows what the CRC-64 check costs)")}

Uploader CPU is the child's \`process.cpuUsage\` (all threads) for the upload; on 2 vCPUs shared with cos-local and workerd, an uploader's CPU is taken from the server's, so it costs throughput. Runs vary by ±20% here.
${summary}. Targets (issue 4): ≥ 0.95× raw and ahead of the SDK: ${met ? "met" : "**missed**"}.`,
      );
    }
    return met;
  } finally {
    await h.close();
    await rm(root, { recursive: true, force: true });
  }
}

function spawnChild(job: Job) {
  return spawn(process.execPath, [...(process.env.BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), "--import", "tsx", fileURLToPath(import.meta.url), "--child", JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
}

if (values.child) await child(JSON.parse(values.child) as Job);
else process.exit((await main()) ? 0 : 1);
