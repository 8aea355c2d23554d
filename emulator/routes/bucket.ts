// Bucket-level operations: ListMultipartUploads (cos-protocol.md §3.6), GET Bucket (list objects),
// HEAD Bucket, the CORS sub-resource (§5) and DeleteMultipleObjects.

import { buildXml, list, parseXml, text } from "../../functions/cos/xml";
import { readSmallBody, send, sendXml, type Ctx } from "../context";
import { corsFromXml, corsToXml } from "../cors";
import { CosLocalError, cosErrors } from "../errors";
import { compareKeys } from "../storage";
import { encodeIf, maxEntries, owner, paginate } from "./listing";

/** `GET /?uploads` with prefix, delimiter, key-marker, upload-id-marker, max-uploads, encoding-type. */
export async function listMultipartUploads(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const keyMarker = q.get("key-marker") || undefined;
  // upload-id-marker means nothing without key-marker (§3.6 "Markers").
  const uploadIdMarker = keyMarker ? q.get("upload-id-marker") || undefined : undefined;
  const max = maxEntries(q.get("max-uploads"));
  const url = q.get("encoding-type") === "url";
  const uploads = await ctx.state.storage.listUploads(ctx.bucket);
  const page = paginate(uploads, (u) => u.key, {
    prefix,
    delimiter,
    max,
    keyMarker,
    after: (u) => keyMarker === undefined || compareKeys(u.key, keyMarker) > 0 || (uploadIdMarker !== undefined && u.key === keyMarker && u.uploadId > uploadIdMarker),
  });
  sendXml(
    ctx,
    200,
    buildXml({
      ListMultipartUploadsResult: {
        Bucket: ctx.bucket,
        "Encoding-Type": url ? "url" : "",
        KeyMarker: encodeIf(url, keyMarker ?? ""),
        UploadIdMarker: uploadIdMarker ?? "",
        NextKeyMarker: page.truncated ? encodeIf(url, page.nextMarker ?? "") : "",
        NextUploadIdMarker: page.truncated ? (page.nextMarker === page.lastItem?.key ? page.lastItem?.uploadId ?? "" : "") : "",
        MaxUploads: String(max),
        IsTruncated: page.truncated ? "true" : "false",
        Prefix: encodeIf(url, prefix),
        Delimiter: encodeIf(url, delimiter),
        Upload: page.items.map((u) => ({
          Key: encodeIf(url, u.key),
          UploadId: u.uploadId,
          StorageClass: u.headers["x-cos-storage-class"] ?? "STANDARD",
          Initiator: owner(ctx),
          Owner: owner(ctx),
          Initiated: u.initiated,
        })),
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encodeIf(url, p) })),
      },
    }),
  );
}

/** `GET /` (List Objects): prefix, delimiter, marker, max-keys, encoding-type. */
export async function getBucket(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const marker = q.get("marker") || undefined;
  const max = maxEntries(q.get("max-keys"));
  const url = q.get("encoding-type") === "url";
  const objects = await ctx.state.storage.listObjects(ctx.bucket);
  const page = paginate(objects, (o) => o.key, { prefix, delimiter, max, keyMarker: marker, after: (o) => marker === undefined || compareKeys(o.key, marker) > 0 });
  sendXml(
    ctx,
    200,
    buildXml({
      ListBucketResult: {
        Name: ctx.bucket,
        "Encoding-Type": url ? "url" : "",
        Prefix: encodeIf(url, prefix),
        Marker: encodeIf(url, marker ?? ""),
        MaxKeys: String(max),
        Delimiter: encodeIf(url, delimiter),
        IsTruncated: page.truncated ? "true" : "false",
        NextMarker: page.truncated ? encodeIf(url, page.nextMarker ?? "") : "",
        CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encodeIf(url, p) })),
        Contents: page.items.map((o) => ({
          Key: encodeIf(url, o.key),
          LastModified: o.lastModified,
          ETag: o.etag,
          Size: String(o.size),
          Owner: owner(ctx),
          StorageClass: o.headers["x-cos-storage-class"] ?? "STANDARD",
        })),
      },
    }),
  );
}

export async function headBucket(ctx: Ctx): Promise<void> {
  send(ctx, 200, { "x-cos-bucket-region": ctx.state.settings.region });
}

export async function putBucketCors(ctx: Ctx): Promise<void> {
  await ctx.state.cors.put(ctx.bucket, corsFromXml(await readSmallBody(ctx, 64 * 1024)));
  send(ctx, 200);
}

export async function getBucketCors(ctx: Ctx): Promise<void> {
  const config = await ctx.state.cors.effective(ctx.bucket);
  if (!config) throw new CosLocalError(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist.");
  sendXml(ctx, 200, corsToXml(config));
}

export async function deleteBucketCors(ctx: Ctx): Promise<void> {
  await ctx.state.cors.delete(ctx.bucket);
  send(ctx, 204);
}

/** `POST /?delete`: `<Delete><Quiet/><Object><Key/></Object>…</Delete>`, up to 1000 keys. */
export async function deleteMultipleObjects(ctx: Ctx): Promise<void> {
  let doc: ReturnType<typeof parseXml>;
  try {
    doc = parseXml(await readSmallBody(ctx, 2 * 1024 * 1024));
  } catch (error) {
    if (error instanceof CosLocalError) throw error;
    throw cosErrors.malformedXml();
  }
  const keys = list(doc.body, "Object").map((o) => text(o, "Key"));
  if (doc.root !== "Delete" || keys.length === 0 || keys.length > 1000) throw cosErrors.malformedXml();
  const quiet = text(doc.body, "Quiet") === "true";
  for (const key of keys) await ctx.state.storage.deleteObject(ctx.bucket, key);
  sendXml(ctx, 200, buildXml({ DeleteResult: quiet ? "" : { Deleted: keys.map((Key) => ({ Key })) } }));
}
