// Shared Rollup configuration (in the spirit of Lit's rollup-common.js).
//
//   packageConfig(name)  -> packages/<name>/src/index.ts => packages/<name>/dist/index.js
//                           ESM library build; dependencies and @perch/* stay external.
//   bundleConfig({...})  -> one self-contained, minified file (deps included), for size
//                           checks (scripts/size.mjs), examples and IIFE script-tag bundles.
//
// Type declarations are NOT produced here: `tsc -b` emits dist/*.d.ts (emitDeclarationOnly),
// and scripts/build.mjs runs it before Rollup.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import MagicString from 'magic-string';
import esbuild from 'rollup-plugin-esbuild';

const root = dirname(fileURLToPath(import.meta.url));

/** Packages that are never built as browser libraries by this config. */
const NOT_LIBRARIES = new Set(['server']);

/**
 * `source` first so workspace packages resolve to their TypeScript (src/index.ts) without a
 * prior build; the rest are the usual browser-bundle conditions.
 */
export const EXPORT_CONDITIONS = ['source', 'browser', 'module', 'import', 'default'];

/** Node-resolve + esbuild (TS -> es2022), shared by every config. */
export function plugins({ minify = false, define } = {}) {
  return [
    nodeResolve({
      exportConditions: EXPORT_CONDITIONS,
      browser: true,
      extensions: ['.ts', '.mjs', '.js', '.json'],
    }),
    // Picks up the nearest tsconfig.json for each file (experimentalDecorators,
    // useDefineForClassFields, ...) and resolves `./x.js` imports to `./x.ts`.
    esbuild({ target: 'es2022', minify, ...(define ? { define } : {}) }),
    minifyHtmlTemplates,
  ];
}

/**
 * Lit templates in our sources are indented for reading; in the bundle each line break with the
 * indentation after it becomes one space, which HTML renders the same (it collapses white space,
 * and no template puts a line break inside a `white-space: pre*` element). Only the static parts
 * of `html` tagged templates change, so text and attribute values from expressions are untouched.
 * As minify-html-literals does for Lit's own examples, minus HTML parsing; −87 B brotli of
 * elements.
 */
const minifyHtmlTemplates = {
  name: 'perch-minify-html-templates',
  transform(code, id) {
    if (!/[\\/]packages[\\/][^\\/]+[\\/]src[\\/].*\.ts$/.test(id) || !code.includes('html`')) return null;
    const s = new MagicString(code);
    const visit = (node) => {
      if (node.type === 'TaggedTemplateExpression' && node.tag.type === 'Identifier' && node.tag.name === 'html') {
        for (const { start, end } of node.quasi.quasis) {
          const raw = code.slice(start, end);
          if (raw.includes('\n')) s.overwrite(start, end, raw.replace(/\n\s*/g, ' '));
        }
      }
      for (const value of Object.values(node)) {
        for (const child of Array.isArray(value) ? value : [value]) if (typeof child?.type === 'string') visit(child);
      }
    };
    visit(this.parse(code));
    return s.hasChanged() ? { code: s.toString(), map: s.generateMap({ hires: true }) } : null;
  },
};

/**
 * Node-only modules that browser bundles replace with an empty module. Packages say so in their
 * `"browser": { "ws": false }` field, which node-resolve does not apply to a dynamic `import('ws')`
 * — it would inline ws's CommonJS browser stub, and `module` is undefined in a page.
 */
const NODE_ONLY = new Set(['ws']);
const EMPTY = '\0perch-empty-module';
const nodeOnly = {
  name: 'perch-node-only',
  resolveId: (id) => (NODE_ONLY.has(id) ? EMPTY : null),
  load: (id) => (id === EMPTY ? 'export default undefined;' : null),
};

/**
 * Lit announces itself on the page: `litHtmlVersions`, `reactiveElementVersions` and
 * `litElementVersions` arrays and a shared `litPropertyMetadata` map on `globalThis`, and it
 * defines `Symbol.metadata` when the browser has none. The script-tag bundle may add no global but
 * `window.Perch` and patch no built-in, so there the arrays go, the map is module-local, and
 * `Symbol.metadata` is left alone (our elements declare `static properties`; no decorator
 * metadata is ever read). Its Trusted Types policy is renamed, see below. Checked by the strict-CSP
 * end-to-end tests.
 */
