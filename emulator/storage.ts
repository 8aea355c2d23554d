// cos-local's disk layout (issue 2 §3 "Storage on disk"). Everything lives under dataDir:
//
//   tmp/                                         bodies being received (emptied at start)
//   buckets/<bucket>/objects/<sha256(key)>/      meta.json + data-<id>
//   buckets/<bucket>/uploads/<uploadId>/         upload.json + part-<n>.json + part-<n>-<id>.data
//   buckets/<bucket>/cors.json                   rules set by PUT /?cors
//
// File names never contain the key (it is hashed), so no key (`../x`, NUL, 850 bytes) can reach
// outside dataDir or hit a file-name limit. A body is written to tmp/ and renamed into place; the
// JSON sidecar written after it (also temp + rename) is the commit point: an object or part exists
// only once its sidecar does, so a crash or a reset mid-body never leaves half an object visible.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KeyedLock } from "./lock";

/** The object changed (another write committed) while an APPEND to it was being received. */
export class ObjectChanged extends Error {
  constructor(readonly size: number) {
    super("the object changed during the append");
  }
}

/** Metadata headers stored with an object, lowercase names (Content-Type, x-cos-meta-*, ACL...). */
export type StoredHeaders = Record<string, string>;

export interface ObjectRecord {
  key: string;
  size: number;
  /** Quoted, as sent in the ETag header. */
  etag: string;
  /** Unsigned decimal CRC-64/XZ (x-cos-hash-crc64ecma). */
  crc64: string;
  lastModified: string;
  type: "normal" | "appendable";
  headers: StoredHeaders;
  /** Name of the body file inside the object's directory. */
  dataFile: string;
}

export interface UploadRecord {
  key: string;
  uploadId: string;
  initiated: string;
  headers: StoredHeaders;
}

export interface PartRecord {
  partNumber: number;
  size: number;
  etag: string;
  crc64: string;
  lastModified: string;
  dataFile: string;
}

const UPLOAD_ID = /^[0-9a-f]{16,64}$/;

export class Storage {
  private readonly locks = new KeyedLock();
  readonly tmpDir: string;

  constructor(readonly dataDir: string) {
    this.tmpDir = join(dataDir, "tmp");
  }

