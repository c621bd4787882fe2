/**
 * The chat windows are not in perch.js: they load from perch.windows.js the first time a chat
 * opens in one. That script carries only this module; Lit, the Perch base element and the
 * message function come from the perch.js that loaded it ({@link WindowsRuntime}), so there is
 * one Lit on the page (a second would also need a second Trusted Types policy).
 */
import type { msg as Msg, str as Str } from '@lit/localize';
import type { css as Css, html as Html, TemplateResult } from 'lit';
import type { ifDefined as IfDefined } from 'lit/directives/if-defined.js';
import type { PerchElement as PerchElementClass, StoreController as StoreControllerClass } from '@perch/elements';

/** What the chat windows use of Lit and @perch/elements. */
export interface WindowsRuntime {
  msg: typeof Msg;
  str: typeof Str;
  css: typeof Css;
  html: typeof Html;
  ifDefined: typeof IfDefined;
  PerchElement: typeof PerchElementClass;
  StoreController: typeof StoreControllerClass;
}

/** `<perch-chat-windows>`: its public face. */
export interface PerchChatWindows extends HTMLElement {
  /** Opens (or brings back and focuses) the chat with `target`. */
  open(target: ChatTarget): void;
  /** Closes the window with `target`, or every window. Focus goes back to where it was. */
  close(target?: ChatTarget): void;
  /** The targets of the open windows, oldest first. */
  readonly openChats: ChatTarget[];
  readonly updateComplete: Promise<boolean>;
}

/** What a chat window shows: the direct chat with a person, or a conversation by id. */
export type ChatTarget = { with: string } | { conversation: string };

interface ChatWindow {
  key: string;
  target: ChatTarget;
  minimised: boolean;
  /** Where focus was when the window opened; it goes back there on close. */
  opener: HTMLElement | undefined;
}

/** At most this many windows stay open; opening another closes the oldest. */
const MAX_WINDOWS = 3;

const keyOf = (target: ChatTarget) => ('with' in target ? `u:${target.with}` : `c:${target.conversation}`);

/** The element that has focus, looking through open shadow roots. */
function deepActive(): HTMLElement | undefined {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active instanceof HTMLElement && active !== document.body ? active : undefined;
}

/**
 * @summary Small chat windows at the page's bottom corner (the embed opens them for
 * `Perch('open', userId)` and for buddy-list clicks the page does not handle itself).
 *
 * Each window is a non-modal dialog with the person's name, Minimise and Close; Escape closes
 * the focused window and focus returns to where it was. At most three stay open, and no more
 * than fit the viewport's width. The element is a popover, shown in the top layer.
 *
 * @csspart window - One chat window.
 * @csspart header - A window's title bar.
 * @csspart pane - The `<perch-chat-pane>` inside a window.
 * @cssproperty --perch-window-width - A window's inline size (default 20em).
 * @cssproperty --perch-window-height - A window's block size (default 28em, at most the viewport).
 */