const LIT_GLOBALS = [
  // Lit's Trusted Types policy is named "lit-html". A page using Lit itself has one by that name
  // too, and under `trusted-types` without 'allow-duplicates' the second to ask would throw: ours
  // (Perch never starts) or the page's (Perch breaks the page). Ours is "perch-html".
  [/createPolicy\("lit-html",/g, 'createPolicy("perch-html",'],
  [/\(\w+\.(?:litHtmlVersions|reactiveElementVersions|litElementVersions)\?\?=\[\]\)\.push\("[^"]*"\)/g, 'void 0'],
  [/Symbol\.metadata\?\?=Symbol\("metadata"\),/g, ''],
  [/\w+\.litPropertyMetadata\?\?=new WeakMap/g, 'void 0'],
];
export const litWithoutGlobals = {
  name: 'perch-lit-without-globals',
  transform(code, id) {
    if (!/[\\/](lit-html|lit-element|@lit[\\/]reactive-element)[\\/]/.test(id) || !/Versions|litPropertyMetadata|Symbol\.metadata/.test(code)) return null;
    let out = code;
    for (const [pattern, replacement] of LIT_GLOBALS) out = out.replace(pattern, replacement);
    if (/litPropertyMetadata/.test(out)) out = `const litPropertyMetadata = new WeakMap();\n${out}`;
    return out === code ? null : { code: out, map: null };
  },
};

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** ESM library build of packages/<name>. */
export function packageConfig(name) {
  const dir = join(root, 'packages', name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
  const external = (id) =>
    id.startsWith('@perch/') || builtins.has(id) || deps.some((dep) => id === dep || id.startsWith(`${dep}/`));
  // One entry per `exports` subpath that has a `source` (e.g. @perch/elements/define).
  const input = Object.fromEntries(
    Object.values(pkg.exports ?? { '.': { source: './src/index.ts' } })
      .map((target) => target.source)
      .filter(Boolean)
      .map((source) => [source.replace(/^\.\/src\//, '').replace(/\.ts$/, ''), join(dir, source)]),
  );
  return {
    input,
    external,
    plugins: plugins(),
    output: { dir: join(dir, 'dist'), entryFileNames: '[name].js', format: 'es', sourcemap: true },
  };
}

/**
 * A self-contained bundle: EVERYTHING (dependencies and @perch/* packages, via the `source`
 * condition) is inlined and minified. An IIFE whose entry exports something needs a global `name`
 * (Rollup says so); the script-tag bundle exports nothing and sets `window.Perch` itself. `define` replaces
 * globals at build time (esbuild's option, e.g. `{ 'process.env.NODE_ENV': '"production"' }`);
 * `cjs` converts CommonJS dependencies.
 */
export function bundleConfig({ input, file, format = 'es', name, sourcemap = false, define, cjs = false, extraPlugins = [] }) {
  return {
    input,
    // esbuild only transpiles; terser minifies (as Lit's production builds do): it packs ~3% tighter.
    // `cjs: true` for inputs with CommonJS-only dependencies (React, in examples/framework); ours
    // are all ESM, and the plugin would cost the script-tag bundle ~180 B.
    plugins: [
      nodeOnly,
      ...extraPlugins,
      ...plugins({ define }),
      // rollup-plugin-esbuild leaves node_modules alone, but `define` must reach dependencies too
      // (React's `process.env.NODE_ENV` checks), before the CommonJS plugin reads them.
      ...(define ? [esbuild({ include: /[\\/]node_modules[\\/].*\.[cm]?js$/, exclude: [], define, target: 'es2022' })] : []),
      ...(cjs ? [commonjs()] : []),
      terser({ module: format === 'es', ecma: 2022, compress: { passes: 2 }, format: { comments: false } }),
    ],
    output: { file, format, name, sourcemap, inlineDynamicImports: true },
  };
}

/** Library packages: packages/* with a src/index.ts, minus NOT_LIBRARIES. Add a folder, get a build. */
export const libraryPackages = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !NOT_LIBRARIES.has(d.name) && existsSync(join(root, 'packages', d.name, 'src/index.ts')))
  .map((d) => d.name)
  .sort();

const embedVersion = JSON.parse(readFileSync(join(root, 'packages/embed/package.json'), 'utf8')).version;
const perchJs = bundleConfig({
  input: join(root, 'packages/embed/src/perch.ts'),
  file: join(root, 'packages/embed/dist/perch.js'),
  format: 'iife',
  sourcemap: true,
  extraPlugins: [litWithoutGlobals],
});
// A second copy of perch.js (the same or another version) must stop before any of its modules
// run: its Lit would otherwise ask Trusted Types for a second "perch-html" policy, which a strict
// CSP refuses with an exception. The first lines of the IIFE check and return.
perchJs.output.intro =
  'if(typeof window.Perch=="function"&&window.Perch.version){' +
  `console.warn("Perch "+window.Perch.version+" is already running on this page; this copy (${embedVersion}) does nothing. Load perch.js once.");return}`;

/**
 * The script-tag bundles (see packages/embed): perch.js, and what it loads on demand from beside
 * itself: the translations and the chat windows.
 */
export const scriptBundles = [
  perchJs,
  ...[
    ['locale-zh-Hans', 'perch.zh-Hans.js'],
    ['locale-ar', 'perch.ar.js'],
    ['windows-script', 'perch.windows.js'],
  ].map(([entry, file]) =>
    bundleConfig({ input: join(root, `packages/embed/src/${entry}.ts`), file: join(root, `packages/embed/dist/${file}`), format: 'iife', sourcemap: true }),
  ),
];

export default [...libraryPackages.map(packageConfig), ...scriptBundles];
