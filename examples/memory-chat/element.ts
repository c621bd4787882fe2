/**
 * Small DOM builders for the demo. User content only ever becomes text nodes or the `href` of a
 * checked http(s) link; nothing here parses HTML, so the page works under a strict CSP.
 */

/** A child for {@link el}: a node, text (inserted as a text node), or nothing. */
export type Child = Node | string | null | undefined | false;

/**
 * Creates `<tag>` with attributes and children. Attribute values are set with `setAttribute`;
 * `true` sets an empty attribute, `false`/`undefined` leaves it out. Event handler attributes
 * (`on…`) are refused: attach listeners with `addEventListener`.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.toLowerCase().startsWith('on')) throw new Error(`el(): use addEventListener instead of the "${name}" attribute.`);
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  return element;
}

const URL_PATTERN = /https?:\/\/[^\s<>"'`]+/g;

/**
 * Text with its http and https URLs turned into links (`rel="noopener noreferrer"`, new tab).
 * Everything else stays plain text, and a URL that does not parse stays text too.
 */
export function linkified(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    // Trailing punctuation usually ends the sentence, not the URL.
    const raw = match[0].replace(/[.,;:!?)\]]+$/, '');
    const start = match.index;
    let href: URL | undefined;
    try {
      href = new URL(raw);
    } catch {
      href = undefined;
    }
    if (!href || (href.protocol !== 'http:' && href.protocol !== 'https:')) continue;
    fragment.append(text.slice(last, start));
    fragment.append(el('a', { href: href.href, rel: 'noopener noreferrer', target: '_blank' }, raw));
    last = start + raw.length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A `<time>` element: the time of day for today, the date and time before that. */
export function timeElement(at: number): HTMLTimeElement {
  const date = new Date(at);
  const today = new Date().toDateString() === date.toDateString();
  return el('time', { datetime: date.toISOString() }, (today ? timeOfDay : dayAndTime).format(date));
}

/** Replaces the children of `parent` with `children`. */
export function replaceChildren(parent: Element, children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** Something a view set up that must be undone when the demo unmounts. */
export type Cleanup = () => void;

/** A piece of the demo page and the function that tears it down. */
export interface View {
  element: HTMLElement;
  destroy(): void;
}
