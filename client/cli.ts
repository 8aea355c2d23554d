// `cos-direct upload <files...>` (issue 4 "Node CLI"): uploads files through the functions with the
// Node client, one progress bar per file (redrawn in place on a terminal, a line per 10 % otherwise),
// checkpoints in a JSON file so `--resume` continues where a run stopped. Ctrl-C (SIGTERM) pauses every
// upload, lets the checkpoint writes finish and exits 130 (143); any failed file makes the exit code 1.

import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Api } from "./api";
import { endpointPrefix, loadCheckpoint } from "./checkpoint";
import { checkSetup } from "./diagnostics";
import { isApiError } from "./errors";
import { createUploader } from "./node";
import { fileStore } from "./node/file-store";
import { shouldRetry } from "./retry";
import type { Progress, Store, TaskState, UploadTask } from "./types";

const USAGE = `usage: cos-direct upload <files...> --endpoint URL [options]
       cos-direct check --endpoint URL --origin ORIGIN [--token T]

  --endpoint URL      the functions' base URL (e.g. http://127.0.0.1:8787 from npm run dev)
  --token T           bearer JWT for the functions (default: $COS_DIRECT_TOKEN; npm run dev:token mints one)
  --prefix P          object key = P + the file's name (default: the functions choose a key for the name)
  --resume            continue unfinished uploads of the same files from their checkpoints
  --state FILE        checkpoint file (default ~/.cos-direct/checkpoints.json)
  --part-size N       preferred part size, bytes or with K/M/G (e.g. 8M); the functions may raise it
  --concurrency N     parts in flight per file (default 4)
  --content-type T    content type of every file (default application/octet-stream)
  --version           print the version
  --origin ORIGIN     check: the web app's origin whose browser uploads are judged (e.g. https://app.example.com)

check asks the functions (GET /v1/diagnostics) whether the bucket's CORS rules and CORS_ORIGINS let
a page at ORIGIN upload; it prints each problem and what to change. Exit 0: they would work; 1: they
would fail; 3: the check could not run (functions unreachable, token refused).

Ctrl-C pauses and saves; run the same command with --resume to continue.`;

/** COS's part sizes (cos-protocol.md §3). */
const MIN_PART = 1024 * 1024;
const MAX_PART = 5 * 1024 ** 3;

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
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** Terminal columns a character takes: 2 for East Asian wide and fullwidth ones, else 1. */
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u;
const columnsOfChar = (c: string) => (WIDE.test(c) ? 2 : 1);
const columnsOf = (text: string) => [...text].reduce((n, c) => n + columnsOfChar(c), 0);

