// The API's one error class and its JSON shape: `{ "error": { "code", "message", "requestId" } }`
// (DESIGN.md "HTTP API"). Handlers throw ApiError; app.ts's onError turns anything into that body.

export type ApiStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 502 | 503;

export class ApiError extends Error {
  override readonly name = "ApiError" as const;
  constructor(
    readonly status: ApiStatus,
    readonly code: string,
    message: string,
    /**
     * Extra machine-readable detail (e.g. which parts differ); never secrets. `retryAfterSeconds`
     * also becomes the Retry-After header (app.ts onError).
     */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof Error && error.name === "ApiError";
}

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

export function errorBody(code: string, message: string, requestId: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, requestId, ...(details ? { details } : {}) } };
}

/** 400 for input that fails a rule; `field` is named in the message so callers know what to fix. */
export function invalidInput(field: string, problem: string): ApiError {
  return new ApiError(400, "InvalidInput", `${field}: ${problem}`, { field });
}
