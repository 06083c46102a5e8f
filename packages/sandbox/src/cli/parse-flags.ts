import { readFileSync } from 'node:fs';
import {
  CONSENT_PROMPTS,
  EXPIRY_STYLES,
  LEARN_ID_STYLES,
  LEARN_MARKUPS,
  PDF_CONTENT_TYPES,
  RENDER_THROTTLE_STATUSES,
  TRUNCATE_STYLES,
  type RenderThrottleStatus,
  type SandboxKnobs,
} from '../knobs.ts';
import type { SandboxOptions } from '../sandbox.ts';
import type { SandboxFlags } from './flags.ts';

/**
 * A flag of `certharvest sandbox` with a value it cannot use; the message names the flag and what
 * it expects. certharvest reports it as a usage error (exit 2).
 */
export class SandboxFlagError extends Error {
  readonly code = 'SANDBOX_FLAG';
  override readonly name = 'SandboxFlagError';
}

/** Every flag checked once, here; a bad one is a SandboxFlagError naming it and what it expects. */
export function parseSandboxFlags(raw: SandboxFlags): SandboxOptions {
  if (raw.host.trim() === '')
    throw new SandboxFlagError('--host: expected an interface address such as 127.0.0.1');
  return {
    host: raw.host,
    port: whole('--port', raw.port, 0, 65535),
    seed: whole('--seed', raw.seed, 0, 2 ** 31 - 1),
    userCount: whole('--users', raw.users, 0, 100_000),
    awardsPageSize: whole('--awards-page-size', raw.awardsPageSize, 1, 200),
    usersPageSize: whole('--users-page-size', raw.usersPageSize, 1, 1000),
    knobs: parseKnobFlags(raw),
    ...(raw.clientJwks === undefined ? {} : { clientJwks: readJwks(raw.clientJwks) }),
  };
}

/** The knobs the flags set; a knob whose flag is absent is left out (the sandbox's default). */
function parseKnobFlags(raw: SandboxFlags): Partial<SandboxKnobs> {
  const knobs: Partial<SandboxKnobs> = {};
  const setIf = <K extends keyof SandboxKnobs>(key: K, value: SandboxKnobs[K] | undefined) => {
    if (value !== undefined) knobs[key] = value;
  };
  setIf('latencyMs', optionalWhole('--latency-ms', raw.latencyMs, 0, 600_000));
  setIf('errorRate', optionalRate('--error-rate', raw.errorRate));
  setIf('truncateRate', optionalRate('--truncate-rate', raw.truncateRate));
  setIf('truncateStyle', optionalOneOf('--truncate-style', raw.truncateStyle, TRUNCATE_STYLES));
  setIf('throttleRate', optionalRate('--throttle-rate', raw.throttleRate));
  setIf('rateLimitCredits', optionalWhole('--rate-limit-credits', raw.rateLimitCredits, 0));
  setIf('requestCost', optionalWhole('--request-cost', raw.requestCost, 0));
  setIf('sessionIdleSeconds', optionalWhole('--session-idle-seconds', raw.sessionIdleSeconds, 1));
  setIf('sessionMaxRequests', optionalWhole('--session-max-requests', raw.sessionMaxRequests, 0));
  setIf('accessTokenTtlSeconds', optionalWhole('--access-token-ttl', raw.accessTokenTtl, 1));
  setIf('refreshTokenDisuseSeconds', optionalWhole('--refresh-token-disuse', raw.refreshTokenDisuse, 1));
  setIf('pdfApi', raw.pdfApi);
  setIf('newerApiVersions', raw.newerApiVersions);
  setIf('pdfApiScopeMissing', raw.pdfApiScopeMissing);
  setIf('orgStructureScopeMissing', raw.orgStructureScopeMissing);
  setIf('replayRevokesChain', raw.replayRevokesChain);
  setIf('renderThrottleRate', optionalRate('--render-throttle-rate', raw.renderThrottleRate));
  setIf('renderThrottleFirst', optionalWhole('--render-throttle-first', raw.renderThrottleFirst, 0));
  setIf('renderThrottleStatus', optionalStatus(raw.renderThrottleStatus));
  setIf('retryAfterSeconds', optionalWhole('--retry-after-seconds', raw.retryAfterSeconds, 0, 3600));
  setIf('twoFactor', raw.twoFactor);
  setIf('ssoRedirect', raw.ssoRedirect);
  setIf('termsInterstitial', raw.termsInterstitial);
  setIf('learnMarkup', optionalOneOf('--learn-markup', raw.learnMarkup, LEARN_MARKUPS));
  setIf('learnIds', optionalOneOf('--learn-ids', raw.learnIds, LEARN_ID_STYLES));
  setIf('consentPrompt', optionalOneOf('--consent-prompt', raw.consentPrompt, CONSENT_PROMPTS));
  setIf('expiryStyle', optionalOneOf('--expiry-style', raw.expiryStyle, EXPIRY_STYLES));
  setIf('pdfContentType', optionalOneOf('--pdf-content-type', raw.pdfContentType, PDF_CONTENT_TYPES));
  setIf('forbiddenIssuedIds', optionalIds('--forbidden-issued-ids', raw.forbiddenIssuedIds));
  setIf('hugeBodyIssuedIds', optionalIds('--huge-body-issued-ids', raw.hugeBodyIssuedIds));
  setIf('hugeBodyBytes', optionalWhole('--huge-body-bytes', raw.hugeBodyBytes, 0));
  setIf(
    'offHostRedirectIssuedIds',
    optionalIds('--off-host-redirect-issued-ids', raw.offHostRedirectIssuedIds),
  );
  return knobs;
}

