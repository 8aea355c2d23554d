// Resume checkpoints (issue 4 "Resume"): what a multipart upload needs to continue after a reload or
// a crash, in the uploader's Store under a fingerprint of the upload; Web Locks keep two tabs from
// resuming the same upload at once.

import { isApiError } from "./errors";
import type { FileHandle, FileSource, KeptOptions, Store } from "./types";

export const CHECKPOINT_PREFIX = "cos-direct:upload:";

export interface DonePart {
  partNumber: number;
  etag: string;
  size: number;
  /** Decimal CRC64 of the part (as COS reports it), when integrity is on. */
  crc64?: string;
}

export interface Checkpoint {
  v: 1;
  key: string;
  uploadId: string;
  token: string;
  partSize: number;
  partCount: number;
  size: number;
  /** The source's name (File.name, the path's base name), for "resume your uploads" screens. */
  name?: string;
  parts: DonePart[];
  /** The file's lastModified when the upload started: a resume by this checkpoint's id checks the file is the same. */
  lastModified?: number;
  /** What upload() asked for (key or filename, content type, metadata...), for resumeOptions. */
  options?: KeptOptions;
  /** Unix ms of the last write (for "resume your uploads" screens). */
  updatedAt: number;
}

/**
 * endpoint, key or filename, name, size, lastModified, part size, and `content` (the CRC-64 of bytes
 * held in memory): a change in any is another upload.
 */
export function fingerprint(endpoint: string, target: string, source: FileSource, partSize: number | undefined, content = ""): string {
  return endpointPrefix(endpoint) + [target, source.name ?? "", source.size, source.lastModified ?? "", partSize ?? "auto", content].map(encodeURIComponent).join("|");
}

/** How the ids of the checkpoints made for `endpoint` begin (a store may hold several endpoints'). */
export const endpointPrefix = (endpoint: string) => `${CHECKPOINT_PREFIX}${encodeURIComponent(endpoint.replace(/\/+$/, ""))}|`;

/** The checkpoint stored under `id`; null when there is none or the value is not one. Rejects when the store fails. */
export async function loadCheckpoint(store: Store, id: string): Promise<Checkpoint | null> {
  const text = await store.get(id);
  if (!text) return null;
  try {
    const cp = JSON.parse(text) as Checkpoint;
    return isCheckpoint(cp) ? cp : null;
  } catch {
    return null;
  }
}

/** Part `n`'s size when `size` bytes are cut into parts of `partSize` (the last one shorter). */
export const plannedSize = (partSize: number, size: number, n: number) => Math.min(partSize, size - (n - 1) * partSize);

/** A part (listed by COS or recorded) that belongs to the plan: numbered within it, of its planned size. */
export const fitsPlan = (plan: { partSize: number; partCount: number; size: number }, p: { partNumber: number; size: number }) =>
  p.partNumber >= 1 && p.partNumber <= plan.partCount && p.size === plannedSize(plan.partSize, plan.size, p.partNumber);

/**
 * The checkpoint records every part of its plan: its Complete may have landed with the answer lost,
 * so the upload gone from COS may be the object; Complete is sent again rather than every part.
 */
export const recordsEveryPart = (cp: Checkpoint) => new Set(cp.parts.filter((p) => fitsPlan(cp, p)).map((p) => p.partNumber)).size === cp.partCount;

const isPart = (p: DonePart) => !!p && Number.isInteger(p.partNumber) && typeof p.etag === "string" && typeof p.size === "number";

/** A checkpoint of this version with the fields a resume reads (a store's value may be anything). */
function isCheckpoint(cp: Checkpoint): boolean {
  if (!cp || cp.v !== 1 || !Array.isArray(cp.parts) || !cp.parts.every(isPart)) return false;
  return [cp.key, cp.uploadId, cp.token].every((s) => typeof s === "string") && [cp.partSize, cp.partCount, cp.size].every(Number.isFinite);
}

/**
 * The functions' answer for an upload that is surely gone: not in COS (completed, aborted, swept), or
 * its upload token expired (the sweeper's age). `unfinished()` forgets such checkpoints unasked.
 */
export const isUploadGone = (error: unknown) => isApiError(error) && (error.code === "UploadNotFound" || error.code === "UploadTokenExpired");

/**
 * The functions' answer for an upload no resume can reach: gone, or its token is not one they can
 * take (signed with a retired secret, or theirs is misconfigured for now). Uploading the file again
 * starts it over, and its checkpoint goes.
 */
export const isResumeGone = (error: unknown) => isUploadGone(error) || (isApiError(error) && error.code.startsWith("UploadToken"));

/** This device's checkpoints, each with its id (the fingerprint, also the key of a kept file handle). */
export async function listCheckpoints(store: Store): Promise<{ id: string; cp: Checkpoint }[]> {
  const ids = await store.keys(CHECKPOINT_PREFIX).catch(() => [] as string[]);
  const all = await Promise.all(ids.map(async (id) => ({ id, cp: await loadCheckpoint(store, id).catch(() => null) })));
  return all.filter((entry): entry is { id: string; cp: Checkpoint } => entry.cp !== null);
}

