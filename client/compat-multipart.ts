// The seed's six multipart operations (multipartInit/Upload/ListPart/Complete/Abort/List) mapped onto
// the functions (DESIGN.md "HTTP API"): POST /v1/uploads, POST .../parts then PUT the part to COS,
// GET .../parts, POST .../complete, DELETE, GET /v1/uploads. The functions bind every call on an
// upload to its upload token, which stays here by UploadId; what differs from the SDK is in
// compat.ts's header.

import { Api, type UploadRef } from "./api";
import { CorsError, HttpError } from "./errors";
import { fetchStack } from "./platform/fetch";
import { toFileSource } from "./sources";
import type { HttpStack, UploaderOptions } from "./types";

/** How the multipart calls reach the functions and COS. */
export type MultipartCalls = Pick<UploaderOptions, "endpoint" | "getToken" | "headers" | "fetch" | "httpStack">;

type Body = Blob | ArrayBuffer | Uint8Array | string;
interface Target {
  Bucket?: string;
  Region?: string;
  Key: string;
}
const ok = (statusCode = 200) => ({ statusCode, headers: {} as Record<string, string> });
export const quoted = (etag: string) => (etag.startsWith('"') ? etag : `"${etag}"`);

/** `http://host/bucket/key` → `host/bucket/key`, the SDK's Location; and the bucket when the host names it. */
export function sdkLocation(location: string): { Location: string; Bucket?: string } {
  const Location = location.replace(/^[a-z]+:\/\//i, "");
  const virtualHost = /^([a-z0-9-]+)\.cos\.[a-z0-9-]+\.myqcloud\.com\//.exec(Location);
  return { Location, ...(virtualHost ? { Bucket: virtualHost[1] } : {}) };
}

/** A Key as the SDK uses it: without one leading "/" (its UseRawKey off). */
export const sdkKey = (key: string): string => (key.startsWith("/") ? key.slice(1) : key);

/** The key the functions get: the SDK's Key, with KeyPrefix first. */
export function compatKey(keyPrefix: string, key: string): string {
  return keyPrefix + sdkKey(key);
}

export class CompatMultipart {
  private readonly api: Api;
  private readonly http: HttpStack;
  private readonly tokens = new Map<string, string>();

  constructor(
    calls: MultipartCalls,
    private readonly keyPrefix: string,
  ) {
    this.api = new Api(calls);
    this.http = calls.httpStack ?? fetchStack({ fetch: calls.fetch });
  }

  remember(uploadId: string, token: string): void {
    this.tokens.set(uploadId, token);
  }

  private ref(uploadId: string): UploadRef {
    const token = this.tokens.get(uploadId);
    // As the SDK's 404 NoSuchUpload to code that checks statusCode or error.Code (compatError maps status and code).
    if (!token) throw Object.assign(new Error(`UploadId ${uploadId}: no upload token here; only uploads this instance initiated (or handed over with rememberUpload) can be continued`), { status: 404, code: "NoSuchUpload" });
    return { uploadId, token };
  }

  private strip(key: string): string {
    return key.startsWith(this.keyPrefix) ? key.slice(this.keyPrefix.length) : key;
  }

  /** Initiate: the size comes from Body or ContentLength, since the functions plan the parts. */
  async init(params: Target & { Body?: Body; ContentLength?: number | string; ContentType?: string; StorageClass?: string; CacheControl?: string; ContentDisposition?: string; ContentEncoding?: string }) {
    const size = params.Body !== undefined ? (await toFileSource(params.Body)).size : Number(params.ContentLength);
    if (!Number.isInteger(size) || size < 0) throw new TypeError(`multipartInit ${params.Key}: give Body or ContentLength (the functions plan the parts from the size)`);
    const plan = await this.api.createUpload({
      key: compatKey(this.keyPrefix, params.Key),
      size,
      ...(params.ContentType ? { contentType: params.ContentType } : {}),
      ...(params.StorageClass ? { storageClass: params.StorageClass as never } : {}),
      ...(params.CacheControl ? { cacheControl: params.CacheControl } : {}),
      ...(params.ContentDisposition ? { contentDisposition: params.ContentDisposition } : {}),
      ...(params.ContentEncoding ? { contentEncoding: params.ContentEncoding } : {}),
    });
    if (plan.kind !== "multipart") throw new Error(`multipartInit ${params.Key}: ${size} bytes is at or below the functions' single-PUT threshold, so they plan one PUT; use putObject`);
    this.tokens.set(plan.uploadId, plan.token);
    return { ...ok(), Bucket: params.Bucket, Key: params.Key, UploadId: plan.uploadId, PartSize: plan.partSize, PartCount: plan.partCount };
  }

  /** Upload Part: a presigned URL for PartNumber, then the PUT straight to COS. */
  async upload(params: Target & { UploadId: string; PartNumber: number | string; Body: Body; ContentMD5?: string }) {
    const ref = this.ref(params.UploadId);
    const partNumber = Number(params.PartNumber);
    const [signed] = await this.api.signParts(ref, [{ partNumber, ...(params.ContentMD5 ? { md5: params.ContentMD5 } : {}) }]);
    const source = await toFileSource(params.Body);
    if (source.size !== signed.size) throw new RangeError(`multipartUpload ${params.Key} part ${partNumber}: the body is ${source.size} bytes, the planned part is ${signed.size} (PartSize from multipartInit)`);
    const request = { method: "PUT", url: signed.url, headers: signed.headers, body: await source.slice(0, source.size) };
    const response = await this.http.send(request);
    if (response.status < 200 || response.status > 299) throw HttpError.from(request, response);
    const etag = response.header("etag");
    if (!etag) throw new CorsError(request.method, request.url);
    const crc64 = response.header("x-cos-hash-crc64ecma");
    return { statusCode: response.status, headers: { etag, ...(crc64 ? { "x-cos-hash-crc64ecma": crc64 } : {}) }, ETag: etag };
  }

  /** List Parts: every part COS holds (all pages at once, so IsTruncated is always "false"). */
  async listPart(params: Target & { UploadId: string }) {
    const parts = await this.api.listParts(this.ref(params.UploadId));
    return {
      ...ok(),
      Bucket: params.Bucket,
      Key: params.Key,
      UploadId: params.UploadId,
      IsTruncated: "false",
      Part: parts.map((p) => ({ PartNumber: String(p.partNumber), LastModified: p.lastModified, ETag: quoted(p.etag), Size: String(p.size) })),
    };
  }

  async complete(params: Target & { UploadId: string; Parts: { PartNumber: number | string; ETag: string }[] }) {
    const result = await this.api.complete(
      this.ref(params.UploadId),
      params.Parts.map((p) => ({ partNumber: Number(p.PartNumber), etag: p.ETag })),
    );
    this.tokens.delete(params.UploadId);
    return {
      ...ok(),
      headers: result.crc64 ? { "x-cos-hash-crc64ecma": result.crc64 } : {},
      Bucket: params.Bucket,
      ...sdkLocation(result.location),
      Key: this.strip(result.key),
      ETag: quoted(result.etag),
    };
  }

  async abort(params: Target & { UploadId: string }) {
    await this.api.abort(this.ref(params.UploadId));
    this.tokens.delete(params.UploadId);
    return ok(204);
  }

  /** List Multipart Uploads: the caller's, filtered by Prefix here (the functions scope them to its grant). */
  async list(params: { Bucket?: string; Region?: string; Prefix?: string } = {}) {
    const prefix = this.keyPrefix + (params.Prefix ?? "");
    const uploads = (await this.api.listUploads()).filter((u) => u.key.startsWith(prefix));
    return {
      ...ok(),
      Bucket: params.Bucket,
      Prefix: params.Prefix ?? "",
      IsTruncated: "false",
      Upload: uploads.map((u) => ({ Key: this.strip(u.key), UploadId: u.uploadId, Initiated: u.initiated })),
    };
  }
}
