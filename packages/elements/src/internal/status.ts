import { msg, str } from './localize.js';
import { html, type TemplateResult } from 'lit';
import type { ConnectionStatus, Presence } from '@perch/core';
import { ago, dot, showLabel } from './format.js';

/**
 * The connection line: nothing while online, else what is going on (a live region, so the
 * change is announced).
 */
export const banner = (status: ConnectionStatus | undefined): TemplateResult =>
  html`<p class="banner" part="banner" role="status">${
    !status || status.state === 'online'
      ? ''
      : status.state === 'offline'
        ? msg('Offline. Showing what was saved on this device.')
        : status.state === 'connecting'
          ? msg('Connecting…')
          : msg('Connection lost. Reconnecting…')
  }</p>`;

/** Dot, presence label, personal message and — when offline — when they were last seen. */
export const presenceLine = (presence: Presence): TemplateResult =>
  html`${dot(presence.show)}<span>${showLabel(presence.show)}</span>${
    presence.status ? html`<span class="u" part="status-message">${presence.status}</span>` : ''
  }${presence.show === 'offline' && presence.lastSeen ? html`<span class="mu">${msg(str`Last seen ${ago(presence.lastSeen)}`)}</span>` : ''}`;

/** What to tell the user when a command failed: offline, or a generic retry. */
export const problem = (error: unknown): string =>
  (error as { code?: string }).code === 'unavailable'
    ? msg('You are offline. Try again once connected.')
    : msg('That did not work. Please try again.');
