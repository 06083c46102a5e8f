/**
 * A private moto_server (an S3 imitation in Python) for the object-storage tests: started on a
 * free port on 127.0.0.1, stopped after. Only those tests use it; when it is missing they are
 * skipped with `MOTO_MISSING` as their title, and nothing else depends on it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { getFreePort } from '../../src/util/free-port.ts';

export const MOTO_MISSING =
  "moto_server is not on PATH: these tests need it. Install it with `pip install 'moto[server]'`, then run them again";

/** The moto_server executable on PATH, or undefined. */
export function findMotoServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'moto_server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A client for it (path-style, us-east-1, throwaway credentials: moto takes any). */
  client(): S3Client;
  /** Create a bucket no other test uses, and return its name. */
  bucket(): Promise<string>;
  stop(): Promise<void>;
}

/** Client options for the server at `endpoint`; `extra` is merged in. */
export const motoClient = (
  endpoint: string,
  extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {},
) =>
  new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...extra,
  });

/** Start moto_server and resolve once it answers; throws with its output when it does not. */
export async function startMotoServer(binary = findMotoServer(), timeoutMs = 30_000): Promise<MotoServer> {
  if (!binary) throw new Error(MOTO_MISSING);
  const port = await getFreePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // Its own process group: moto_server may be a shim that starts Python; stop() ends them all.
  const child = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${output.trim()}`);
    const ok = await fetch(`${endpoint}/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const admin = motoClient(endpoint);
  return {
    endpoint,
    client: () => motoClient(endpoint),
    async bucket() {
      const name = `certs-${randomBytes(6).toString('hex')}`;
      await admin.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      admin.destroy();
      await stop();
    },
  };
}

/** One request as the client sent it: method, key (path-style, bucket stripped) and headers. */
export interface SentRequest {
  method: string;
  key: string;
  headers: Record<string, string>;
}

/**
 * Record every request `client` sends, in order; `before` (awaited) runs ahead of each one, so a
 * test can do something between a store's steps (another writer's PUT).
 */
export function recordRequests(
  client: S3Client,
  before?: (request: SentRequest) => Promise<void>,
): SentRequest[] {
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method: string; path: string; headers: Record<string, string> };
      const key = decodeURIComponent(request.path.split('/').slice(2).join('/'));
      const entry = { method: request.method, key, headers: { ...request.headers } };
      if (before) await before(entry);
      sent.push(entry);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return sent;
}
