// The one retry policy (client/retry.ts): which failures are retried, full-jitter backoff with
// Retry-After honoured, giving up after `attempts`, the counter reset after progress, and errors
// that name the request, the status and COS's request id.

import { inspect } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, CorsError, HttpError, NetworkError, createUploader, isHttpError, retryDelay, shouldRetry } from "../../client/node";
import { retryAfterMs } from "../../client/errors";
import type { HttpStack } from "../../client/types";
import { backOnline, withRetry } from "../../client/retry";
import { bytes } from "../shared/bytes";
import { FakeCos, until } from "./client-fake";

const opts = { attempts: 5, baseDelay: 100, maxDelay: 1000 };
const cosError = (status: number, code: string, message = "") => new HttpError("PUT", "https://b.test/k", status, code, "req-1", message);

describe("shouldRetry", () => {
  it("retries network errors, 5xx, 429 and 503 SlowDown; re-signs an expired URL; stops on other 4xx", () => {
    expect(shouldRetry(new NetworkError("PUT", "https://b.test/k"))).toBe("retry");
    expect(shouldRetry(cosError(500, "InternalError"))).toBe("retry");
    expect(shouldRetry(cosError(503, "SlowDown"))).toBe("retry");
    expect(shouldRetry(cosError(429, "TooManyRequests"))).toBe("retry");
    expect(shouldRetry(cosError(403, "AccessDenied", "Request has expired"))).toBe("resign");
    expect(shouldRetry(cosError(403, "SignatureDoesNotMatch"))).toBe(false);
    expect(shouldRetry(cosError(400, "InvalidArgument"))).toBe(false);
    expect(shouldRetry(cosError(404, "NoSuchUpload"))).toBe(false);
    expect(shouldRetry(new ApiError("POST", "https://api.test/v1/uploads", 502, "CosUnavailable", "x", "r"))).toBe("retry");
    expect(shouldRetry(new ApiError("POST", "https://api.test/v1/uploads", 409, "PartsMismatch", "x", "r"))).toBe(false);
    expect(shouldRetry(new TypeError("a bug"))).toBe(false);
  });
});

describe("retryDelay", () => {
  it("is full jitter over min(maxDelay, base·2^n)", () => {
    expect(retryDelay(0, opts, undefined, () => 0.999)).toBeCloseTo(99.9);
    expect(retryDelay(3, opts, undefined, () => 0.5)).toBe(400);
    expect(retryDelay(10, opts, undefined, () => 1)).toBe(1000);
    expect(retryDelay(2, opts, undefined, () => 0)).toBe(0);
  });
  it("never waits less than Retry-After", () => {
    expect(retryDelay(0, opts, 3000, () => 0.5)).toBe(3000);
    expect(retryDelay(0, opts, 10, () => 0.5)).toBe(50);
  });
});

