// `cos-direct upload <files...>` (issue 4 "Node CLI"): uploads files through the functions with the
// Node client, one progress bar per file (redrawn in place on a terminal, a line per 10 % otherwise),
// checkpoints in a JSON file so `--resume` continues where a run stopped. Ctrl-C pauses every upload,
// lets the checkpoint writes finish and exits 130; any failed file makes the exit code 1.

import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { createUploader } from "./node";
import { fileStore } from "./node/file-store";
import type { Progress, Store, TaskState, UploadTask } from "./types";

const USAGE = `usage: cos-direct upload <files...> --endpoint URL [options]

  --endpoint URL      the functions' base URL (e.g. http://127.0.0.1:8787 from npm run dev)
  --token T           bearer JWT for the functions (default: $COS_DIRECT_TOKEN; npm run dev:token mints one)
  --prefix P          object key = P + the file's name (default: the functions choose a key for the name)
  --resume            continue unfinished uploads of the same files from their checkpoints
  --state FILE        checkpoint file (default ~/.cos-direct/checkpoints.json)
  --part-size N       preferred part size, bytes or with K/M/G (e.g. 8M); the functions may raise it
  --concurrency N     parts in flight per file (default 4)
  --content-type T    content type of every file (default application/octet-stream)

Ctrl-C pauses and saves; run the same command with --resume to continue.`;

