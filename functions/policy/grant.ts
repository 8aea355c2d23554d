// What one caller may do (DESIGN.md policy/grant.ts): its key prefix, size cap, content types and
// URL lifetime. The default grant comes from configuration; an `authorize` hook may narrow it.

import type { Config } from "../config";
import { ApiError } from "../errors";
import { checkKey } from "./key";

export interface Grant {
  subject: string;
  /** Every key this caller touches starts with it (`users/<sub>/` by default). */
  keyPrefix: string;
  maxUploadBytes: number;
  /** MIME patterns; empty means any. */
  allowedContentTypes: string[];
  presignExpiresSeconds: number;
}

/**
 * Subjects become one path segment. Characters outside `A-Z a-z 0-9 - . @` are written `_XX` (hex
 * of each UTF-8 byte), `_` itself included, so the encoding is one-to-one: `a/b` and `a_b` get
 * different prefixes, and no subject can produce `/`, `..` or an empty segment.
 */
export function subjectSegment(subject: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(subject)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9.@-]/.test(c) ? c : `_${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return /^\.*$/.test(out) ? out.replace(/\./g, "_2E") : out;
}

export function defaultGrant(config: Config, subject: string): Grant {
  return {
    subject,
    keyPrefix: config.keyPrefix.replaceAll("{sub}", subjectSegment(subject)),
    maxUploadBytes: config.maxUploadBytes,
    allowedContentTypes: config.allowedContentTypes,
    presignExpiresSeconds: config.presignExpiresSeconds,
  };
}

/** 403 unless `key` is a valid key inside the grant's prefix. */
export function checkKeyInGrant(grant: Grant, key: string, field = "key"): string {
  checkKey(key, field);
  if (!key.startsWith(grant.keyPrefix)) {
    throw new ApiError(403, "KeyOutsidePrefix", `${field}: this caller may only use keys under "${grant.keyPrefix}"`, { field });
  }
  return key;
}

/** 413 when `size` bytes exceed the grant. */
export function checkSize(grant: Grant, size: number, field = "size"): void {
  if (size > grant.maxUploadBytes) {
    throw new ApiError(413, "TooLarge", `${field}: ${size} bytes exceeds the limit of ${grant.maxUploadBytes} bytes`, { field, limit: grant.maxUploadBytes });
  }
}

/** True when `type` matches a pattern such as `image/*` or `application/pdf` (parameters ignored). */
export function contentTypeAllowed(patterns: string[], type: string): boolean {
  if (patterns.length === 0) return true;
  const essence = type.split(";")[0].trim().toLowerCase();
  return patterns.some((pattern) => {
    const p = pattern.trim().toLowerCase();
    if (p === "*/*" || p === "*") return true;
    return p.endsWith("/*") ? essence.startsWith(p.slice(0, -1)) && essence.length > p.length - 1 : essence === p;
  });
}

/** 415 when the content type is not allowed by the grant. */
export function checkContentType(grant: Grant, type: string, field = "contentType"): void {
  if (!contentTypeAllowed(grant.allowedContentTypes, type)) {
    throw new ApiError(415, "ContentTypeNotAllowed", `${field}: "${type}" is not allowed; allowed: ${grant.allowedContentTypes.join(", ")}`, { field });
  }
}
