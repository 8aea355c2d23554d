// The demo page: the client's browser entry (client/index.ts) with no framework. Each picked or
// dropped file becomes an upload task and a row (progress, speed, ETA, state, pause / resume /
// cancel; key, ETag, CRC64 and a download link when done). Checkpoints live in IndexedDB
// (indexedDbStore), so picking the same file after a reload resumes it. Where the browser has the
// File System Access API (Chromium), files are picked and dropped as file handles, which the store
// keeps: after a reload, "Unfinished uploads" resumes them with one click, without picking them
// again. The functions' URL
// comes from /config.json and the token from /dev/token: both served by scripts/demo-server.ts,
// which runs only under `npm run dev` (DEV-ONLY: a real app gets its token from its own login).

import { checkSetup, createUploader, indexedDbStore, type FileHandle, type Progress, type SetupReport, type TaskState, type UnfinishedUpload, type UploadOptions, type UploadResult, type UploadTask } from "../client/index";
import { formatBytes } from "./format";

interface DemoConfig {
  /** The functions' origin. */
  api: string;
}

const $ = <T extends Element = HTMLElement>(selector: string, root: ParentNode = document) => root.querySelector(selector) as T;


function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return "less than a second left";
  if (seconds < 90) return `${Math.round(seconds)} s left`;
  return `${Math.round(seconds / 60)} min left`;
}

