// /v1/objects: confirm a single PUT (runs onUploadCompleted), presign APPEND, presign GET.

import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { cosLocation } from "../cos/endpoint";
import { isCosError } from "../cos/errors";
import { presignUrl } from "../cos/presign";
import { ApiError } from "../errors";
import { checkContentType, checkKeyInGrant, checkSize } from "../policy/grant";
import { trafficQuery } from "./headers";
import { errors, expiresFor, grantOf, isoTime, json, jsonBody, newRouter, type AppEnv } from "./router";
import { AppendRequest, DownloadRequest, KeyRequest, ObjectResult, PresignedRequest } from "./schemas";

export const objects = newRouter();

/**
 * HEADs `key` on COS and, when the upload is verified, tells the app through onUploadCompleted.
 * Every figure comes from COS, never from the client (issue 3 "onUploadCompleted").
 */
export async function verifiedObject(c: Context<AppEnv>, key: string, upload: { uploadId?: string; expectedSize?: number; expectedParts?: number } = {}) {
  const { cos, config, onUploadCompleted } = c.get("services");
  const head = await cos.headObject(key).catch((error: unknown) => {
    if (isCosError(error) && error.status === 404) throw new ApiError(404, "ObjectNotFound", "key: COS has no object with this key (was the PUT sent?)");
    throw error;
  });
  if (upload.expectedSize !== undefined && head.size !== upload.expectedSize) {
    throw new ApiError(409, "SizeMismatch", `the object is ${head.size} bytes but the upload declared ${upload.expectedSize}`);
  }
  // A multipart object's ETag ends in -<part count> (cos-protocol.md §3.4): anything else at the key is another upload's.
  if (upload.expectedParts !== undefined && !head.etag.endsWith(`-${upload.expectedParts}"`)) {
    throw new ApiError(409, "ObjectMismatch", `the object at this key (ETag ${head.etag}) is not one of ${upload.expectedParts} parts`);
  }
  const result = { key, etag: head.etag, size: head.size, location: cosLocation(config.cos.target, key).url, crc64: head.crc64, contentType: head.contentType };
  const grant = await grantOf(c);
  await onUploadCompleted?.({ ...result, subject: grant.subject, uploadId: upload.uploadId }, c);
  return result;
}

objects.openapi(
  createRoute({
    method: "post",
    path: "/objects/confirm",
    summary: "Confirm a single PUT: HEADs the object and runs onUploadCompleted",
    request: { body: jsonBody(KeyRequest) },
    responses: { 200: json(ObjectResult, "The object, as COS reports it"), ...errors(400, 401, 403, 404, 413, 415, 429, 502) },
  }),
  async (c) => {
    const { key } = c.req.valid("json");
    checkKeyInGrant(await grantOf(c), key, "body.key");
    return c.json(await verifiedObject(c, key), 200);
  },
);

objects.openapi(
  createRoute({
    method: "post",
    path: "/objects/append",
    summary: "Presign an APPEND of `size` bytes at `position` (appendable objects)",
    request: { body: jsonBody(AppendRequest) },
    responses: { 200: json(PresignedRequest, "A presigned POST ?append URL"), ...errors(400, 401, 403, 413, 415, 429) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const grant = await grantOf(c);
    const key = checkKeyInGrant(grant, body.key, "body.key");
    checkSize(grant, body.position + body.size, "body.position + body.size");
    const contentType = body.contentType ?? "application/octet-stream";
    checkContentType(grant, contentType, "body.contentType");
    const { config, now } = c.get("services");
    const headers = { "content-length": String(body.size), "content-type": contentType };
    const { url, expiresAt } = await presignUrl({
      credentials: config.cos.credentials, target: config.cos.target, method: "POST", key,
      query: { append: "", position: body.position }, headers, now: now(), expires: expiresFor(grant, body.expires),
    });
    return c.json({ key, url, method: "POST", headers: { "content-type": contentType }, expiresAt: isoTime(expiresAt) }, 200);
  },
);

objects.openapi(
  createRoute({
    method: "post",
    path: "/objects/download",
    summary: "Presign a GET of an object under the caller's prefix",
    request: { body: jsonBody(DownloadRequest) },
    responses: { 200: json(PresignedRequest, "A presigned GET URL"), ...errors(400, 401, 403, 413, 415, 429) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const grant = await grantOf(c);
    const key = checkKeyInGrant(grant, body.key, "body.key");
    const { config, now } = c.get("services");
    const query = {
      ...(body.filename ? { "response-content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(body.filename)}` } : {}),
      ...trafficQuery(body.trafficLimit),
    };
    const { url, expiresAt } = await presignUrl({
      credentials: config.cos.credentials, target: config.cos.target, method: "GET", key, query, now: now(), expires: expiresFor(grant, body.expires),
    });
    return c.json({ key, url, method: "GET", headers: {}, expiresAt: isoTime(expiresAt) }, 200);
  },
);
