// Multipart upload (cos-protocol.md §3): Initiate, UploadPart, ListParts, Complete, Abort.
// ListMultipartUploads is a bucket listing and lives in routes/bucket.ts.

import { createHash, randomBytes } from "node:crypto";
import { crc64Combine } from "../../functions/cos/crc64";
import { buildXml, list, parseXml, text } from "../../functions/cos/xml";
import { concatFiles, receiveBody } from "../body";
import { header, readSmallBody, resourceOf, send, sendXml, type Ctx } from "../context";
import { CosLocalError, cosErrors, errorXml } from "../errors";
import { collectMetadata } from "../metadata";
import type { PartRecord, UploadRecord } from "../storage";
import { declaredLength } from "./object";
import { encodeIf, owner } from "./listing";

async function upload(ctx: Ctx): Promise<UploadRecord> {
  const record = await ctx.state.storage.readUpload(ctx.bucket, ctx.query.get("uploadId") ?? "");
  if (!record || record.key !== ctx.key) throw cosErrors.noSuchUpload();
  return record;
}

/** `POST /<key>?uploads`: the headers become the completed object's metadata (§3.1). */
export async function initiateMultipartUpload(ctx: Ctx): Promise<void> {
  const record = await ctx.state.storage.createUpload(ctx.bucket, ctx.key, collectMetadata(ctx.req.headers), ctx.now);
  sendXml(ctx, 200, buildXml({ InitiateMultipartUploadResult: { Bucket: ctx.bucket, Key: ctx.key, UploadId: record.uploadId } }));
}

/** `PUT /<key>?partNumber=N&uploadId=ID` (§3.2): ETag is the part's MD5, CRC the part's CRC. */
export async function uploadPart(ctx: Ctx): Promise<void> {
  const { storage, settings, counters } = ctx.state;
  const partText = ctx.query.get("partNumber") ?? "";
  const partNumber = /^\d+$/.test(partText) ? Number(partText) : NaN;
  if (!(partNumber >= 1 && partNumber <= 10000)) throw cosErrors.invalidArgument(`partNumber must be an integer from 1 to 10000; got ${JSON.stringify(partText)}.`);
  const record = await upload(ctx);
  const body = await receiveBody(ctx.body, storage.tempPath(), {
    maxBytes: settings.maxObjectSize,
    contentLength: declaredLength(ctx, settings.maxObjectSize),
    contentMd5: header(ctx, "content-md5"),
    trafficLimit: ctx.trafficLimit,
  });
  const part = await storage.commitPart(ctx.bucket, record.uploadId, body.tempFile, {
    partNumber,
    size: body.size,
    etag: `"${body.md5.toString("hex")}"`,
    crc64: body.crc64.toString(),
    lastModified: ctx.now.toISOString(),
  });
  // Aborted or completed while the body was in flight (§3.5 "Parts still being uploaded fail").
  if (!part) throw cosErrors.noSuchUpload();
  counters.partAccepted(record.uploadId, partNumber);
  send(ctx, 200, { ETag: part.etag, "x-cos-hash-crc64ecma": part.crc64 });
}

/** `GET /<key>?uploadId=ID` (§3.3), paged by max-parts and part-number-marker. */
export async function listParts(ctx: Ctx): Promise<void> {
  const record = await upload(ctx);
  const maxParts = Math.min(1000, Math.max(0, Number(ctx.query.get("max-parts") ?? 1000) || 0) || 1000);
  const marker = Number(ctx.query.get("part-number-marker") ?? 0) || 0;
  const remaining = (await ctx.state.storage.listParts(ctx.bucket, record.uploadId)).filter((p) => p.partNumber > marker);
  const page = remaining.slice(0, maxParts);
  const truncated = remaining.length > page.length;
  const url = ctx.query.get("encoding-type") === "url";
  sendXml(
    ctx,
    200,
    buildXml({
      ListPartsResult: {
        Bucket: ctx.bucket,
        "Encoding-type": url ? "url" : "",
        Key: encodeIf(url, record.key),
        UploadId: record.uploadId,
        Initiator: owner(ctx),
        Owner: owner(ctx),
        PartNumberMarker: String(marker),
        Part: page.map((p) => ({ PartNumber: String(p.partNumber), LastModified: p.lastModified, ETag: p.etag, Size: String(p.size) })),
        NextPartNumberMarker: page.length ? String(page[page.length - 1].partNumber) : "",
        StorageClass: record.headers["x-cos-storage-class"] ?? "STANDARD",
        MaxParts: String(maxParts),
        IsTruncated: truncated ? "true" : "false",
      },
    }),
  );
}

/** `DELETE /<key>?uploadId=ID` (§3.5). */
export async function abortMultipartUpload(ctx: Ctx): Promise<void> {
  const record = await upload(ctx);
  await ctx.state.storage.withUpload(ctx.bucket, record.uploadId, () => ctx.state.storage.removeUpload(ctx.bucket, record.uploadId));
  send(ctx, 204);
}

