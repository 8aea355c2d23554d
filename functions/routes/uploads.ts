// /v1/uploads: plan an upload (single presigned PUT or multipart), sign part URLs in batches, list
// parts, complete, abort, and list the caller's unfinished uploads (DESIGN.md "HTTP API").

import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "zod";
import { isCosError } from "../cos/errors";
import { presignUrl } from "../cos/presign";
import { keyTime, signKey } from "../cos/sign";
import { ApiError, invalidInput, isApiError } from "../errors";
import { checkContentType, checkKeyInGrant, checkSize, type Grant } from "../policy/grant";
import { safeFilename } from "../policy/key";
import { partLength, planParts } from "../policy/plan";
import { signUploadToken, verifyUploadToken, type UploadTokenPayload } from "../policy/token";
import { objectHeaders, trafficQuery } from "./headers";
import { verifiedObject } from "./objects";
import { errors, expiresFor, grantOf, isoTime, json, jsonBody, newRouter, type AppEnv } from "./router";
import {
  CompleteRequest,
  CreateUploadRequest,
  CreateUploadResponse,
  ListPartsResponse,
  ObjectResult,
  SignPartsRequest,
  SignPartsResponse,
  UnfinishedUploads,
  UploadIdParam,
  UploadToken,
} from "./schemas";

export const uploads = newRouter();

// Optional for validation (a missing token is a 401 UploadTokenMissing, not a 400), required in the
// published document. (`.openapi` lives here, not in schemas.ts, which the client's type build reads
// without @hono/zod-openapi.)
const UploadTokenHeader = z.object({ "upload-token": UploadToken.openapi({ param: { required: true }, description: "The token the upload's plan returned" }) });
const stripQuotes = (etag: string) => etag.replace(/^"+|"+$/g, "");

/** The upload token's payload, once it is genuine, for this upload, and this caller's (403 otherwise). */
async function uploadOf(c: Context<AppEnv>, grant: Grant, uploadId: string): Promise<UploadTokenPayload> {
  const { config, now } = c.get("services");
  const token = await verifyUploadToken(c.req.header("upload-token"), config.uploadTokenSecret, now());
  if (token.uploadId !== uploadId) throw new ApiError(403, "UploadTokenMismatch", "Upload-Token header: the token belongs to another upload");
  if (token.sub !== grant.subject) throw new ApiError(403, "NotYourUpload", "Upload-Token header: the upload belongs to another caller");
  return token;
}

/** COS's NoSuchUpload as the API's 404; other COS failures pass to onError (502). */
function noSuchUpload(error: unknown): never {
  if (isCosError(error) && error.code === "NoSuchUpload") throw new ApiError(404, "UploadNotFound", "uploadId: COS has no such unfinished upload (completed, aborted or expired)");
  throw error;
}

