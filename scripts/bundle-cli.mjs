// `npm run build` runs it (through scripts/build-stamp.mjs); `node scripts/bundle-cli.mjs` alone
// rebundles from the sources without compiling.
//
// Bundles the CLI (src/cli/main.ts and everything it imports, its dependencies included) into a few
// ESM files in dist/cli/, after `tsc` has compiled dist/src and dist/jobs. Why: a command's start
// is mostly Node resolving, reading and compiling hundreds of small modules (BullMQ, ioredis, zod,
// pino, commander and ours); one file per command path costs a fraction of that (docs/benchmarks.md,
// "CLI start-up"). Each command's action still imports what it runs (`await import()`), so each
// becomes its own chunk, loaded only when that command runs.
//
// Left out of the bundle, loaded from node_modules when a command needs them: what is heavy and
// used by a few commands only (Playwright, the board and its web server, the metrics registry),
// what finds files beside its own code at run time (pino starts pino-pretty in a worker thread by
// file name), and the sandbox, which the product does not ship.
//
// Our modules that read a file beside themselves (`new URL('./lua/x.lua', import.meta.url)`, the
// Lua scripts) keep reading it beside their compiled copy in dist/src or dist/jobs: `import.meta.url`
// in each of them is replaced by that copy's URL, relative to the bundle.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = path.join(root, 'dist', 'cli');

/** Packages loaded from node_modules at run time (a bare specifier, or one of its subpaths). */
export const EXTERNAL_PACKAGES = [
  'playwright',
  'playwright-core',
  '@bull-board/*',
  'express',
  'prom-client',
  'pino',
  'pino-pretty',
  'oidc-provider',
  'pdf-lib',
  // The sandbox, a development package (src/cli/commands/sandbox-package.ts loads it by name),
  // and the TypeScript loader that runs its sources (tsx finds its own files by URL).
  '@certharvest/sandbox',
  'tsx',
  'esbuild',
  // msgpackr's native decoder: a compiled addon, found by its own path (turned off below by
  // `define`, but still named in msgpackr's code).
  'msgpackr-extract',
  // otplib's base32 (thirty-two) calls the deprecated Buffer(): Node warns (DEP0005) about such a
  // call only outside node_modules, so bundled it would print a warning on every TOTP login.
  'otplib',
  '@otplib/*',
  'thirty-two',
];

/** The URL of `file` (a source in src/ or jobs/) compiled in dist/, as code relative to the bundle. */
function compiledUrlExpression(file) {
  const compiled = path.join(root, 'dist', path.relative(root, file)).replace(/\.ts$/, '.js');
  const relative = path.relative(outdir, compiled).split(path.sep).join('/');
  return `new URL(${JSON.stringify(relative)}, import.meta.url).href`;
}

/** Whether `file` is one of our modules (src/ or jobs/). */
function isOurs(file) {
  return (
    file.startsWith(path.join(root, 'src') + path.sep) || file.startsWith(path.join(root, 'jobs') + path.sep)
  );
}

/**
 * Packages whose functions are loaded at their first call, by name: the bundle holds a small
 * module that `require`s the package (from node_modules) when one of them is called. BullMQ's
 * Queue imports cron-parser (and through it luxon, a third of BullMQ's weight) for repeatable
 * jobs, which no CLI command but `schedule` creates; the producer imports csv-parse for
 * `submit --file` of a CSV. Both are called synchronously, as before.
 */
const LOADED_AT_FIRST_CALL = {
  // BullMQ's dependency: found from BullMQ's folder, wherever npm put it.
  'cron-parser': { names: ['parseExpression'], from: 'bullmq' },
  'csv-parse/sync': { names: ['parse'] },
  // Commander requires child_process at load for executable subcommands, which certharvest has
  // none of: loading it (and net, dgram, … with it) cost every command ~10 ms of CPU.
  'node:child_process': { names: ['spawn'], importer: 'commander' },
};

/**
 * Packages of which an importer uses a few functions that the package also publishes one per file:
 * the bundle takes those files, not the package's index. BullMQ uses semver's `valid`, `coerce`
 * and `lt` (to read the Redis server's version); semver's index also loads its ranges, whose
 * modules build objects and regular expressions at import (~5 ms of CPU for `submit`).
 */