/** `text` cut or padded to exactly `width` columns; a cut keeps the end (a file name's extension) after "…". */
export function fitColumns(text: string, width: number, cut: "start" | "end" = "start"): string {
  let chars = [...text];
  if (columnsOf(text) > width) {
    const keep: string[] = [];
    let used = 1; // the "…"
    const from = cut === "start" ? chars.reverse() : chars;
    for (const c of from) {
      const w = columnsOfChar(c);
      if (used + w > width) break;
      used += w;
      keep.push(c);
    }
    chars = cut === "start" ? ["…", ...keep.reverse()] : [...keep, "…"];
  }
  const out = chars.join("");
  return out + " ".repeat(Math.max(0, width - columnsOf(out)));
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${h ? `${h}:${String(m).padStart(2, "0")}` : String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
}

/** A mistake in the command line or its setup: exit 2, with the usage text unless `usage` is false. */
class UsageError extends Error {
  override readonly name = "UsageError" as const;
  constructor(
    message: string,
    readonly usage = true,
  ) {
    super(message);
  }
}

/** One file's line: name, bar, percent, speed, ETA; or its outcome. */
function progressLine(name: string, state: TaskState | "starting", p: Progress, width: number, barWidth = 24): string {
  const label = fitColumns(name, width);
  const filled = Math.round((Math.min(100, p.percent) / 100) * barWidth);
  const bar = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`;
  const head = `${label} ${bar} ${p.percent.toFixed(0).padStart(3)}%`;
  const sizes = `${formatBytes(p.loaded)}/${formatBytes(p.total)}`;
  // An outcome comes before the sizes, so a line cut to a narrow terminal still shows it.
  if (state === "done" || state === "paused" || state === "failed") return `${head}  ${state}  ${sizes}`;
  return `${head}  ${sizes}  ${formatBytes(p.speed)}/s  ETA ${formatEta(p.eta)}`;
}

/** How long Ctrl-C waits for Completes on their way before it exits. */
const COMPLETING_WAIT_MS = 10_000;

interface Row {
  file: string;
  name: string;
  task?: UploadTask;
  progress: Progress;
  state: TaskState | "starting";
  /** Last 10 % step and state printed (non-TTY). */
  step: number;
  printed?: TaskState | "starting";
  result?: { key: string; size: number; etag: string };
  error?: Error;
}

const ENDED: ReadonlySet<Row["state"]> = new Set(["done", "failed", "cancelled"]);

/** Redraws all rows in place (TTY) or prints a row each time it passes a 10 % step (pipes, logs). */
export class Display {
  private drawn = 0;
  private lastDraw = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly rows: Row[],
    private readonly tty: boolean,
  ) {}
  private get width() {
    return Math.min(40, Math.max(8, ...this.rows.map((r) => columnsOf(r.name))));
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
    // A line longer than the terminal wraps onto two, and moving up by the row count would then
    // land in the wrong place: each line is cut to the terminal's width.
    const columns = Math.max(20, (this.out.columns || 80) - 1);
    const barWidth = columns >= 110 ? 24 : 10;
    // What a line holds besides the name and the bar: percent, sizes, speed and ETA (about 54 columns).
    const nameWidth = Math.max(8, Math.min(this.width, columns - barWidth - 56));
    // Moving up cannot go above the screen's top: more rows than fit would pile stale bars into the
    // scrollback. Then the files still under way are shown, and the rest summed up in one line.
    const fit = Math.max(2, (this.out.rows || 24) - 1);
    let shown = this.rows;
    let summary = "";
    if (shown.length > fit) {
      shown = this.rows.filter((row) => !ENDED.has(row.state)).slice(0, fit - 1);
      const count = (ended: boolean, state?: Row["state"]) => this.rows.filter((row) => !shown.includes(row) && (state ? row.state === state : ENDED.has(row.state) === ended)).length;
      summary = `${this.rows.length - shown.length} more: ${count(true, "done")} done, ${count(true, "failed")} failed, ${count(false)} to go`;
    }
    for (const row of shown) text += `\x1b[2K${fitColumns(progressLine(row.name, row.state, row.progress, nameWidth, barWidth), columns, "end").trimEnd()}\n`;
    if (summary) text += `\x1b[2K${fitColumns(summary, columns, "end")}\n`;
    // Fewer lines than last time: the ones below are cleared.
    text += "\x1b[0J";
    this.drawn = shown.length + (summary ? 1 : 0);
    this.out.write(text);
  }
  /** Final draw before other output. */
  flush(): void {
    if (this.tty) this.redraw();
  }
  /** A message between redraws: on a terminal the bars are drawn again below it, not over it. */
  log(stream: NodeJS.WriteStream, message: string): void {
    if (this.tty && this.drawn) {
      this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
      this.drawn = 0;
    }
    stream.write(message);
    if (this.tty) this.redraw();
  }
}

/**
 * A Store that never yields a checkpoint written before this run (no --resume: `onIgnored` hears of
 * it), and tracks writes: `settled()` waits for them, `failure` keeps the last one that failed.
 */
function runStore(inner: Store, resume: boolean, onIgnored: (checkpoint: string) => void): Store & { settled(): Promise<void>; failure?: Error } {
  const pending = new Set<Promise<unknown>>();
  const written = new Set<string>();
  const store: Store & { settled(): Promise<void>; failure?: Error } = {
    get: async (key) => {
      if (resume || written.has(key)) return inner.get(key);
      const earlier = await inner.get(key).catch(() => null);
      if (earlier) onIgnored(earlier);
      return null;
    },
    set: (key, value) => (written.add(key), track(inner.set(key, value))),
    remove: (key) => track(inner.remove(key)),
    keys: (prefix) => inner.keys(prefix),
    async settled() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p
      .catch((error: Error) => void (store.failure = error))
      .finally(() => pending.delete(p));
    return p;
  };
  return store;
}

/** Fails early, with exit 2, when the checkpoint file cannot be read or written (else resume would silently not work). */
async function checkStateFile(store: Store, path: string): Promise<void> {
  const probe = "cos-direct:cli-probe";
  try {
    await store.keys("");
    await store.set(probe, "1");
    await store.remove(probe);
  } catch (error) {
    throw new UsageError(`cannot use the checkpoint file ${path} (${(error as Error).message}): fix or remove it, or choose another with --state FILE`, false);
  }
}

/** A failed file's reason, with what to do about a missing or refused token. */
function reason(error: Error, token: string | undefined): string {
  if (!(isApiError(error) && error.status === 401)) return error.message;
  return token
    ? `${error.message} (the token was refused: expired, or signed for other functions?)`
    : `${error.message} (pass --token T or set $COS_DIRECT_TOKEN; in development, npm run -s dev:token -- <name> mints one)`;
}

async function version(): Promise<string> {
  try {
    return (JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
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
      version: { type: "boolean", default: false },
      origin: { type: "string" },
    },
  });
  const [command, ...files] = positionals;
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (values.version) {
    process.stdout.write(`cos-direct ${await version()}\n`);
    return 0;
  }
  if (command !== "upload" && command !== "check") throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : "no command");
  if (!values.endpoint) throw new UsageError("--endpoint is required");
  const endpoint = URL.parse(values.endpoint);
  if (!/^https?:$/.test(endpoint?.protocol ?? "")) throw new UsageError(`--endpoint must be an http(s) URL such as http://127.0.0.1:8787, got ${JSON.stringify(values.endpoint)}`);
  // Not echoed: the URL holds a password. fetch refuses such URLs anyway; --token is the way to authenticate.
  if (endpoint!.username || endpoint!.password) throw new UsageError("--endpoint must not hold a user name or password; pass a bearer token with --token (or COS_DIRECT_TOKEN)");
  if (command === "check") {
    if (files.length) throw new UsageError("check takes no files");
    if (!values.origin) throw new UsageError("check needs --origin, the web app's origin (e.g. https://app.example.com)");
    // As a browser writes it, or the functions would judge another string than the page sends.
    const written = URL.parse(values.origin);
    if (!written || !/^https?:$/.test(written.protocol) || written.origin !== values.origin) {
      throw new UsageError(`--origin must be an origin as a browser writes it${written && /^https?:$/.test(written.protocol) ? ` (${written.origin}?)` : ", such as https://app.example.com"}, got ${JSON.stringify(values.origin)}`);
    }
    return check(values.endpoint, values.origin, values.token ?? env.COS_DIRECT_TOKEN);
  }
  if (!files.length) throw new UsageError("no files to upload");
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) throw new UsageError(`--concurrency must be a positive integer, got ${values.concurrency}`);
  const partSize = values["part-size"] === undefined ? undefined : parseSize(values["part-size"]);
  if (partSize !== undefined && !(partSize >= MIN_PART && partSize <= MAX_PART)) throw new UsageError(`--part-size must be from 1M to 5G (COS's limits for a part), got ${values["part-size"]}`);
  const token = values.token ?? env.COS_DIRECT_TOKEN;

  // Files that cannot be read fail on their own (exit 1); the others still upload.
  const sizes = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => (s.isFile() ? s.size : new Error(`${file} is not a file${s.isDirectory() ? " (a directory)" : ""}`)),
        (error: Error) => new Error(`cannot read ${file}: ${error.message}`),
      ),
    ),
  );
  const rows: Row[] = files.map((file, i) => ({ file, name: basename(file), progress: { ...ZERO, total: typeof sizes[i] === "number" ? sizes[i] : 0 }, state: "starting", step: -1 }));
  if (values.prefix !== undefined) {
    const byKey = new Map<string, string>();
    for (const row of rows.filter((_, i) => typeof sizes[i] === "number")) {
      const other = byKey.get(row.name);
      if (other !== undefined) throw new UsageError(`${other} and ${row.file} would both upload to ${values.prefix}${row.name}: upload them in separate runs or with other prefixes`, false);
      byKey.set(row.name, row.file);
    }
  }

  const statePath = values.state ?? join(homedir(), ".cos-direct", "checkpoints.json");
  const state = fileStore(statePath);
  await checkStateFile(state, statePath);
  // An earlier run's upload of a file started over (no --resume) is aborted on COS: its parts would
  // otherwise be kept (and paid for) until the sweeper's age. The run waits for these before it ends.
  const api = new Api({ endpoint: values.endpoint, getToken: token ? () => token : undefined });
  const abortEarlier = (earlier: { uploadId?: string; token?: string }) =>
    earlier.uploadId && earlier.token ? api.abort({ uploadId: earlier.uploadId, token: earlier.token }).catch(() => undefined) : Promise.resolve();
  const aborts: Promise<unknown>[] = [];
  const store = runStore(state, values.resume, (text) => {
    const earlier = JSON.parse(text) as { name?: string; uploadId?: string; token?: string };
    aborts.push(abortEarlier(earlier));
    display.log(process.stderr, `cos-direct: ${earlier.name ?? "a file"} has an unfinished upload from an earlier run; starting it over (--resume would continue it)\n`);
  });
  const uploader = createUploader({
    endpoint: values.endpoint,
    getToken: token ? () => token : undefined,
    store,
    ...(partSize ? { partSize } : {}),
    ...(concurrency ? { chunkParallelLimit: concurrency } : {}),
  });
  const display = new Display(process.stdout, rows, !!process.stdout.isTTY);
  /**
   * A key uploaded now whose earlier upload is still in the checkpoint file: the file changed since
   * (another size or date, so another checkpoint). That upload is aborted and its checkpoint goes.
   */
  const forgetReplaced = async (keys: string[]) => {
    const ids = await state.keys(endpointPrefix(values.endpoint!)).catch(() => [] as string[]);
    for (const id of ids) {
      const earlier = await loadCheckpoint(state, id).catch(() => null);
      if (!earlier?.options?.key || !keys.includes(earlier.options.key)) continue;
      await abortEarlier(earlier);
      await state.remove(id).catch(() => undefined);
      process.stderr.write(`cos-direct: ${earlier.key} was uploaded from a file that changed since an earlier run; that run's upload is aborted\n`);
    }
  };
  const uploaded = (row: Row, result: { key: string; size: number; etag: string }) =>
    process.stdout.write(`uploaded ${row.file} -> ${result.key} (${formatBytes(result.size)}, ETag ${result.etag})\n`);

  // Ctrl-C (or a polite kill): pause every upload, let the checkpoint writes finish, say what is saved.
  let interrupted = false;
  const stop = (signal: NodeJS.Signals, code: number) => () => {
    if (interrupted) return process.exit(code); // a second one does not wait
    interrupted = true;
    uploader.pauseAll();
    void (async () => {
      // A file whose Complete is on its way cannot be paused: COS is assembling it. Its answer is
      // waited for (a while), so the run says it is uploaded rather than "paused".
      const completing = rows.filter((row) => row.state === "completing").map((row) => row.task!.done.catch(() => undefined));
      await Promise.race([Promise.all(completing), new Promise((r) => setTimeout(r, COMPLETING_WAIT_MS))]);
      await store.settled();
      display.flush();
      for (const row of rows) {
        if (row.state === "done" && row.result) uploaded(row, row.result);
        else if (row.state === "failed" && row.error) process.stderr.write(`failed ${row.file}: ${reason(row.error, token)}\n`);
        else if (row.state === "completing") process.stderr.write(`${row.file}: still completing; --resume will confirm it\n`);
      }
      process.stderr.write(
        store.failure
          ? `\ncos-direct: paused (${signal}), but the checkpoint could not be saved (${store.failure.message}): --resume will start these files over.\n`
          : `\ncos-direct: paused (${signal}); finished parts are saved. Run the same command with --resume to continue.\n`,
      );
      process.exit(code);
    })();
  };
  process.on("SIGINT", stop("SIGINT", 130));
  process.on("SIGTERM", stop("SIGTERM", 143));

  const outcomes = await Promise.all(
    rows.map(async (row, i) => {
      const unreadable = sizes[i];
      if (unreadable instanceof Error) {
        row.state = "failed";
        row.error = unreadable;
        display.update(row, true);
        return { row, error: unreadable };
      }
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
        row.result = result;
        row.state = "done";
        row.progress = { ...row.progress, loaded: result.size, total: result.size, percent: 100, eta: 0 };
        display.update(row, true);
        return { row, result };
      } catch (error) {
        row.state = "failed";
        row.error = error as Error;
        display.update(row, true);
        return { row, error: error as Error };
      }
    }),
  );
  if (interrupted) return new Promise<number>(() => {}); // the SIGINT handler exits
  display.flush();
  await store.settled();
  await Promise.all(aborts);
  if (values.prefix !== undefined) await forgetReplaced(outcomes.flatMap((o) => ("result" in o && o.result ? [o.result.key] : [])));
  let failed = 0;
  let resumable = 0;
  for (const o of outcomes) {
    if ("result" in o && o.result) uploaded(o.row, o.result);
    else {
      failed++;
      // Worth running again: a network error, a 5xx, a throttle. Not: a refusal, a missing file.
      if (o.error && shouldRetry(o.error) !== false) resumable++;
      process.stderr.write(`failed ${o.row.file}: ${o.error ? reason(o.error, token) : "unknown error"}\n`);
    }
  }
  if (failed) {
    const hint = resumable ? `; run the same command with --resume to continue ${resumable === failed ? "them" : `the ${resumable} that may succeed`}` : "";
    process.stderr.write(`cos-direct: ${failed} of ${rows.length} file(s) failed${hint}\n`);
  }
  return failed ? 1 : 0;
}

