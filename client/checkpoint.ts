// Resume checkpoints (issue 4 "Resume"): what a multipart upload needs to continue after a reload or
// a crash, in the uploader's Store under a fingerprint of the upload; Web Locks keep two tabs from
// resuming the same upload at once.

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

export async function loadCheckpoint(store: Store, id: string): Promise<Checkpoint | null> {
  const text = await store.get(id).catch(() => null);
  if (!text) return null;
  try {
    const cp = JSON.parse(text) as Checkpoint;
    return cp && cp.v === 1 && typeof cp.uploadId === "string" && Array.isArray(cp.parts) ? cp : null;
  } catch {
    return null;
  }
}

/** This device's checkpoints, each with its id (the fingerprint, also the key of a kept file handle). */
export async function listCheckpoints(store: Store): Promise<{ id: string; cp: Checkpoint }[]> {
  const ids = await store.keys(CHECKPOINT_PREFIX).catch(() => [] as string[]);
  const all = await Promise.all(ids.map(async (id) => ({ id, cp: await loadCheckpoint(store, id) })));
  return all.filter((entry): entry is { id: string; cp: Checkpoint } => entry.cp !== null);
}

/**
 * Writes a checkpoint's changes one after another (the last one wins), never failing the upload.
 * With a file handle and a store that keeps handles, the first write keeps the handle too.
 */
export class CheckpointWriter {
  private chain: Promise<void> = Promise.resolve();
  constructor(
    private readonly store: Store | undefined,
    readonly id: string,
    private handle?: FileHandle,
  ) {}
  save(cp: Checkpoint): Promise<void> {
    const text = JSON.stringify({ ...cp, updatedAt: Date.now() });
    this.chain = this.chain
      .then(async () => {
        await this.store?.set(this.id, text);
        const handle = this.handle;
        this.handle = undefined; // tried once: a handle the store cannot keep is not tried on every part
        if (handle) await this.store?.setHandle?.(this.id, handle);
      })
      .catch(() => undefined);
    return this.chain;
  }
  remove(): Promise<void> {
    this.chain = this.chain.then(() => this.store?.remove(this.id)).catch(() => undefined);
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
