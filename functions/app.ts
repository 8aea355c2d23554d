// createApp(options): the Hono app (DESIGN.md functions/app.ts). Request id, configuration, CORS,
// the AUTH_MODE=none warning, body limits, authentication, the routes, and one onError that
// answers `{ "error": { "code", "message", "requestId" } }` for everything.

import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import * as z from "zod";
import { CosClient } from "./cos/client";
import { isCosError } from "./cos/errors";
import { checkConfig, CONFIG_DEFAULTS, ConfigError, configFromEnv, corsAllows, type Config } from "./config";
import { ApiError, errorBody, isApiError, type ApiStatus } from "./errors";
import { AUTH_NONE_WARNING, DEV_SUBJECT_HEADER, type AuthorizeHook } from "./policy/auth";
import { RateLimiter, rateKindOf } from "./policy/ratelimit";
import { authorize } from "./routes/authorize";
import { diagnostics } from "./routes/diagnostics";
import { forms } from "./routes/forms";
import { objects } from "./routes/objects";
import { errors, grantOf, json, newRouter, type AppEnv, type CompletedUpload, type Services } from "./routes/router";
import { uploads } from "./routes/uploads";

export type { CompletedUpload } from "./routes/router";

export interface AppHooks {
  /** Your own authentication: return `{ subject, grant? }`, or null for 401. Replaces the JWT check. */
  authorize?: AuthorizeHook;
  /**
   * Runs after a verified complete (or single-PUT confirm) with figures from COS's HEAD. At least
   * once per object, not exactly once: a retried confirm or complete (its answer lost on the way)
   * runs it again, so make it idempotent, e.g. keyed by key and ETag.
   */
  onUploadCompleted?: (info: CompletedUpload, c: Context<AppEnv>) => void | Promise<void>;
  /** fetch used to reach COS. Default: the global fetch. */
  fetch?: typeof fetch;
  /** Clock, Unix milliseconds. Default: Date.now. */
  now?: () => number;
  /** Where env-style configuration comes from when none is given in code. Default: the runtime's bindings (c.env). */
  env?: (c: Context<AppEnv>) => Record<string, unknown>;
}

/** Either hooks only (configuration from the environment), or hooks plus a Config in code. */
export type AppOptions = AppHooks & Partial<Config>;

const MAX_JSON_BYTES = 1024 * 1024;

