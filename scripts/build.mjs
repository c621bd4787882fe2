// `npm run build`: type declarations first (tsc -b, emitDeclarationOnly -> packages/*/dist/*.d.ts),
// then the JavaScript (Rollup, rollup.config.mjs -> packages/*/dist/index.js).
// Order matters only for failing fast: a type error stops the build before any bundling.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// typescript 7 is installed under the alias `typescript-7`; `npx tsc` would be TS 6.
const TSC = join(root, 'node_modules/typescript-7/bin/tsc');
const ROLLUP = join(root, 'node_modules/rollup/dist/bin/rollup');

function run(label, args) {
  console.log(`\n> ${label}`);
  const { status, error } = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (error) console.error(error);
  if (status !== 0) {
    console.error(`\nbuild: ${label} failed (exit ${status ?? 'signal'})`);
    process.exit(status || 1);
  }
}

run('tsc -b', [TSC, '-b']);
run('rollup -c rollup.config.mjs', [ROLLUP, '-c', join(root, 'rollup.config.mjs')]);
console.log('\nbuild: done');