const NARROWED_IMPORTS = {
  semver: {
    importer: 'bullmq',
    files: { valid: 'functions/valid.js', coerce: 'functions/coerce.js', lt: 'functions/lt.js' },
  },
};

/** The module that stands for `pkg` for its importer (see NARROWED_IMPORTS). */
function narrowedModule(pkg) {
  return Object.entries(NARROWED_IMPORTS[pkg].files)
    .map(([name, file]) => `export { default as ${name} } from ${JSON.stringify(`${pkg}/${file}`)};`)
    .join('\n');
}

/** The module that stands for `pkg` in the bundle (see LOADED_AT_FIRST_CALL). */
function firstCallModule(pkg) {
  const { names, from } = LOADED_AT_FIRST_CALL[pkg];
  const requireFrom = from
    ? `createRequire(createRequire(import.meta.url).resolve(${JSON.stringify(from)}))`
    : 'createRequire(import.meta.url)';
  return [
    "import { createRequire } from 'node:module';",
    'let loaded;',
    ...names.map(
      (name) =>
        `export function ${name}(...args) { loaded ??= ${requireFrom}(${JSON.stringify(pkg)}); return loaded.${name}(...args); }`,
    ),
  ].join('\n');
}

/**
 * The code that gives a bundled CommonJS module of `pkg` its own `__filename` and `__dirname` (the
 * file in node_modules, found from the bundle as Node finds the package): ioredis reads its
 * version from its package.json for `CLIENT SETINFO`, and a few others look beside themselves.
 */
function ownPathsPrelude(file) {
  const at = file.lastIndexOf(`${path.sep}node_modules${path.sep}`) + '/node_modules/'.length;
  const parts = file.slice(at).split(path.sep);
  const pkg = parts[0].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const inside = parts.slice(pkg.split('/').length).join('/');
  return (
    'var __filename = (() => { try { return require("node:path").join(require("node:path").dirname(' +
    `require.resolve(${JSON.stringify(`${pkg}/package.json`)})), ${JSON.stringify(inside)}); } ` +
    'catch { return undefined; } })();\n' +
    'var __dirname = __filename && require("node:path").dirname(__filename);\n'
  );
}

/**
 * ioredis adds ~570 methods one by one to its Commander class's prototype when it is imported. V8
 * keeps a prototype in fast mode, where each addition copies the prototype's whole descriptor
 * array: ~30 ms of CPU in every process that imports ioredis (Node 20; `status`, `submit`, the
 * worker). The same additions to a prototype in dictionary mode take under 1 ms, and V8 makes it
 * fast again at its first use as a prototype. A line before the loop puts it in dictionary mode
 * (adding and deleting a property does). When the loop is not found (another ioredis), the bundle
 * is made without it and says so: start-up is slower, nothing else changes.
 */
const DICTIONARY_MODE_PROTOTYPES = [
  { file: 'ioredis/built/utils/Commander.js', before: 'commands.forEach(', prototype: 'Commander.prototype' },
];

/** `source` of the node_modules file `file` with the line of DICTIONARY_MODE_PROTOTYPES, if any. */
function withDictionaryModePrototype(file, source) {
  const entry = DICTIONARY_MODE_PROTOTYPES.find((e) => file.endsWith(path.join('node_modules', e.file)));
  if (!entry) return source;
  const at = source.indexOf(entry.before);
  if (at < 0) {
    console.warn(
      `bundle-cli: "${entry.before}" not found in ${entry.file}; bundled as it is (slower start-up)`,
    );
    return source;
  }
  const line = `(p => { p.__dictionaryMode = 0; delete p.__dictionaryMode; })(${entry.prototype});\n`;
  return source.slice(0, at) + line + source.slice(at);
}

/** Marks a resolution asked by the plugin itself (esbuild's own resolution, not the plugin's). */
const INNER = 'certharvest-inner';

/**
 * Our modules, as the bundle takes them:
 * - every module is declared free of side effects on import (none of ours runs anything
 *   at its top level but definitions), so that a command's chunk holds only the modules whose
 *   exports it uses, not everything a folder's index.ts re-exports (`status` does not load
 *   BullMQ because `src/queue/index.ts` also exports the producer);
 * - `import.meta.url` is the URL of the module's compiled copy (see above);
 * - `import { z } from 'zod'` is read as `import * as z from 'zod'` (the same names: zod's entry
 *   exports each of them and `z`, their namespace), so that the bundle keeps only the parts of
 *   zod the schemas use instead of all of it (its every locale included), a third of its size.
 */
