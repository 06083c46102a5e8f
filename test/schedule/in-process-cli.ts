import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

/**
 * Run the CLI's `main()` in this process with `env` merged into `process.env`, capturing what it
 * prints. Much cheaper than spawning `bin/certharvest.js` (a tsx start-up each); the tests spawn
 * the real binary only where the process boundary itself is under test. Calls must not overlap.
 */
export async function cliInProcess(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  // Commander writes its own errors (an unknown option, a wrong choice) to stderr directly.
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
    process.exitCode = undefined;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}
