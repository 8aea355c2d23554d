// Environment → typed configuration, validated with zod (issue 3 "Configuration"). A bad or
// missing value is a ConfigError naming the variable, never its value.

import * as z from "zod";
import type { CosCredentials } from "./cos/presign";
import type { CosTarget } from "./cos/endpoint";

export const MiB = 1024 * 1024;
/** COS limits (cos-protocol.md §3): parts 1 MB-5 GB, at most 10,000 of them, objects ≤ 5 GB by PUT. */
export const COS_MIN_PART = MiB;
export const COS_MAX_PART = 5 * 1024 * MiB;
export const COS_MAX_PARTS = 10_000;
export const COS_MAX_PUT = 5 * 1024 * MiB;
/** Presigned URLs never live longer than this, whatever the configuration says. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export type AuthConfig =
  | {
      mode: "jwt";
      secret?: string;
      jwksUrl?: string;
      /** How long a JWKS fetch may take before the request is answered 503. Default: JWKS_TIMEOUT_MS (5 s). */
      jwksTimeoutMs?: number;
      issuer?: string;
      audience?: string;
    }
  | { mode: "none" };

export interface RateLimitConfig {
  /** RATE_LIMIT=off turns every limit off, bindings included (load tests, trusted backends). */
  enabled: boolean;
  /** In-memory fallback, requests per minute per subject; 0 means no limit. */
  createPerMinute: number;
  signPerMinute: number;
}

export interface Config {
  cos: { credentials: CosCredentials; target: CosTarget };
  /** HMAC-SHA256 key for upload tokens. */
  uploadTokenSecret: string;
  auth: AuthConfig;
  /** Key prefix template; `{sub}` is the caller's subject. */
  keyPrefix: string;
  maxUploadBytes: number;
  /** MIME patterns (`image/*`, `application/pdf`); empty means any type. */
  allowedContentTypes: string[];
  /** Origins allowed to call the API from a browser; `*` for any. */
  corsOrigins: string[];
  presignExpiresSeconds: number;
  partSize: number;
  singlePutThreshold: number;
  staleUploadHours: number;
  /** Per-subject limits on create and sign (functions/policy/ratelimit.ts). */
  rateLimit: RateLimitConfig;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError" as const;
  constructor(readonly variable: string, problem: string) {
    super(`configuration: ${variable} ${problem}`);
  }
}

