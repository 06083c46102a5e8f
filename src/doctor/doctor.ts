import type { UserReference } from '../lms/index.ts';
import { TimeoutError } from '../util/with-timeout.ts';
import {
  checkAwards,
  checkPdfRoute,
  checkToken,
  checkUserLookup,
  checkVersions,
  checkWhoami,
} from './api-checks.ts';
import { fail, runChecks, type Check, type CheckOutcome, type CheckResult } from './check.ts';
import { checkLearnAwards, checkLearnRender, checkLearnUserLookup, notApplicable } from './learn-checks.ts';
import type { DoctorReport } from './report.ts';
import { checkChromium, checkConfiguration, checkFleet, checkOutputDir, checkRedis } from './setup-checks.ts';
import { DoctorState, type DoctorInput } from './state.ts';
import { checkRender, checkWebLogin } from './web-checks.ts';

/**
 * The checks, in the order a harvest meets them. `needs` names the checks whose failure makes a
 * check pointless (it is skipped); each check also skips itself when it does not apply.
 */
export const DOCTOR_CHECKS: readonly Check<DoctorState>[] = [
  { name: 'configuration', run: checkConfiguration },
  { name: 'redis', run: checkRedis, timeoutMs: 15_000 },
  { name: 'fleet', needs: ['redis'], run: checkFleet },
  { name: 'token', needs: ['configuration', 'redis'], run: checkToken },
  { name: 'api versions', needs: ['token'], run: checkVersions },
  { name: 'whoami', needs: ['api versions'], run: checkWhoami },
  { name: 'user lookup', needs: ['whoami'], run: checkUserLookup },
  { name: 'awards', needs: ['user lookup'], run: checkAwards, timeoutMs: 120_000 },
  { name: 'pdf route', needs: ['awards'], run: checkPdfRoute, timeoutMs: 90_000 },
  { name: 'chromium', run: checkChromium, timeoutMs: 45_000 },
  // A login may wait for a worker's (90 s) before its own (launch and form, 30 s each).
  {
    name: 'web login',
    needs: ['configuration', 'redis', 'chromium'],
    run: checkWebLogin,
    timeoutMs: 180_000,
  },
  { name: 'render', needs: ['web login', 'awards'], run: checkRender, timeoutMs: 150_000 },
  { name: 'output dir', run: checkOutputDir, timeoutMs: 30_000 },
];

/**
 * The checks for Blackboard Learn (LMS=blackboard). Learn has no API versions, whoami or `/pdf`
 * route: those skip themselves as not applicable. Learn lists certificates only on its web pages,
 * so the web login comes before the awards, which read the Achievements pages with its session.
 */
export const LEARN_DOCTOR_CHECKS: readonly Check<DoctorState>[] = [
  { name: 'configuration', run: checkConfiguration },
  { name: 'redis', run: checkRedis, timeoutMs: 15_000 },
  { name: 'fleet', needs: ['redis'], run: checkFleet },
  { name: 'token', needs: ['configuration', 'redis'], run: checkToken },
  { name: 'api versions', needs: ['token'], run: notApplicable.versions },
  { name: 'whoami', needs: ['token'], run: notApplicable.whoami },
  { name: 'chromium', run: checkChromium, timeoutMs: 45_000 },
  {
    name: 'web login',
    needs: ['configuration', 'redis', 'chromium'],
    run: checkWebLogin,
    timeoutMs: 180_000,
  },
  { name: 'user lookup', needs: ['token'], run: checkLearnUserLookup },
  {
    name: 'awards',
    needs: ['user lookup', 'web login'],
    run: checkLearnAwards,
    timeoutMs: 120_000,
  },
  { name: 'pdf route', needs: ['awards'], run: notApplicable.pdfRoute },
  { name: 'render', needs: ['web login', 'awards'], run: checkLearnRender, timeoutMs: 150_000 },
  { name: 'output dir', run: checkOutputDir, timeoutMs: 30_000 },
];

/** The checks for the configured LMS (Brightspace's when the configuration names none). */
export function doctorChecksFor(kind: string | undefined): readonly Check<DoctorState>[] {
  return kind === 'blackboard' ? LEARN_DOCTOR_CHECKS : DOCTOR_CHECKS;
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
  const state = new DoctorState(input);
  try {
    const options = {
      ...(onResult ? { onResult } : {}),
      redact: (text: string) => state.redact(text),
      describeError: unexpected,
    };
    // The configuration says which LMS it is, and so which checks follow (and in what order).
    const configuration = DOCTOR_CHECKS[0]!;
    const first = await runChecks([configuration], state, options);
    const kind = state.config?.lms.kind ?? state.base?.lms?.kind;
    const checks = [
      ...first,
      ...(await runChecks(
        doctorChecksFor(kind).filter((c) => c.name !== configuration.name),
        state,
        { ...options, blocked: first.filter((c) => c.ok === false).map((c) => c.name) },
      )),
    ];
    return {
      ok: !checks.some((c) => c.ok === false),
      lmsUrl: state.config?.lms.url ?? state.base?.lms?.url,
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
 * `--user`: a UserId (digits), `userName:NAME`, `orgDefinedId:ID`, or a bare user name.
 * @returns undefined when the text is not a reference.
 */
export function parseUserReference(text: string): UserReference | undefined {
  const value = text.trim();
  const prefixed = /^(userId|userName|orgDefinedId):(.*)$/i.exec(value);
  if (prefixed) {
    const kind = prefixed[1]!.toLowerCase();
    const rest = prefixed[2]!.trim();
    if (!rest) return undefined;
    if (kind === 'userid') return /^\d{1,15}$/.test(rest) ? { by: 'userId', value: rest } : undefined;
    return kind === 'username' ? { by: 'userName', value: rest } : { by: 'orgDefinedId', value: rest };
  }
  if (!value) return undefined;
  return /^\d{1,15}$/.test(value) ? { by: 'userId', value } : { by: 'userName', value };
}