const STATE_WORDS: Record<TaskState, string> = {
  queued: "Waiting",
  initiating: "Starting",
  hashing: "Checking parts already sent",
  uploading: "Uploading",
  paused: "Paused",
  completing: "Finishing",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** What went wrong, in words a person can act on (the client's typed errors, by name). */
function explain(error: unknown): string {
  const e = error as { name?: string; message?: string; status?: number; code?: string; apiMessage?: string };
  switch (e?.name) {
    case "CorsError":
      return "The bucket's CORS rule does not let this page read the ETag header, so no part can be confirmed. Add ETag (and x-cos-hash-crc64ecma) to ExposeHeader in the bucket's CORS configuration.";
    case "NetworkError":
      return "The server could not be reached (network error, or a CORS rule that does not allow this page). Check the connection, then press Resume.";
    case "IntegrityError":
      return "The data COS stored differs from the file (checksum mismatch): the file may have changed while it was uploading. Upload it again.";
    case "SourceError":
      if ((e as { cause?: { name?: string } }).cause?.name === "NotAllowedError") return "The browser was not allowed to read this file. Press Resume and allow access, or pick the file again.";
      return "This file can no longer be read: it was moved, deleted or changed after you picked it. Pick it again to resume.";
    case "ApiError":
      if (e.status === 401) return "Your session has expired. Reload the page.";
      if (e.status === 413) return "This file is larger than the service allows.";
      if (e.status === 415) return "This type of file is not allowed.";
      if (e.status === 429) return "Too many uploads at once. Wait a moment, then press Resume.";
      return `The upload service refused: ${e.apiMessage ?? e.code}`;
    case "HttpError":
      if (e.code === "RequestTimeTooSkewed") return "This computer's clock is wrong, so COS refused the signed request. Set the clock, then press Resume.";
      if (e.code === "AccessDenied" || e.code === "SignatureDoesNotMatch") return "COS refused the signed request (it may have expired). Press Resume to get a fresh signature.";
      if (e.code === "NoSuchUpload") return "COS no longer holds this upload (it was aborted or expired). Pick the file again to start over.";
      return `COS refused the upload (${e.status}${e.code ? ` ${e.code}` : ""}). Press Resume to try again.`;
    default:
      return e?.message ?? String(error);
  }
}

let token: { value: string; expiresAt: number } | undefined;

/** DEV-ONLY: a short-lived JWT from the demo server; refreshed a minute before it expires. */
async function devToken(): Promise<string> {
  if (!token || token.expiresAt - Date.now() < 60_000) {
    const res = await fetch("/dev/token");
    if (!res.ok) throw new Error(`GET /dev/token answered ${res.status}`);
    const body = (await res.json()) as { token: string; expiresAt: number };
    token = { value: body.token, expiresAt: body.expiresAt };
  }
  return token.value;
}

function say(text: string): void {
  $("#status").textContent = text;
}

/** One row per task, updated from the task's callbacks. */
function addRow(file: File, start: (handlers: { onProgress(p: Progress): void; onStateChange(s: TaskState): void }) => UploadTask, downloadUrl: (key: string) => Promise<string>): void {
  const row = ($<HTMLTemplateElement>("#row").content.firstElementChild as HTMLLIElement).cloneNode(true) as HTMLLIElement;
  $("#uploads").prepend(row);
  $(".name", row).textContent = file.name;
  $(".size", row).textContent = formatBytes(file.size);
  const progress = $<HTMLProgressElement>("progress", row);
  progress.setAttribute("aria-label", `Upload of ${file.name}`);
  for (const button of row.querySelectorAll("button")) button.setAttribute("aria-label", `${button.textContent} ${file.name}`);
  let percent = 0;
  let listed = false;
  let task: UploadTask | undefined;
  // A failed task gets a new `done` when resumed (by its button or by Resume all): watch each once.
  let watched: Promise<UploadResult> | undefined;
  const watch = () => {
    if (!task || task.done === watched) return;
    watched = task.done;
    watched.then(
      async (result) => {
        $(".key", row).textContent = result.key;
        $(".etag", row).textContent = result.etag;
        $(".crc64", row).textContent = result.crc64 ?? "";
        const link = $<HTMLAnchorElement>(".download", row);
        link.href = await downloadUrl(result.key);
        link.setAttribute("aria-label", `Download ${file.name}`); // every row's link text is the same
        $(".result", row).hidden = false;
        say(`${file.name} is uploaded.`);
        void refreshUnfinished();
      },
      (error) => {
        void refreshUnfinished();
        // Cancelling is the person's own doing, not an error: said, not shown in red.
        if ((error as Error)?.name === "CancelledError") return say(`${file.name} is cancelled. Nothing is left on the server.`);
        const text = explain(error);
        $(".error", row).textContent = text;
        $(".error", row).hidden = false;
        say(`${file.name}: ${text}`);
      },
    );
  };
  const show = (state: TaskState) => {
    const before = row.dataset.state;
    row.dataset.state = state;
    if (state === "paused") say(`${file.name} is paused.`);
    if (state === "queued" && (before === "paused" || before === "failed")) say(`${file.name} is resumed.`);
    if (state === "queued") {
      $(".error", row).hidden = true;
      watch();
    }
    // A resumed upload leaves the "Unfinished uploads" list once it runs again.
    if (state === "uploading" && !listed) {
      listed = true;
      void refreshUnfinished();
    }
    // Speed and time left mean nothing while nothing moves.
    if (!["uploading", "completing"].includes(state)) $(".figures", row).textContent = `${Math.floor(percent)}%`;
    $(".state", row).textContent = STATE_WORDS[state];
    $<HTMLButtonElement>('[data-action="pause"]', row).disabled = !["queued", "initiating", "hashing", "uploading"].includes(state);
    $<HTMLButtonElement>('[data-action="resume"]', row).disabled = !["paused", "failed"].includes(state);
    $<HTMLButtonElement>('[data-action="cancel"]', row).disabled = ["completing", "done", "cancelled"].includes(state);
    // A button that just got disabled would drop the keyboard's focus to the page: hand it to the
    // row's next useful button (Pause <-> Resume), else to the row itself.
    const focused = document.activeElement;
    if (focused instanceof HTMLButtonElement && focused.disabled && row.contains(focused)) {
      (row.querySelector<HTMLButtonElement>("button:not([disabled])") ?? row).focus();
    }
  };
  const started = start({
    onProgress(p) {
      percent = p.percent;
      progress.value = p.percent;
      const speed = p.speed > 0 ? `${formatBytes(p.speed)}/s` : "";
      const left = p.loaded < p.total ? formatEta(p.eta) : "";
      $(".figures", row).textContent = [`${Math.floor(p.percent)}%`, speed, left].filter(Boolean).join(" · ");
    },
    onStateChange: (state) => show(state),
  });
  task = started;
  row.dataset.task = started.id;
  show(started.state);
  watch();
  row.addEventListener("click", (event) => {
    const action = (event.target as HTMLElement).closest("button")?.dataset.action;
    if (action === "pause") started.pause();
    if (action === "resume") started.resume();
    // Listed again once the cancel is through (its upload aborted, or left to the tab that has it).
    if (action === "cancel") void started.cancel().then(() => refreshUnfinished());
  });
}

let refreshUnfinished: () => Promise<void> = async () => undefined;

/** Shows what GET /v1/diagnostics found that would stop (errors) or hamper (warnings) uploads from this page. */
function showSetup(report: Pick<SetupReport, "problems">): void {
  const box = $("#setup");
  if (!report.problems.length) return;
  const errors = report.problems.filter((p) => p.severity === "error").length;
  const warnings = report.problems.length - errors;
  box.classList.toggle("warnings", errors === 0);
  $("#setup-heading").textContent = errors ? "Uploads from this page will fail until the setup is fixed" : "Uploads work, but the setup is missing something";
  // Each item says which kind it is in words, not only by the box's colour.
  $("ul", box).replaceChildren(...report.problems.map((p) => Object.assign(document.createElement("li"), { textContent: `${p.severity === "error" ? "Error" : "Warning"}: ${p.message}` })));
  box.hidden = false;
  const count = (n: number, word: string) => (n ? [`${n} ${word}${n > 1 ? "s" : ""}`] : []);
  say(`Setup check: ${[...count(errors, "error"), ...count(warnings, "warning")].join(" and ")}, listed above the file picker.`);
}

/**
 * The check itself could not reach the functions. From a page that is nearly always because they
 * do not allow its origin (CORS_ORIGINS), which they cannot say themselves: the browser hides the answer.
 */
function setupUnreachable(api: string, error: unknown): void {
  if ((error as Error)?.name !== "NetworkError") return; // an ApiError: the uploads will say what is wrong
  showSetup({
    problems: [{ severity: "error", code: "Unreachable", message: `This page could not reach the upload service at ${api}. If it is running, its CORS_ORIGINS must include ${location.origin}.` }],
  });
}

/** A picked or dropped file: the File (its name and size for the row) and what to upload, the File or its handle. */
interface Picked {
  file: File;
  body: File | FileHandle;
}

/** The File System Access API's picker (Chromium); its handles let an upload resume after a reload without picking the file again. */
type OpenFilePicker = (options: { multiple: boolean }) => Promise<FileHandle[]>;
const openFilePicker = (window as unknown as { showOpenFilePicker?: OpenFilePicker }).showOpenFilePicker;

/** The picked files as handles; a dismissed picker is no files. */
async function pickWithHandles(picker: OpenFilePicker): Promise<Picked[]> {
  const handles = await picker({ multiple: true }).catch((error: unknown) => {
    if ((error as Error)?.name === "AbortError") return [];
    throw error;
  });
  const picked: Picked[] = [];
  for (const handle of handles) {
    try {
      picked.push({ file: await handle.getFile(), body: handle });
    } catch (error) {
      say(`${handle.name} cannot be read: ${(error as Error)?.message ?? error}`);
    }
  }
  return picked;
}

/**
 * A drop's files, as handles where the browser gives them (Chromium's getAsFileSystemHandle). Both
 * are asked for during the drop event: its DataTransfer is emptied once the event is over.
 */
async function dropped(transfer: DataTransfer | null): Promise<Picked[]> {
  type Item = DataTransferItem & { getAsFileSystemHandle?(): Promise<{ kind: string; name: string } | null> };
  const items = [...(transfer?.items ?? [])].filter((item) => item.kind === "file") as Item[];
  const asked = items.map((item) => ({ file: item.getAsFile(), handle: item.getAsFileSystemHandle?.().catch(() => null) }));
  const picked: Picked[] = [];
  for (const { file, handle } of asked) {
    const kept = await handle;
    if (kept?.kind === "directory") say(`${kept.name} is a folder: drop the files in it instead.`);
    else if (file) picked.push({ file, body: kept?.kind === "file" ? (kept as FileHandle) : file });
  }
  return picked;
}

/** An unfinished upload's entry: what COS holds, and a Resume button when this browser kept the file's handle. */
function unfinishedItem(u: UnfinishedUpload, resume: (u: UnfinishedUpload) => void): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.uploadId = u.uploadId;
  const sent = `${u.name ?? u.key}: ${formatBytes(u.bytesDone ?? 0)} of ${formatBytes(u.size ?? 0)} sent (${u.key}).`;
  if (!u.resumable) li.textContent = `${u.key} (started ${new Date(u.initiated).toLocaleString()}): started in another browser or device, so it cannot resume here.`;
  else if (!u.resumeOptions) li.textContent = `${sent} Pick the same file to resume.`;
  else {
    const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Resume" });
    // Told apart from the Resume button of an upload's own row.
    button.setAttribute("aria-label", `Resume unfinished upload of ${u.name ?? u.key}`);
    button.addEventListener("click", () => resume(u));
    li.append(`${sent} `, button);
  }
  return li;
}

async function main(): Promise<void> {
  const config = (await (await fetch("/config.json")).json()) as DemoConfig;
  const uploader = createUploader({ endpoint: config.api, getToken: devToken, store: indexedDbStore() });

  const start = (picked: Iterable<Picked>) => {
    for (const { file, body } of picked) {
      addRow(file, (handlers) => uploader.upload({ body, ...handlers }), (key) => uploader.downloadUrl(key, { filename: file.name }));
    }
  };
  /** Unfinished uploads being resumed from this page: off the list at once, so a second click cannot start a second upload. */
  const resuming = new Set<string>();
  /**
   * Resumes an unfinished upload from its kept handle. Runs from the Resume button's click: only a
   * click may ask the person to allow reading the file again.
   */
  const resume = async (u: UnfinishedUpload) => {
    const options = u.resumeOptions!;
    const handle = options.body;
    resuming.add(u.uploadId);
    $(`#unfinished li[data-upload-id="${CSS.escape(u.uploadId)}"]`)?.remove();
    try {
      if (handle.requestPermission && (await handle.requestPermission({ mode: "read" })) !== "granted") {
        throw new Error(`reading ${handle.name} was not allowed, so it cannot resume; pick it again to resume it`);
      }
      const file = await handle.getFile();
      // Off the list while its row is shown (with its own Resume button when it fails); once
      // cancelled, listed again if COS still holds it (another tab has it).
      const upload = (handlers: Pick<UploadOptions, "onProgress" | "onStateChange">) =>
        uploader.upload({
          ...options,
          ...handlers,
          onStateChange(state, task) {
            handlers.onStateChange?.(state, task);
            if (state === "cancelled") resuming.delete(u.uploadId);
          },
        });
      addRow(file, upload, (key) => uploader.downloadUrl(key, { filename: file.name }));
      // The button is gone: the keyboard's focus goes to the new row, not to the page.
      $<HTMLElement>("#uploads .upload").focus();
    } catch (error) {
      resuming.delete(u.uploadId);
      say(`${handle.name}: ${explain(error)}`);
      void refreshUnfinished();
    }
  };
  const input = $<HTMLInputElement>("#files");
  input.addEventListener("change", () => {
    start([...(input.files ?? [])].map((file) => ({ file, body: file })));
    input.value = "";
  });
  // With the File System Access API, the same button (label and input, by click or keyboard) opens
  // its picker instead, for handles. A picker that fails (a cross-origin frame may forbid it) is not
  // used again: the next click opens the plain one.
  let picker = openFilePicker;
  input.addEventListener("click", (event) => {
    if (!picker) return;
    event.preventDefault();
    pickWithHandles(picker).then(
      (picked) => start(picked),
      (error: unknown) => {
        picker = undefined;
        say(`The file picker failed (${(error as Error)?.message ?? error}). Press Choose files again.`);
      },
    );
  });
  const drop = $<HTMLDivElement>("#drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    void dropped(event.dataTransfer).then((picked) => start(picked));
  });
  // The client holds its retries while the browser is offline; the page says why nothing moves.
  window.addEventListener("offline", () => say("You are offline. Uploads wait, and go on by themselves when the connection is back."));
  window.addEventListener("online", () => say("Back online: uploads go on."));
  $("#pause-all").addEventListener("click", () => uploader.pauseAll());
  $("#resume-all").addEventListener("click", () => uploader.resumeAll());

  let listing = 0;
  refreshUnfinished = async () => {
    const list = $("#unfinished");
    const mine = ++listing; // an older listing that answers later is not shown over a newer one
    try {
      // An upload with a row here (running, paused or failed: its row has the buttons) is not listed twice.
      const running = new Set(uploader.tasks().filter((t) => !["done", "cancelled"].includes(t.state)).map((t) => t.uploadId));
      const items = await uploader.unfinished();
      if (mine !== listing) return;
      list.replaceChildren(
        ...items
          .filter((u) => !running.has(u.uploadId) && !resuming.has(u.uploadId))
          .map((u) => unfinishedItem(u, (picked) => void resume(picked))),
      );
      if (!list.children.length) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: "None." }));
    } catch (error) {
      if (mine === listing) list.replaceChildren(Object.assign(document.createElement("li"), { textContent: `Could not list them: ${explain(error)}` }));
    }
  };
  const setup = checkSetup({ endpoint: config.api, getToken: devToken }).then(showSetup, (error: unknown) => setupUnreachable(config.api, error));
  await Promise.all([refreshUnfinished(), setup]);
  document.body.dataset.ready = "true";
}

main().catch((error: unknown) => say(`The demo could not start: ${explain(error)}`));