  /**
   * Creates the layout and removes what a crash can leave behind: temp files, and bodies renamed
   * into place whose sidecar was never written (they were never visible).
   */
  async init(buckets: string[]): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    for (const bucket of buckets) {
      await mkdir(join(this.bucketDir(bucket), "objects"), { recursive: true });
      await mkdir(join(this.bucketDir(bucket), "uploads"), { recursive: true });
      await this.sweepOrphans(bucket);
    }
  }

  private async sweepOrphans(bucket: string): Promise<void> {
    const objects = join(this.bucketDir(bucket), "objects");
    for (const name of await readdir(objects)) {
      const dir = join(objects, name);
      const record = await readJson<ObjectRecord>(join(dir, "meta.json"));
      for (const file of await readdir(dir)) if (file.startsWith("data-") && file !== record?.dataFile) await unlink(join(dir, file));
      if (!record) await rm(dir, { recursive: true, force: true });
    }
    const uploads = join(this.bucketDir(bucket), "uploads");
    for (const id of await readdir(uploads)) {
      const dir = join(uploads, id);
      if (!(await this.readUpload(bucket, id))) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const referenced = new Set((await this.listParts(bucket, id)).map((p) => p.dataFile));
      for (const file of await readdir(dir)) if (file.endsWith(".data") && !referenced.has(file)) await unlink(join(dir, file));
    }
  }

  /** A fresh path in tmp/ (same filesystem as the store, so rename is atomic). */
  tempPath(): string {
    return join(this.tmpDir, randomBytes(12).toString("hex"));
  }

  // --- objects ---

  async readObject(bucket: string, key: string): Promise<ObjectRecord | null> {
    return readJson<ObjectRecord>(join(this.objectDir(bucket, key), "meta.json"));
  }

  objectDataPath(bucket: string, record: ObjectRecord): string {
    return join(this.objectDir(bucket, record.key), record.dataFile);
  }

  /**
   * Moves a received body into place and commits its metadata; replaces any previous version.
   * With `replaces` (an APPEND: the version it extended, or null for none), throws ObjectChanged
   * instead when another write got there first.
   */
  async commitObject(bucket: string, tempFile: string, record: Omit<ObjectRecord, "dataFile">, replaces?: ObjectRecord | null): Promise<ObjectRecord> {
    const dir = this.objectDir(bucket, record.key);
    return this.locks.run(`object:${dir}`, async () => {
      await mkdir(dir, { recursive: true });
      const previous = await this.readObject(bucket, record.key);
      if (replaces !== undefined && previous?.dataFile !== replaces?.dataFile) {
        await unlink(tempFile).catch(() => undefined);
        throw new ObjectChanged(previous?.size ?? 0);
      }
      const committed: ObjectRecord = { ...record, dataFile: `data-${randomBytes(8).toString("hex")}` };
      await rename(tempFile, join(dir, committed.dataFile));
      await this.writeJsonAtomic(join(dir, "meta.json"), committed);
      if (previous) await unlink(join(dir, previous.dataFile)).catch(() => undefined);
      return committed;
    });
  }

  /** Deletes an object; returns false when it did not exist. */
  async deleteObject(bucket: string, key: string): Promise<boolean> {
    const dir = this.objectDir(bucket, key);
    return this.locks.run(`object:${dir}`, async () => {
      const previous = await this.readObject(bucket, key);
      if (!previous) return false;
      await unlink(join(dir, "meta.json"));
      await rm(dir, { recursive: true, force: true });
      return true;
    });
  }

  /** Every committed object of a bucket, sorted by key (UTF-8 byte order, as COS lists). */
  async listObjects(bucket: string): Promise<ObjectRecord[]> {
    const root = join(this.bucketDir(bucket), "objects");
    const records = await Promise.all((await readdir(root)).map((name) => readJson<ObjectRecord>(join(root, name, "meta.json"))));
    return records.filter((r): r is ObjectRecord => r !== null).sort((a, b) => compareKeys(a.key, b.key));
  }

  // --- multipart uploads ---

  async createUpload(bucket: string, key: string, headers: StoredHeaders, now: Date): Promise<UploadRecord> {
    // COS upload ids start with the Unix time, so they sort roughly by initiation.
    const uploadId = `${Math.floor(now.getTime() / 1000)}${randomBytes(16).toString("hex")}`;
    const record: UploadRecord = { key, uploadId, initiated: now.toISOString(), headers };
    const dir = this.uploadDir(bucket, uploadId);
    await mkdir(dir, { recursive: true });
    await this.writeJsonAtomic(join(dir, "upload.json"), record);
    return record;
  }

  async readUpload(bucket: string, uploadId: string): Promise<UploadRecord | null> {
    if (!UPLOAD_ID.test(uploadId)) return null;
    return readJson<UploadRecord>(join(this.uploadDir(bucket, uploadId), "upload.json"));
  }

  async listUploads(bucket: string): Promise<UploadRecord[]> {
    const root = join(this.bucketDir(bucket), "uploads");
    const records = await Promise.all((await readdir(root)).map((id) => this.readUpload(bucket, id)));
    return records
      .filter((r): r is UploadRecord => r !== null)
      .sort((a, b) => compareKeys(a.key, b.key) || compareKeys(a.uploadId, b.uploadId));
  }

  /** Runs `task` while no part commit, Complete or Abort of the same upload runs. */
  withUpload<T>(bucket: string, uploadId: string, task: () => Promise<T>): Promise<T> {
    return this.locks.run(`upload:${bucket}/${uploadId}`, task);
  }

  /**
   * Commits a received part; a part number uploaded twice replaces the first (§3 "Limits").
   * Returns null (and drops the body) when the upload no longer exists (aborted or completed).
   */
  async commitPart(bucket: string, uploadId: string, tempFile: string, part: Omit<PartRecord, "dataFile">): Promise<PartRecord | null> {
    return this.withUpload(bucket, uploadId, async () => {
      if (!(await this.readUpload(bucket, uploadId))) {
        await unlink(tempFile).catch(() => undefined);
        return null;
      }
      const dir = this.uploadDir(bucket, uploadId);
      const previous = await readJson<PartRecord>(join(dir, `part-${part.partNumber}.json`));
      const committed: PartRecord = { ...part, dataFile: `part-${part.partNumber}-${randomBytes(8).toString("hex")}.data` };
      await rename(tempFile, join(dir, committed.dataFile));
      await this.writeJsonAtomic(join(dir, `part-${part.partNumber}.json`), committed);
      if (previous) await unlink(join(dir, previous.dataFile)).catch(() => undefined);
      return committed;
    });
  }

  /** Committed parts of an upload, ascending by part number. */
  async listParts(bucket: string, uploadId: string): Promise<PartRecord[]> {
    const dir = this.uploadDir(bucket, uploadId);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^part-\d+\.json$/.test(n));
    const parts = await Promise.all(names.map((n) => readJson<PartRecord>(join(dir, n))));
    return parts.filter((p): p is PartRecord => p !== null).sort((a, b) => a.partNumber - b.partNumber);
  }

  partDataPath(bucket: string, uploadId: string, part: PartRecord): string {
    return join(this.uploadDir(bucket, uploadId), part.dataFile);
  }

  /** Removes an upload; its upload.json goes first, so a crash midway leaves no visible upload. */
  async removeUpload(bucket: string, uploadId: string): Promise<void> {
    const dir = this.uploadDir(bucket, uploadId);
    await unlink(join(dir, "upload.json")).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }

  // --- bucket CORS (PUT /?cors) ---

  readCors<T>(bucket: string): Promise<T | null> {
    return readJson<T>(join(this.bucketDir(bucket), "cors.json"));
  }

  writeCors(bucket: string, rules: unknown): Promise<void> {
    return this.writeJsonAtomic(join(this.bucketDir(bucket), "cors.json"), rules);
  }

  async deleteCors(bucket: string): Promise<void> {
    await unlink(join(this.bucketDir(bucket), "cors.json")).catch(() => undefined);
  }

  // --- layout ---

  private bucketDir(bucket: string): string {
    return join(this.dataDir, "buckets", bucket);
  }

  private objectDir(bucket: string, key: string): string {
    return join(this.bucketDir(bucket), "objects", createHash("sha256").update(key, "utf8").digest("hex"));
  }

  private uploadDir(bucket: string, uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new Error(`invalid upload id ${JSON.stringify(uploadId)}`);
    return join(this.bucketDir(bucket), "uploads", uploadId);
  }

  private async writeJsonAtomic(path: string, value: unknown): Promise<void> {
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify(value));
    await rename(temp, path);
  }
}

/** Orders keys by their UTF-8 bytes, as COS (and S3) list them. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw error;
  }
}
