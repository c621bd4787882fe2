// node:test custom reporter (an async generator over test events) that counts LEAF tests and
// writes `{ passed, failed, skipped, todo }` as JSON to its destination, e.g.
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//        --test-reporter=./scripts/node-count-reporter.mjs --test-reporter-destination=counts.json
//
// Leaf only, so that each test counts once:
//  - describe()/suite() results carry `details.type === 'suite'`: skipped;
//  - a test() that ran subtests via t.test() is reported (type 'test') right AFTER its last
//    child, which is one level deeper: skipped as well.
// A file that fails to load reports one failure for the file itself (no subtests): counted.
export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0 };
  const lastNesting = new Map(); // file -> nesting of the previous pass/fail event in that file
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    const file = data.file ?? '';
    const previous = lastNesting.get(file);
    lastNesting.set(file, data.nesting);
    if (data.details?.type === 'suite') continue;
    if (previous !== undefined && previous > data.nesting) continue; // has subtests: not a leaf
    if (data.skip) counts.skipped++;
    else if (data.todo) counts.todo++; // todo tests never fail a run
    else if (event.type === 'test:pass') counts.passed++;
    else counts.failed++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