/** `cos-direct check`: what would stop browser uploads from `origin`; exit 1 when they would fail, 3 when the check could not run. */
async function check(endpoint: string, origin: string, token: string | undefined): Promise<number> {
  let report;
  try {
    report = await checkSetup({ endpoint, getToken: () => token, origin });
  } catch (error) {
    process.stderr.write(`cos-direct: could not run the check: ${reason(error as Error, token)}\n`);
    return 3;
  }
  const errors = report.problems.filter((p) => p.severity === "error").length;
  process.stdout.write(`origin ${report.origin}: bucket CORS ${report.bucketCors}; functions' clock ${report.clockSkewMs >= 0 ? "+" : ""}${Math.round(report.clockSkewMs / 1000)} s from this machine's\n`);
  for (const p of report.problems) process.stdout.write(`${p.severity}: ${p.message} [${p.code}]\n`);
  const verdict = errors
    ? `${errors} problem(s) would make uploads from ${origin} fail`
    : report.bucketCors === "unreadable"
      ? `nothing found that would stop uploads from ${origin}, but the bucket's CORS rules could not be read, so they are unchecked`
      : `uploads from ${origin} should work${report.problems.length ? " (see the warnings)" : ""}`;
  process.stdout.write(verdict + "\n");
  return errors ? 1 : 0;
}

/** Runs when this file is the program (bin/cos-direct.mjs imports it). */
export async function run(argv = process.argv.slice(2)): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      const usage = !(error instanceof UsageError) || error.usage;
      process.stderr.write(`cos-direct: ${(error as Error).message}\n${usage ? `\n${USAGE}\n` : ""}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`cos-direct: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 1;
    }
  }
}

// Run directly (`npx tsx client/cli.ts ...`) as well as through bin/cos-direct.mjs, which calls run().
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void run();
