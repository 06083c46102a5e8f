/**
 * The benchmark's sandbox LMS runs in a child process of its own, so that the benchmark
 * process's RSS and event loop are the worker's (plus the harness), not the simulated LMS's.
 * This module is the parent side; `sandbox-child.ts` is the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SandboxEnv, SandboxKnobs, SandboxStats } from '@certharvest/sandbox';

export interface ExpectedCertificate {
  userId: number;
  orgUnitId: number;
  issuedId: number;
  /** sha256 of `sandbox.certificatePdf(issuedId)`, hex. */
  sha256: string;
  bytes: number;
}

export interface SandboxChildOptions {
  /** At least this many certificates in the batch. */
  certificates: number;
  latencyMs: number;
  /** Other knobs of the sandbox (e.g. a larger rate-limit budget for the RSS step). */
  knobs?: Partial<SandboxKnobs>;
  /** Every student holds exactly this many certificates (`--shape`); default: the sandbox's mix. */
  certificatesPerStudent?: number;
}

/** What the child answers once it serves. */
export interface SandboxReady {
  type: 'ready';
  url: string;
  env: SandboxEnv;
  /** Students in the sandbox institution. */
  userCount: number;
  /** The batch: every student of the institution, which is sized to hold the target (see sandbox-child.ts). */
  students: number[];
  certificates: ExpectedCertificate[];
  /** The child's own pid (for memory figures). */
  pid: number;
}

export type ParentMessage = { type: 'stats'; id: number } | { type: 'close' };
export type ChildMessage =
  SandboxReady | { type: 'stats'; id: number; stats: SandboxStats } | { type: 'error'; message: string };

export interface SandboxProcess extends Omit<SandboxReady, 'type'> {
  stats(): Promise<SandboxStats>;
  /** Close the sandbox and wait for the child to exit (killed after 5 s). Idempotent. */
  close(): Promise<void>;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sandbox-child.ts');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function startSandboxProcess(options: SandboxChildOptions): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  // Keep our stdout clean (for --json): whatever the child prints goes to stderr.
  child.stdout?.pipe(process.stderr);

  const pending = new Map<number, (stats: SandboxStats) => void>();
  let nextId = 1;
  const ready = await new Promise<SandboxReady>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the sandbox child did not start within 120 s')),
      120_000,
    );
    child.on('message', (raw) => {
      const msg = raw as ChildMessage;
      if (msg.type === 'ready') {
        clearTimeout(timer);
        resolve(msg);
      } else if (msg.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`sandbox child: ${msg.message}`));
      } else if (msg.type === 'stats') {
        pending.get(msg.id)?.(msg.stats);
        pending.delete(msg.id);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the sandbox child exited early (code ${code}, signal ${signal})`));
    });
  }).catch(async (err: unknown) => {
    await stopChild(child);
    throw err;
  });

  const { type: _type, ...info } = ready;
  let closed: Promise<void> | undefined;
  return {
    ...info,
    stats: () =>
      new Promise<SandboxStats>((resolve, reject) => {
        if (!child.connected) return reject(new Error('the sandbox child is gone'));
        const id = nextId++;
        pending.set(id, resolve);
        child.send({ type: 'stats', id } satisfies ParentMessage);
      }),
    close: () => (closed ??= stopChild(child)),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'close' } satisfies ParentMessage);
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
