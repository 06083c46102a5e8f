#!/usr/bin/env node
// Part of `npm run lint`: no product source file over 15 KB (docs/architecture.md, "Layout").
// A file that grows past it holds more than one concern: split it by concern, not by line count.
// Lua scripts and HTML templates are data, not code, and are left out; so are tests, the bench
// and the sandbox package (it imitates an LMS; it is not the product).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIMIT_BYTES = 15 * 1024;
const ROOTS = ['src', 'jobs'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every .ts file below `dir`. */
function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield full;
  }
}

const tooBig = [];
for (const top of ROOTS) {
  for (const file of sources(path.join(root, top))) {
    const bytes = statSync(file).size;
    if (bytes > LIMIT_BYTES) tooBig.push({ file: path.relative(root, file), bytes });
  }
}

if (tooBig.length > 0) {
  for (const { file, bytes } of tooBig) {
    console.error(
      `${file}: ${bytes.toLocaleString('en')} bytes, over the ${LIMIT_BYTES.toLocaleString('en')} limit`,
    );
  }
  console.error(`${tooBig.length} source file(s) over 15 KB: split each by concern (docs/architecture.md)`);
  process.exit(1);
}
console.log(`file sizes: every source file in ${ROOTS.join('/, ')}/ is at most 15 KB`);