describe("withRetry", () => {
  it("gives up after `attempts` tries with the last error", async () => {
    let tries = 0;
    const error = await withRetry(async () => {
      tries++;
      throw cosError(500, "InternalError");
    }, { options: { attempts: 4, baseDelay: 1, maxDelay: 1 } }).catch((e: unknown) => e);
    expect(tries).toBe(4);
    expect(isHttpError(error) && error.status).toBe(500);
  });

  it("resets the attempt counter after progress", async () => {
    let tries = 0;
    let progress = 0;
    const result = await withRetry(async () => {
      tries++;
      // Each of the first 6 tries gets further than the one before, then fails.
      if (tries <= 6) {
        progress++;
        throw new NetworkError("PUT", "https://b.test/k");
      }
      return "ok";
    }, { options: { attempts: 3, baseDelay: 1, maxDelay: 1 }, progressMark: () => progress });
    expect(result).toBe("ok");
    expect(tries).toBe(7);
  });

  it("waits Retry-After before trying again", async () => {
    let tries = 0;
    const delays: number[] = [];
    const started = Date.now();
    await withRetry(async () => {
      if (tries++ === 0) throw new HttpError("PUT", "https://b.test/k", 503, "SlowDown", "r", "slow down", 150);
    }, { options: { attempts: 3, baseDelay: 1, maxDelay: 1 }, onRetry: (_e, _n, d) => delays.push(d) });
    expect(delays).toEqual([150]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("measures a Retry-After date against the answer's Date, not the device clock", () => {
    const server = Date.parse("2026-11-25T10:00:00Z");
    const answer = (headers: Record<string, string>) => ({ status: 503, header: (name: string) => headers[name.toLowerCase()] ?? null, text: "<Error><Code>SlowDown</Code></Error>" });
    const retryAt = new Date(server + 30_000).toUTCString();
    // The device clock is 10 minutes slow, then 10 minutes fast: the wait stays the server's 30 s.
    for (const deviceOffset of [-600_000, 600_000]) {
      vi.spyOn(Date, "now").mockReturnValue(server + deviceOffset);
      const error = HttpError.from({ method: "PUT", url: "https://b.test/k" }, answer({ "retry-after": retryAt, date: new Date(server).toUTCString() }));
      expect(error.retryAfter).toBe(30_000);
      vi.restoreAllMocks();
    }
    // Without a Date to go by (CORS hides it), the device clock is all there is.
    expect(retryAfterMs(retryAt, null, server + 10_000)).toBe(20_000);
    expect(retryAfterMs(retryAt, "not a date", server + 10_000)).toBe(20_000);
    expect(retryAfterMs("7", new Date(server).toUTCString())).toBe(7000);
  });

  it("does not retry a 4xx", async () => {
    let tries = 0;
    await withRetry(async () => {
      tries++;
      throw cosError(400, "InvalidArgument");
    }, { options: opts }).catch(() => undefined);
    expect(tries).toBe(1);
  });
});

describe("offline (navigator.onLine false)", () => {
  /** A browser-like global: navigator.onLine and the window's online event. */
  function browserNetwork(onLine: boolean) {
    const events = new EventTarget();
    const navigator = { onLine };
    vi.stubGlobal("navigator", navigator);
    vi.stubGlobal("addEventListener", events.addEventListener.bind(events));
    vi.stubGlobal("removeEventListener", events.removeEventListener.bind(events));
    return {
      goOnline() {
        navigator.onLine = true;
        events.dispatchEvent(new Event("online"));
      },
      goOffline() {
        navigator.onLine = false;
      },
    };
  }
  afterEach(() => vi.unstubAllGlobals());
  const offlineError = () => new NetworkError("PUT", "https://b.test/k");

  it("with a signal (a task's run), network errors while offline use no attempts: the loop waits for the online event, then tries at once", async () => {
    const network = browserNetwork(false);
    let tries = 0;
    const run = withRetry(async () => {
      tries++;
      if (tries === 1) throw offlineError(); // lost the network
      if (navigator.onLine === false) throw new Error("tried again while still offline");
      return "ok";
    }, { options: { attempts: 1, baseDelay: 1, maxDelay: 1 }, signal: new AbortController().signal });
    await new Promise((r) => setTimeout(r, 50));
    expect(tries).toBe(1); // waiting, not failed: with attempts 1 an online failure would be final
    network.goOnline();
    expect(await run).toBe("ok");
    expect(tries).toBe(2);
  });

  it("online, network errors count as before", async () => {
    browserNetwork(true);
    let tries = 0;
    const error = await withRetry(async () => {
      tries++;
      throw offlineError();
    }, { options: { attempts: 3, baseDelay: 1, maxDelay: 1 } }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(tries).toBe(3);
  });

  it("offline, other failures are not held: a 4xx is final at once", async () => {
    browserNetwork(false);
    let tries = 0;
    const error = await withRetry(async () => {
      tries++;
      throw cosError(403, "AccessDenied");
    }, { options: opts }).catch((e: Error) => e);
    expect(isHttpError(error)).toBe(true);
    expect(tries).toBe(1);
  });

  it("a pause (the signal) ends the wait with an AbortError", async () => {
    browserNetwork(false);
    const controller = new AbortController();
    const run = withRetry(() => Promise.reject(offlineError()), { options: opts, signal: controller.signal }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    expect(await run).toMatchObject({ name: "AbortError" });
  });

  /** Settles with "pending" if `p` has not settled after `ms`. */
  const within = <T>(p: Promise<T>, ms: number) => Promise.race([p.then((v) => ({ v }), (e: unknown) => ({ e })), new Promise<"pending">((r) => setTimeout(() => r("pending"), ms))]);

  it("cancel() while offline settles done at once: its abort call, which nothing could stop, does not wait for the network", async () => {
    const network = browserNetwork(true);
    const cos = new FakeCos();
    cos.putDelay = 30;
    const task = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 3, baseDelay: 1, maxDelay: 2 } }).upload({ key: "users/test/c.bin", body: bytes(8 * 1024, 1) });
    await until(() => cos.partPuts().length > 0, "a part PUT");
    network.goOffline();
    cos.intercept = () => new TypeError("Failed to fetch"); // nothing gets through
    void task.cancel();
    const settled = await within(task.done, 2000);
    expect(settled).not.toBe("pending");
    expect((settled as { e: unknown }).e).toMatchObject({ name: "CancelledError" });
  });

  it("offline, append's signal ends the wait of its signing call; unfinished(), which takes no signal, fails as before", async () => {
    browserNetwork(false);
    const cos = new FakeCos();
    cos.intercept = () => new TypeError("Failed to fetch");
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 3, baseDelay: 1, maxDelay: 2 } });
    const controller = new AbortController();
    const appending = uploader.append("users/test/log.txt", "hello", { position: 0, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 50));
    expect(await within(appending, 10)).toBe("pending"); // waiting for the network
    controller.abort();
    expect(await within(appending, 1000)).toMatchObject({ e: { name: "AbortError" } });
    expect(await within(uploader.unfinished(), 2000)).toMatchObject({ e: { name: "NetworkError" } });
  });

  it("offline, a getToken that needs the network does not fail the upload: it waits, and goes on once online", async () => {
    const network = browserNetwork(false);
    const cos = new FakeCos();
    const uploader = createUploader({
      endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 1, baseDelay: 1, maxDelay: 1 },
      getToken: async () => {
        if (navigator.onLine === false) throw new TypeError("Failed to fetch");
        return "t";
      },
    });
    const task = uploader.upload({ key: "users/test/t.bin", body: bytes(4 * 1024, 2) });
    await new Promise((r) => setTimeout(r, 100));
    expect(task.state).toBe("initiating");
    network.goOnline();
    expect((await task.done).size).toBe(4 * 1024);
  });

  it("offline while completing (which nothing may stop), the completion uses its attempts instead of waiting, so cancel and the signal settle", async () => {
    const network = browserNetwork(true);
    const cos = new FakeCos();
    const controller = new AbortController();
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 2, baseDelay: 1, maxDelay: 2 } });
    const task = uploader.upload({ key: "users/test/e.bin", body: bytes(4 * 1024, 5), signal: controller.signal });
    cos.intercept = (req) => {
      if (!req.path.endsWith("/complete")) return undefined;
      network.goOffline();
      return new TypeError("Failed to fetch");
    };
    await until(() => task.state === "completing", "completing");
    controller.abort();
    expect(await within(uploader.cancelAll(), 1000)).not.toBe("pending");
    await until(() => task.state === "cancelled", "cancelled");
  });

  it("offline, a getToken that throws (not even a promise) waits like one that rejects", async () => {
    browserNetwork(false);
    const cos = new FakeCos();
    const uploader = createUploader({
      endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 1, baseDelay: 1, maxDelay: 1 },
      getToken: () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const task = uploader.upload({ key: "users/test/t.bin", body: bytes(4 * 1024, 2) });
    await new Promise((r) => setTimeout(r, 100));
    expect(task.state).toBe("initiating");
    await task.cancel();
  });

  it("a browser wrongly sure it is offline (onLine false, the network fine) still tries every 30 s, so the upload goes on", async () => {
    browserNetwork(false); // and no online event ever comes
    vi.useFakeTimers();
    try {
      let tries = 0;
      const run = withRetry(async () => {
        if (++tries === 1) throw offlineError(); // a real drop; the browser then stays "offline"
        return "ok";
      }, { options: { attempts: 1, baseDelay: 1, maxDelay: 1 }, signal: new AbortController().signal });
      await vi.advanceTimersByTimeAsync(29_000);
      expect(tries).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await run).toBe("ok");
      expect(tries).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("still offline after the 30 s look, a network error waits again without using an attempt", async () => {
    const network = browserNetwork(false);
    vi.useFakeTimers();
    try {
      let tries = 0;
      const run = withRetry(async () => {
        tries++;
        if (navigator.onLine === false) throw offlineError();
        return "ok";
      }, { options: { attempts: 1, baseDelay: 1, maxDelay: 1 }, signal: new AbortController().signal });
      await vi.advanceTimersByTimeAsync(95_000);
      expect(tries).toBe(4); // at 0, 30, 60 and 90 s; with attempts 1, none of them was final
      network.goOnline();
      expect(await run).toBe("ok");
      expect(tries).toBe(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it("without an online event (a runtime that has none), navigator.onLine is looked at again", async () => {
    vi.stubGlobal("navigator", { onLine: false });
    let back = false;
    const wait = backOnline(undefined, 10).then(() => (back = true));
    await new Promise((r) => setTimeout(r, 40));
    expect(back).toBe(false);
    (navigator as { onLine: boolean }).onLine = true;
    await wait;
    expect(back).toBe(true);
  });
});

describe("retries inside an upload", () => {
  it("a part that keeps failing gives up after `attempts` with an error naming request, status, COS code and request id", async () => {
    const cos = new FakeCos();
    cos.intercept = (req) =>
      req.to === "cos" && req.query.get("partNumber") === "2"
        ? { status: 500, headers: { "x-cos-request-id": "NjQ1req-500" }, body: "<Error><Code>InternalError</Code><Message>oops</Message></Error>" }
        : undefined;
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 4, baseDelay: 1, maxDelay: 2 } });
    const error = (await uploader.upload({ key: "users/test/r.bin", body: bytes(3000, 20) }).done.catch((e: unknown) => e)) as HttpError;
    expect(isHttpError(error)).toBe(true);
    expect(cos.partPuts().filter((n) => n === 2)).toHaveLength(4);
    expect(error.message).toBe("PUT https://bucket.cos.test/users/test/r.bin failed with 500 InternalError (oops), COS request id NjQ1req-500");
    expect(error.url).not.toContain("?");
    expect(error.message).not.toContain("secret-signature");
  });

  it("connection errors and 503 SlowDown are retried and the upload completes; 503 lowers the queue's limit", async () => {
    const cos = new FakeCos();
    const failures = new Map([["1", 2], ["3", 1]]);
    cos.intercept = (req) => {
      const n = req.query.get("partNumber");
      if (req.to !== "cos" || !n || !failures.get(n)) return undefined;
      failures.set(n, failures.get(n)! - 1);
      return n === "1" ? new TypeError("fetch failed: ECONNRESET") : { status: 503, headers: { "retry-after": "0" }, body: "<Error><Code>SlowDown</Code></Error>" };
    };
    const body = bytes(4000, 21);
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 4, baseDelay: 1, maxDelay: 2 } });
    const result = await uploader.upload({ key: "users/test/flaky.bin", body }).done;
    expect(result.size).toBe(4000);
    expect(cos.objects.get("users/test/flaky.bin")).toEqual(body);
    expect(cos.partPuts().filter((n) => n === 1)).toHaveLength(3);
    expect(cos.partPuts().filter((n) => n === 3)).toHaveLength(2);
  });

  it("API calls are retried on 5xx and fail with ApiError (code, message, request id) on 4xx", async () => {
    const cos = new FakeCos();
    let planFailures = 1;
    cos.intercept = (req) => {
      if (req.path === "/v1/uploads" && req.method === "POST" && planFailures-- > 0) return { status: 502, body: { error: { code: "CosUnavailable", message: "COS did not answer", requestId: "req-502" } } };
      if (req.path === "/v1/objects/confirm") return { status: 403, body: { error: { code: "KeyOutsidePrefix", message: "body.key: not yours", requestId: "req-403" } } };
      return undefined;
    };
    const uploader = createUploader({ endpoint: "https://api.test/", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 3, baseDelay: 1, maxDelay: 2 } });
    const error = (await uploader.upload({ key: "users/test/small", body: "x" }).done.catch((e: unknown) => e)) as ApiError;
    expect(cos.find("POST", "/v1/uploads")).toHaveLength(2);
    expect(error.name).toBe("ApiError");
    expect(error.message).toBe("POST https://api.test/v1/objects/confirm failed with 403 KeyOutsidePrefix: body.key: not yours (request id req-403)");
    expect(cos.find("POST", "/v1/objects/confirm")).toHaveLength(1);
  });
});