const stripQuotes = (etag: string) => etag.trim().replace(/^"+|"+$/g, "");

/** Parses the Complete body into (partNumber, etag) pairs; MalformedXML when it is not one. */
function requestedParts(xml: string): { partNumber: number; etag: string }[] {
  let doc: ReturnType<typeof parseXml>;
  try {
    doc = parseXml(xml);
  } catch {
    throw cosErrors.malformedXml();
  }
  const parts = list(doc.body, "Part").map((p) => ({ partNumber: Number(text(p, "PartNumber")), etag: text(p, "ETag") }));
  if (doc.root !== "CompleteMultipartUpload" || parts.length === 0 || parts.some((p) => !Number.isInteger(p.partNumber))) throw cosErrors.malformedXml();
  return parts;
}

/** The §3.4 checks, in COS's order: ascending numbers, every part present with its ETag, sizes. */
function validateParts(ctx: Ctx, requested: { partNumber: number; etag: string }[], stored: PartRecord[]): PartRecord[] {
  const { minPartSize, strictPartNumbers } = ctx.state.settings;
  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) {
      throw new CosLocalError(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.");
    }
  }
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
  const chosen = requested.map((r, i) => {
    const part = byNumber.get(r.partNumber);
    if (!part || stripQuotes(part.etag) !== stripQuotes(r.etag)) {
      throw new CosLocalError(400, "InvalidPart", `Part ${r.partNumber} ${part ? "has a different ETag" : "was not uploaded"}: one or more of the specified parts could not be found or its entity tag did not match.`);
    }
    if (strictPartNumbers && r.partNumber !== i + 1) throw new CosLocalError(400, "InvalidPart", `Part numbers must be consecutive from 1; part ${i + 1} is missing.`);
    return part;
  });
  chosen.slice(0, -1).forEach((part) => {
    if (part.size < minPartSize) {
      throw new CosLocalError(400, "EntityTooSmall", `Part ${part.partNumber} is ${part.size} bytes; every part but the last must be at least ${minPartSize} bytes.`);
    }
  });
  return chosen;
}

/**
 * `POST /<key>?uploadId=ID` (§3.4). Errors found before merging get a normal status. Then, like
 * COS, it answers 200 at once and sends whitespace while it merges the parts; a failure from then
 * on (or the "complete-error-in-200" fault) is an `<Error>` document inside the 200 body.
 */
export async function completeMultipartUpload(ctx: Ctx): Promise<void> {
  const { storage, settings } = ctx.state;
  const requested = requestedParts(await readSmallBody(ctx, 4 * 1024 * 1024));
  const record = await upload(ctx);
  await storage.withUpload(ctx.bucket, record.uploadId, async () => {
    if (!(await storage.readUpload(ctx.bucket, record.uploadId))) throw cosErrors.noSuchUpload();
    const parts = validateParts(ctx, requested, await storage.listParts(ctx.bucket, record.uploadId));
    const md5s = Buffer.concat(parts.map((p) => Buffer.from(stripQuotes(p.etag), "hex")));
    const etag = `"${createHash("md5").update(md5s).digest("hex")}-${parts.length}"`;
    const crc = parts.reduce((acc, p, i) => (i === 0 ? BigInt(p.crc64) : crc64Combine(acc, BigInt(p.crc64), p.size)), 0n).toString();

    ctx.res.writeHead(200, { "Content-Type": "application/xml", "x-cos-hash-crc64ecma": crc });
    ctx.res.write(" ");
    const heartbeat = setInterval(() => ctx.res.write(" "), settings.completeHeartbeatMs);
    const errorInBody = (code: string, message: string) =>
      ctx.res.end(errorXml({ code, message, resource: resourceOf(ctx), requestId: ctx.requestId, traceId: randomBytes(18).toString("base64url") }));
    try {
      if (ctx.fault?.kind === "complete-error-in-200") return errorInBody("InternalError", "cos-local fault: an error inside a 200 Complete response.");
      const merged = storage.tempPath();
      await concatFiles(parts.map((p) => storage.partDataPath(ctx.bucket, record.uploadId, p)), merged);
      await storage.commitObject(ctx.bucket, merged, {
        key: record.key,
        size: parts.reduce((n, p) => n + p.size, 0),
        etag,
        crc64: crc,
        lastModified: ctx.now.toISOString(),
        type: "normal",
        headers: record.headers,
      });
      await storage.removeUpload(ctx.bucket, record.uploadId);
      ctx.res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n` +
          buildXml({ CompleteMultipartUploadResult: { Location: resourceOf(ctx), Bucket: ctx.bucket, Key: record.key, ETag: etag } }),
      );
    } catch (error) {
      errorInBody("InternalError", `Merging the parts failed: ${(error as Error).message}`);
    } finally {
      clearInterval(heartbeat);
    }
  });
}
