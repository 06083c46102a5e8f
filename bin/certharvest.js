#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (built on `npm install` and by `npm run build`): no
// TypeScript loader in production. That is the bundled CLI, dist/cli/main.js (a few files that
// start in a fraction of the time of the hundreds of modules they hold: scripts/bundle-cli.mjs),
// or, in a dist/ built without it, the compiled modules. A checkout whose sources changed since
// that build runs them through tsx instead, so editing needs no build step;
// CERTHARVEST_FROM_SOURCE=1 forces that.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const bundled = new URL('dist/cli/main.js', root);
const compiled = existsSync(bundled) ? bundled : new URL('dist/src/cli/main.js', root);
const stamp = new URL('dist/.build-stamp', root);

/**
 * The newest modification time of the sources, TypeScript and Lua (0 when there are none, as in an
 * image). A walk by hand: readdirSync's `recursive` option costs twice as much CPU (~9 ms here).
 */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') || entry.name.endsWith('.lua'))
        newest = Math.max(newest, statSync(file).mtimeMs);
    }
  };
  for (const dir of ['src', 'jobs']) {
    const base = fileURLToPath(new URL(dir, root));
    if (existsSync(base)) walk(base);
  }
  return newest;
}

const fromDist =
  process.env.CERTHARVEST_FROM_SOURCE !== '1' &&
  existsSync(compiled) &&
  existsSync(stamp) &&
  statSync(stamp).mtimeMs >= newestSource();

let main;
if (fromDist) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Commands close their own servers and sockets; this only guards against a stray handle.
if (code !== 0) setTimeout(() => process.exit(code), 500).unref();
