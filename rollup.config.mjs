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
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
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
  ];
}

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
 * condition) is inlined and minified. `format: 'iife'` needs a global `name`. `define` replaces
 * globals at build time (esbuild's option, e.g. `{ 'process.env.NODE_ENV': '"production"' }`).
 */
export function bundleConfig({ input, file, format = 'es', name, sourcemap = false, define }) {
  if (format === 'iife' && !name) throw new Error(`bundleConfig: an IIFE bundle (${file}) needs a global name`);
  return {
    input,
    // esbuild only transpiles; terser minifies (as Lit's production builds do): it packs ~3% tighter.
    plugins: [...plugins({ define }), terser({ module: format === 'es', ecma: 2022, compress: { passes: 2 }, format: { comments: false } })],
    output: { file, format, name, sourcemap, inlineDynamicImports: true },
  };
}

/** Library packages: packages/* with a src/index.ts, minus NOT_LIBRARIES. Add a folder, get a build. */
export const libraryPackages = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !NOT_LIBRARIES.has(d.name) && existsSync(join(root, 'packages', d.name, 'src/index.ts')))
  .map((d) => d.name)
  .sort();

export default [
  ...libraryPackages.map(packageConfig),
  // Later: script-tag bundles, e.g.
  // bundleConfig({ input: 'packages/embed/src/index.ts', file: 'packages/embed/dist/perch.iife.js', format: 'iife', name: 'Perch' }),
];
