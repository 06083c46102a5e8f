// @ts-check
// The import boundaries of docs/architecture.md ("Layout"), checked by `npm run lint`:
//   bin → src/cli → jobs/ → src/*   (an arrow never points back up)
// Type-only imports count too: a cycle is a cycle, even one the compiler erases.
// Tests are not cruised: they may reach anything.

/** Where an LMS may be named on purpose: its registry and the commands that run the sandbox. */
const imitatesAnLms = ['^src/lms/registry\\.ts$', '^src/cli/commands/(demo|sandbox)[^/]*\\.ts$'];

/**
 * The one loop allowed, and only between types: the configuration holds its LMS module
 * (`Config.lms.site`, src/config/shape.ts), whose doctor steps (src/lms/module.ts) take the
 * doctor's state, which holds the configuration (src/doctor/state.ts). The loop is in the types
 * themselves, so no move of a file removes it; it does not exist at run time.
 */
const typeLoop = '^src/(config/shape|lms/module|doctor/state)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module cycles in src/ or jobs/, type-only ones included: move the shared piece down.',
      from: { path: '^(src|jobs)/' },
      to: { circular: true, via: { pathNot: typeLoop } },
    },
    {
      name: 'type-loop-stays-types',
      severity: 'error',
      comment: 'The allowed loop (see typeLoop) holds type-only imports and nothing else.',
      from: { path: typeLoop },
      to: { circular: true, via: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Only src/cli imports src/cli: jobs/, src/server and the rest of src/ sit below it.',
      from: { path: '^(src|jobs)/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'src-below-jobs',
      severity: 'error',
      comment:
        'src/ (but src/cli) never imports jobs/: the processors and the worker assembly wire src/ together, not the reverse.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^jobs/' },
    },
    {
      name: 'assembly-is-the-root',
      severity: 'error',
      comment:
        'src/assembly (the composition root) is imported only by jobs/, src/doctor and src/cli; src-below-jobs and cli-is-the-top keep it below those.',
      from: { path: '^(src|jobs)/', pathNot: ['^jobs/', '^src/(assembly|doctor|cli)/'] },
      to: { path: '^src/assembly/' },
    },
    {
      name: 'lms-folder-is-private',
      severity: 'error',
      comment:
        'An LMS folder, src/lms/<kind>/, is reached through src/lms/registry.ts (mirrors the no-restricted-syntax exemptions in eslint.config.js).',
      from: { path: '^(src|jobs)/', pathNot: ['^src/lms/[^/]+/', ...imitatesAnLms] },
      to: { path: '^src/lms/[^/]+/' },
    },
    {
      name: 'lms-folders-apart',
      severity: 'error',
      comment: 'One LMS folder never imports another: what they share lives in src/lms/ itself.',
      from: { path: '^src/lms/([^/]+)/' },
      to: { path: '^src/lms/[^/]+/', pathNot: '^src/lms/$1/' },
    },
    {
      name: 'sandbox-is-not-product',
      severity: 'error',
      comment:
        'The simulated LMS is a development package (packages/sandbox/, @certharvest/sandbox) that the ' +
        'production image does not contain: no product module imports it, types and dynamic import() ' +
        'included. The demo and sandbox commands load it by name at run time, in one place ' +
        '(src/cli/commands/sandbox-package.ts), and say how to get it when it is absent.',
      from: { path: '^(src|jobs)/' },
      to: { path: '^packages/|@certharvest/sandbox' },
    },
    {
      name: 'sandbox-stands-alone',
      severity: 'error',
      comment:
        'The sandbox package imitates an LMS from the outside: it imports nothing of the product (its own ' +
        'files and its own dependencies only), so it can be installed, or left out, on its own.',
      from: { path: '^packages/sandbox/' },
      to: { path: '^(src|jobs)/' },
    },
  ],
  options: {
    // Only our own modules (and the sandbox package, to keep it out): never a package's insides.
    includeOnly: '^(src|jobs|packages)/|@certharvest/sandbox',
    // Count `import type` too (a type-only cycle is still a cycle in the source).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    skipAnalysisNotInRules: true,
  },
};
