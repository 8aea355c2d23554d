// Object operations (cos-protocol.md §4): PUT, GET (Range), HEAD, DELETE, APPEND.

import { createHash } from "node:crypto";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { crc64Combine } from "../../functions/cos/crc64";
import { concatFiles, receiveBody } from "../body";
import { downloadStages, header, send, type Ctx } from "../context";
import { CosLocalError, cosErrors } from "../errors";
import { KeyedLock } from "../lock";
import { collectMetadata, objectHeaders, wireHeaderValue } from "../metadata";
import { ObjectChanged, type ObjectRecord } from "../storage";

/** Content-Length as a number; a declared size over the cap fails before any byte is read. */
export function declaredLength(ctx: Ctx, maxBytes: number): number | undefined {
  const header = ctx.req.headers["content-length"];
  if (header === undefined) return undefined;
  const length = Number(header);
  if (length > maxBytes) {
    // Reading 5 GB only to refuse it helps nobody: answer, then close the connection.
    ctx.res.setHeader("Connection", "close");
    throw cosErrors.entityTooLarge(maxBytes);
  }
  return length;
}

export async function putObject(ctx: Ctx): Promise<void> {
  const { storage, settings } = ctx.state;
  const headers = collectMetadata(ctx.req.headers);
  const body = await receiveBody(ctx.body, storage.tempPath(), {
    maxBytes: settings.maxObjectSize,
    contentLength: declaredLength(ctx, settings.maxObjectSize),
    contentMd5: header(ctx, "content-md5"),
    trafficLimit: ctx.trafficLimit,
  });
  const record = await storage.commitObject(ctx.bucket, body.tempFile, {
    key: ctx.key,
    size: body.size,
    etag: `"${body.md5.toString("hex")}"`,
    crc64: body.crc64.toString(),
    lastModified: ctx.now.toISOString(),
    type: "normal",
    headers,
  });
  send(ctx, 200, { ETag: record.etag, "x-cos-hash-crc64ecma": record.crc64 });
}

/**
 * Opens an object's body. A concurrent overwrite can delete the body file between reading the
 * metadata and opening it, so that case re-reads the metadata.
 */
async function openObject(ctx: Ctx): Promise<{ record: ObjectRecord; file: FileHandle }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const record = await ctx.state.storage.readObject(ctx.bucket, ctx.key);
    if (!record) throw cosErrors.noSuchKey();
    try {
      return { record, file: await open(ctx.state.storage.objectDataPath(ctx.bucket, record), "r") };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw cosErrors.internal("The object changed too often while being opened; retry.");
}