/** @type {import('esbuild').Plugin} */
const ourModules = {
  name: 'certharvest-modules',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const resolved = path.resolve(args.resolveDir, args.path);
      if (!isOurs(resolved) || !resolved.endsWith('.ts') || !existsSync(resolved)) return undefined;
      return { path: resolved, sideEffects: false };
    });
    const firstCall = new RegExp(`^(${Object.keys(LOADED_AT_FIRST_CALL).join('|')})$`);
    b.onResolve({ filter: firstCall }, (args) => {
      const { importer } = LOADED_AT_FIRST_CALL[args.path];
      if (importer && !args.importer.includes(`${path.sep}node_modules${path.sep}${importer}${path.sep}`))
        return undefined;
      return { path: args.path, namespace: 'first-call' };
    });
    const narrowed = new RegExp(`^(${Object.keys(NARROWED_IMPORTS).join('|')})$`);
    b.onResolve({ filter: narrowed }, (args) => {
      const { importer } = NARROWED_IMPORTS[args.path];
      if (!args.importer.includes(`${path.sep}node_modules${path.sep}${importer}${path.sep}`))
        return undefined;
      return { path: args.path, namespace: 'narrowed', pluginData: { resolveDir: args.resolveDir } };
    });
    b.onLoad({ filter: /.*/, namespace: 'narrowed' }, (args) => ({
      contents: narrowedModule(args.path),
      loader: 'js',
      // Resolved from the importer's folder: the copy of the package the importer would load.
      resolveDir: args.pluginData.resolveDir,
    }));
    b.onLoad({ filter: /.*/, namespace: 'first-call' }, (args) => ({
      contents: firstCallModule(args.path),
      loader: 'js',
      resolveDir: root,
    }));
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = withDictionaryModePrototype(args.path, source);
      const ownPaths = /\b__(dirname|filename)\b/.test(source);
      if (!ownPaths && contents === source) return undefined;
      return { contents: (ownPaths ? ownPathsPrelude(args.path) : '') + contents, loader: 'js' };
    });
    // BullMQ's ESM modules run nothing on import either (its two child-process entry points,
    // which do, are not imported): the producer's chunk keeps Queue and what it uses, not the
    // worker, the flows and the schedulers.
    b.onResolve({ filter: /^bullmq$|^\.\.?\// }, async (args) => {
      if (args.pluginData?.[INNER]) return undefined;
      if (
        args.path !== 'bullmq' &&
        !args.importer.includes(`${path.sep}node_modules${path.sep}bullmq${path.sep}`)
      )
        return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: { [INNER]: true },
      });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { ...resolved, sideEffects: false };
    });
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!isOurs(args.path)) return undefined;
      const source = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.url', compiledUrlExpression(args.path))
        .replace(/^import \{ z \} from 'zod';$/gm, "import * as z from 'zod';");
      return { contents: source, loader: 'ts' };
    });
  },
};

/** Bundle the CLI into dist/cli/ (main.js and its chunks); returns esbuild's metafile. */
export async function bundleCli() {
  if (!existsSync(path.join(root, 'dist', 'src', 'cli', 'main.js')))
    throw new Error('bundle-cli: dist/src is not built (run tsc -p tsconfig.build.json first)');
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The ESM build of a package where it has one: no CommonJS wrappers to run.
    mainFields: ['module', 'main'],
    // msgpackr (BullMQ's argument packer) otherwise loads its native string extractor at import,
    // and with it child_process and detect-libc (~7 ms of CPU per command): the extractor only
    // speeds up unpacking, and BullMQ only packs.
    define: { 'process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED': '"true"' },
    external: EXTERNAL_PACKAGES,
    plugins: [ourModules],
    // CommonJS modules bundled into ESM still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __certharvestCreateRequire } from 'node:module';\nconst require = __certharvestCreateRequire(import.meta.url);",
    },
    // Flat: every file of the bundle is in dist/cli/, which the URLs above are relative to.
    chunkNames: '[name]-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  return result.metafile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outputs } = await bundleCli();
  console.log(`bundle-cli: ${Object.keys(outputs).length} file(s) in ${path.relative(root, outdir)}/`);
}