describe("stalled requests", () => {
  it("a part PUT and an API call that never answer are aborted after stallTimeout and retried", async () => {
    const cos = new FakeCos();
    const hung = new Set<string>();
    cos.intercept = (req) => {
      const id = req.to === "cos" ? `part ${req.query.get("partNumber")}` : `${req.method} ${req.path}`;
      if ((id === "part 2" || id === "POST /v1/uploads") && !hung.has(id)) {
        hung.add(id);
        return "hang";
      }
      return undefined;
    };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, stallTimeout: 50, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const started = Date.now();
    const result = await uploader.upload({ key: "users/test/stall.bin", body: bytes(3000, 22) }).done;
    expect(result.size).toBe(3000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(cos.find("POST", /^\/v1\/uploads$/)).toHaveLength(2);
    expect(cos.partPuts().filter((n) => n === 2)).toHaveLength(2);
  });

  it("a part PUT the transport aborts on its own (the browser dropping the XHR) is retried like a network error, and the upload completes", async () => {
    const cos = new FakeCos();
    let dropped = 0;
    const dropsOnce: HttpStack = {
      send: (request) => {
        if (request.method === "PUT" && dropped++ === 0) return Promise.reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
        return cos.stack.send(request);
      },
    };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: dropsOnce, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const body = bytes(3000, 29);
    expect((await uploader.upload({ key: "users/test/dropped.bin", body }).done).size).toBe(3000);
    expect(cos.objects.get("users/test/dropped.bin")).toEqual(body);
    expect(dropped).toBeGreaterThan(1);
  });

  it("gives up with a NetworkError that says it stalled", async () => {
    const cos = new FakeCos();
    cos.intercept = (req) => (req.to === "cos" ? "hang" : undefined);
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, stallTimeout: 20, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } });
    const error = (await uploader.upload({ key: "users/test/s", body: "abc" }).done.catch((e: unknown) => e)) as Error;
    expect(error.name).toBe("NetworkError");
    expect(error.message).toContain("no progress for 20 ms");
  });

  it("a stack that learns a body's progress only from the answer (fetch without a streamed body) is not cut off as stalled", async () => {
    const cos = new FakeCos();
    cos.partSize = cos.singleThreshold = 8192; // 0.5 s at 16 KiB/s
    cos.putDelay = 150; // no progress event before the answer, three times the stall timeout
    const answerOnly: HttpStack = { send: cos.stack.send, reportsProgress: () => false };
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: answerOnly, stallTimeout: 50, retry: { attempts: 2, baseDelay: 1, maxDelay: 1 } });
    const body = bytes(3 * 8192, 23);
    expect((await uploader.upload({ key: "users/test/slow.bin", body }).done).size).toBe(body.length);
    expect(cos.objects.get("users/test/slow.bin")).toEqual(body);
    expect(cos.partPuts()).toHaveLength(3); // none aborted and sent again
    // Its wait still ends: stallTimeout plus the body's time at 16 KiB/s (3 bytes: 0.2 ms more).
    cos.intercept = (req) => (req.to === "cos" ? "hang" : undefined);
    const started = Date.now();
    const error = (await uploader.upload({ key: "users/test/s", body: "abc" }).done.catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/no answer in 50 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("nested retries", () => {
  it("a signing call that gave up is not retried again by the part around it: attempts, not attempts²", async () => {
    const cos = new FakeCos();
    cos.intercept = (req) => (req.to === "api" && req.path.endsWith("/parts") && req.method === "POST" ? { status: 503, body: { error: { code: "CosUnavailable", message: "down" } } } : undefined);
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, chunkParallelLimit: 1, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const error = (await uploader.upload({ key: "users/test/n.bin", body: bytes(3000, 24) }).done.catch((e: unknown) => e)) as ApiError;
    expect(error.name).toBe("ApiError");
    expect(error.status).toBe(503);
    expect(cos.find("POST", /\/parts$/)).toHaveLength(3);
  });
});

describe("what errors keep", () => {
  it("NetworkError and CorsError keep the URL without its query: a presigned signature never shows in JSON or logs", async () => {
    const url = "https://bucket.cos.test/users/test/k?partNumber=1&q-signature=secret-signature&x-cos-security-token=sts-secret";
    for (const error of [new NetworkError("PUT", url, new Error("socket hang up")), new CorsError("PUT", url)]) {
      expect(error.url).toBe("https://bucket.cos.test/users/test/k");
      const shown = `${JSON.stringify(error)} ${inspect(error)} ${error.message}`;
      expect(shown).not.toContain("secret");
    }
    // A part that gets no answer, end to end.
    const cos = new FakeCos();
    cos.intercept = (req) => (req.to === "cos" ? new TypeError("fetch failed: ECONNRESET") : undefined);
    const uploader = createUploader({ endpoint: "https://api.test", fetch: cos.fetch, httpStack: cos.stack, retry: { attempts: 1, baseDelay: 1, maxDelay: 1 } });
    const error = (await uploader.upload({ key: "users/test/k", body: bytes(3000, 25) }).done.catch((e: unknown) => e)) as NetworkError;
    expect(error.name).toBe("NetworkError");
    expect(`${JSON.stringify(error)} ${inspect(error)}`).not.toMatch(/q-signature|secret-signature/);
  });
});