/** `--client-jwks FILE`: a public JWKS (`{"keys": [...]}`, as `certharvest auth jwks` prints). */
function readJwks(file: string): { keys: object[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SandboxFlagError(`--client-jwks: cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => k && typeof k === 'object')) {
    throw new SandboxFlagError(`--client-jwks: ${file} is not a JWKS (expected {"keys": [ … ]})`);
  }
  for (const key of keys as Record<string, unknown>[]) {
    if ('d' in key)
      throw new SandboxFlagError(`--client-jwks: ${file} holds a private key; give the public JWKS`);
  }
  return { keys: keys as object[] };
}

function whole(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new SandboxFlagError(`${flag}: expected a whole number ${range} (got "${value}")`);
  }
  return n;
}

function optionalWhole(flag: string, value: string | undefined, min: number, max?: number) {
  return value === undefined ? undefined : whole(flag, value, min, max);
}

function optionalRate(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\s*\d*\.?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 1))
    throw new SandboxFlagError(`${flag}: expected a number from 0 to 1, e.g. 0.05 (got "${value}")`);
  return n;
}

function optionalOneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]) {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a === value.trim());
  if (found === undefined)
    throw new SandboxFlagError(`${flag}: expected ${allowed.join(' or ')} (got "${value}")`);
  return found;
}

/** Comma-separated IssuedIds, e.g. `10001,10002`; an empty value is an empty list. */
function optionalIds(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.trim() === '' ? [] : value.split(',').map((p) => p.trim());
  const ids = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (ids.some((id) => !Number.isSafeInteger(id))) {
    throw new SandboxFlagError(
      `${flag}: expected comma-separated whole numbers, e.g. 10001,10002 (got "${value}")`,
    );
  }
  return ids;
}

function optionalStatus(value: string | undefined): RenderThrottleStatus | undefined {
  if (value === undefined) return undefined;
  const status = RENDER_THROTTLE_STATUSES.find((s) => String(s) === value.trim());
  if (status === undefined) {
    throw new SandboxFlagError(
      `--render-throttle-status: expected ${RENDER_THROTTLE_STATUSES.join(' or ')} (got "${value}")`,
    );
  }
  return status;
}
