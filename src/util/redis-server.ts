import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError } from '../errors/index.ts';
import { getFreePort } from './free-port.ts';

export interface RedisServerHandle {
  url: string;
  port: number;
  /** Stops the server and removes its working folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  port?: number;
  /** Keep an append-only file (for restart tests); default: pure in-memory. */
  persist?: boolean;
  /** Folder for its files; default: a fresh temp folder removed on stop. */
  dir?: string;
  binary?: string;
  timeoutMs?: number;
  /** More `redis-server` options, e.g. `['--cluster-enabled', 'yes']` for a test. */
  args?: readonly string[];
}

/**
 * Start a private `redis-server` on 127.0.0.1 (the demo's and the tests' own Redis). Resolves
 * once it accepts connections; rejects with a clear message when the binary is missing.
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await getFreePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'certharvest-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.persist ? 'yes' : 'no',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    ...(options.args ?? []),
  ];
  const child = spawn(options.binary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));

  await waitUntilReady(child, port, options.timeoutMs ?? 10_000, () => output);

  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(child: ChildProcess, port: number, timeoutMs: number, output: () => string) {
  const { Socket } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));
  while (Date.now() < deadline) {
    if (spawnError) {
      const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
      throw new EnvironmentError(
        missing
          ? "redis-server is not installed: run `npm run setup` (installs Debian's redis-server) or set REDIS_URL"
          : `could not start redis-server: ${spawnError.message}`,
        { cause: spawnError },
      );
    }
    if (child.exitCode !== null) {
      throw new EnvironmentError(`redis-server exited with code ${child.exitCode}: ${output().trim()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.write('PING\r\n');
      });
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new EnvironmentError(`redis-server did not start within ${timeoutMs} ms: ${output().trim()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