/**
 * A task's hold on one checkpoint id, and the upload that checkpoint is for. Two rules keep two
 * tasks (in one uploader, or in two tabs) from ever driving the same upload:
 * - a claim is held by one task at a time: the id's Web Lock, and within one uploader the id itself
 *   (Node, React Native and pages outside a secure context have no Web Locks);
 * - a claim writes or removes its checkpoint only while held, and only while the stored checkpoint
 *   is for the claim's upload (the same file may have started another upload under the id since).
 * A paused task keeps its claim; a failed, done or cancelled one releases it, and takes it again
 * (retake) to resume or to cancel. Writes go one after another, and the release waits for them.
 */
export class Claim {
  /** The upload the checkpoint is for: the one read when the claim was taken, or the first one saved. */
  uploadId?: string;
  private chain: Promise<void> = Promise.resolve();
  private releaseLock?: () => void;
  /** A release waiting for the writes before it. */
  private releasing?: Promise<void>;
  private retaking?: Promise<boolean>;
  /** The handle was written with this checkpoint (or tried: a store that cannot keep it is not asked on every part). */
  private handleKept = false;

  private constructor(
    private readonly store: Store,
    readonly id: string,
    /** The ids the tasks of one uploader hold. */
    private readonly taken: Set<string>,
    /** The body's file handle, kept with the first write of each upload's checkpoint (for resumeOptions). */
    private readonly handle?: FileHandle,
  ) {}

  /** Takes the claim on `id`; null while another task, here or in another tab, holds it. */
  static async take(store: Store, id: string, taken: Set<string>, handle?: FileHandle): Promise<Claim | null> {
    const claim = new Claim(store, id, taken, handle);
    return (await claim.retake()) ? claim : null;
  }

  get held(): boolean {
    return this.releaseLock !== undefined;
  }

  /** Takes the claim again after a release (true if this task holds it already); false while another holds it. */
  retake(): Promise<boolean> {
    if (this.held) return Promise.resolve(true);
    // One attempt at a time: a second caller (cancel, while a resumed run retakes) gets its answer.
    return (this.retaking ??= this.takeLock().finally(() => (this.retaking = undefined)));
  }

  private async takeLock(): Promise<boolean> {
    await this.releasing;
    if (this.taken.has(this.id)) return false;
    this.taken.add(this.id);
    const release = await acquireLock(this.id);
    if (!release) this.taken.delete(this.id);
    else this.releaseLock = release;
    return this.held;
  }

  /**
   * The checkpoint stored under the id, whichever upload it is for. Rejects when the store fails:
   * unread is not absent (a remove() then removes nothing; a task goes on without the checkpoint).
   */
  read(): Promise<Checkpoint | null> {
    return loadCheckpoint(this.store, this.id);
  }

  /** Writes `cp` if the claim is held and `cp` is for its upload (a claim without one yet takes cp's). */
  save(cp: Checkpoint): Promise<void> {
    if (!this.held || (this.uploadId ?? cp.uploadId) !== cp.uploadId) return this.chain;
    this.uploadId = cp.uploadId;
    const text = JSON.stringify({ ...cp, updatedAt: Date.now() });
    return this.after(async () => {
      await this.store.set(this.id, text);
      if (!this.handle || this.handleKept) return;
      this.handleKept = true;
      await this.store.setHandle?.(this.id, this.handle);
    });
  }

  /** Removes the checkpoint (and its file handle) if the claim is held and it is for the claim's upload. */
  remove(): Promise<void> {
    if (!this.held) return this.chain;
    return this.after(async () => {
      const stored = await this.read();
      if (stored && stored.uploadId !== this.uploadId) return;
      try {
        await this.store.remove(this.id);
      } finally {
        // Even if the store failed to remove it: the next upload's checkpoint writes over it.
        this.uploadId = undefined;
        this.handleKept = false; // removed with it: a new upload under this id writes it again
      }
    });
  }

  /** Lets the claim go once the writes under way have landed; nothing more is written until a retake. */
  release(): Promise<void> {
    const release = this.releaseLock;
    this.releaseLock = undefined;
    if (release) {
      this.releasing = this.chain.then(() => {
        this.taken.delete(this.id);
        release();
      });
    }
    return this.releasing ?? Promise.resolve();
  }

  /** Runs `step` after the writes before it; a failed write never fails the upload. */
  private after(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch(() => undefined);
    return this.chain;
  }
}

interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>;
}

/**
 * Holds the Web Lock `name` until the returned release is called. Resolves to null when another
 * tab holds it; to a no-op release when the platform has no Web Locks (Node, React Native).
 */
export async function acquireLock(name: string): Promise<(() => void) | null> {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (!locks) return () => undefined;
  return new Promise((resolve) => {
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return Promise.resolve();
        }
        return new Promise<void>((release) => resolve(release as () => void));
      })
      .catch(() => resolve(() => undefined));
  });
}
