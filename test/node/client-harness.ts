// The client's end-to-end rig (issue 4 "Tests"): cos-local in-process on a temp dataDir, and the
// functions in workerd through wrangler's `unstable_startWorker` (TOOLCHAIN.md §2), configured
// exactly as `npm run dev` configures them (scripts/dev-env.ts `devVars`) plus small part sizes, so a
// multipart upload of a few MiB has several parts. One harness per test file (about 1-2 s to start).
// Benches start the same rig from tsx (startClientHarness, writeRandomFile).

import { createHash, randomFillSync } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { afterAll, beforeAll } from "vitest";
import { unstable_startWorker } from "wrangler";
import type { Progress } from "../../client/types";
import { startCosLocal, type CosLocal, type CosLocalOptions } from "../../emulator/server";
import type { CountersSnapshot, FaultSpec } from "../../emulator/faults";
import { devJwt, devVars } from "../../scripts/dev-env";

export const MiB = 1024 * 1024;

/** Test-only secrets (never the dev ones, so a token minted here proves the harness's own config). */
const JWT_SECRET = "client-e2e-jwt-secret-0123456789abcdefghij";
const UPLOAD_TOKEN_SECRET = "client-e2e-upload-token-secret-0123456789";

/** What the tests rely on: 1 MiB parts and single PUTs up to 1 MiB unless a test file says otherwise. */
export const TEST_VARS: Record<string, string> = {
  PART_SIZE: String(MiB),
  SINGLE_PUT_THRESHOLD: String(MiB),
  MAX_UPLOAD_BYTES: String(5 * 1024 * MiB),
};

export interface ClientHarnessOptions {
  /** Extra or overriding variables for the functions (PART_SIZE, SINGLE_PUT_THRESHOLD, ...). */
  vars?: Record<string, string>;
  cosLocal?: Partial<CosLocalOptions>;
}

