/**
 * Serialising server frames, with a shortcut for a value that goes out in several frames: a new
 * message is both the `data` of the `message` event sent to every member and the `result` of the
 * sender's `res`. {@link shareJson} serialises it once; {@link frameText} then splices that text
 * into each frame. The output is exactly what `JSON.stringify(frame)` gives.
 */
import type { ServerFrame } from '@perch/protocol';

const shared = new WeakMap<object, string>();

/** Serialises `value` and remembers the text for the frames that will carry it. */
export function shareJson(value: object): string {
  let text = shared.get(value);
  if (text === undefined) shared.set(value, (text = JSON.stringify(value)));
  return text;
}

/** `JSON.stringify(frame)`, reusing the text of a payload passed to {@link shareJson}. */
export function frameText(frame: ServerFrame): string {
  if (frame.type === 'event') {
    const data = shared.get(frame.data);
    // Event names are fixed identifiers: nothing in them needs escaping.
    if (data !== undefined) return `{"type":"event","event":"${frame.event}","data":${data}}`;
  } else if (frame.type === 'res' && typeof frame.result === 'object' && frame.result !== null) {
    const result = shared.get(frame.result);
    if (result !== undefined) return `{"type":"res","id":${JSON.stringify(frame.id)},"result":${result}}`;
  }
  return JSON.stringify(frame);
}
