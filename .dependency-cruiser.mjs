// @ts-check
// The import boundaries of docs/architecture.md ("Layout"), checked by `npm run lint`:
//   bin → src/cli → jobs/ → src/*   (an arrow never points back up)
// Type-only imports count too: a cycle is a cycle, even one the compiler erases.
// Tests are not cruised: they may reach anything.

/** Where an LMS may be named on purpose: its registry, the sandbox and the commands that run it. */
const imitatesAnLms = [
  '^src/lms/registry\\.ts$',
  '^src/sandbox/',
  '^src/cli/commands/demo\\.ts$',
  '^src/cli/commands/sandbox\\.ts$',
];

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
        'The simulated LMS is started only by the demo and sandbox commands (a dynamic import() counts too).',
      from: {
        path: '^(src|jobs)/',
        pathNot: ['^src/sandbox/', '^src/cli/commands/demo\\.ts$', '^src/cli/commands/sandbox\\.ts$'],
      },
      to: { path: '^src/sandbox/' },
    },
  ],
  options: {
    // Only our own modules: the rules are about src/ and jobs/, never a package's insides.
    includeOnly: '^(src|jobs)/',
    // Count `import type` too (a type-only cycle is still a cycle in the source).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    skipAnalysisNotInRules: true,
  },
};