const text = z.string().trim().min(1);
const optionalText = z.string().trim().optional().transform((s) => (s ? s : undefined));
const integer = (min: number, max: number, fallback: number) =>
  z.union([z.string(), z.number()]).optional().transform((v, ctx) => {
    if (v === undefined || v === "") return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
const list = z.string().optional().transform((s) => (s ?? "").split(",").map((x) => x.trim()).filter(Boolean));

const EnvSchema = z.object({
  COS_SECRET_ID: text,
  COS_SECRET_KEY: text,
  COS_SECURITY_TOKEN: optionalText,
  COS_BUCKET: text.regex(/^[a-z0-9-]+-\d+$/, "must be <name>-<APPID>"),
  COS_REGION: text.regex(/^[a-z0-9-]+$/, "must be a region id such as ap-guangzhou"),
  COS_ENDPOINT: optionalText.refine((s) => s === undefined || /^https?:\/\/[^/]+\/?$/.test(s), "must be an origin such as http://127.0.0.1:9000"),
  UPLOAD_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters"),
  AUTH_MODE: z.enum(["jwt", "none"]).optional().default("jwt"),
  JWT_SECRET: optionalText.refine((s) => s === undefined || s.length >= 32, "must be at least 32 characters"),
  JWKS_URL: optionalText.refine((s) => s === undefined || /^https?:\/\//.test(s), "must be an http(s) URL"),
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  KEY_PREFIX: z.string().optional().default("users/{sub}/"),
  MAX_UPLOAD_BYTES: integer(1, COS_MAX_PARTS * COS_MAX_PART, 5 * 1024 * MiB),
  ALLOWED_CONTENT_TYPES: list,
  CORS_ORIGINS: list,
  PRESIGN_EXPIRES_SECONDS: integer(60, MAX_PRESIGN_SECONDS, 900),
  PART_SIZE: integer(COS_MIN_PART, COS_MAX_PART, 8 * MiB),
  SINGLE_PUT_THRESHOLD: integer(0, COS_MAX_PUT, 8 * MiB),
  STALE_UPLOAD_HOURS: integer(1, 24 * 365, 24),
  RATE_LIMIT: z.enum(["on", "off"]).optional().default("on"),
  RATE_LIMIT_CREATE_PER_MINUTE: integer(0, 1_000_000, 300),
  RATE_LIMIT_SIGN_PER_MINUTE: integer(0, 1_000_000, 3000),
});

/** Whether CORS_ORIGINS lets a page at `origin` call the API (`*`: any). */
export const corsAllows = (config: Pick<Config, "corsOrigins">, origin: string): boolean => config.corsOrigins.includes("*") || config.corsOrigins.includes(origin);

/** Reads the configuration from environment bindings; throws ConfigError naming the first bad variable. */
export function configFromEnv(env: Record<string, unknown>): Config {
  const strings = Object.fromEntries(Object.entries(env ?? {}).filter(([, v]) => typeof v === "string" || typeof v === "number"));
  const parsed = EnvSchema.safeParse(strings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0] ?? "environment");
    const problem = issue.code === "invalid_type" && strings[variable] === undefined ? "is missing" : issue.message;
    throw new ConfigError(variable, problem);
  }
  const e = parsed.data;
  if (e.AUTH_MODE === "jwt" && !e.JWT_SECRET && !e.JWKS_URL) throw new ConfigError("JWT_SECRET", "or JWKS_URL is required when AUTH_MODE is jwt");
  return checkConfig({
    cos: {
      credentials: { secretId: e.COS_SECRET_ID, secretKey: e.COS_SECRET_KEY, securityToken: e.COS_SECURITY_TOKEN },
      target: { bucket: e.COS_BUCKET, region: e.COS_REGION, endpoint: e.COS_ENDPOINT },
    },
    uploadTokenSecret: e.UPLOAD_TOKEN_SECRET,
    auth: e.AUTH_MODE === "none" ? { mode: "none" } : { mode: "jwt", secret: e.JWT_SECRET, jwksUrl: e.JWKS_URL, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE },
    keyPrefix: e.KEY_PREFIX,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    allowedContentTypes: e.ALLOWED_CONTENT_TYPES,
    corsOrigins: e.CORS_ORIGINS,
    presignExpiresSeconds: e.PRESIGN_EXPIRES_SECONDS,
    partSize: e.PART_SIZE,
    singlePutThreshold: e.SINGLE_PUT_THRESHOLD,
    staleUploadHours: e.STALE_UPLOAD_HOURS,
    rateLimit: { enabled: e.RATE_LIMIT === "on", createPerMinute: e.RATE_LIMIT_CREATE_PER_MINUTE, signPerMinute: e.RATE_LIMIT_SIGN_PER_MINUTE },
  });
}

/** Cross-field rules, shared by env and library configuration. */
export function checkConfig(config: Config): Config {
  if (config.singlePutThreshold > COS_MAX_PUT) throw new ConfigError("SINGLE_PUT_THRESHOLD", `must be at most ${COS_MAX_PUT}`);
  if (config.partSize < COS_MIN_PART || config.partSize > COS_MAX_PART) throw new ConfigError("PART_SIZE", `must be from ${COS_MIN_PART} to ${COS_MAX_PART}`);
  if (config.uploadTokenSecret.length < 32) throw new ConfigError("UPLOAD_TOKEN_SECRET", "must be at least 32 characters");
  // "users/{sub}" would give caller "a" the keys of caller "ab" too: {sub} must close a segment.
  if (!config.keyPrefix.includes("{sub}/")) throw new ConfigError("KEY_PREFIX", "must contain {sub} followed by /, so each caller gets a folder of its own");
  if (/\{sub\}(?!\/)/.test(config.keyPrefix)) throw new ConfigError("KEY_PREFIX", "must have / right after every {sub}");
  return { ...config, presignExpiresSeconds: Math.min(config.presignExpiresSeconds, MAX_PRESIGN_SECONDS) };
}

/** Defaults for library users who build a Config in code (`createApp({ ...config })`). */
export const CONFIG_DEFAULTS = {
  auth: { mode: "jwt" } as AuthConfig,
  keyPrefix: "users/{sub}/",
  maxUploadBytes: 5 * 1024 * MiB,
  allowedContentTypes: [] as string[],
  corsOrigins: [] as string[],
  presignExpiresSeconds: 900,
  partSize: 8 * MiB,
  singlePutThreshold: 8 * MiB,
  staleUploadHours: 24,
  rateLimit: { enabled: true, createPerMinute: 300, signPerMinute: 3000 } as RateLimitConfig,
};