export interface ClientHarness {
  /** The functions' origin, `http://127.0.0.1:<port>`: the client's `endpoint`. */
  endpoint: string;
  cos: CosLocal;
  /** The variables the functions run with. */
  vars: Record<string, string>;
  /** An HS256 bearer JWT for `sub` that the functions accept. */
  token(sub?: string, ttlSeconds?: number): Promise<string>;
  /** `getToken` for createUploader, as `sub`. */
  getToken(sub?: string): () => Promise<string>;
  /** Arms cos-local faults (the same specs as POST /_cos-local/faults). */
  fault(...specs: FaultSpec[]): void;
  clearFaults(): void;
  counters(): CountersSnapshot;
  resetCounters(): void;
  /** The caller's unfinished multipart uploads, as the functions list them (GET /v1/uploads). */
  listUploads(sub?: string): Promise<{ key: string; uploadId: string }[]>;
  /** The object's bytes, read back through a presigned GET from POST /v1/objects/download. */
  readBack(key: string, sub?: string): Promise<Buffer>;
  /** SHA-256 of the object's bytes, streamed (for objects too large to hold). */
  readBackSha256(key: string, sub?: string): Promise<string>;
  /** A raw API call (JSON in and out) as `sub`. */
  api(method: string, path: string, body?: unknown, sub?: string, headers?: Record<string, string>): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

export async function startClientHarness(options: ClientHarnessOptions = {}): Promise<ClientHarness> {
  // Offline: no Request.cf fetch from workers.cloudflare.com, no metrics (TOOLCHAIN.md §3).
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  process.env.WRANGLER_SEND_ERROR_REPORTS ??= "false";
  const dataDir = await mkdtemp(join(tmpdir(), "cos-direct-client-"));
  const cos = await startCosLocal({ port: 0, dataDir, ...options.cosLocal });
  const env = { JWT_SECRET, UPLOAD_TOKEN_SECRET } as NodeJS.ProcessEnv;
  const vars = { ...devVars(cos, env), ...TEST_VARS, ...options.vars };
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;
  try {
    worker = await unstable_startWorker({
      config: "wrangler.toml",
      // wrangler.toml's [triggers] would need the scheduled handler's test route; tests do not use it.
      bindings: Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
      dev: { server: { hostname: "127.0.0.1", port: 0 }, inspector: false, watch: false, persist: false, logLevel: "error" },
      sendMetrics: false,
    });
    const url = await worker.url;
    const endpoint = url.origin;
    const running = worker;
    const token = (sub = "alice", ttlSeconds = 3600) => devJwt(sub, { secret: JWT_SECRET, ttlSeconds });
    const api = async (method: string, path: string, body?: unknown, sub = "alice", headers: Record<string, string> = {}) => {
      const res = await fetch(`${endpoint}${path}`, {
        method,
        headers: { authorization: `Bearer ${await token(sub)}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const download = async (key: string, sub = "alice") => {
      const { status, json } = await api("POST", "/v1/objects/download", { key }, sub);
      if (status !== 200) throw new Error(`POST /v1/objects/download answered ${status}: ${JSON.stringify(json)}`);
      const res = await fetch(json.url, { headers: json.headers });
      if (res.status !== 200) throw new Error(`GET ${key} answered ${res.status}: ${await res.text()}`);
      return res;
    };
    return {
      endpoint,
      cos,
      vars,
      token,
      getToken: (sub = "alice") => () => token(sub),
      fault: (...specs) => specs.forEach((spec) => cos.faults.add(spec)),
      clearFaults: () => cos.faults.clear(),
      counters: () => cos.counters.snapshot(),
      resetCounters: () => cos.counters.reset(),
      async listUploads(sub = "alice") {
        const { status, json } = await api("GET", "/v1/uploads", undefined, sub);
        if (status !== 200) throw new Error(`GET /v1/uploads answered ${status}: ${JSON.stringify(json)}`);
        return (json.uploads as { key: string; uploadId: string }[]).map(({ key, uploadId }) => ({ key, uploadId }));
      },
      readBack: async (key, sub) => Buffer.from(await (await download(key, sub)).arrayBuffer()),
      async readBackSha256(key, sub) {
        const hash = createHash("sha256");
        const reader = (await download(key, sub)).body!.getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) hash.update(read.value);
        return hash.digest("hex");
      },
      api,
      async close() {
        await running.dispose();
        await cos.close();
        await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }); // a part cos-local was still writing may land meanwhile
      },
    };
  } catch (error) {
    await worker?.dispose().catch(() => {});
    await cos.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }); // a part cos-local was still writing may land meanwhile
    throw error;
  }
}

/** Starts a harness before a test file's tests and closes it after them; call the result to get it. */
export function useClientHarness(options: ClientHarnessOptions = {}): () => ClientHarness {
  let harness: ClientHarness | undefined;
  beforeAll(async () => {
    harness = await startClientHarness(options);
  });
  afterAll(() => harness?.close());
  return () => {
    if (!harness) throw new Error("the client harness is not running (use it inside a test)");
    return harness;
  };
}

/**
 * Writes `size` random bytes to `path` in 1 MiB chunks (never the whole file in memory) and returns
 * their SHA-256, so a test or bench can compare what it reads back without keeping the bytes.
 */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(Math.min(size, MiB));
  for (let written = 0; written < size; ) {
    const n = Math.min(chunk.length, size - written);
    const piece = randomFillSync(chunk, 0, n).subarray(0, n);
    hash.update(piece);
    if (!out.write(piece)) await once(out, "drain");
    written += n;
  }
  out.end();
  await finished(out);
  return hash.digest("hex");
}

export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * An onProgress that checks the contract on every report: loaded monotonic, never above
 * total, percent consistent. `assertComplete` checks the last report reached the total.
 */
export function progressRecorder(total: number) {
  const reports: Progress[] = [];
  const problems: string[] = [];
  return {
    reports,
    onProgress(progress: Progress) {
      const last = reports.at(-1);
      if (last && progress.loaded < last.loaded) problems.push(`loaded went back from ${last.loaded} to ${progress.loaded}`);
      if (progress.loaded > progress.total) problems.push(`loaded ${progress.loaded} above total ${progress.total}`);
      if (progress.total !== total) problems.push(`total ${progress.total}, expected ${total}`);
      if (progress.percent < 0 || progress.percent > 100) problems.push(`percent ${progress.percent}`);
      reports.push({ ...progress });
    },
    /** Throws unless every report kept the contract and the last one is loaded === total, 100 %. */
    assertComplete() {
      if (problems.length) throw new Error(`progress broke its contract: ${problems.slice(0, 5).join("; ")}`);
      const last = reports.at(-1);
      if (!last) throw new Error("no progress was reported");
      if (last.loaded !== total || last.percent !== 100) throw new Error(`the last progress report is ${JSON.stringify(last)}, expected loaded ${total} and 100 %`);
    },
  };
}
