import type { ConfiguredLms } from '../lms/module.ts';
import type { UserRefKind } from '../lms/index.ts';
import { TimeoutError } from '../util/with-timeout.ts';
import { fail, runChecks, type Check, type CheckOutcome, type CheckResult } from './check.ts';
import type { DoctorReport } from './report.ts';
import { checkConfiguration } from './config-check.ts';
import { checkRedis } from './redis-check.ts';
import { checkFleet, checkOutputDir } from './setup-checks.ts';
import { doctorAssembly } from './assembly.ts';
import { DoctorState, type DoctorInput } from './state.ts';
import { checkToken } from './token-check.ts';

/** The first step: it says which LMS it is, and so which steps follow. */
const CONFIGURATION: Check<DoctorState> = { name: 'configuration', run: checkConfiguration };

/** The steps every LMS shares before its own (the configuration's LMS module adds those). */
export const FIRST_CHECKS: readonly Check<DoctorState>[] = [
  CONFIGURATION,
  { name: 'redis', run: checkRedis, timeoutMs: 15_000 },
  { name: 'fleet', needs: ['redis'], run: checkFleet },
  { name: 'token', needs: ['configuration', 'redis'], run: checkToken },
];

/** The step every LMS shares after its own. */
export const LAST_CHECKS: readonly Check<DoctorState>[] = [
  { name: 'output dir', run: checkOutputDir, timeoutMs: 30_000 },
];

/** Every step, in order, for the configured LMS (only the shared ones when none is configured). */
export async function doctorChecksFor(
  site: ConfiguredLms | undefined,
): Promise<readonly Check<DoctorState>[]> {
  return [...FIRST_CHECKS, ...(site ? await site.doctorChecks() : []), ...LAST_CHECKS];
}

export interface DoctorOptions extends DoctorInput {
  /** Told each check's result as soon as it is known. */
  onResult?: (result: CheckResult) => void;
}

/**
 * Check the configured tenant step by step (the configuration, Redis, the fleet's state, the
 * token, the API, one certificate both ways, the web login, OUTPUT_DIR, Chromium) and say, for
 * each step, what was found and the likely fix. Never throws for a failing step; closes
 * everything it opened. Output never holds a secret of the configuration, a token or a cookie.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const { onResult, ...input } = options;
  // The product's parts come from the composition root's builders, handed over in the state.
  const state = new DoctorState(input, doctorAssembly);
  try {
    const options = {
      ...(onResult ? { onResult } : {}),
      redact: (text: string) => state.redact(text),
      describeError: unexpected,
    };
    // The configuration says which LMS it is, and so which checks follow (and in what order).
    const first = await runChecks([CONFIGURATION], state, options);
    const site = state.part('config')?.lms.site ?? state.part('base')?.lms?.site;
    const rest = (await doctorChecksFor(site)).slice(1);
    const checks = [
      ...first,
      ...(await runChecks(rest, state, {
        ...options,
        blocked: first.filter((c) => c.ok === false).map((c) => c.name),
      })),
    ];
    return {
      ok: !checks.some((c) => c.ok === false),
      lmsUrl: state.part('config')?.lms.url ?? state.part('base')?.lms?.url,
      checks,
    };
  } finally {
    await state.close();
  }
}

function unexpected(error: unknown, check: string): CheckOutcome {
  if (error instanceof TimeoutError) {
    return fail(
      error.message,
      `something did not answer: run the doctor again; if the ${check} check hangs again, look there first`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return fail(`unexpected error: ${message.split('\n')[0]}`);
}

/**
 * `--user`: a UserId (digits), `userName:NAME`, `orgDefinedId:ID`, or a bare user name. With
 * `anyId`, `userId:` takes the LMS's own id whatever its shape (`userId:_45_1`), and a bare
 * Learn-style id (`_45_1`) is a user id too.
 * @returns undefined when the text is not a reference.
 */
export function parseUserReference(
  text: string,
  options: { anyId?: boolean } = {},
): { by: UserRefKind; value: string } | undefined {
  const value = text.trim();
  const isId = (v: string) => /^\d{1,15}$/.test(v) || (options.anyId === true && /^_\w+_\d+$/.test(v));
  const prefixed = /^(userId|userName|orgDefinedId):(.*)$/i.exec(value);
  if (prefixed) {
    const kind = prefixed[1]!.toLowerCase();
    const rest = prefixed[2]!.trim();
    if (!rest) return undefined;
    if (kind === 'userid') {
      return isId(rest) || (options.anyId && /^[^\s/\\]{1,200}$/.test(rest))
        ? { by: 'userId', value: rest }
        : undefined;
    }
    return kind === 'username' ? { by: 'userName', value: rest } : { by: 'orgDefinedId', value: rest };
  }
  if (!value) return undefined;
  return isId(value) ? { by: 'userId', value } : { by: 'userName', value };
}
