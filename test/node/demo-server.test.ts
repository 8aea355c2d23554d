// The demo server's routes on their own (scripts/demo-server.ts): what the page and its DEV-ONLY
// token route answer, and bad query input refused with a 400 naming the field. The page itself runs
// against the real functions in test/browser/demo.test.ts and dev-demo.test.ts.
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_SUBJECT, demoRoutes, serveRoutes, type DemoServer } from "../../scripts/demo-server";

let server: DemoServer;
const issued: { sub: string; ttl: number }[] = [];

beforeAll(async () => {
  // No functions behind it: the token is a stand-in, and /form is only asked for bad input here.
  server = await serveRoutes(demoRoutes({ api: "http://127.0.0.1:9", token: async (sub, ttl) => (issued.push({ sub, ttl }), `token-for-${sub}`) }), 0);
});
afterAll(() => server.close());

it("serves the page, its stylesheet and its bundle built from demo/main.ts", async () => {
  const html = await fetch(server.url);
  expect(html.headers.get("content-type")).toContain("text/html");
  const text = await html.text();
  expect(text).toContain('<script type="module" src="/demo.js">');
  expect(text).toMatch(/<label for="files"/);
  expect((await fetch(`${server.url}/demo.css`)).headers.get("content-type")).toContain("text/css");
  const js = await (await fetch(`${server.url}/demo.js`)).text();
  // The client is bundled in (its typed errors by name), not fetched from elsewhere.
  expect(js).toContain("CorsError");
  expect(js).not.toMatch(/^import /m);
  expect(await (await fetch(`${server.url}/config.json`)).json()).toEqual({ api: "http://127.0.0.1:9" });
  expect((await fetch(`${server.url}/nope`)).status).toBe(404);
});

it("a request target the URL parser refuses gets a 400, and the server keeps serving", async () => {
  const { port } = new URL(server.url);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1", () => socket.end("GET http://[::1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    let text = "";
    socket.on("data", (chunk) => (text += chunk));
    socket.on("end", () => resolve(text));
    socket.on("error", reject);
  });
  expect(answer).toMatch(/^HTTP\/1\.1 400/);
  expect((await fetch(server.url)).status).toBe(200);
});

it("/dev/token signs for the demo subject by default or the given one, short-lived", async () => {
  const before = Date.now();
  const body = (await (await fetch(`${server.url}/dev/token`)).json()) as { token: string; expiresAt: number };
  expect(body.token).toBe(`token-for-${DEMO_SUBJECT}`);
  expect(body.expiresAt - before).toBeGreaterThan(60_000);
  expect(body.expiresAt - before).toBeLessThanOrEqual(15 * 60_000 + 1_000);
  expect(issued.at(-1)).toEqual({ sub: DEMO_SUBJECT, ttl: 15 * 60 });
  expect(((await (await fetch(`${server.url}/dev/token?sub=alice`)).json()) as { token: string }).token).toBe("token-for-alice");
});

it.each([
  ["/dev/token?sub=..", "sub"],
  ["/dev/token?sub=a%2Fb", "sub"],
  [`/dev/token?sub=${"x".repeat(65)}`, "sub"],
  ["/form?maxBytes=lots", "maxBytes"],
  ["/form?maxBytes=0", "maxBytes"],
  ["/form?maxBytes=1.5", "maxBytes"],
])("%s is refused with a 400 naming %s", async (path, field) => {
  const before = issued.length;
  const res = await fetch(server.url + path);
  expect(res.status).toBe(400);
  expect(res.headers.get("content-type")).toBe("application/json");
  const body = (await res.json()) as { error: { code: string; message: string; details: { field: string } } };
  expect(body.error.code).toBe("InvalidInput");
  expect(body.error.message.startsWith(`${field}: `)).toBe(true);
  expect(body.error.details.field).toBe(field);
  expect(issued.length).toBe(before); // no token was signed for it
});
