// What one caller may do (DESIGN.md policy/grant.ts): its key prefix, size cap, content types and
// URL lifetime. The default grant comes from configuration; an `authorize` hook may narrow it.

import { ConfigError, MAX_PRESIGN_SECONDS, type Config } from "../config";
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

/**
 * The configured grant narrowed by an `authorize` hook's: the size cap and URL lifetime can only go
 * down (the lifetime stays within 7 days whatever either says); content types and the prefix are the
 * hook's to choose, a prefix being a valid key that ends in `/`. A bad hook value is a configuration
 * error (500 ConfigError naming it), never a wider grant.
 */
export function narrowGrant(base: Grant, hook: Partial<Omit<Grant, "subject">> = {}): Grant {
  const grant = { ...base };
  const bad = (name: string, problem: string) => new ConfigError(`authorize hook grant.${name}`, problem);
  if (hook.maxUploadBytes !== undefined) {
    if (!(hook.maxUploadBytes >= 0)) throw bad("maxUploadBytes", "must be a number of bytes ≥ 0");
    grant.maxUploadBytes = Math.min(base.maxUploadBytes, hook.maxUploadBytes);
  }
  if (hook.presignExpiresSeconds !== undefined) {
    if (!(hook.presignExpiresSeconds >= 1)) throw bad("presignExpiresSeconds", "must be a number of seconds ≥ 1");
    grant.presignExpiresSeconds = Math.min(base.presignExpiresSeconds, hook.presignExpiresSeconds, MAX_PRESIGN_SECONDS);
  }
  if (hook.allowedContentTypes !== undefined) {
    if (!Array.isArray(hook.allowedContentTypes) || hook.allowedContentTypes.some((t) => typeof t !== "string")) throw bad("allowedContentTypes", "must be an array of MIME patterns");
    grant.allowedContentTypes = hook.allowedContentTypes;
  }
  if (hook.keyPrefix !== undefined) {
    if (typeof hook.keyPrefix !== "string" || !hook.keyPrefix.endsWith("/")) throw bad("keyPrefix", "must be a string ending in /");
    try {
      checkKey(hook.keyPrefix);
    } catch (error) {
      throw bad("keyPrefix", (error as Error).message);
    }
    grant.keyPrefix = hook.keyPrefix;
  }
  return grant;
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
