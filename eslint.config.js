// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'certificates/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['src/cli/**', 'scripts/**', 'bench/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
  // Small functions in the product (docs/architecture.md, "Layout"): one that grows past 80 lines
  // holds more than one step; name the steps. File sizes are checked by scripts/check-file-sizes.mjs.
  {
    files: ['src/**/*.ts', 'jobs/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  // Each LMS lives in its own folder, src/lms/<kind>/, found through src/lms/registry.ts: nothing
  // else in the product names an LMS, imports its folder, or knows its routes (docs/architecture.md).
  // The sandbox (packages/sandbox/, outside the product) imitates particular LMSes on purpose, and
  // so do the commands that run it.
  {
    files: ['src/**/*.ts', 'jobs/**/*.ts'],
    ignores: [
      'src/lms/*/**',
      'src/lms/registry.ts',
      'src/cli/commands/demo*.ts',
      'src/cli/commands/sandbox*.ts',
    ],
    rules: {
      'no-restricted-syntax': ['error', ...lmsNames()],
    },
  },
);

/** The selectors that find an LMS named outside its module, with the message that says where it goes. */
function lmsNames() {
  const where = 'LMS-specific code belongs in src/lms/<kind>/ (reached through src/lms/registry.ts)';
  const words = '(brightspace|blackboard|d2l)';
  const routes = String.raw`\/d2l\/|\/webapps\/|\/learn\/api\/|\/ultra\/`;
  return [
    {
      selector: `ImportDeclaration[source.value=/\\/lms\\/[^/]+\\//]`,
      message: `${where}: import the LMS through src/lms/index.ts or the registry, not its folder`,
    },
    {
      selector: `ImportExpression[source.value=/\\/lms\\/[^/]+\\//]`,
      message: `${where}: import the LMS through src/lms/index.ts or the registry, not its folder`,
    },
    {
      selector: `Identifier[name=/${words}|^(learn|LEARN)(?=[A-Z_])/i]`,
      message: `${where}: an LMS named in code`,
    },
    { selector: `Literal[value=/${words}|${routes}/i]`, message: `${where}: an LMS named in a string` },
    {
      selector: `TemplateElement[value.raw=/${words}|${routes}/i]`,
      message: `${where}: an LMS named in a string`,
    },
  ];
}
