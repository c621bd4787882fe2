import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkCharacters, cleanLine, visitorName } from './characters.js';
import { validatePresence, validateStatus } from './validate.js';

const error = (result: { ok: boolean; error?: string }) => (result.ok ? undefined : result.error);

test('one-line fields refuse every control character, C0, DEL and C1, and unpaired surrogates, naming the field and the character', () => {
  for (let code = 0; code <= 0x9f; code++) {
    const control = code < 0x20 || code >= 0x7f;
    const result = checkCharacters(`a${String.fromCharCode(code)}b`, '"title"');
    assert.equal(result.ok, !control, `U+${code.toString(16).padStart(4, '0')}`);
  }
  assert.equal(error(checkCharacters('Launch\u0007', '"title"')), '"title" contains the control character U+0007; it must be one line of text without control characters.');
  assert.match(error(checkCharacters('x\u009b', 'Status')) ?? '', /^Status contains the control character U\+009B/);
  assert.match(error(checkCharacters('cut \ud83d', '"title"')) ?? '', /^"title" contains half of a surrogate pair \(U\+D83D\) without its other half; send well-formed text/);
  assert.match(error(checkCharacters('\ude00 first', '"title"')) ?? '', /U\+DE00/);
  assert.match(error(checkCharacters('\ude00\ud83d', '"title"')) ?? '', /U\+DE00/, 'halves in the wrong order are no pair');
});

test('what stays allowed: emoji (surrogate pairs), bidi marks and isolates, joiners, no-break spaces, other scripts', () => {
  for (const text of ['😀 👩‍💻', '\u200fمرحبا\u200e', '\u2067עברית\u2069 \u061c', 'a\u00a0b\u202fc', 'zero\u200bwidth\u200djoiner', 'Zoë 你好', '']) {
    assert.deepEqual(checkCharacters(text, '"title"'), { ok: true, value: text });
    assert.deepEqual(checkCharacters(text, 'Message', true), { ok: true, value: text });
  }
});

test('multi-line texts allow tab, line feed and carriage return, and nothing else of C0, DEL or C1', () => {
  assert.deepEqual(checkCharacters('one\n\ttwo\r\nthree', 'Message', true), { ok: true, value: 'one\n\ttwo\r\nthree' });
  for (const bad of ['\u0000', '\u0007', '\u000b', '\u000c', '\u001b', '\u007f', '\u0085', '\u009f']) {
    assert.equal(checkCharacters(`a${bad}`, 'Message', true).ok, false, JSON.stringify(bad));
  }
  assert.equal(error(checkCharacters('next\u0085line', 'Message', true)), 'Message contains the control character U+0085; only tab and line breaks are allowed.');
  assert.match(error(checkCharacters('x\ud800', 'Post', true)) ?? '', /^Post contains half of a surrogate pair \(U\+D800\)/);
});

test('a status message is one line: validateStatus and validatePresence refuse control characters', () => {
  assert.match(error(validateStatus('\u001b[31mRed')) ?? '', /^Status contains the control character U\+001B/);
  assert.match(error(validatePresence({ show: 'away', status: 'Out\nto lunch' })) ?? '', /^Status contains the control character U\+000A/);
  assert.deepEqual(validatePresence({ show: 'away', status: 'Out to lunch 🍜' }), { ok: true, value: { show: 'away', status: 'Out to lunch 🍜' } });
});

test('cleanLine makes a one-line field of anything: control runs become one space, half pairs U+FFFD, ends trimmed', () => {
  assert.equal(cleanLine('\tAda\u0007\nLovelace\u0000'), 'Ada Lovelace');
  assert.equal(cleanLine('Zoë \ud83d'), 'Zoë \ufffd');
  assert.equal(cleanLine('\u0085\u009f'), '');
  assert.equal(cleanLine('\u200fمرحبا 😀'), '\u200fمرحبا 😀', 'nothing else is touched');
  for (const text of ['a\u0000\u0001\u0002b', '\ud83d\ude00\ud83d', 'plain']) {
    const cleaned = cleanLine(text);
    assert.ok(cleaned.length <= text.length, 'never longer');
    assert.equal(checkCharacters(cleaned, 'x').ok, true, 'always passes the check');
  }
});

test('visitorName: cleaned, at most 100 code units without splitting an emoji, "Visitor" when nothing is left', () => {
  assert.equal(visitorName(' Ada\nLovelace '), 'Ada Lovelace');
  assert.equal(visitorName(undefined), 'Visitor');
  assert.equal(visitorName('\u0007\t'), 'Visitor');
  assert.equal(visitorName('a'.repeat(150)), 'a'.repeat(100));
  assert.equal(visitorName(`${'a'.repeat(99)}😀`), 'a'.repeat(99), 'the pair would be split at 100: cut before it');
  assert.equal(visitorName(`${'a'.repeat(98)} 😀`), 'a'.repeat(98), 'a space left at the cut is trimmed');
});
