// What every benchmark shares: statistics, a description of the machine, and BENCHMARKS.md, where
// each benchmark owns one section between `<!-- bench:<id> -->` and `<!-- /bench:<id> -->` and
// rewrites only that one (other sections, and text outside the markers, are left as they are).

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (samples: number[]) => percentile(samples, 50);

/** `2 × AMD EPYC (nproc 2), Node v20.20.2, Linux 6.1` from nproc, /proc/cpuinfo and the runtime. */
export function machine(): string {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown CPU";
  let nproc = String(availableParallelism());
  try {
    nproc = execFileSync("nproc", { encoding: "utf8" }).trim();
  } catch {
    // no coreutils nproc: the runtime's count stands
  }
  return `nproc ${nproc}, CPU ${model}, Node ${process.version}, ${process.platform} ${process.arch}`;
}

/** A process's resident set size in bytes, from /proc/<pid>/status (VmRSS); Linux only. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Replaces the section `id` of `file` (or appends it, creating the file with `title` if needed). */
export function writeSection(file: string, id: string, markdown: string, title = "# Benchmarks\n"): void {
  const start = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, "utf8") : `${title}\n`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + block + current.slice(to + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

/**
 * The ways the upload benches compare. "client-no-crc" (the client with `integrity: false`) has no
 * target: next to "client" it shows what the CRC-64 check costs.
 */
export const UPLOAD_WAYS = ["client", "raw", "sdk", "client-no-crc"] as const;
export type UploadWay = (typeof UPLOAD_WAYS)[number];

/**
 * Command-line options the upload-throughput benches share (each adds its size option). Rounds
 * default to twice the number of ways: with the order rotated each round, every way then runs in
 * every position equally often (a way that runs right after another inherits its leftovers, such as
 * cos-local's garbage to collect), and 8 samples per way steady the medians on a noisy host.
 */
export const UPLOAD_BENCH_OPTIONS = {
  "part-mib": { type: "string", default: "8" },
  concurrency: { type: "string", default: "4" },
  rounds: { type: "string", default: String(2 * UPLOAD_WAYS.length) },
  "no-write": { type: "boolean", default: false },
} as const;

/**
 * The order round `round` (from 1) runs the ways in: rotated each round, so no way always follows
 * the same other one (whose leftovers, such as cos-local's garbage to collect, it would inherit).
 */
export function waysOfRound(round: number): UploadWay[] {
  const k = (round - 1) % UPLOAD_WAYS.length;
  return [...UPLOAD_WAYS.slice(k), ...UPLOAD_WAYS.slice(0, k)];
}

/**
 * The ways an upload bench compares (client, raw baseline, an official SDK, the client without CRC), from each way's
 * seconds per round: median rate in MiB/s, the client's ratios, and the table cells of a way.
 */
export function compareUploads(mib: number, seconds: Record<UploadWay, number[]>) {
  const rate = (way: keyof typeof seconds) => mib / median(seconds[way]);
  return {
    rate,
    ratioRaw: rate("client") / rate("raw"),
    ratioSdk: rate("client") / rate("sdk"),
    /** The client with integrity off against raw (no target). */
    ratioNoCrc: rate("client-no-crc") / rate("raw"),
    /** `median s | **rate MiB/s**` */
    cells: (way: keyof typeof seconds) => `${median(seconds[way]).toFixed(2)} s | **${rate(way).toFixed(0)} MiB/s**`,
    runs: (way: keyof typeof seconds) => seconds[way].map((s) => s.toFixed(2)).join(", "),
  };
}

/** One JSON call to the functions as a bearer; throws with the status and body on anything but 2xx. */
export async function callApi(base: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
