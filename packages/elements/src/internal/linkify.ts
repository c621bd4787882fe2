import { html, type TemplateResult } from 'lit';

/** URL templates for mentions and hashtags; `{}` is replaced by the encoded name or tag. */
export interface LinkTemplates {
  mention?: string | undefined;
  tag?: string | undefined;
}

// A URL (only http, https and mailto are ever linked), or an @mention / #hashtag that does not
// follow a letter (so "a@b.c" and "issue#4" stay text).
const TOKEN = /\b(?:https?:\/\/|mailto:)[^\s<>"]+|(?<![\p{L}\p{N}_@#&])[@#][\p{L}\p{N}_]+/giu;

/**
 * `url` normalised if it parses (against `base`, when given) and its scheme matches `schemes`;
 * otherwise undefined.
 */
export function safeUrl(url: string | undefined, schemes = /^(https?|mailto):$/, base?: string): string | undefined {
  try {
    const parsed = new URL(url!, base);
    return schemes.test(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A link to `url` showing `content`, opened in a new tab without an opener or referrer; or
 * undefined when `url` is not http, https or mailto (`tel:` is allowed only when asked for).
 */
export function link(url: string | undefined, content: unknown, schemes?: RegExp): TemplateResult | undefined {
  const href = safeUrl(url, schemes);
  return href ? html`<a href=${href} target="_blank" rel="noopener noreferrer">${content}</a>` : undefined;
}

/**
 * Splits user text into Lit parts: plain strings (rendered as text nodes, never parsed as HTML),
 * links for http/https/mailto URLs, and mentions and hashtags — links when a URL template is
 * configured, styled spans otherwise.
 */
export function linkify(text: string, templates: LinkTemplates = {}): Array<string | TemplateResult> {
  const parts: Array<string | TemplateResult> = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    let token = match[0];
    const isUrl = /^[a-z]/i.test(token);
    // Sentence punctuation after a URL is not part of it.
    if (isUrl) token = token.replace(/[.,!?;:'")\]]+$/, '');
    const kind = token[0] === '@' ? 'mention' : 'tag';
    const url = isUrl ? token : templates[kind]?.replace('{}', encodeURIComponent(token.slice(1)));
    parts.push(
      text.slice(last, match.index),
      link(url, token) ?? (isUrl ? token : html`<span class=${kind} part=${kind}>${token}</span>`),
    );
    last = match.index + token.length;
  }
  parts.push(text.slice(last));
  return parts;
}
