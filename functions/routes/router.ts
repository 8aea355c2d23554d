// What every route file shares: the app's context type, a router whose validation failures become
// 400s naming the field, the caller's grant, and the error response every route documents.

import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "zod";
import type { CosClient } from "../cos/client";
import type { Config } from "../config";
import { invalidInput } from "../errors";
import { authenticate, type AuthorizeHook } from "../policy/auth";
import { defaultGrant, narrowGrant, type Grant } from "../policy/grant";
import type { RateLimiter } from "../policy/ratelimit";

/** What a verified upload looks like to `onUploadCompleted`: every figure comes from COS's HEAD. */
export interface CompletedUpload {
  key: string;
  size: number;
  etag: string;
  crc64?: string;
  contentType: string;
  subject: string;
  /** The multipart upload id, or undefined for a single PUT. */
  uploadId?: string;
}

export interface Services {
  config: Config;
  cos: CosClient;
  now: () => number;
  rateLimiter: RateLimiter;
  authorize?: AuthorizeHook;
  onUploadCompleted?: (info: CompletedUpload, c: Context<AppEnv>) => void | Promise<void>;
}

export type AppEnv = {
  Bindings: Record<string, unknown>;
  Variables: { requestId: string; services: Services; grant?: Grant };
};

const TARGET_NAMES: Record<string, string> = { json: "body", query: "query", param: "path", header: "header" };

const validationHook: Hook<unknown, AppEnv, string, unknown> = (result) => {
  if (result.success) return;
  const issue = result.error.issues[0];
  const where = [TARGET_NAMES[result.target] ?? result.target, ...issue.path.map(String)].join(".");
  throw invalidInput(where, issue.message);
};

export function newRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** The caller's grant: authentication, then the configured limits narrowed by the hook's. Cached per request. */
export async function grantOf(c: Context<AppEnv>): Promise<Grant> {
  const cached = c.get("grant");
  if (cached) return cached;
  const { config, authorize } = c.get("services");
  const principal = await authenticate(c, config.auth, authorize);
  const grant = narrowGrant(defaultGrant(config, principal.subject), principal.grant);
  c.set("grant", grant);
  return grant;
}

export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
});

const errorContent = { "application/json": { schema: ErrorSchema } };
/** The error responses a route documents, by status; every route can also answer 500 (a configuration error names the variable). */
export function errors(...statuses: number[]): Record<number, { description: string; content: typeof errorContent; headers?: Record<string, { description: string; schema: { type: "integer" } }> }> {
  const text: Record<number, string> = {
    400: "Invalid input; the message names the field",
    401: "No or bad credentials",
    403: "Not allowed: another caller's upload, a tampered or expired token, a key outside the prefix",
    404: "Unknown upload",
    409: "State conflict",
    413: "Too large",
    415: "Content type not allowed",
    429: "Too many requests from this caller; wait Retry-After seconds",
    500: "ConfigError (names the bad variable, never its value) or InternalError (quote the request id)",
    502: "COS failed; the message carries COS's code and request id",
    503: "AuthUnavailable: the JWKS (JWKS_URL) cannot be read, so no token can be checked; wait Retry-After seconds",
  };
  const retryAfter = { "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" as const } } };
  // A route that checks credentials (401) can also find the JWKS unreadable (503).
  const all = new Set([...statuses, 500, ...(statuses.includes(401) ? [503] : [])]);
  return Object.fromEntries([...all].map((s) => [s, { description: text[s] ?? "Error", content: errorContent, ...(s === 429 || s === 503 ? { headers: retryAfter } : {}) }]));
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}

/** Unix ms → the ISO 8601 text the API's `expiresAt` fields carry. */
export const isoTime = (ms: number) => new Date(ms).toISOString();

/** Seconds → the lifetime to sign with, capped by the grant. */
export function expiresFor(grant: Grant, requested?: number): number {
  return Math.min(requested ?? grant.presignExpiresSeconds, grant.presignExpiresSeconds);
}
