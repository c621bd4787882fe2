// ESLint flat config. Order matters: for a file matched by several objects, a rule set by a LATER
// object replaces the earlier setting entirely (options are not merged), so every folder rule
// below carries its complete `no-restricted-imports` options (built by `imports()`).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/*
 * Dependency direction (→ = "may import"):
 *   protocol → nothing            core → protocol            backend-* → protocol, core
 *   elements → protocol, core     support → protocol, core, elements
 *   server → protocol             embed → anything           nothing → @perch/embed
 */
const DOM_LIBS = ['lit', 'lit-html', 'lit-element', '@lit/*'];
const DIRECTION = 'protocol ← core ← backend-*/elements ← support ← embed; server uses protocol only';

/** Full `no-restricted-imports` options: `allowed` @perch packages only, plus shared bans. */
function imports(where, allowed, { domLibs = false, anyPerch = false } = {}) {
  const patterns = [
    {
      regex: '^@perch/embed(/|$)',
      message: 'Nothing may import @perch/embed: it is the top of the dependency graph.',
    },
  ];
  if (!anyPerch) {
    const ok = allowed.join('|');
    patterns.push({
      regex: ok ? `^@perch/(?!(${ok})$)` : '^@perch/',
      message: `${where} may import ${allowed.length ? allowed.map((a) => `@perch/${a}`).join(', ') : 'no @perch package'} (${DIRECTION}).`,
    });
  }
  if (where.startsWith('packages/')) {
    // `../../core/src/x.js` would bypass the package boundary (and the rule above).
    patterns.push({
      regex: '^(\\.\\./)+(packages/)?[^./][^/]*/src(/|$)',
      message: 'Import other workspace packages by name (@perch/...), not by a relative path into their src/.',
    });
  }
  if (domLibs) {
    patterns.push({
      group: DOM_LIBS,
      message: `${where} must not depend on a DOM-rendering library (lit & co. belong in @perch/elements).`,
    });
  }
  return ['error', { patterns }];
}

/** Focused or skipped tests must not be committed. */
const FOCUS_OR_SKIP = "Focused/skipped tests must not be committed (remove '.only' / '.skip' / 'x' / { only, skip }).";
const TEST_CALLEE = '/^(it|test|describe|suite|context|specify)$/';

export default defineConfig(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '**/*.d.ts', 'test-results/**', '.perch-data/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'perch/base',
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // Applies to everything not matched by a folder rule below (tests, scripts, bench, examples).
      'no-restricted-imports': imports('This file', [], { anyPerch: true }),
    },
  },
  {
    // Plain JS tooling (scripts, configs, bench) runs in Node.
    name: 'perch/node-scripts',
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval',
          'clearInterval', 'setImmediate', 'queueMicrotask', 'structuredClone', 'performance', 'fetch',
          'AbortController', 'TextEncoder', 'TextDecoder',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },

  {
    // The examples' page scripts are plain browser JavaScript (no build step).
    name: 'perch/example-page-scripts',
    files: ['examples/**/*.js'],
    ignores: ['examples/**/dist/**'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'sessionStorage', 'localStorage', 'URLSearchParams', 'fetch', 'console', 'Perch'].map((name) => [name, 'readonly']),
      ),
    },
  },

  // --- dependency direction, one object per folder (later wins, so keep these after perch/base)
  { name: 'perch/deps/protocol', files: ['packages/protocol/**'], rules: { 'no-restricted-imports': imports('packages/protocol', [], { domLibs: true }) } },
  { name: 'perch/deps/core', files: ['packages/core/**'], rules: { 'no-restricted-imports': imports('packages/core', ['protocol'], { domLibs: true }) } },
  { name: 'perch/deps/backends', files: ['packages/backend-*/**'], rules: { 'no-restricted-imports': imports('packages/backend-*', ['protocol', 'core']) } },
  { name: 'perch/deps/elements', files: ['packages/elements/**'], rules: { 'no-restricted-imports': imports('packages/elements', ['protocol', 'core']) } },
  { name: 'perch/deps/support', files: ['packages/support/**'], rules: { 'no-restricted-imports': imports('packages/support', ['protocol', 'core', 'elements']) } },
  { name: 'perch/deps/server', files: ['packages/server/**'], rules: { 'no-restricted-imports': imports('packages/server', ['protocol'], { domLibs: true }) } },
  // Component tests need a working client: they may use the in-page memory hub (the shipped code may not).
  {
    name: 'perch/deps/elements-tests',
    files: ['packages/elements/**/*.test.ts', 'packages/elements/**/*.test.util.ts'],
    rules: { 'no-restricted-imports': imports('packages/elements tests', ['protocol', 'core', 'backend-memory']) },
  },
  { name: 'perch/deps/embed', files: ['packages/embed/**'], rules: { 'no-restricted-imports': imports('packages/embed', [], { anyPerch: true }) } },

  {
    name: 'perch/tests',
    files: ['**/*.test.ts', '**/*.test.mjs', 'test/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        // `it.only`, `test.only`, `describe.only`, `suite.only`, and any `.skip` (incl. node:test's `t.skip()`).
        { property: 'only', message: FOCUS_OR_SKIP },
        { property: 'skip', message: FOCUS_OR_SKIP },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'CallExpression[callee.name=/^(xit|xdescribe|xtest|xcontext|xspecify|fit|fdescribe)$/]', message: FOCUS_OR_SKIP },
        // node:test options: test('x', { only: true }, fn), describe('x', { skip: 'why' }, fn), t.test(...)
        {
          selector: `CallExpression:matches([callee.name=${TEST_CALLEE}], [callee.property.name=${TEST_CALLEE}]) > ObjectExpression > Property[key.name=/^(only|skip)$/]`,
          message: FOCUS_OR_SKIP,
        },
      ],
    },
  },
);
