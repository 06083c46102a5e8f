/**
 * The sandbox is its own package (`@certharvest/sandbox`, packages/sandbox/), which the production
 * image does not contain: `demo` and `sandbox` load it through one loader, which says how to get it
 * when it is absent.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  loadSandboxPackage,
  SANDBOX_MISSING,
  type SandboxPackage,
} from '../../src/cli/commands/sandbox-package.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { main } from '../../src/cli/main.ts';
import { UsageError } from '../../src/errors/index.ts';

/** The error Node's ESM loader throws for a package that is not installed. */
function notInstalled(name: string): Error {
  return Object.assign(
    new Error(`Cannot find package '${name}' imported from /app/dist/src/cli/commands/sandbox-package.js`),
    {
      code: 'ERR_MODULE_NOT_FOUND',
    },
  );
}

describe('the sandbox package loader', () => {
  afterEach(() => vi.restoreAllMocks());

  it('loads the package, which has what the product uses of it', async () => {
    const pkg: SandboxPackage = await import('@certharvest/sandbox'); // the package fits the product's port
    expect(await loadSandboxPackage()).toMatchObject({
      startSandbox: pkg.startSandbox,
      runSandboxCommand: pkg.runSandboxCommand,
    });
  });

  it('without the package: a usage error, one line saying how to get it', async () => {
    const load = loadSandboxPackage(() => Promise.reject(notInstalled('@certharvest/sandbox')));
    await expect(load).rejects.toBeInstanceOf(UsageError);
    await expect(load).rejects.toThrow(SANDBOX_MISSING);
    expect(SANDBOX_MISSING).not.toContain('\n');
    expect(SANDBOX_MISSING).toMatch(/development package.*npm install.*not in the production image/);
  });

  it('a missing dependency of an installed package is not mistaken for a missing package', async () => {
    const err = notInstalled('oidc-provider');
    await expect(loadSandboxPackage(() => Promise.reject(err))).rejects.toBe(err);
  });

  it("certharvest sandbox --help prints the package's help (exit 0)", async () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    expect(await main(['sandbox', '--help'])).toBe(EXIT.OK);
    expect(out).toMatch(/^Usage: certharvest sandbox \[options\]/m);
    expect(out).toContain('--render-throttle-status <429|503>');
  });

  it("a bad flag is certharvest's usage error (exit 2) naming the flag", async () => {
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')));
    expect(await main(['sandbox', '--port', 'x'])).toBe(EXIT.USAGE);
    expect(errors).toEqual(['certharvest: --port: expected a whole number from 0 to 65535 (got "x")']);
  });
});