/** `8M`, `512k`, `1048576` → bytes (binary units). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  if (!m) throw new UsageError(`not a size: ${JSON.stringify(text)} (use bytes or a number with K, M or G)`);
  return Math.round(Number(m[1]) * 1024 ** " kmg".indexOf((m[2] || " ").toLowerCase()));
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${h ? `${h}:${String(m).padStart(2, "0")}` : String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
}

class UsageError extends Error {
  override readonly name = "UsageError" as const;
}

/** One file's line: name, bar, percent, speed, ETA; or its outcome. */
function progressLine(name: string, state: TaskState | "starting", p: Progress, width: number, barWidth = 24): string {
  const label = name.length > width ? `…${name.slice(-(width - 1))}` : name.padEnd(width);
  const filled = Math.round((Math.min(100, p.percent) / 100) * barWidth);
  const bar = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`;
  const tail = state === "done" ? "done" : state === "paused" ? "paused" : state === "failed" ? "failed" : `${formatBytes(p.speed)}/s  ETA ${formatEta(p.eta)}`;
  return `${label} ${bar} ${p.percent.toFixed(0).padStart(3)}%  ${formatBytes(p.loaded)}/${formatBytes(p.total)}  ${tail}`;
}

interface Row {
  file: string;
  name: string;
  task?: UploadTask;
  progress: Progress;
  state: TaskState | "starting";
  /** Last 10 % step and state printed (non-TTY). */
  step: number;
  printed?: TaskState | "starting";
}

/** Redraws all rows in place (TTY) or prints a row each time it passes a 10 % step (pipes, logs). */
class Display {
  private drawn = 0;
  private lastDraw = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly rows: Row[],
    private readonly tty: boolean,
  ) {}
  private get width() {
    return Math.min(40, Math.max(8, ...this.rows.map((r) => r.name.length)));
  }
  /** `force`: a state change, drawn at once on a terminal. */
  update(row: Row, force = false): void {
    if (this.tty) {
      const now = Date.now();
      if (!force && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.redraw();
      return;
    }
    // Pipes and logs: a line per 10 % step, and one when the file is done, failed or paused.
    const step = Math.floor(row.progress.percent / 10);
    const ended = row.state === "done" || row.state === "failed" || row.state === "paused";
    if (step > row.step || (ended && row.printed !== row.state)) {
      row.step = Math.max(row.step, step);
      row.printed = row.state;
      this.out.write(progressLine(row.name, row.state, row.progress, this.width, 20) + "\n");
    }
  }
  private redraw(): void {
    let text = this.drawn ? `\x1b[${this.drawn}A` : "";
    for (const row of this.rows) text += `\x1b[2K${progressLine(row.name, row.state, row.progress, this.width)}\n`;
    this.drawn = this.rows.length;
    this.out.write(text);
  }
  /** Final draw before other output. */
  flush(): void {
    if (this.tty) this.redraw();
  }
}

/** A Store that never yields a checkpoint written before this run (no --resume), and tracks writes. */
function runStore(inner: Store, resume: boolean): Store & { settled(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  const written = new Set<string>();
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => {});
    return p;
  };
  return {
    get: (key) => (resume || written.has(key) ? inner.get(key) : Promise.resolve(null)),
    set: (key, value) => (written.add(key), track(inner.set(key, value))),
    remove: (key) => track(inner.remove(key)),
    keys: (prefix) => inner.keys(prefix),
    async settled() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

const ZERO: Progress = { loaded: 0, total: 0, speed: 0, percent: 0, eta: null };

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      endpoint: { type: "string" },
      token: { type: "string" },
      prefix: { type: "string" },
      resume: { type: "boolean", default: false },
      state: { type: "string" },
      "part-size": { type: "string" },
      concurrency: { type: "string" },
      "content-type": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [command, ...files] = positionals;
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (command !== "upload") throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "no command");
  if (!files.length) throw new UsageError("no files to upload");
  if (!values.endpoint) throw new UsageError("--endpoint is required");
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) throw new UsageError(`--concurrency must be a positive integer, got ${values.concurrency}`);
  const token = values.token ?? env.COS_DIRECT_TOKEN;

  const store = runStore(fileStore(values.state ?? join(homedir(), ".cos-direct", "checkpoints.json")), values.resume);
  const uploader = createUploader({
    endpoint: values.endpoint,
    getToken: token ? () => token : undefined,
    store,
    ...(values["part-size"] ? { partSize: parseSize(values["part-size"]) } : {}),
    ...(concurrency ? { chunkParallelLimit: concurrency } : {}),
  });

  const sizes = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => s.size,
        (error: Error) => {
          throw new UsageError(`cannot read ${file}: ${error.message}`);
        },
      ),
    ),
  );
  const rows: Row[] = files.map((file, i) => ({ file, name: basename(file), progress: { ...ZERO, total: sizes[i] }, state: "starting", step: -1 }));
  const display = new Display(process.stdout, rows, !!process.stdout.isTTY);

  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    process.once("SIGINT", () => process.exit(130)); // a second Ctrl-C does not wait
    uploader.pauseAll();
    void (async () => {
      await store.settled();
      display.flush();
      process.stderr.write(`\ncos-direct: paused; finished parts are saved. Run the same command with --resume to continue.\n`);
      process.exit(130);
    })();
  });

  const outcomes = await Promise.all(
    rows.map(async (row) => {
      const task = uploader.upload({
        ...(values.prefix !== undefined ? { key: values.prefix + row.name } : { filename: row.name }),
        body: { path: row.file },
        contentType: values["content-type"] ?? "application/octet-stream",
        onProgress: (progress) => {
          row.progress = progress;
          display.update(row);
        },
        onStateChange: (state) => {
          row.state = state;
          display.update(row, true);
        },
      });
      row.task = task;
      try {
        const result = await task.done;
        row.state = "done";
        row.progress = { ...row.progress, loaded: result.size, total: result.size, percent: 100, eta: 0 };
        display.update(row, true);
        return { row, result };
      } catch (error) {
        row.state = "failed";
        display.update(row, true);
        return { row, error: error as Error };
      }
    }),
  );
  if (interrupted) return new Promise<number>(() => {}); // the SIGINT handler exits
  display.flush();
  await store.settled();
  let failed = 0;
  for (const o of outcomes) {
    if ("result" in o && o.result) process.stdout.write(`uploaded ${o.row.file} -> ${o.result.key} (${formatBytes(o.result.size)}, ETag ${o.result.etag})\n`);
    else {
      failed++;
      process.stderr.write(`failed ${o.row.file}: ${o.error?.message}\n`);
    }
  }
  if (failed) process.stderr.write(`cos-direct: ${failed} of ${rows.length} file(s) failed; run again with --resume to continue the unfinished ones\n`);
  return failed ? 1 : 0;
}

/** Runs when this file is the program (bin/cos-direct.mjs imports it). */
export async function run(argv = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`cos-direct: ${(error as Error).message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`cos-direct: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 1;
    }
  }
}