uploads.openapi(
  createRoute({
    method: "post",
    path: "/uploads",
    summary: "Plan an upload: one presigned PUT, or a multipart upload initiated on COS",
    request: { body: jsonBody(CreateUploadRequest) },
    responses: { 200: json(CreateUploadResponse, "The upload plan"), ...errors(400, 401, 403, 413, 415, 429, 502) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const grant = await grantOf(c);
    const { config, cos, now } = c.get("services");
    if ((body.key === undefined) === (body.filename === undefined)) throw invalidInput("body.key", "send either key or filename, not both or neither");
    const key = checkKeyInGrant(grant, body.key ?? `${grant.keyPrefix}${crypto.randomUUID()}/${safeFilename(body.filename!)}`, body.key !== undefined ? "body.key" : "body.filename");
    checkSize(grant, body.size, "body.size");
    const headers = objectHeaders(body);
    checkContentType(grant, headers["content-type"], "body.contentType");

    if (body.size <= Math.min(config.singlePutThreshold, body.maxSinglePutSize ?? Infinity)) {
      const signed = { ...headers, "content-length": String(body.size), ...(body.md5 ? { "content-md5": body.md5 } : {}) };
      const query = trafficQuery(body.trafficLimit);
      const { url, expiresAt } = await presignUrl({ credentials: config.cos.credentials, target: config.cos.target, method: "PUT", key, query, headers: signed, now: now(), expires: grant.presignExpiresSeconds });
      const { "content-length": _length, ...toSend } = signed;
      return c.json({ kind: "single" as const, key, url, method: "PUT" as const, headers: toSend, expiresAt: isoTime(expiresAt) }, 200);
    }
    if (body.md5) throw invalidInput("body.md5", "applies to single PUT uploads only; send md5 per part when signing parts");
    const plan = planParts(body.size, body.partSize ?? config.partSize);
    const { uploadId } = await cos.initiateMultipartUpload(key, headers);
    const exp = Math.floor(now() / 1000) + config.staleUploadHours * 3600;
    const token = await signUploadToken({ v: 1, uploadId, key, sub: grant.subject, size: body.size, ...plan, contentType: headers["content-type"], exp }, config.uploadTokenSecret);
    return c.json({ kind: "multipart" as const, key, uploadId, ...plan, token, expiresAt: isoTime(exp * 1000) }, 200);
  },
);

uploads.openapi(
  createRoute({
    method: "post",
    path: "/uploads/{uploadId}/parts",
    summary: "Presign a batch of up to 1,000 part URLs; each signs the part's planned content-length",
    request: { params: UploadIdParam, headers: UploadTokenHeader, body: jsonBody(SignPartsRequest) },
    responses: { 200: json(SignPartsResponse, "One URL per requested part"), ...errors(400, 401, 403, 413, 415, 429) },
  }),
  async (c) => {
    const { uploadId } = c.req.valid("param");
    const body = c.req.valid("json");
    const grant = await grantOf(c);
    const upload = await uploadOf(c, grant, uploadId);
    const { config, now } = c.get("services");
    body.parts.forEach((p, i) => {
      if (p.partNumber > upload.partCount) throw invalidInput(`body.parts.${i}.partNumber`, `must be from 1 to ${upload.partCount}, the upload's part count`);
    });
    // One KeyTime and one SignKey for the whole batch: each URL then costs one SHA-1 and one HMAC.
    const kt = keyTime(now(), expiresFor(grant, body.expires));
    const sk = await signKey(config.cos.credentials.secretKey, kt);
    const parts = await Promise.all(
      body.parts.map(async ({ partNumber, md5 }) => {
        const size = partLength(upload, partNumber);
        const headers: Record<string, string> = { "content-length": String(size), ...(md5 ? { "content-md5": md5 } : {}) };
        const { url, expiresAt } = await presignUrl({
          credentials: config.cos.credentials, target: config.cos.target, method: "PUT", key: upload.key,
          query: { partNumber, uploadId, ...trafficQuery(body.trafficLimit) }, headers, now: now(), keyTime: kt, signKey: sk,
        });
        const { "content-length": _length, ...toSend } = headers;
        return { partNumber, size, url, headers: toSend, expiresAt: isoTime(expiresAt) };
      }),
    );
    return c.json({ parts }, 200);
  },
);

uploads.openapi(
  createRoute({
    method: "get",
    path: "/uploads/{uploadId}/parts",
    summary: "The parts COS already holds (every page), for resuming",
    request: { params: UploadIdParam, headers: UploadTokenHeader },
    responses: { 200: json(ListPartsResponse, "Parts in COS"), ...errors(400, 401, 403, 404, 429, 502) },
  }),
  async (c) => {
    const { uploadId } = c.req.valid("param");
    const upload = await uploadOf(c, await grantOf(c), uploadId);
    const parts = await c.get("services").cos.listParts(upload.key, uploadId).catch(noSuchUpload);
    return c.json({ parts }, 200);
  },
);

/** Which requested parts differ from the plan and from what COS holds; empty lists mean all agree. */
function compareParts(upload: UploadTokenPayload, requested: { partNumber: number; etag: string }[], inCos: Map<number, { etag: string; size: number }>) {
  const seen = new Set<number>();
  const extra: number[] = [];
  const etagMismatch: number[] = [];
  const wrongSize: { partNumber: number; size: number; planned: number }[] = [];
  for (const { partNumber, etag } of requested) {
    const stored = inCos.get(partNumber);
    if (partNumber > upload.partCount || seen.has(partNumber) || !stored) extra.push(partNumber);
    else if (stripQuotes(stored.etag) !== stripQuotes(etag)) etagMismatch.push(partNumber);
    else if (stored.size !== partLength(upload, partNumber)) wrongSize.push({ partNumber, size: stored.size, planned: partLength(upload, partNumber) });
    seen.add(partNumber);
  }
  const missing: number[] = [];
  for (let n = 1; n <= upload.partCount; n++) if (!seen.has(n) || !inCos.has(n)) missing.push(n);
  return { missing: missing.filter((n) => !extra.includes(n)), extra, etagMismatch, wrongSize };
}

function describeMismatch(diff: ReturnType<typeof compareParts>): string {
  const lists: string[] = [];
  const few = (ns: number[]) => (ns.length > 20 ? `${ns.slice(0, 20).join(", ")} and ${ns.length - 20} more` : ns.join(", "));
  if (diff.missing.length) lists.push(`missing part(s) ${few(diff.missing)}`);
  if (diff.extra.length) lists.push(`part(s) not in the plan or not in COS: ${few(diff.extra)}`);
  if (diff.etagMismatch.length) lists.push(`ETag differs from COS for part(s) ${few(diff.etagMismatch)}`);
  if (diff.wrongSize.length) lists.push(`wrong size for part(s) ${few(diff.wrongSize.map((w) => w.partNumber))}`);
  return lists.join("; ");
}

uploads.openapi(
  createRoute({
    method: "post",
    path: "/uploads/{uploadId}/complete",
    summary: "Complete after checking every part against the plan; runs onUploadCompleted with HEAD-verified figures",
    request: { params: UploadIdParam, headers: UploadTokenHeader, body: jsonBody(CompleteRequest) },
    responses: { 200: json(ObjectResult, "The object, as COS reports it"), ...errors(400, 401, 403, 404, 409, 413, 415, 429, 502) },
  }),
  async (c) => {
    const { uploadId } = c.req.valid("param");
    const { parts } = c.req.valid("json");
    const upload = await uploadOf(c, await grantOf(c), uploadId);
    const { cos } = c.get("services");
    let inCos: Awaited<ReturnType<typeof cos.listParts>>;
    try {
      inCos = await cos.listParts(upload.key, uploadId);
    } catch (error) {
      // A Complete whose response was lost and is retried: the upload is gone, the object is there.
      if (isCosError(error) && error.code === "NoSuchUpload") {
        // Only this upload's object (its size, its part count) counts, and only it reaches onUploadCompleted.
        const done = await verifiedObject(c, upload.key, { uploadId, expectedSize: upload.size, expectedParts: upload.partCount }).catch((e: unknown) => {
          if (isApiError(e)) return null;
          throw e;
        });
        if (done) return c.json(done, 200);
      }
      return noSuchUpload(error);
    }
    const diff = compareParts(upload, parts, new Map(inCos.map((p) => [p.partNumber, p])));
    const problem = describeMismatch(diff);
    if (problem) throw new ApiError(409, "PartsMismatch", `body.parts: ${problem}`, diff);
    await cos.completeMultipartUpload(upload.key, uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: inCos.find((q) => q.partNumber === p.partNumber)!.etag })));
    const result = await verifiedObject(c, upload.key, { uploadId, expectedSize: upload.size });
    return c.json(result, 200);
  },
);

