// Object metadata in and out (cos-protocol.md §3.1, §4 PUT/HEAD Object). Stored: the standard
// entity headers, x-cos-meta-* (2 KB in total), x-cos-storage-class and the ACL headers. Empty
// values are NOT stored: the SDKs send an empty Cache-Control / Content-Type on purpose so a proxy
// cannot inject one (§1.3 "On the wire").

import type { IncomingHttpHeaders } from "node:http";
import { cosErrors } from "./errors";
import type { ObjectRecord, StoredHeaders } from "./storage";

const ENTITY_HEADERS = ["content-type", "content-disposition", "content-encoding", "content-language", "cache-control", "expires"];
const ACL_HEADERS = /^x-cos-(acl|grant-[a-z-]+)$/;
const META_LIMIT = 2048;

/**
 * A header value as the bytes it stands for. A request header arrives as Latin-1 text of its raw
 * bytes; a POST form field is UTF-8 text, and its characters above U+00FF are written as their UTF-8
 * bytes, as COS would echo them. Control characters (CR, LF...) cannot be sent back at all: 400.
 */
export function wireHeaderValue(value: string, name: string): string {
  const bytes = /[^\x00-\xff]/.test(value) ? Buffer.from(value, "utf8").toString("latin1") : value;
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(bytes)) throw cosErrors.invalidArgument(`The value of ${name} contains a control character.`);
  return bytes;
}

/** Picks the storable headers of a request (or POST form fields, lowercased). */
export function collectMetadata(headers: IncomingHttpHeaders | Record<string, string>): StoredHeaders {
  const stored: StoredHeaders = {};
  let metaBytes = 0;
  for (const [name, raw] of Object.entries(headers)) {
    const joined = Array.isArray(raw) ? raw.join(", ") : raw;
    if (joined === undefined || joined === "") continue;
    const value = wireHeaderValue(joined, name);
    const lower = name.toLowerCase();
    if (lower.startsWith("x-cos-meta-")) {
      metaBytes += Buffer.byteLength(lower.slice("x-cos-meta-".length)) + Buffer.byteLength(value);
      stored[lower] = value;
    } else if (ENTITY_HEADERS.includes(lower) || lower === "x-cos-storage-class" || ACL_HEADERS.test(lower)) {
      stored[lower] = lower === "x-cos-storage-class" ? value.toUpperCase() : value;
    }
  }
  if (metaBytes > META_LIMIT) throw cosErrors.invalidArgument(`The x-cos-meta-* headers total ${metaBytes} bytes; COS allows ${META_LIMIT}.`);
  return stored;
}

/** Response headers for HEAD/GET: entity headers and x-cos-meta-* as stored, storage class unless STANDARD. */
export function objectHeaders(record: ObjectRecord): Record<string, string> {
  const out: Record<string, string> = {
    "Content-Type": record.headers["content-type"] ?? "application/octet-stream",
    ETag: record.etag,
    "Last-Modified": new Date(record.lastModified).toUTCString(),
    "x-cos-hash-crc64ecma": record.crc64,
    "x-cos-object-type": record.type,
  };
  for (const [name, value] of Object.entries(record.headers)) {
    if (name === "content-type" || ACL_HEADERS.test(name)) continue;
    if (name === "x-cos-storage-class" && value === "STANDARD") continue;
    out[name] = value;
  }
  return out;
}
