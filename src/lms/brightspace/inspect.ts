/**
 * `certharvest inspect` for Brightspace: the user's issued-awards listing as certharvest reads it
 * (each award's kind, ids, title, dates, or why it is refused), then, for one certificate, what
 * the bearer `/pdf` route and the render URL (with the fleet's web session) answer.
 */
import { probeUrl, type UrlProbe, type WebSession } from '../../browser/index.ts';
import type { AdapterContext, InspectReport, InspectTarget } from '../module.ts';
import { MemoryPdfSink } from '../../pdf/index.ts';
import { renderUrl } from './adapter.ts';
import type { BrightspaceClient } from './client.ts';
import { restClientOf } from './inspect-client.ts';
import type { IssuedAward } from './types.ts';
import type { ApiVersions } from './versions.ts';
import { BRIGHTSPACE_WEB_PROFILE } from './web-profile.ts';

const MAX_LISTED = 40;

export async function inspectBrightspace(
  context: AdapterContext,
  target: InspectTarget,
  settings: { versionOverrides: Partial<ApiVersions>; loggedOutPaths?: readonly RegExp[] },
): Promise<InspectReport> {
  const client = restClientOf(context, settings.versionOverrides);
  const lines: string[] = [];
  const user = await client.resolveUser(
    target.user.by === 'userId' ? { by: 'userId', value: target.user.value } : target.user,
  );
  lines.push(
    `user: ${target.user.by} ${target.user.value} is UserId ${user.userId} (${user.userName ?? '?'})`,
  );
  const { awards, invalid } = await client.getIssuedAwards(user.userId);
  const certificates = awards.filter((a) => a.awardType === 'certificate');
  lines.push(
    `awards listing: ${awards.length} award(s), ${certificates.length} certificate(s)` +
      (invalid.length ? `, ${invalid.length} refused` : ''),
  );
  for (const a of awards.slice(0, MAX_LISTED)) lines.push(`  ${describe(a)}`);
  if (awards.length > MAX_LISTED) lines.push(`  … ${awards.length - MAX_LISTED} more`);
  for (const r of invalid.slice(0, 10)) lines.push(`  refused: ${r.error.message}`);

  const wanted = target.issuedId;
  const pick =
    wanted === undefined ? certificates[0] : certificates.find((c) => String(c.issuedId) === wanted);
  const data: Record<string, unknown> = {
    user: { userId: user.userId, userName: user.userName },
    awards: awards.map((a) => ({
      ...a,
      issuedDate: a.issuedDate?.toISOString() ?? null,
      expiryDate: a.expiryDate?.toISOString() ?? null,
    })),
    refused: invalid.map((r) => r.error.message),
  };
  if (!pick) {
    lines.push(
      wanted === undefined
        ? 'no certificate to probe: pass --user with a user who has one'
        : `UserId ${user.userId} has no certificate with IssuedId ${wanted}`,
    );
    return { matched: false, lines, data };
  }
  lines.push(`certificate probed: IssuedId ${pick.issuedId} in org unit ${pick.orgUnitId}`);
  const api = await probePdfRoute(client, pick);
  lines.push(`  /pdf route: ${describePdfRoute(api)}`);
  const url = renderUrl(context.lmsUrl, pick.orgUnitId, pick.issuedId);
  const render = await probeRender(context.webSession, url, settings.loggedOutPaths);
  lines.push(`  render ${new URL(url).pathname}: ${describeProbe(render)}`);
  data.certificate = { issuedId: pick.issuedId, orgUnitId: pick.orgUnitId, pdfRoute: api, render };
  const works = api.answered === 'pdf' || ('looksLikePdf' in render && render.looksLikePdf);
  return { matched: works, lines, data };
}

/** What the bearer `/pdf` route answered for the certificate. */
async function probePdfRoute(client: BrightspaceClient, pick: IssuedAward): Promise<Record<string, unknown>> {
  const sink = new MemoryPdfSink();
  try {
    const answer = await client.fetchCertificatePdf(pick.issuedId, sink);
    return answer.kind === 'pdf'
      ? { answered: 'pdf', contentType: answer.contentType, bytes: sink.evidence.length }
      : {
          answered: 'unsupported',
          status: answer.status,
          ...(answer.missingScope ? { missingScope: answer.missingScope } : {}),
        };
  } catch (err) {
    return { answered: 'error', error: (err as Error).message };
  }
}

function describePdfRoute(api: Record<string, unknown>): string {
  return api.answered === 'pdf'
    ? `a PDF (${String(api.contentType)}, ${String(api.bytes)} bytes)`
    : api.answered === 'unsupported'
      ? `not offered (HTTP ${String(api.status)}${api.missingScope ? `, missing scope ${String(api.missingScope)}` : ''})`
      : `failed: ${String(api.error)}`;
}

/** What the render URL answers with the fleet's web session. */
async function probeRender(
  session: WebSession | undefined,
  url: string,
  loggedOutPaths: readonly RegExp[] = BRIGHTSPACE_WEB_PROFILE.loggedOutPaths,
): Promise<UrlProbe | { skipped: string }> {
  if (!session) return { skipped: 'no web session (LMS_USERNAME / LMS_PASSWORD unset)' };
  return session.withSession(async (credentials) => {
    const probe = await probeUrl(url, credentials, { loggedOutPaths });
    return probe.meaning === 'expired' ? 'logged-out' : probe;
  });
}

function describe(a: IssuedAward): string {
  const date = a.issuedDate ? a.issuedDate.toISOString().slice(0, 10) : 'no date';
  const expiry = a.expiryDate ? `, expires ${a.expiryDate.toISOString().slice(0, 10)}` : '';
  return `${a.awardType.padEnd(11)} IssuedId ${a.issuedId}, org unit ${a.orgUnitId}, "${a.title}", ${date}${expiry}`;
}

/** One line for what a URL answered. */
export function describeProbe(p: UrlProbe | { skipped: string }): string {
  if ('skipped' in p) return `not probed: ${p.skipped}`;
  if (p.status === undefined) return `no answer (${p.error ?? p.meaning})`;
  const type = p.contentType ? `, ${p.contentType}` : '';
  const size = p.contentLength !== undefined ? `, ${p.contentLength} bytes` : '';
  const where = p.location ? ` → ${p.location}` : '';
  return `HTTP ${p.status}${type}${size}${where}: ${p.looksLikePdf ? 'a PDF' : p.meaning} (starts "${p.firstBytes.slice(0, 24)}")`;
}
