// Bundles main.tsx (React, the Perch packages and their dependencies) into dist/main.js with the
// repo's shared Rollup factory. `node examples/framework/build.mjs` builds once; `npm start`
// imports build().
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import { bundleConfig } from '../../rollup.config.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const define = { 'process.env.NODE_ENV': '"production"' };

/** Builds examples/framework/dist/main.js (+ .map); resolves to its path. */
export async function build() {
  const input = join(here, 'main.tsx');
  const file = join(here, 'dist/main.js');
  // React ships CommonJS only: `cjs` converts it; `define` picks React's production build.
  const config = bundleConfig({ input, file, format: 'es', sourcemap: true, cjs: true, define });
  const bundle = await rollup({ input: config.input, plugins: config.plugins });
  try {
    await bundle.write(config.output);
  } finally {
    await bundle.close();
  }
  return file;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  try {
    const file = await build();
    console.log(`Built ${file} in ${Date.now() - started} ms.`);
  } catch (error) {
    console.error(`Could not bundle examples/framework: ${error?.message ?? error}`);
    if (error?.frame) console.error(error.frame);
    process.exitCode = 1;
  }
}
