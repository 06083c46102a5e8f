// Checks every relative markdown link in README.md and docs/*.md: the target file exists and, with
// #anchor, a heading of that GitHub-style slug exists in it.
import fs from 'node:fs';
import path from 'node:path';
const files = [
  'README.md',
  ...fs
    .readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const slugCache = new Map();
function slugs(file) {
  if (slugCache.has(file)) return slugCache.get(file);
  const set = new Set(),
    seen = new Map();
  let fence = false;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fence = !fence;
      continue;
    }
    if (fence) continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    let s = m[1]
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(s) ?? 0;
    seen.set(s, n + 1);
    set.add(n ? `${s}-${n}` : s);
  }
  slugCache.set(file, set);
  return set;
}
let bad = 0,
  count = 0;
for (const file of files) {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  for (const m of text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const href = m[1];
    if (/^[a-z]+:/i.test(href)) continue;
    count++;
    const [p, anchor] = href.split('#');
    const target = p ? path.normalize(path.join(path.dirname(file), decodeURIComponent(p))) : file;
    if (!fs.existsSync(target)) {
      console.log(`${file}: ${href}: no file ${target}`);
      bad++;
      continue;
    }
    if (anchor && target.endsWith('.md') && !slugs(target).has(anchor.toLowerCase())) {
      console.log(`${file}: ${href}: no heading #${anchor} in ${target}`);
      bad++;
    }
  }
}
console.log(`${count} relative links checked, ${bad} broken`);
process.exit(bad ? 1 : 0);