uploads.openapi(
  createRoute({
    method: "delete",
    path: "/uploads/{uploadId}",
    summary: "Abort the upload on COS (idempotent: an upload already gone is not an error)",
    request: { params: UploadIdParam, headers: UploadTokenHeader },
    responses: { 204: { description: "Aborted" }, ...errors(400, 401, 403, 502) },
  }),
  async (c) => {
    const { uploadId } = c.req.valid("param");
    const upload = await uploadOf(c, await grantOf(c), uploadId);
    await c.get("services").cos.abortMultipartUpload(upload.key, uploadId).catch((error: unknown) => {
      if (!(isCosError(error) && error.code === "NoSuchUpload")) throw error;
    });
    return c.body(null, 204);
  },
);

uploads.openapi(
  createRoute({
    method: "get",
    path: "/uploads",
    summary: "The caller's unfinished multipart uploads (under its key prefix only)",
    responses: { 200: json(UnfinishedUploads, "Unfinished uploads"), ...errors(401, 429, 502) },
  }),
  async (c) => {
    const grant = await grantOf(c);
    const { uploads: list } = await c.get("services").cos.listMultipartUploads({ prefix: grant.keyPrefix });
    return c.json({ uploads: list.map(({ key, uploadId, initiated }) => ({ key, uploadId, initiated })) }, 200);
  },
);
