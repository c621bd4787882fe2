// @web/test-runner reporter that counts tests across all sessions (browser x test file) and, when
// the env var PERCH_WTR_COUNTS is set, writes `{ passed, failed, skipped }` JSON to that path on
// every onTestRunFinished. It prints nothing: keep defaultReporter() next to it for humans.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Adds up a (nested) mocha suite result. */
function countSuite(suite, counts) {
  for (const test of suite?.tests ?? []) {
    if (test.skipped) counts.skipped++;
    else if (test.passed) counts.passed++;
    else counts.failed++;
  }
  for (const child of suite?.suites ?? []) countSuite(child, counts);
}

export function countReporter({ file = process.env.PERCH_WTR_COUNTS } = {}) {
  return {
    onTestRunFinished({ sessions }) {
      const counts = { passed: 0, failed: 0, skipped: 0 };
      for (const session of sessions) {
        const before = counts.failed;
        countSuite(session.testResults, counts);
        // A file that failed to load, or threw outside any test, fails its session without a
        // failing test: count it as one failure so it cannot go unnoticed.
        if (session.passed === false && counts.failed === before) counts.failed++;
      }
      if (file) {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, `${JSON.stringify(counts)}\n`);
      }
    },
  };
}