export function chatWindowsClass({ msg, str, css, html, ifDefined, PerchElement, StoreController }: WindowsRuntime): new () => PerchChatWindows {
  return class extends PerchElement {
    static override styles = [
      PerchElement.styles,
      css`
        :host { position: fixed !important; inset-block-end: 0 !important; inset-inline-end: 16px !important;
          inset-block-start: auto !important; inset-inline-start: auto !important; z-index: 2147483000 !important;
          display: flex !important; flex-direction: row-reverse; align-items: flex-end; gap: var(--_s);
          background: none; pointer-events: none; visibility: visible !important; opacity: 1 !important; padding: 0; border: 0; }
        :host(:not([open])) { display: none !important; }
        section { pointer-events: auto; display: flex; flex-direction: column; inline-size: var(--perch-window-width, 20em);
          max-inline-size: calc(100vw - 32px); background: var(--_bg); border: 1px solid var(--_bd); border-block-end: 0;
          border-start-start-radius: var(--_r); border-start-end-radius: var(--_r); box-shadow: 0 4px 24px rgb(0 0 0 / .18); }
        header { display: flex; align-items: center; gap: 4px; padding: 4px 4px 4px var(--_s); background: var(--_ac); color: var(--_af);
          border-start-start-radius: var(--_r); border-start-end-radius: var(--_r); }
        h2 { all: unset; flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        header button { background: none; border: 0; color: inherit; padding: 2px 8px; line-height: 1.2; }
        /* The ring's usual accent colour is the title bar's own: it would not show. */
        header button:focus-visible { outline-color: currentColor; }
        perch-chat-pane { block-size: min(var(--perch-window-height, 28em), calc(100vh - 64px)); border-radius: 0; }
      `,
    ];

    #windows: ChatWindow[] = [];
    readonly #roster = new StoreController(this, (client) => client.roster);
    readonly #conversations = new StoreController(this, (client) => client.conversations);

    /** Opens (or brings back and focuses) the chat with `target`. */
    open(target: ChatTarget): void {
      const key = keyOf(target);
      const opener = deepActive();
      const existing = this.#windows.find((w) => w.key === key);
      if (existing) existing.minimised = false;
      else {
        this.#windows = [...this.#windows, { key, target, minimised: false, opener }].slice(-MAX_WINDOWS);
      }
      this.toggleAttribute('open', true);
      // In the top layer: above every z-index of the page, and pinned to the viewport even when an
      // ancestor has a transform or a filter (which would make position: fixed relative to it).
      if (this.showPopover && !this.matches(':popover-open')) {
        this.popover = 'manual';
        this.showPopover();
      }
      this.requestUpdate();
      void this.updateComplete.then(() => this.#pane(key)?.focus());
    }

    /** A viewport that shrank (a phone turned upright) is checked as a new window is (see updated). */
    readonly #fit = () => this.requestUpdate();

    override connectedCallback(): void {
      super.connectedCallback();
      addEventListener('resize', this.#fit);
    }

    override disconnectedCallback(): void {
      super.disconnectedCallback();
      removeEventListener('resize', this.#fit);
    }

    /** On a narrow screen, the windows that do not fit beside the newest close, oldest first. */
    protected override updated(): void {
      const { left, right } = this.renderRoot.querySelector('section:last-of-type')?.getBoundingClientRect() ?? {};
      if (this.#windows.length > 1 && (left! < 0 || right! > innerWidth)) {
        this.#windows = this.#windows.slice(1);
        this.requestUpdate();
      }
    }

    /** Closes the window with `target`, or every window. Focus goes back to where it was. */
    close(target?: ChatTarget): void {
      const key = target && keyOf(target);
      const closing = this.#windows.filter((w) => key === undefined || w.key === key);
      this.#windows = this.#windows.filter((w) => !closing.includes(w));
      this.toggleAttribute('open', this.#windows.length > 0);
      this.requestUpdate();
      const back = closing.at(-1)?.opener;
      if (back?.isConnected) back.focus();
    }

    /** The targets of the open windows, oldest first. */
    get openChats(): ChatTarget[] {
      return this.#windows.map((w) => w.target);
    }

    #pane(key: string): HTMLElement | null | undefined {
      return this.renderRoot.querySelector<HTMLElement>(`section[data-key="${CSS.escape(key)}"] perch-chat-pane`);
    }

    #title(target: ChatTarget): string {
      if ('with' in target) return this.#roster.value?.find((entry) => entry.user.id === target.with)?.user.name ?? target.with;
      return this.#conversations.value?.find((c) => c.id === target.conversation)?.title ?? msg('Chat');
    }

    #keydown(event: KeyboardEvent, window: ChatWindow): void {
      if (event.key === 'Escape' && !event.defaultPrevented) {
        event.preventDefault();
        this.close(window.target);
      }
    }

    protected override render(): TemplateResult {
      return html`${this.#windows.map((w) => {
        const title = this.#title(w.target);
        const id = `t-${w.key.replace(/[^\w-]/g, '_')}`;
        return html`<section part="window" role="dialog" aria-labelledby=${id} data-key=${w.key} @keydown=${(e: KeyboardEvent) => this.#keydown(e, w)}>
          <header part="header">
            <h2 id=${id} class="u" title=${msg(str`Chat with ${title}`)}>${title}</h2>
            <button type="button" aria-expanded=${String(!w.minimised)} aria-label=${w.minimised ? msg('Restore') : msg('Minimise')}
              @click=${() => {
                w.minimised = !w.minimised;
                this.requestUpdate();
              }}>${w.minimised ? '▴' : '▾'}</button>
            <button type="button" aria-label=${msg('Close')} @click=${() => this.close(w.target)}>✕</button>
          </header>
          <perch-chat-pane part="pane" ?hidden=${w.minimised} .client=${this.perch}
            with=${ifDefined('with' in w.target ? w.target.with : undefined)}
            conversation=${ifDefined('conversation' in w.target ? w.target.conversation : undefined)}></perch-chat-pane>
        </section>`;
      })}`;
    }
  };
}
