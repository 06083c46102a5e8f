// After `tsc -p tsconfig.build.json` (npm run build): copies the Lua scripts beside the compiled
// modules, bundles the CLI (scripts/bundle-cli.mjs), and marks dist/ as built from the sources as
// they are now: bin/certharvest.js runs dist/ only while no source is newer than this stamp. The
// Lua scripts (`*.lua` under src/ and jobs/) are not TypeScript: they are copied beside the
// compiled modules that read them (the bundle reads them there too).
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCli } from './bundle-cli.mjs';

const root = fileURLToPath(new URL('../', import.meta.url));
for (const dir of ['src', 'jobs']) {
  for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.lua')) continue;
    const from = path.join(entry.parentPath, entry.name);
    const to = path.join(root, 'dist', path.relative(root, from));
    mkdirSync(path.dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}
await bundleCli();
writeFileSync(path.join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`);
