/** The Learn web pages, with the markup of .tmp/blackboard-spec.md ("Web"). */
import { escapeHtml } from '../html.ts';

export const LEARN_LOGIN_PATH = '/webapps/login/';
export const LEARN_LANDING_PATH = '/ultra/stream';
export const ACHIEVEMENTS_PATH = '/webapps/achievements/studentViewAchievements.form';
export const CERTIFICATE_DOWNLOAD_PATH = '/webapps/achievements/certificate/download.form';
export const NONCE_FIELD = 'blackboard.platform.security.NonceUtil.nonce';
/** The `table` markup (knob `learnMarkup`): another Achievements tool, under its own paths. */
export const TABLE_ACHIEVEMENTS_PATH = '/webapps/bb-achievements/course/:course/user/:user/earned';
export const TABLE_CERTIFICATE_PATH = '/webapps/bb-achievements/files/:course/:user/:id/certificate.pdf';

/** The `table` markup's listing page of one user in one course. */
export function tableAchievementsPath(courseRef: string, userRef: string): string {
  return `/webapps/bb-achievements/course/${encodeURIComponent(courseRef)}/user/${encodeURIComponent(userRef)}/earned`;
}

export const BAD_CREDENTIALS_MESSAGE = 'The username or password you entered is incorrect.';
export const NONCE_EXPIRED_MESSAGE = 'Your session has expired. Please sign in again.';

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} – Blackboard Learn</title>
<style>body{font-family:sans-serif;margin:3em auto;max-width:40em;color:#262626}
label{display:block;margin-top:1em}input[type=text],input[type=password]{width:100%;padding:.4em}
#entry-login{margin-top:1.2em;padding:.5em 2em}.error{color:#a4000f}li.achievement{margin:.6em 0}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** `/login` form of Learn: user_id, password, the hidden action and nonce, optional new_loc. */
export function learnLoginPage(options: {
  nonce: string;
  newLoc?: string | undefined;
  error?: string;
}): string {
  const newLoc =
    options.newLoc === undefined
      ? ''
      : `\n  <input type="hidden" name="new_loc" value="${escapeHtml(options.newLoc)}">`;
  const error = options.error
    ? `\n<div id="loginErrorMessage" class="error" role="alert">${escapeHtml(options.error)}</div>`
    : '';
  return layout(
    'Sign In',
    `<h1>Sandbox University</h1>
<h2>Blackboard Learn</h2>${error}
<form method="post" action="${LEARN_LOGIN_PATH}" name="login">
  <input type="hidden" name="action" value="login">
  <input type="hidden" name="${NONCE_FIELD}" value="${escapeHtml(options.nonce)}">${newLoc}
  <label for="user_id">Username</label>
  <input name="user_id" id="user_id" type="text" autocomplete="username" autofocus>
  <label for="password">Password</label>
  <input type="password" name="password" id="password" autocomplete="current-password">
  <input type="submit" id="entry-login" name="login" value="Sign In">
</form>`,
  );
}

export function streamPage(displayName: string): string {
  return layout(
    'Activity Stream',
    `<h1>Activity Stream</h1>
<p id="welcome">Welcome, ${escapeHtml(displayName)}.</p>
<p><a href="${LEARN_LOGIN_PATH}?action=logout">Sign Out</a></p>`,
  );
}

/** One `<li>` of the achievements list; no `href` means a badge (no certificate link). */
export interface AchievementItem {
  achievementId: string;
  awardId: string;
  type: 'certificate' | 'badge';
  title: string;
  /** ISO instant without milliseconds, or undefined for no issue date. */
  issued: Date | undefined;
  /** The certificate link (already an absolute path or URL), for certificates. */
  href?: string;
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

function timeElement(issued: Date | undefined): string {
  if (!issued) return '';
  const iso = issued.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = `${issued.getUTCDate()} ${MONTHS[issued.getUTCMonth()]} ${issued.getUTCFullYear()}`;
  return `\n    <time class="achievement-issued" datetime="${iso}">${text}</time>`;
}

function itemHtml(item: AchievementItem): string {
  const link =
    item.href === undefined
      ? ''
      : `\n    <a class="achievement-certificate" href="${escapeHtml(item.href)}">Download certificate</a>`;
  return `  <li class="achievement" data-achievement-id="${escapeHtml(item.achievementId)}" data-award-id="${escapeHtml(item.awardId)}" data-type="${item.type}">
    <span class="achievement-title">${escapeHtml(item.title)}</span>${item.type === 'certificate' ? timeElement(item.issued) : ''}${link}
  </li>`;
}

function rowHtml(item: AchievementItem): string {
  const issued = item.issued
    ? `<td class="awarded" data-date="${item.issued.toISOString().replace(/\.\d{3}Z$/, 'Z')}">${item.issued.getUTCDate()} ${MONTHS[item.issued.getUTCMonth()]} ${item.issued.getUTCFullYear()}</td>`
    : '<td class="awarded"></td>';
  const link =
    item.href === undefined ? '' : `<a class="btn" href="${escapeHtml(item.href)}" download>Download PDF</a>`;
  return `    <tr data-record-id="${escapeHtml(item.achievementId)}" data-template="${escapeHtml(item.awardId)}">
      <td class="name">${escapeHtml(item.title)}</td>${issued}<td class="kind">${item.type === 'certificate' ? 'Certificate' : 'Badge'}</td><td class="download">${link}</td>
    </tr>`;
}

/** The `table` markup: one row per achievement, the download link in the last cell. */
export function tableAchievementsPage(options: {
  courseName: string;
  userName: string;
  items: readonly AchievementItem[];
}): string {
  return layout(
    'Earned achievements',
    `<div class="bb-achievements">
<h2>${escapeHtml(options.courseName)} — ${escapeHtml(options.userName)}</h2>
<table class="earned-achievements">
  <thead><tr><th>Achievement</th><th>Awarded</th><th>Type</th><th></th></tr></thead>
  <tbody>
${options.items.map(rowHtml).join('\n')}
  </tbody>
</table>${options.items.length === 0 ? '\n<p class="empty">Nothing earned yet.</p>' : ''}
</div>`,
  );
}

export function achievementsPage(options: {
  courseName: string;
  userName: string;
  items: readonly AchievementItem[];
}): string {
  const list =
    options.items.length === 0
      ? `<ul id="achievements"></ul>\n<p class="no-achievements">No achievements</p>`
      : `<ul id="achievements">\n${options.items.map(itemHtml).join('\n')}\n</ul>`;
  return layout(
    'Achievements',
    `<h1>My Achievements</h1>
<p id="course-name">${escapeHtml(options.courseName)}</p>
<p id="student-name">${escapeHtml(options.userName)}</p>
${list}`,
  );
}
