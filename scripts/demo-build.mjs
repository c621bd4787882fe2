// Builds what the example pages load: dist/perch.js (the script-tag bundle), the two memory-hub
// examples and the React example. Used by `npm start` and by the end-to-end tests (`npm test`).
//
//   node scripts/demo-build.mjs
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rollup } from 'rollup';
import { bundleConfig, scriptBundles } from '../rollup.config.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs one single-output Rollup config; resolves to the file it wrote (relative to the repo). */
export async function write(config) {
  const build = await rollup({ input: config.input, plugins: config.plugins, onwarn: config.onwarn });
  try {
    await build.write(config.output);
  } finally {
    await build.close();
  }
  return relative(root, config.output.file);
}

/** Builds every bundle the examples need, in parallel; resolves to the files written. */
export async function buildDemo() {
  const jobs = [
    ...scriptBundles.map(write),
    ...['memory-chat', 'elements'].map((name) =>
      write(bundleConfig({ input: join(root, `examples/${name}/main.ts`), file: join(root, `examples/${name}/dist/main.js`), sourcemap: true })),
    ),
  ];
  const framework = join(root, 'examples/framework/build.mjs');
  if (existsSync(framework)) jobs.push(import(pathToFileURL(framework).href).then(async (m) => (await m.build(), 'examples/framework/dist/main.js')));
  return Promise.all(jobs);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const files = await buildDemo();
  console.log(`Built ${files.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}
