/**
 * One item of a listing page → its award. An item with a certificate link, or whose kind says
 * certificate, is a certificate: it must have a usable id, valid dates and a download URL about
 * this user and course, else it is refused (`{ ok: false }` for that item alone). Any other item
 * is a badge or another award, yielded when it can be named.
 */
import type { Certificate } from '../../certificate/index.ts';
import type { FieldReading, ItemReading, ListedAward, PageContext } from './achievement-reading.ts';
import { describeSpecs, linkPart, type Item } from './item-field.ts';
import { readItemFields, type ItemFields } from './item-readings.ts';
import { shown } from './page-text.ts';
import { fillTemplate, TemplateError } from './url-template.ts';

/** Read one item (1-based `index` on the page) and decide its award. */
export function readItem(item: Item, index: number, pageUrl: URL, context: PageContext): ItemReading {
  const read = readItemFields(item, pageUrl, context.profile);
  return { index, fields: read.fields, award: awardOf(read, index, pageUrl, context) };
}

function awardOf(
  read: ItemFields,
  index: number,
  pageUrl: URL,
  context: PageContext,
): ListedAward | undefined {
  const { id, awardId, link, fields } = read;
  const ref =
    `course ${context.courseRef} achievement ${id.raw === null ? `#${index}` : shown(id.raw)}`.slice(0, 160);
  const refuse = (reason: string): ListedAward => ({
    entry: {
      ok: false,
      ref,
      code: 'LMS_DATA_INVALID',
      reason: `GET ${pageUrl.pathname} (course ${context.courseRef}): ${reason}`,
    },
    download: undefined,
    expires: null,
  });
  if (link?.error !== undefined) return refuse(link.error);
  const isCertificate = link?.raw != null || read.kind === 'certificate';
  if (!isCertificate) {
    // A badge or another award: yielded when it can be named, else simply not counted.
    if (id.value === null || awardId?.error || fields.issued?.error) return undefined;
    return listed(read, context, read.kind ?? 'other', id.value, undefined);
  }
  const problem = certificateProblem(read, context);
  if (problem !== undefined) return refuse(problem);
  // certificateProblem refuses an item without a usable id.
  const issuedId = id.value as string;
  const download = downloadOf(read, issuedId, pageUrl, context);
  if (typeof download === 'string') return refuse(download);
  return listed(read, context, 'certificate', issuedId, download);
}

/** Why a certificate item cannot be named (its id, award id or dates), or undefined. */
function certificateProblem({ id, awardId, fields }: ItemFields, context: PageContext): string | undefined {
  if (id.raw === null) return `no achievement id (${describeSpecs(context.profile.achievements.fields.id)})`;
  if (id.value === null) return `the achievement id ${shown(id.raw)} is not a usable Learn id`;
  if (awardId?.error) return `the award id ${shown(awardId.raw)} is not a usable Learn id`;
  if (fields.issued?.error) return `the issued date ${fields.issued.error}`;
  if (fields.expires?.error) return `the expiry date ${fields.expires.error}`;
  return undefined;
}

/**
 * Where the certificate's PDF is: the page's link, when it is about this achievement, course and
 * user (a page that lists someone else's certificate is not believed), else the profile's
 * certificate URL; or why there is none.
 */
function downloadOf(read: ItemFields, issuedId: string, pageUrl: URL, context: PageContext): URL | string {
  const { profile, userRef, courseRef } = context;
  if (read.linkUrl) return linkMismatch(read.linkUrl, issuedId, context) ?? read.linkUrl;
  const template = profile.certificate.url;
  if (template === undefined) {
    return `a certificate without a download link, and the site profile (${profile.source}) has no certificate.url to build one`;
  }
  try {
    return fillTemplate(
      template,
      { userRef, courseRef, issuedRef: issuedId, awardRef: read.awardId?.value ?? issuedId },
      pageUrl.origin,
      `${profile.source}: certificate.url`,
    );
  } catch (error) {
    if (error instanceof TemplateError) return error.message;
    throw error;
  }
}

/** How the link names another achievement, course or user than the item's, or undefined. */
function linkMismatch(linkUrl: URL, issuedId: string, context: PageContext): string | undefined {
  const checks = context.profile.achievements.linkChecks;
  const mismatch = (
    [
      ['achievement', checks.id, issuedId],
      ['course', checks.course, context.courseRef],
      ['user', checks.user, context.userRef],
    ] as const
  ).find(([, part, expected]) => {
    const said = part && linkPart(linkUrl, part);
    return said !== undefined && said !== expected;
  });
  if (!mismatch) return undefined;
  const [what, part, expected] = mismatch;
  const said = linkPart(linkUrl, part!) as string;
  return what === 'achievement'
    ? `the link is for achievement ${shown(said)}, the item says ${shown(expected)}`
    : `the link is for ${what} ${shown(said)}, not ${expected}`;
}

function listed(
  read: ItemFields,
  context: PageContext,
  kind: 'certificate' | 'badge' | 'other',
  issuedId: string,
  download: URL | undefined,
): ListedAward {
  return {
    entry: {
      ok: true,
      kind,
      certificate: certificateOf(
        context,
        issuedId,
        read.awardId?.value ?? issuedId,
        read.title,
        read.fields.issued,
      ),
    },
    download,
    expires: read.fields.expires?.value ?? null,
  };
}

function certificateOf(
  context: PageContext,
  issuedId: string,
  awardId: string,
  title: FieldReading | undefined,
  issued: FieldReading | undefined,
): Certificate {
  return {
    userId: context.userRef,
    orgUnitId: context.courseRef,
    issuedId,
    awardId,
    title: title?.value ?? '',
    issuedDate: issued?.value ?? null,
  };
}
