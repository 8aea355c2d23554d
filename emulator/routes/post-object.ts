// POST Object, the HTML form upload (cos-protocol.md §4 "POST Object"): `POST /` on the bucket,
// multipart/form-data, authorised by a signed policy instead of a request signature.

import { unlink } from "node:fs/promises";
import { buildXml } from "../../functions/cos/xml";
import { receiveBody } from "../body";
import { resourceOf, send, sendXml, type Ctx } from "../context";
import { CosLocalError, cosErrors } from "../errors";
import { formBoundary, readForm } from "../form-data";
import { collectMetadata } from "../metadata";
import { verifyPostPolicy } from "../post-policy";
import { validateKey } from "../request";
import type { ObjectRecord } from "../storage";
import { parseTrafficLimit } from "../throttle";

export async function postObject(ctx: Ctx): Promise<void> {
  const { storage, settings } = ctx.state;
  let form = new Map<string, string>();
  const record = await readForm(ctx.body, formBoundary(ctx.req.headers["content-type"]), async (fields, file, stream): Promise<ObjectRecord> => {
    // Field names are case-insensitive (`Content-Type`, `x-cos-meta-*`, `key`).
    form = new Map([...fields].map(([name, value]) => [name.toLowerCase(), value]));
    const keyField = form.get("key");
    if (!keyField) throw new CosLocalError(400, "InvalidArgument", "The form needs a key field.");
    const key = keyField.replaceAll("${filename}", file.filename);
    validateKey(key);
    // Checked before the file is stored: a bad redirect found after it would answer 500 over a stored object.
    const redirect = form.get("success_action_redirect");
    if (redirect !== undefined && !(URL.canParse(redirect) && /^https?:$/.test(new URL(redirect).protocol))) {
      throw cosErrors.invalidArgument("success_action_redirect must be an absolute http(s) URL.");
    }
    const limits = settings.verifySignatures
      ? await verifyPostPolicy(form, { bucket: ctx.bucket, credentials: settings.credentials, nowMs: settings.now() })
      : { minSize: 0, maxSize: Number.MAX_SAFE_INTEGER };
    const maxBytes = Math.min(limits.maxSize, settings.maxObjectSize);
    const body = await receiveBody(stream, storage.tempPath(), {
      maxBytes,
      trafficLimit: parseTrafficLimit(form.get("x-cos-traffic-limit")) ?? ctx.trafficLimit,
    });
    if (body.size < limits.minSize) {
      await unlink(body.tempFile).catch(() => undefined);
      throw new CosLocalError(400, "EntityTooSmall", `Your proposed upload is smaller than the minimum allowed by the policy (${limits.minSize} bytes).`);
    }
    return storage.commitObject(ctx.bucket, body.tempFile, {
      key,
      size: body.size,
      etag: `"${body.md5.toString("hex")}"`,
      crc64: body.crc64.toString(),
      lastModified: ctx.now.toISOString(),
      type: "normal",
      headers: collectMetadata({ ...Object.fromEntries(form), ...(form.has("acl") ? { "x-cos-acl": form.get("acl")! } : {}) }),
    });
  });

  // A header carries the key URL-encoded (a raw 报告.txt cannot be sent).
  const location = `http://${resourceOf({ ...ctx, key: record.key.split("/").map(encodeURIComponent).join("/") })}`;
  const headers = { ETag: record.etag, Location: location, "x-cos-hash-crc64ecma": record.crc64 };
  const redirect = form.get("success_action_redirect");
  if (redirect) {
    const target = new URL(redirect);
    target.searchParams.set("bucket", ctx.bucket);
    target.searchParams.set("key", record.key);
    target.searchParams.set("etag", record.etag);
    return send(ctx, 303, { ...headers, Location: target.toString() });
  }
  const status = form.get("success_action_status");
  if (status === "201") {
    return sendXml(ctx, 201, buildXml({ PostResponse: { Location: location, Bucket: ctx.bucket, Key: record.key, ETag: record.etag } }), headers);
  }
  send(ctx, status === "200" ? 200 : 204, headers);
}
