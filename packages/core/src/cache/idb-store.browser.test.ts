import { expect } from 'chai';
import type { CacheStore } from './cache-store.js';
import { openIdbStore } from './idb-store.js';
import { keys } from './keys.js';

// The IndexedDB cache in real Chromium. Every test gets its own database, so tests are
// independent and can run in any order.
const freshStore = (): Promise<CacheStore> => openIdbStore(`perch-test-${crypto.randomUUID()}`);

const keysOf = (rows: Array<[string, unknown]>): string[] => rows.map(([key]) => key);

describe('openIdbStore (IndexedDB in Chromium)', () => {
  it('opens a persistent store that a second connection to the same database can read', async () => {
    const name = `perch-test-${crypto.randomUUID()}`;
    const first = await openIdbStore(name);
    expect(first.kind).to.equal('persistent');
    await first.write([['meta|user', 'alice']], []);
    const second = await openIdbStore(name);
    expect(await second.get('meta|user')).to.equal('alice');
    expect(await second.get('meta|missing')).to.equal(undefined);
  });

  it('reads keys back in sorted order, only those with the prefix', async () => {
    const store = await freshStore();
    // Written out of order, interleaved with neighbouring prefixes.
    await store.write(
      [
        [keys.message('a', 10), 10],
        [keys.message('b', 1), 'b1'],
        [keys.message('a', 2), 2],
        [keys.conversation('a'), 'conv a'],
        [keys.message('ab', 1), 'ab1'],
        [keys.message('a', 1), 1],
        ['m|a', 'not under m|a|'],
      ],
      [],
    );
    const a = await store.range<number>(keys.messages('a'));
    expect(a).to.deep.equal([
      [keys.message('a', 1), 1],
      [keys.message('a', 2), 2],
      [keys.message('a', 10), 10], // zero-padded: numeric order is key order
    ]);
    // Plain UTF-16 code unit order: 'b' (0x62) sorts before '|' (0x7c).
    expect(keysOf(await store.range('m|'))).to.deep.equal([
      'm|a',
      'm|ab|000000000001',
      'm|a|000000000001',
      'm|a|000000000002',
      'm|a|000000000010',
      'm|b|000000000001',
    ]);
    expect(await store.range(keys.messages('zzz'))).to.deep.equal([]);
  });

  describe('range options (limit, reverse, below)', () => {
    let store: CacheStore;
    const prefix = keys.messages('c');
    beforeEach(async () => {
      store = await freshStore();
      const seqs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
      await store.write([...seqs.map((seq): [string, number] => [keys.message('c', seq), seq]), [keys.message('d', 1), -1]], []);
    });

    const seqsOf = async (options: Parameters<CacheStore['range']>[1]) =>
      (await store.range<number>(prefix, options)).map(([, seq]) => seq);

    it('limit', async () => {
      expect(await seqsOf({ limit: 3 })).to.deep.equal([1, 2, 3]);
      expect(await seqsOf({ limit: 100 })).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await seqsOf({ limit: 0 })).to.deep.equal([]);
    });

    it('reverse', async () => {
      expect(await seqsOf({ reverse: true })).to.deep.equal([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect(await seqsOf({ reverse: true, limit: 3 })).to.deep.equal([10, 9, 8]);
    });

    it('below is an exclusive upper bound', async () => {
      expect(await seqsOf({ below: keys.message('c', 5) })).to.deep.equal([1, 2, 3, 4]);
      expect(await seqsOf({ below: keys.message('c', 1) })).to.deep.equal([]);
      expect(await seqsOf({ below: keys.message('c', 99) })).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('pages backwards like history loading: below + reverse + limit', async () => {
      expect(await seqsOf({ below: keys.message('c', 8), reverse: true, limit: 3 })).to.deep.equal([7, 6, 5]);
      expect(await seqsOf({ below: keys.message('c', 3), reverse: true, limit: 3 })).to.deep.equal([2, 1]);
      expect(await seqsOf({ below: keys.message('c', 8), limit: 2 })).to.deep.equal([1, 2]);
    });
  });

  it('write applies puts and deletes together', async () => {
    const store = await freshStore();
    await store.write(
      [
        ['o|1', 'one'],
        ['o|2', 'two'],
        ['o|3', 'three'],
      ],
      [],
    );
    await store.write(
      [
        ['o|1', 'ONE'],
        ['o|4', 'four'],
      ],
      ['o|2', 'o|3', 'o|missing'],
    );
    expect(await store.range('o|')).to.deep.equal([
      ['o|1', 'ONE'],
      ['o|4', 'four'],
    ]);
  });

  it('write is one transaction: readers see all of it or none of it', async () => {
    const store = await freshStore();
    await store.write(
      [
        ['o|a', 1],
        ['o|b', 2],
      ],
      [],
    );
    // IndexedDB orders overlapping transactions by creation: a read started before the write sees
    // none of it, a read started after sees all of it (never a half-applied write).
    const before = store.range('o|');
    const writing = store.write(
      [
        ['o|c', 3],
        ['o|d', 4],
      ],
      ['o|a', 'o|b'],
    );
    const after = store.range('o|');
    await writing;
    expect(keysOf(await before)).to.deep.equal(['o|a', 'o|b']);
    expect(keysOf(await after)).to.deep.equal(['o|c', 'o|d']);
  });

  it('clear(prefix) removes only keys with that prefix', async () => {
    const store = await freshStore();
    await store.write(
      [
        [keys.message('a', 1), 1],
        [keys.message('a', 2), 2],
        [keys.message('ab', 1), 3],
        [keys.conversation('a'), 'conv'],
        ['m|a', 'shorter than the prefix'],
      ],
      [],
    );
    await store.clear(keys.messages('a'));
    expect(await store.range(keys.messages('a'))).to.deep.equal([]);
    expect(keysOf(await store.range('m|'))).to.deep.equal(['m|a', keys.message('ab', 1)]);
    expect(await store.get('m|a')).to.equal('shorter than the prefix');
    expect(await store.get(keys.conversation('a'))).to.equal('conv');

    await store.clear(''); // everything (what migrations do)
    expect(await store.range('')).to.deep.equal([]);
  });

  it('round-trips a value (structured clone, not the same object)', async () => {
    const store = await freshStore();
    const value = {
      id: 'msg-1',
      text: 'héllo 👋 <b>&amp;</b>',
      seq: 2 ** 40,
      at: new Date('2024-05-06T07:08:09.010Z'),
      edited: null,
      tags: ['a', 'b'],
      reactions: new Map([['👍', ['bob']]]),
      bytes: new Uint8Array([0, 1, 255]),
      nested: { deep: { deeper: [1, { x: true }] } },
    };
    await store.write([[keys.message('r', 1), value]], []);
    const back = await store.get<typeof value>(keys.message('r', 1));
    expect(back).to.deep.equal(value);
    expect(back).to.not.equal(value);
    expect(back!.at).to.be.instanceOf(Date);
    expect(back!.reactions).to.be.instanceOf(Map);

    // Mutating what was read does not change what is stored.
    back!.tags.push('c');
    expect((await store.get<typeof value>(keys.message('r', 1)))!.tags).to.deep.equal(['a', 'b']);
    const [[, fromRange]] = await store.range<typeof value>(keys.messages('r'));
    expect(fromRange).to.deep.equal(value);
  });
});
