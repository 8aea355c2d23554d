// Wire types of the HTTP API, as zod schemas: validated on the way in and published in the
// OpenAPI document (GET /v1/openapi.json). The client library imports only their types.

import * as z from "zod";
import { COS_MAX_PART, COS_MIN_PART, COS_MAX_PARTS } from "../config";
import { LONE_SURROGATE } from "../policy/key";

/** HTTP drops a header value's outer spaces: a signature over them would never match what COS receives. */
const NO_OUTER_SPACES = /^(?! )[\x20-\x7e]*(?<! )$/;
const OUTER_SPACES = "must not start or end with a space (HTTP drops them, so the signature would not match)";

/** Header values travel as Latin-1 byte strings; printable ASCII keeps every runtime happy. */
const headerValue = (max: number) =>
  z.string().max(max).regex(/^[\x20-\x7e]*$/, "must be printable ASCII (encode other text, e.g. RFC 5987 for filenames)").regex(NO_OUTER_SPACES, OUTER_SPACES);

/** Text that has a UTF-8 form (JSON may carry a lone surrogate such as "\ud800", which has none and cannot be URL-encoded). */
const wellFormed = () => z.string().refine((text) => !LONE_SURROGATE.test(text), "must be valid Unicode (it has a lone UTF-16 surrogate)");

export const Md5Base64 = z.string().regex(/^[A-Za-z0-9+/]{22}==$/, "must be the base64 of a 16-byte MD5 digest");
export const ContentType = z
  .string()
  .max(255)
  .regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+( *;[\x20-\x7e]*)?$/, "must be a MIME type such as image/png (printable ASCII)")
  .regex(NO_OUTER_SPACES, OUTER_SPACES);
export const StorageClass = z.enum(["STANDARD", "STANDARD_IA", "ARCHIVE", "DEEP_ARCHIVE", "INTELLIGENT_TIERING", "MAZ_STANDARD", "MAZ_STANDARD_IA"]);
/** COS's bandwidth cap in bits per second (cos-protocol.md §4), signed into the URL's query. */
export const TrafficLimit = z.number().int().min(819200).max(838860800).optional().describe("x-cos-traffic-limit in bit/s (819200-838860800), signed into the URL");
export const Expires = z.number().int().min(1).max(7 * 24 * 3600).optional().describe("URL lifetime in seconds, capped by the server");

/** Object options that become COS headers (x-cos-meta-*, Cache-Control...). */
export const ObjectOptions = z.object({
  contentType: ContentType.optional().describe("Defaults to application/octet-stream"),
  metadata: z
    .record(z.string().regex(/^[a-z0-9-]{1,64}$/, "metadata names may use a-z, 0-9 and -"), headerValue(2048))
    .optional()
    .describe("Stored as x-cos-meta-<name>; 2 KB in total"),
  storageClass: StorageClass.optional(),
  cacheControl: headerValue(1024).optional(),
  contentDisposition: headerValue(1024).optional(),
  contentEncoding: headerValue(256).optional(),
});

export const CreateUploadRequest = ObjectOptions.extend({
  key: z.string().optional().describe("Full object key, inside the caller's prefix"),
  filename: z.string().min(1).max(1024).optional().describe("Or a file name: the key becomes <prefix><random>/<filename>"),
  size: z.number().int().min(0).max(COS_MAX_PARTS * COS_MAX_PART),
  md5: Md5Base64.optional().describe("Content-MD5 of the whole body (single PUT only)"),
  partSize: z.number().int().min(COS_MIN_PART).max(COS_MAX_PART).optional().describe("Preferred part size for multipart"),
  trafficLimit: TrafficLimit.describe("Bandwidth cap for the single PUT (multipart: give it when signing parts)"),
  maxSinglePutSize: z.number().int().min(0).optional().describe("Use one PUT only up to this size (the client's sliceSize); SINGLE_PUT_THRESHOLD caps it"),
});

export const SingleUpload = z.object({
  kind: z.literal("single"),
  key: z.string(),
  url: z.string(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()).describe("Send exactly these headers, and exactly `size` bytes"),
  expiresAt: z.string(),
});

export const MultipartUpload = z.object({
  kind: z.literal("multipart"),
  key: z.string(),
  uploadId: z.string(),
  partSize: z.number().int(),
  partCount: z.number().int(),
  token: z.string().describe("Send as the Upload-Token header on every later call for this upload"),
  expiresAt: z.string().describe("When the token expires"),
});

export const CreateUploadResponse = z.discriminatedUnion("kind", [SingleUpload, MultipartUpload]);

export const UploadIdParam = z.object({ uploadId: z.string().min(1).max(256).regex(/^[\x21-\x7e]+$/, "must be an upload id") });
/** Checked by the route, which answers a missing one with 401 UploadTokenMissing (not a 400); routes/uploads.ts marks it required in the document. */
export const UploadToken = z.string().max(4096).optional();