/** Conditional headers (§4 HEAD Object): If-Match / If-Unmodified-Since → 412, If-None-Match / If-Modified-Since → 304. */
function checkConditions(ctx: Ctx, record: ObjectRecord): void {
  const h = ctx.req.headers;
  const modified = Math.floor(new Date(record.lastModified).getTime() / 1000);
  const since = (value: string) => Math.floor(new Date(value).getTime() / 1000);
  const etagIn = (list: string) => list.split(",").some((e) => e.trim() === "*" || e.trim().replace(/^W\//, "") === record.etag);
  if (h["if-match"] && !etagIn(h["if-match"])) throw new CosLocalError(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold.");
  if (h["if-unmodified-since"] && modified > since(h["if-unmodified-since"])) throw new CosLocalError(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold.");
  const notModified = h["if-none-match"] ? etagIn(h["if-none-match"]) : h["if-modified-since"] ? modified <= since(h["if-modified-since"]) : false;
  if (notModified) throw new CosLocalError(304, "NotModified", "Not Modified").withHeaders({ ETag: record.etag });
}

type Range = { start: number; end: number } | null;

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else is ignored (whole object). */
export function parseRange(header: string | undefined, size: number): Range {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end || (match[1] === "" && Number(match[2]) === 0)) {
    throw new CosLocalError(416, "InvalidRange", "The requested range is not satisfiable.").withHeaders({ "Content-Range": `bytes */${size}` });
  }
  return { start, end };
}

/** `response-content-type` and friends override the stored headers on GET (signed as query params). */
function responseOverrides(ctx: Ctx): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding"]) {
    const value = ctx.query.get(`response-${name}`);
    if (value !== undefined) out[name] = wireHeaderValue(value, `response-${name}`);
  }
  return out;
}

export async function headObject(ctx: Ctx): Promise<void> {
  const record = await ctx.state.storage.readObject(ctx.bucket, ctx.key);
  if (!record) throw cosErrors.noSuchKey();
  checkConditions(ctx, record);
  ctx.res.writeHead(200, { ...objectHeaders(record), "Accept-Ranges": "bytes", "Content-Length": record.size });
  ctx.res.end();
}

export async function getObject(ctx: Ctx): Promise<void> {
  const { record, file } = await openObject(ctx);
  try {
    checkConditions(ctx, record);
    const range = parseRange(ctx.req.headers.range, record.size);
    const headers: Record<string, string | number> = { ...objectHeaders(record), ...responseOverrides(ctx), "Accept-Ranges": "bytes" };
    if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${record.size}`;
    headers["Content-Length"] = range ? range.end - range.start + 1 : record.size;
    ctx.res.writeHead(range ? 206 : 200, headers);
    if (record.size === 0) return void ctx.res.end();
    const stream = file.createReadStream({ start: range?.start ?? 0, end: range?.end ?? record.size - 1, autoClose: true });
    await pipeline(stream, ...(downloadStages(ctx) as []), ctx.res);
  } finally {
    await file.close().catch(() => undefined);
  }
}

export async function deleteObject(ctx: Ctx): Promise<void> {
  // COS answers 204 whether or not the key existed.
  await ctx.state.storage.deleteObject(ctx.bucket, ctx.key);
  send(ctx, 204);
}

// Appends to one key run one at a time, so the position check and the commit cannot interleave.
const appendLocks = new KeyedLock();

/**
 * APPEND Object (§4): `POST /<key>?append&position=<n>`. The object is rewritten as old body + new
 * bytes into a temp file and committed by rename, like any other write, so a reader never sees a
 * partial append.
 */
export async function appendObject(ctx: Ctx): Promise<void> {
  const { storage, settings } = ctx.state;
  const positionText = ctx.query.get("position") ?? "";
  if (!/^\d+$/.test(positionText)) throw cosErrors.invalidArgument("APPEND needs position=<non-negative integer>.");
  const position = Number(positionText);
  await appendLocks.run(`${ctx.bucket}/${ctx.key}`, async () => {
    const existing = await storage.readObject(ctx.bucket, ctx.key);
    if (existing && existing.type !== "appendable") throw new CosLocalError(409, "ObjectNotAppendable", "This object is not appendable (it was written by PUT or multipart upload).");
    const length = existing?.size ?? 0;
    if (position !== length) {
      throw new CosLocalError(409, settings.appendPositionErrorCode, `Position is ${position} but the object is ${length} bytes long; append at ${length}.`).withHeaders({
        "x-cos-next-append-position": String(length),
      });
    }
    const chunk = await receiveBody(ctx.body, storage.tempPath(), {
      maxBytes: settings.maxObjectSize - length,
      contentLength: declaredLength(ctx, settings.maxObjectSize - length),
      contentMd5: header(ctx, "content-md5"),
      trafficLimit: ctx.trafficLimit,
    });
    let bodyFile = chunk.tempFile;
    let md5 = chunk.md5;
    // A PUT, a multipart Complete or a DELETE of the key while the body arrived: the position no
    // longer holds (409, as for a wrong position), never a 500 over the vanished old body.
    const changed = async (size: number): Promise<never> => {
      throw new CosLocalError(409, settings.appendPositionErrorCode, `The object changed while this append was being received; it is now ${size} bytes long.`).withHeaders({
        "x-cos-next-append-position": String(size),
      });
    };
    if (existing) {
      bodyFile = storage.tempPath();
      const whole = createHash("md5");
      try {
        await concatFiles([storage.objectDataPath(ctx.bucket, existing), chunk.tempFile], bodyFile, whole);
      } catch (error) {
        await unlink(bodyFile).catch(() => undefined);
        if ((error as NodeJS.ErrnoException).code === "ENOENT") await changed((await storage.readObject(ctx.bucket, ctx.key))?.size ?? 0);
        throw error;
      } finally {
        await unlink(chunk.tempFile).catch(() => undefined);
      }
      md5 = whole.digest();
    }
    const commit = storage.commitObject(ctx.bucket, bodyFile, {
      key: ctx.key,
      size: length + chunk.size,
      etag: `"${md5.toString("hex")}"`,
      crc64: (existing ? crc64Combine(BigInt(existing.crc64), chunk.crc64, chunk.size) : chunk.crc64).toString(),
      lastModified: ctx.now.toISOString(),
      type: "appendable",
      headers: existing?.headers ?? collectMetadata(ctx.req.headers),
    }, existing);
    const record = await commit.catch((error: unknown) => (error instanceof ObjectChanged ? changed(error.size) : Promise.reject(error)));
    send(ctx, 200, {
      ETag: record.etag,
      "x-cos-next-append-position": record.size,
      "x-cos-hash-crc64ecma": record.crc64,
      // The Go SDK compares this with the MD5 hex of the appended bytes, despite its name (§4 APPEND).
      "x-cos-content-sha1": chunk.md5.toString("hex"),
    });
  });
}
