// `npm run cos-local` as a user runs it: a real child process whose printed endpoint and
// credentials are all the official SDK is given (issue 2 "What it must show").
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import COS from "cos-nodejs-sdk-v5";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface Banner { endpoint: string; bucket: string; region: string; secretId: string; secretKey: string }

function startCli(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; banner: Banner; output: () => string }> {
  const child = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "emulator/cli.ts", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const field = (label: string) => new RegExp(`^\\s*${label}\\s+(\\S+)`, "m").exec(output)?.[1];
      const banner = { endpoint: field("endpoint"), bucket: field("bucket"), region: field("region"), secretId: field("SecretId"), secretKey: field("SecretKey") };
      if (Object.values(banner).every(Boolean) && output.includes("control")) resolve({ child, banner: banner as Banner, output: () => output });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`cos-local exited with ${code}: ${output}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("npm run cos-local", () => {
  let dir: string;
  let cli: Awaited<ReturnType<typeof startCli>>;
  let cos: COS;
  const sdk = (banner: Banner, secretKey = banner.secretKey) =>
    new COS({ SecretId: banner.secretId, SecretKey: secretKey, Protocol: "http:", Domain: "{Bucket}.cos.{Region}.cos-local.test", Ip: new URL(banner.endpoint).host, ConfCwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cos-local-cli-"));
    cli = await startCli(["--port", "0", "--data", join(dir, "data")], { COS_LOCAL_BUCKET: "cli-1250000000", COS_LOCAL_REGION: "ap-chengdu" });
    cos = sdk(cli.banner);
  });
  afterAll(async () => {
    await stop(cli.child);
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the endpoint, bucket, region and credentials, honouring the environment", () => {
    expect(cli.banner.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect([cli.banner.bucket, cli.banner.region]).toEqual(["cli-1250000000", "ap-chengdu"]);
  });

  it("lets the official SDK put, append, upload in parts and read back identical bytes", async () => {
    const loc = { Bucket: cli.banner.bucket, Region: cli.banner.region };
    const small = randomBytes(1000);
    await cos.putObject({ ...loc, Key: "simple.bin", Body: small });
    expect(Buffer.compare((await cos.getObject({ ...loc, Key: "simple.bin" })).Body as Buffer, small)).toBe(0);

    const [a, b] = [randomBytes(100), randomBytes(200)];
    await cos.appendObject({ ...loc, Key: "log.bin", Body: a, Position: 0 });
    await cos.appendObject({ ...loc, Key: "log.bin", Body: b, Position: a.length });
    expect(Buffer.compare((await cos.getObject({ ...loc, Key: "log.bin" })).Body as Buffer, Buffer.concat([a, b]))).toBe(0);

    const big = randomBytes(3 * 1024 * 1024 + 5);
    const file = join(dir, "big.bin");
    await writeFile(file, big);
    await cos.sliceUploadFile({ ...loc, Key: "big.bin", FilePath: file, ChunkSize: 1024 * 1024 });
    expect(Buffer.compare((await cos.getObject({ ...loc, Key: "big.bin" })).Body as Buffer, big)).toBe(0);
  });

  it("refuses a wrong secret with 403 SignatureDoesNotMatch", async () => {
    const wrong = sdk(cli.banner, "not-the-secret-key");
    const error = (await wrong.headObject({ Bucket: cli.banner.bucket, Region: cli.banner.region, Key: "simple.bin" }).then(() => null, (e: unknown) => e)) as { statusCode?: number } | null;
    expect(error?.statusCode).toBe(403);
    const put = (await wrong.putObject({ Bucket: cli.banner.bucket, Region: cli.banner.region, Key: "x.txt", Body: "x" }).then(() => null, (e: unknown) => e)) as { code?: string } | null;
    expect(put?.code).toBe("SignatureDoesNotMatch");
  });

  it("explains a port that is already taken, and exits", async () => {
    const port = new URL(cli.banner.endpoint).port;
    const second = spawn(process.execPath, ["node_modules/tsx/dist/cli.mjs", "emulator/cli.ts", "--port", port, "--data", join(dir, "data2")], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    second.stdout.on("data", (c: Buffer) => (output += c));
    second.stderr.on("data", (c: Buffer) => (output += c));
    const code = await new Promise<number | null>((resolve) => second.once("exit", resolve));
    expect(code).toBe(1);
    expect(output).toContain(`port ${port} on 127.0.0.1 is already in use`);
  });
});
