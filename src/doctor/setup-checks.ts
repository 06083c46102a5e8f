import { statfs } from 'node:fs/promises';
import { BrowserLaunchError, launchChromium, resolveChromiumPath } from '../browser/index.ts';
import {
  CertificateStore,
  OutputDirOtherLmsError,
  OutputMarkerInvalidError,
  OutputUnavailableError,
  readOutputMarker,
  verifyOutputMarker,
  type OutputMarker,
} from '../storage/index.ts';
import { fail, pass, skip, warn, type CheckOutcome } from './check.ts';
import type { DoctorState } from './state.ts';

/** The fix of a login refused for the whole fleet: what `status` says too. */
export const LOGIN_HOLD_FIX =
  'fix LMS_USERNAME / LMS_PASSWORD (or LMS_TOTP_SECRET, or unlock the service user), then ' +
  'restart one worker (its one probe login releases the hold and resumes the fleet) or run ' +
  '`certharvest resume`';

/** The fleet is not paused, and its web logins are not held back. */
export async function checkFleet(s: DoctorState): Promise<CheckOutcome> {
  const { base, redis } = s.need('base', 'redis');
  const breaker = s.provide('breaker', s.assembly.breaker(base, redis, s.logger));
  const pause = await breaker.current();
  const hold = await breaker.loginHold();
  if (pause) {
    return fail(`PAUSED since ${pause.since} (${pause.reason}): ${pause.message}`, pause.fix);
  }
  if (hold !== null) return fail(`not paused, but its web logins are held back: ${hold}`, LOGIN_HOLD_FIX);
  return pass(`not paused (queue prefix ${base.queuePrefix}); web logins allowed`);
}

/**
 * OUTPUT_DIR belongs to the configured LMS (its marker, read only: the doctor never claims a
 * folder), takes a file (the worker's own test write), and has room.
 */
export async function checkOutputDir(s: DoctorState): Promise<CheckOutcome> {
  const { base } = s.need('base');
  let marker: OutputMarker | null;
  let prefixWarning: string | undefined;
  try {
    marker = await readOutputMarker(base.outputDir);
    if (marker && base.lms) {
      prefixWarning = verifyOutputMarker(base.outputDir, marker, {
        lmsHost: base.lms.host,
        queuePrefix: base.queuePrefix,
      });
    }
  } catch (err) {
    if (err instanceof OutputDirOtherLmsError) return fail(err.found, err.fix);
    if (err instanceof OutputMarkerInvalidError) return fail(err.message, err.fix);
    if (err instanceof OutputUnavailableError) return fail(err.message, OUTPUT_DIR_FIX);
    throw err;
  }
  const store = new CertificateStore(base.outputDir, {
    lmsHost: base.lms?.host ?? 'doctor',
    ...base.outputModes,
  });
  try {
    await store.checkWritable();
  } catch (err) {
    if (err instanceof OutputUnavailableError) {
      return fail(
        err.message,
        err.code === 'OUTPUT_FULL'
          ? 'free space on that filesystem (or point OUTPUT_DIR elsewhere)'
          : OUTPUT_DIR_FIX,
      );
    }
    throw err;
  }
  const room = await statfs(base.outputDir).then(
    (s) => s.bavail * s.bsize,
    () => undefined,
  );
  const owner = marker
    ? `marked for ${marker.lmsHost} (queue prefix ${marker.queuePrefix}) since ${marker.createdAt}`
    : `not marked yet (the first worker marks it for ${base.lms?.host ?? 'its LMS'})`;
  const found = `${base.outputDir} takes files (a test file was written and removed)${
    room === undefined ? '' : `; ${formatBytes(room)} free`
  }; ${owner}`;
  if (prefixWarning) {
    return warn(
      `${found}; ${prefixWarning}`,
      'use the QUEUE_PREFIX the folder was first used with, or another OUTPUT_DIR, unless sharing it is intended',
    );
  }
  if (room !== undefined && room < LOW_SPACE_BYTES) {
    return warn(found, 'free space there: every certificate is a PDF and a small sidecar');
  }
  return pass(found);
}

const OUTPUT_DIR_FIX =
  'make OUTPUT_DIR a folder the worker user can create folders and files in (or point it elsewhere)';

const LOW_SPACE_BYTES = 256 * 1024 * 1024;

/** Chromium starts headless: it does the web logins. */
export async function checkChromium(s: DoctorState): Promise<CheckOutcome> {
  const { base } = s.need('base');
  if (!base.webLogin) return skip('not needed: no web login is configured (LMS_USERNAME/LMS_PASSWORD)');
  const where = resolveChromiumPath(base.chromiumPath) ?? "Playwright's bundled Chromium";
  try {
    const browser = await launchChromium(base.chromiumPath);
    const version = browser.version();
    await browser.close().catch(() => undefined);
    return pass(`${where} (Chromium ${version}) starts headless`);
  } catch (err) {
    if (err instanceof BrowserLaunchError) {
      return fail(
        err.message,
        'install Chromium (`apt-get install chromium`) or set CHROMIUM_PATH to a working executable; ' +
          'in a container that forbids its sandbox, set CHROMIUM_NO_SANDBOX=true',
      );
    }
    throw err;
  }
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
