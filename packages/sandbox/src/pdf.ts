import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from 'pdf-lib';
import { fromBasDate } from './dates.ts';
import { AwardType, type Institution, type SandboxAward } from './institution.ts';

const PAGE: [number, number] = [842, 595]; // A4 landscape, in points
const INK = rgb(0.12, 0.16, 0.28);
const ACCENT = rgb(0.62, 0.45, 0.13);

/**
 * The certificate PDFs, made with pdf-lib on first use and kept, so that `certificatePdf()` and
 * every HTTP answer for one certificate are byte-for-byte the same (tests compare hashes).
 */
export class SandboxCertificateStore {
  readonly #institution: Institution;
  readonly #cache = new Map<number, Promise<Uint8Array>>();

  constructor(institution: Institution) {
    this.#institution = institution;
  }

  /** The PDF of a certificate; rejects for an unknown IssuedId or a badge (badges have no PDF). */
  get(issuedId: number): Promise<Uint8Array> {
    let pdf = this.#cache.get(issuedId);
    if (!pdf) {
      const award = this.#institution.issuedAward(issuedId);
      if (!award || award.Award.AwardType !== AwardType.Certificate) {
        return Promise.reject(new RangeError(`no certificate with IssuedId ${issuedId}`));
      }
      pdf = renderCertificate(this.#institution, award);
      this.#cache.set(issuedId, pdf);
    }
    return pdf;
  }
}

/**
 * One certificate. Deterministic: pdf-lib's automatic metadata is off and every date comes from
 * the award, so the same award always gives the same bytes (and the file ends with `%%EOF`).
 */
export async function renderCertificate(institution: Institution, award: SandboxAward): Promise<Uint8Array> {
  const student = institution.user(award.UserId);
  const course = institution.course(award.OrgUnitId);
  if (!student || !course) throw new RangeError(`award ${award.IssuedId} has no user or course`);
  const issued = fromBasDate(award.IssuedDate);
  const fullName = `${student.FirstName} ${student.LastName}`;

  const doc = await PDFDocument.create({ updateMetadata: false });
  doc.setTitle(`${award.Award.Title} - ${fullName}`);
  doc.setAuthor(institution.name);
  doc.setSubject(`${course.Name} (${course.Code})`);
  doc.setKeywords([
    `IssuedId ${award.IssuedId}`,
    `AwardId ${award.Award.AwardId}`,
    `UserId ${student.UserId}`,
  ]);
  doc.setCreator('certharvest sandbox LMS');
  doc.setProducer('pdf-lib');
  doc.setCreationDate(issued);
  doc.setModificationDate(issued);

  const page = doc.addPage(PAGE);
  const fonts = {
    title: await doc.embedFont(StandardFonts.TimesRomanBold),
    body: await doc.embedFont(StandardFonts.TimesRoman),
    italic: await doc.embedFont(StandardFonts.TimesRomanItalic),
    small: await doc.embedFont(StandardFonts.Helvetica),
  };
  drawFrame(page);
  const center = (text: string, y: number, font: PDFFont, size: number, color = INK) =>
    drawCentered(page, text, y, font, size, color);

  center(institution.name.toUpperCase(), 500, fonts.small, 14, ACCENT);
  center(award.Award.Title, 445, fonts.title, fitSize(award.Award.Title, fonts.title, 30, 700), INK);
  center('This certifies that', 390, fonts.italic, 16);
  center(fullName, 340, fonts.title, fitSize(fullName, fonts.title, 40, 700));
  center('has successfully completed', 295, fonts.italic, 16);
  center(`${course.Name} (${course.Code})`, 260, fonts.body, 20);
  center(`Issued on ${formatDay(issued)}`, 215, fonts.body, 14);

  page.drawLine({ start: { x: 120, y: 130 }, end: { x: 320, y: 130 }, thickness: 0.8, color: INK });
  page.drawLine({ start: { x: 522, y: 130 }, end: { x: 722, y: 130 }, thickness: 0.8, color: INK });
  drawCentered(page, 'Registrar', 112, fonts.small, 10, INK, 220);
  drawCentered(page, 'Course Instructor', 112, fonts.small, 10, INK, 622);
  page.drawCircle({ x: 421, y: 140, size: 34, borderColor: ACCENT, borderWidth: 2 });
  drawCentered(page, 'SEAL', 136, fonts.title, 12, ACCENT);

  const footer =
    `Certificate ${award.IssuedId} - Award ${award.Award.AwardId} - ` +
    `Org unit ${course.OrgUnitId} - User ${student.UserId} (${student.OrgDefinedId})`;
  center(footer, 60, fonts.small, 8, rgb(0.4, 0.4, 0.4));
  return doc.save({ useObjectStreams: false });
}

function drawFrame(page: PDFPage): void {
  const [w, h] = PAGE;
  page.drawRectangle({ x: 20, y: 20, width: w - 40, height: h - 40, borderColor: INK, borderWidth: 3 });
  page.drawRectangle({ x: 30, y: 30, width: w - 60, height: h - 60, borderColor: ACCENT, borderWidth: 1 });
}

function drawCentered(
  page: PDFPage,
  raw: string,
  y: number,
  font: PDFFont,
  size: number,
  color: ReturnType<typeof rgb>,
  centerX = PAGE[0] / 2,
): void {
  const text = encodable(raw, font);
  const width = font.widthOfTextAtSize(text, size);
  page.drawText(text, { x: centerX - width / 2, y, size, font, color });
}

/** The standard fonts speak WinAnsi only; anything else becomes `?` rather than a crash. */
function encodable(text: string, font: PDFFont): string {
  const supported = new Set(font.getCharacterSet());
  return [...text].map((ch) => (supported.has(ch.codePointAt(0) ?? 0) ? ch : '?')).join('');
}

function fitSize(text: string, font: PDFFont, preferred: number, maxWidth: number): number {
  const width = font.widthOfTextAtSize(encodable(text, font), preferred);
  return width <= maxWidth ? preferred : Math.floor((preferred * maxWidth) / width);
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Spelled out by hand: `toLocaleDateString` output depends on the ICU data Node was built with. */
function formatDay(date: Date): string {
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}
