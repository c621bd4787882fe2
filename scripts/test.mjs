// `npm test`: every check, in order, each stage streamed live under a header line:
//   1 typecheck  tsc -b (typescript 7)                          counts as 1 test
//   2 lint       eslint .                                       counts as 1 test
//   3 node       node --test over packages/*/src/**/*.test.ts (not *.browser.test.ts) and
//                test/node/**/*.test.ts                          counts each leaf test
//   4 browser    ensure-chromium, then web-test-runner           counts each test
//   5 e2e        builds dist/perch.js and the examples, then node --test over
//                test/e2e/**/*.e2e.test.ts (real server + Chromium) counts each leaf test
//   6 size       scripts/size.mjs (brotli budgets)               counts as 1 test
// A failing stage does not stop the run. The last line is exactly `N passed, N failed`, and the
// exit code is 1 when anything failed.
//
//   npm test -- --only node,browser      run some stages   (names: typecheck lint node browser e2e size)
//   npm test -- --skip size              run all but some
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureChromium } from './ensure-chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = {
  // typescript 7 is installed as `typescript-7`; `npx tsc` would be TypeScript 6.
  tsc: join(root, 'node_modules/typescript-7/bin/tsc'),
  eslint: join(root, 'node_modules/eslint/bin/eslint.js'),
  wtr: join(root, 'node_modules/@web/test-runner/dist/bin.js'),
};
const tmp = mkdtempSync(join(tmpdir(), 'perch-test-'));

/** Runs `node ...args` with inherited stdio (live output); resolves to the exit code. */
function node(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', (error) => {
      console.error(error);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const oneTest = (code) => (code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });

function readCounts(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Counts from a reporter file, made consistent with the exit code: a crash is a failure. */
function countsOrFailure(file, code, what) {
  const counts = readCounts(file);
  if (!counts) {
    console.error(`\n${what}: no test counts were written (exit ${code}); counting the stage as 1 failure.`);
    return { passed: 0, failed: 1 };
  }
  if (code !== 0 && counts.failed === 0) {
    console.error(`\n${what}: exited ${code} without a failing test; counting 1 failure.`);
    return { ...counts, failed: 1 };
  }
  return counts;
}

/** Recursively lists files under `dir` whose name passes `keep` (skips node_modules and dist). */
function walk(dir, keep, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, keep, out);
    else if (keep(entry.name)) out.push(path);
  }
  return out;
}

/** Runs node:test over `files` with the spec reporter live and the count reporter to a file. */
async function nodeTests(files, label) {
  if (files.length === 0) {
    console.log(`No ${label} files found.`);
    return { passed: 0, failed: 0 };
  }
  const counts = join(tmp, `${label.replace(/\W+/g, '-')}-counts.json`);
  const code = await node([
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/node-count-reporter.mjs',
    `--test-reporter-destination=${counts}`,
    ...files,
  ]);
  return countsOrFailure(counts, code, label);
}

/** Node test files; globs expanded here because Node 20's --test does not expand them reliably. */
function nodeTestFiles() {
  const isNodeTest = (name) => name.endsWith('.test.ts') && !name.endsWith('.browser.test.ts');
  const packages = join(root, 'packages');
  const files = [];
  for (const pkg of existsSync(packages) ? readdirSync(packages) : []) walk(join(packages, pkg, 'src'), isNodeTest, files);
  walk(join(root, 'test/node'), isNodeTest, files);
  return files.map((file) => relative(root, file)).sort();
}

const STAGES = [
  {
    name: 'typecheck',
    title: 'typecheck: tsc -b',
    run: async () => oneTest(await node([bin.tsc, '-b'])),
  },
  {
    name: 'lint',
    title: 'lint: eslint .',
    run: async () => oneTest(await node([bin.eslint, '.'])),
  },
  {
    name: 'node',
    title: 'node tests: node --conditions=source --import tsx --test',
    run: () => nodeTests(nodeTestFiles(), 'node tests'),
  },
  {
    name: 'browser',
    title: 'browser tests: web-test-runner (Chromium)',
    async run() {
      if (!ensureChromium()) {
        console.error('Browser tests SKIPPED: chromium is missing and could not be installed (counted as 1 failure).');
        return { passed: 0, failed: 1 };
      }
      const counts = join(tmp, 'wtr-counts.json');
      const code = await node([bin.wtr], { PERCH_WTR_COUNTS: counts });
      return countsOrFailure(counts, code, 'browser tests');
    },
  },
  {
    name: 'e2e',
    title: 'end-to-end tests: build the bundles, then node --test test/e2e (perch-server + Chromium)',
    async run() {
      if (!ensureChromium()) {
        console.error('End-to-end tests SKIPPED: chromium is missing and could not be installed (counted as 1 failure).');
        return { passed: 0, failed: 1 };
      }
      const built = await node([join(root, 'scripts/demo-build.mjs')]);
      if (built !== 0) return { passed: 0, failed: 1 };
      const files = walk(join(root, 'test/e2e'), (name) => name.endsWith('.e2e.test.ts')).map((file) => relative(root, file)).sort();
      return nodeTests(files, 'e2e tests');
    },
  },
  {
    name: 'size',
    title: 'size: scripts/size.mjs',
    run: async () => oneTest(await node([join(root, 'scripts/size.mjs')])),
  },
];

function selectStages(argv) {
  const list = (flag) => {
    const i = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
    if (i < 0) return undefined;
    const value = argv[i].includes('=') ? argv[i].slice(flag.length + 1) : argv[i + 1];
    return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  };
  const only = list('--only');
  const skip = list('--skip') ?? [];
  const known = STAGES.map((s) => s.name);
  const unknown = [...(only ?? []), ...skip].filter((name) => !known.includes(name));
  if (unknown.length) {
    console.error(`Unknown stage(s): ${unknown.join(', ')}. Stages: ${known.join(', ')}.`);
    process.exit(2);
  }
  return STAGES.filter((s) => (!only || only.includes(s.name)) && !skip.includes(s.name));
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`;
const stages = selectStages(process.argv.slice(2));
const results = [];
const started = Date.now();
for (const [i, stage] of stages.entries()) {
  console.log(`\n===== [${i + 1}/${stages.length}] ${stage.title} =====\n`);
  const t0 = Date.now();
  let counts;
  try {
    counts = await stage.run();
  } catch (error) {
    console.error(error);
    counts = { passed: 0, failed: 1 };
  }
  results.push({ stage, counts, ms: Date.now() - t0 });
}
rmSync(tmp, { recursive: true, force: true });

const passed = results.reduce((n, r) => n + r.counts.passed, 0);
const failed = results.reduce((n, r) => n + r.counts.failed, 0);
console.log('\n===== summary =====');
for (const { stage, counts, ms } of results) {
  const extra = counts.skipped ? `, ${counts.skipped} skipped` : '';
  const status = counts.failed ? 'FAIL' : 'ok  ';
  console.log(`${status}  ${stage.name.padEnd(9)}  ${counts.passed} passed, ${counts.failed} failed${extra}  (${seconds(ms)})`);
}
console.log(`total time ${seconds(Date.now() - started)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
