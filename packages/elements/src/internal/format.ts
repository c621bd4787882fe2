import { msg } from './localize.js';
import { html, type TemplateResult } from 'lit';
import type { PresenceShow } from '@perch/core';
import { activeLocale } from './locale.js';

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

type Formatter = Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.ListFormat;
/**
 * Formatters by kind, locale and options. Building an `Intl` formatter costs far more than
 * formatting with one (a chat pane's first screen built ~60 and spent ~19 ms on it). The keys are
 * few: the locales shipped times the option sets used here and the time zones of profiles shown.
 */
const formatters = new Map<string, Formatter>();
/** The `make` formatter for the active locale and `options`, built once (throws as `make` does). */
export function formatter<T extends Formatter>(make: new (locale: string | undefined, options: object) => T, options: object): T {
  const key = make.name + activeLocale + JSON.stringify(options);
  let value = formatters.get(key) as T | undefined;
  if (!value) formatters.set(key, (value = new make(activeLocale, options)));
  return value;
}

const relative = () => formatter(Intl.RelativeTimeFormat, { numeric: 'auto' });

/** "5 minutes ago", "now", "yesterday" — in the active locale. */
export function ago(time: number, now = Date.now()): string {
  // A time ahead of `now` (a server's clock ahead of the reader's) is "now", not "in 30 seconds".
  let value = (Math.min(time, now) - now) / 1000;
  for (const [unit, size] of UNITS) {
    const rounded = Math.round(value);
    if (Math.abs(rounded) < size) return relative().format(rounded, unit);
    value /= size;
  }
  return '';
}

/**
 * Formats `time` with `options`; an unknown `timeZone` (e.g. from a hostile or outdated profile)
 * returns '' instead of throwing.
 */
export function formatTime(time: number, options: Intl.DateTimeFormatOptions): string {
  try {
    return formatter(Intl.DateTimeFormat, options).format(time);
  } catch {
    return '';
  }
}

/** The short clock time, e.g. "14:05" or "2:05 PM". */
export const clock = (time: number): string => formatTime(time, { timeStyle: 'short' });

/** "today", "yesterday", or the date, for a day separator. */
export function dayLabel(time: number, now = Date.now()): string {
  const days = Math.round((new Date(time).setHours(0, 0, 0, 0) - new Date(now).setHours(0, 0, 0, 0)) / 864e5);
  return days > -2 ? relative().format(days, 'day') : formatTime(time, { dateStyle: 'medium' });
}

/** A `<time>` element with the machine-readable date and `text` (the clock time by default). */
export const timeEl = (time: number, text = clock(time)): TemplateResult =>
  html`<time datetime=${new Date(time).toISOString()} title=${formatTime(time, { dateStyle: 'full', timeStyle: 'short' })}>${text}</time>`;

/** What a presence is called on screen and for screen readers. */
export function showLabel(show: PresenceShow): string {
  return { online: msg('Online'), away: msg('Away'), dnd: msg('Busy'), invisible: msg('Invisible'), offline: msg('Offline') }[show];
}

/** The presence dot (decorative: the label is always given as text too). */
export const dot = (show: PresenceShow): TemplateResult => html`<span class="dot" part="presence-dot" data-show=${show}></span>`;