export const SignPartsRequest = z.object({
  parts: z.array(z.object({ partNumber: z.number().int().min(1).max(COS_MAX_PARTS), md5: Md5Base64.optional() })).min(1).max(1000),
  expires: Expires,
  trafficLimit: TrafficLimit,
});

export const SignedPart = z.object({
  partNumber: z.number().int(),
  size: z.number().int(),
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.string(),
});
export const SignPartsResponse = z.object({ parts: z.array(SignedPart) });

export const ListPartsResponse = z.object({
  parts: z.array(z.object({ partNumber: z.number().int(), etag: z.string(), size: z.number().int(), lastModified: z.string() })),
});

export const CompleteRequest = z.object({
  parts: z.array(z.object({ partNumber: z.number().int().min(1).max(COS_MAX_PARTS), etag: z.string().min(1).max(128) })).min(1).max(COS_MAX_PARTS),
});

export const ObjectResult = z.object({
  key: z.string(),
  etag: z.string(),
  size: z.number().int(),
  location: z.string(),
  crc64: z.string().optional(),
  contentType: z.string(),
});

export const UnfinishedUploads = z.object({
  uploads: z.array(z.object({ key: z.string(), uploadId: z.string(), initiated: z.string() })),
});

export const KeyRequest = z.object({ key: z.string() });

/** An origin as a browser sends it: http(s), lower-case host, no default port, path, user or wildcard. */
function isOrigin(value: string): boolean {
  try {
    return /^https?:/.test(value) && !value.includes("*") && new URL(value).origin === value;
  } catch {
    return false;
  }
}
export const ORIGIN_FORM = "must be an origin as browsers send it, such as https://app.example.com (lower case, no default port, path or wildcard)";

export const DiagnosticsQuery = z.object({
  origin: z.string().max(256).refine(isOrigin, ORIGIN_FORM).optional().describe("The page's origin (location.origin); defaults to the request's Origin header"),
});

export const DiagnosticsReport = z.object({
  origin: z.string(),
  serverTime: z.string().describe("The functions' clock (ISO 8601)"),
  bucketCors: z.enum(["ok", "problems", "unreadable"]).describe("unreadable: the functions' COS key may not read the bucket's CORS rules"),
  problems: z.array(
    z.object({
      severity: z.enum(["error", "warning"]).describe("error: uploads from this origin fail; warning: a feature does not work"),
      code: z.string(),
      message: z.string(),
    }),
  ),
});

export const AppendRequest = z.object({
  key: z.string(),
  position: z.number().int().min(0),
  size: z.number().int().min(1).max(COS_MAX_PART),
  contentType: ContentType.optional(),
  expires: Expires,
});

export const DownloadRequest = z.object({
  key: z.string(),
  filename: wellFormed().min(1).max(255).optional().describe("Sets response-content-disposition: attachment"),
  expires: Expires,
  trafficLimit: TrafficLimit,
});

export const PresignedRequest = z.object({
  key: z.string(),
  url: z.string(),
  method: z.string(),
  headers: z.record(z.string(), z.string()),
  expiresAt: z.string(),
});

export const FormRequest = z.object({
  key: z.string().optional().describe("Exact key the form uploads to"),
  keyPrefix: z.string().optional().describe("Or a prefix (inside the caller's) every key must start with"),
  contentType: ContentType.optional(),
  maxBytes: z.number().int().min(1).optional(),
  expires: Expires,
  successActionRedirect: z.string().max(2048).optional().describe("Where COS sends the browser after the upload (303, with bucket, key and etag in the query); its origin must be one of CORS_ORIGINS"),
});

export const FormResponse = z.object({
  url: z.string().describe("POST the form here (multipart/form-data, file last)"),
  fields: z.record(z.string(), z.string()),
  expiresAt: z.string(),
});

export const AuthorizeRequest = z.object({
  method: z.string().min(1).max(10),
  key: z.string().max(2048).optional().describe("Object key; empty or absent for bucket operations"),
  pathname: z.string().max(2048).optional(),
  // cos-js-sdk-v5 passes some values as they are in its options: numbers, and booleans (x-cos-sdk-retry: true on a retried part).
  query: z.record(wellFormed(), z.union([wellFormed(), z.number(), z.boolean()])).optional(),
  headers: z.record(wellFormed(), z.union([wellFormed(), z.number(), z.boolean()])).optional(),
});

export const AuthorizeResponse = z.object({
  Authorization: z.string(),
  SecurityToken: z.string().optional(),
  XCosSecurityToken: z.string().optional(),
  ExpiredTime: z.number().int(),
});
