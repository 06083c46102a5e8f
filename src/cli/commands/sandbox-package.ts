/**
 * The one door from the product to the sandbox, the development package `@certharvest/sandbox`
 * (packages/sandbox/): `demo` and `sandbox` load it here when they run. The production image and
 * `npm ci --omit=dev` do not install it; then these commands say how to get it.
 *
 * The product declares what it uses of the package (below) instead of importing its types, so it
 * compiles without the package (the image's build stage has none); test/sandbox/package.test.ts
 * checks that the package fits.
 */
import { UsageError } from '../../errors/index.ts';

/** The package's name: one place, so that no other product module names it. */
export const SANDBOX_PACKAGE = '@certharvest/sandbox';

/** The one line `demo` and `sandbox` print (exit 2) where the package is not installed. */
export const SANDBOX_MISSING =
  `the sandbox is a development package (${SANDBOX_PACKAGE}, packages/sandbox/): run this from a clone ` +
  'after `npm install`; it is not in the production image or an `npm ci --omit=dev` install';

/** What the demo reads of a running sandbox. */
export interface RunningSandbox {
  readonly url: string;
  /** The worker's `.env` for Brightspace, and for Learn (`LMS=blackboard`). */
  readonly env: object;
  readonly learnEnv: object;
  readonly institution: { readonly students: readonly { readonly UserId: number }[] };
  close(): Promise<void>;
}

/** What `certharvest sandbox` hands the package: where to write, when to stop. */
export interface SandboxCommandIo {
  /** Where the header and the `.env` block go. Default: stdout. */
  write?: (text: string) => void;
  /** Resolves when the sandbox should stop. Default: the first SIGINT or SIGTERM. */
  untilStop?: () => Promise<unknown>;
  /** Called once the sandbox serves (with the package's `Sandbox`). */
  onStarted?: (sandbox: RunningSandbox) => void;
}

/** The part of `@certharvest/sandbox` the product uses. */
export interface SandboxPackage {
  startSandbox(options: {
    userCount: number;
    port: number;
    knobs: { latencyMs: number };
  }): Promise<RunningSandbox>;
  /** `certharvest sandbox [args]`: rejects with an error whose `code` is `SANDBOX_FLAG` for a bad flag. */
  runSandboxCommand(
    args: readonly string[],
    io: Omit<SandboxCommandIo, 'untilStop'> & { untilStop: () => Promise<unknown> },
  ): Promise<void>;
}

/** How the package is imported; a seam for the test of the missing package. */
export type ImportSandbox = () => Promise<unknown>;

/**
 * The package, or a UsageError saying how to get it. The package is TypeScript: compiled
 * certharvest (dist/, no TypeScript loader) registers tsx first (a development install has it), as
 * bin/certharvest.js does for sources; under tsx or vitest (this file is `.ts`) it is already there.
 */
export async function loadSandboxPackage(
  importSandbox: ImportSandbox = importPackage,
  compiled = !import.meta.url.endsWith('.ts'),
): Promise<SandboxPackage> {
  try {
    if (compiled) await registerTypeScript();
    return (await importSandbox()) as SandboxPackage;
  } catch (err) {
    if (isMissing(err)) throw new UsageError(SANDBOX_MISSING);
    throw err;
  }
}

let typeScriptRegistered = false;

/** tsx's loader, once per process, before the import (Node does not retry a module that failed to load). */
async function registerTypeScript(): Promise<void> {
  if (typeScriptRegistered) return;
  // tsx is a dependency of the sandbox package: installed wherever the package is.
  const { register } = await import('tsx/esm/api');
  register();
  typeScriptRegistered = true;
}

/** A specifier in a variable: TypeScript does not resolve it, so the product builds without the package. */
function importPackage(): Promise<unknown> {
  const specifier: string = SANDBOX_PACKAGE;
  return import(specifier);
}

/**
 * The package itself (or tsx, which comes with it) is not installed; a missing dependency of an
 * installed package is another error.
 */
function isMissing(err: unknown): boolean {
  const message = String((err as Error | null)?.message);
  return (
    errorCode(err) === 'ERR_MODULE_NOT_FOUND' &&
    (message.includes(`'${SANDBOX_PACKAGE}'`) || message.includes("'tsx'"))
  );
}

const errorCode = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