export function createApp(options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const { authorize: authorizeHook, onUploadCompleted, fetch: fetchImpl, now = Date.now, env, ...configInCode } = options;
  const fixed = configInCode.cos ? buildServices(checkConfig({ ...CONFIG_DEFAULTS, ...configInCode } as Config), {}) : undefined;
  const fromEnv = new WeakMap<object, Services | ConfigError>();
  const loggedConfigErrors = new Set<string>();

  /** `vars` may hold the rate-limiting bindings (RATE_LIMITER_CREATE, RATE_LIMITER_SIGN). */
  function buildServices(config: Config, vars: Record<string, unknown>): Services {
    const cos = new CosClient({ credentials: config.cos.credentials, target: config.cos.target, fetch: fetchImpl, now });
    const rateLimiter = new RateLimiter(config.rateLimit, RateLimiter.bindingsFrom(vars), now);
    return { config, cos, now, rateLimiter, authorize: authorizeHook, onUploadCompleted };
  }

  /** Configuration is validated at the first request and kept per environment object. */
  function services(c: Context<AppEnv>): Services {
    if (fixed) return fixed;
    const vars = (env ? env(c) : c.env) ?? {};
    let entry = fromEnv.get(vars);
    if (!entry) {
      try {
        entry = buildServices(configFromEnv(vars), vars);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        entry = error;
      }
      fromEnv.set(vars, entry);
    }
    if (entry instanceof ConfigError) {
      // Logged once per distinct problem, not once per request.
      if (!loggedConfigErrors.has(entry.message)) console.error(entry.message);
      loggedConfigErrors.add(entry.message);
      throw entry;
    }
    return entry;
  }

  const app = newRouter();
  app.use("*", async (c, next) => {
    c.set("requestId", crypto.randomUUID());
    c.header("x-request-id", c.get("requestId"));
    c.set("services", services(c));
    await next();
  });
  // One CORS handler; the allowed origins come from this request's configuration.
  app.use(
    "*",
    cors({
      origin: (origin, c) => (corsAllows((c as Context<AppEnv>).get("services").config, origin) ? origin || "*" : null),
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      allowHeaders: ["authorization", "content-type", "upload-token", DEV_SUBJECT_HEADER],
      exposeHeaders: ["x-request-id", "x-cos-direct-warning", "date", "retry-after"],
      maxAge: 600,
    }),
  );
  app.use("*", async (c, next) => {
    if (c.get("services").config.auth.mode === "none") c.header("x-cos-direct-warning", AUTH_NONE_WARNING);
    await next();
  });
  app.use("/v1/*", bodyLimit({ maxSize: MAX_JSON_BYTES, onError: () => { throw new ApiError(413, "BodyTooLarge", `body: requests to this API are limited to ${MAX_JSON_BYTES} bytes`); } }));
  // Authentication before input validation: a caller without credentials learns nothing about the API.
  // Then the caller's rate limit, before validation too, so malformed requests count as well.
  app.use("/v1/*", async (c, next) => {
    if (c.req.method !== "OPTIONS" && c.req.path !== "/v1/openapi.json") {
      const { subject } = await grantOf(c);
      const kind = rateKindOf(c.req.method, c.req.path);
      if (kind) await c.get("services").rateLimiter.check(kind, subject);
    }
    await next();
  });

  app.openapi(
    createRoute({ method: "get", path: "/healthz", summary: "Liveness", security: [], responses: { 200: json(z.object({ ok: z.literal(true) }), "Alive"), ...errors() } }),
    (c) => c.json({ ok: true as const }, 200),
  );
  app.route("/v1", uploads);
  app.route("/v1", objects);
  app.route("/v1", forms);
  app.route("/v1", authorize);
  app.route("/v1", diagnostics);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", bearerFormat: "JWT" });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "cos-direct", version: "1.0.0", description: "Direct-to-COS uploads: presigned URLs and multipart coordination. Errors are { error: { code, message, requestId } }." },
    security: [{ bearer: [] }],
  });

  app.notFound((c) => c.json(errorBody("NotFound", `no route for ${c.req.method} ${c.req.path}`, c.get("requestId") ?? crypto.randomUUID()), 404));
  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    const reply = (status: ApiStatus, code: string, message: string, details?: Record<string, unknown>) => c.json(errorBody(code, message, requestId, details), status);
    if (isApiError(error)) {
      const retryAfter = error.details?.retryAfterSeconds ?? (error.status === 429 ? 60 : undefined);
      if (retryAfter !== undefined) c.header("Retry-After", String(retryAfter));
      return reply(error.status, error.code, error.message, error.details);
    }
    if (error instanceof ConfigError) return reply(500, "ConfigError", error.message);
    if (isCosError(error)) {
      console.error(`[${requestId}] ${error.message}`);
      return reply(502, "CosError", `COS refused ${error.method}: ${error.code}: ${error.cosMessage}${error.requestId ? ` (COS request id ${error.requestId})` : ""}`, {
        cosCode: error.code,
        cosStatus: error.status,
        cosRequestId: error.requestId,
      });
    }
    if (error instanceof HTTPException) {
      const status = error.status as ApiStatus;
      if (status === 415) return reply(415, "UnsupportedMediaType", "body: send Content-Type: application/json");
      if (status === 400) return reply(400, "InvalidInput", `body: ${error.message || "malformed request"}`);
      return reply(status, "HttpError", error.message);
    }
    console.error(`[${requestId}] unexpected error: ${(error as Error).name}: ${(error as Error).message}`);
    return reply(500, "InternalError", "an unexpected error occurred; quote the request id when reporting it");
  });
  return app;
}
