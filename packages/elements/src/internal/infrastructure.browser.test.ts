import { ContextConsumer, ContextProvider } from '@lit/context';
import { emulateMedia, readFile } from '@web/test-runner-commands';
import { expect } from 'chai';
import { html, LitElement, type TemplateResult } from 'lit';
import type { PerchClient, ReadableStore } from '@perch/core';
import { clientContext } from '../context.js';
import { PerchProvider } from '../provider/provider.component.js';
import { setPerchLocale } from '../localization.js';
import { catalogue as ar } from '../locales/ar.js';
import { catalogue as zh } from '../locales/zh-Hans.js';
import { $, cleanup, clientOf, mount, seededHub } from '../testing.browser.test.js';
import { ago, dayLabel, showLabel } from './format.js';
import { linkify } from './linkify.js';
import { avatar } from './people.js';
import { PerchElement } from './perch-element.js';
import { define } from './register.js';
import { StoreController } from './store-controller.js';

/** A fake store that counts its subscribers. */
function counted<T>(value: T): ReadableStore<T> & { subscribers: number; set(v: T): void } {
  const listeners = new Set<(v: T) => void>();
  return {
    subscribers: 0,
    get: () => value,
    set(next: T) {
      value = next;
      for (const l of listeners) l(value);
    },
    subscribe(callback) {
      listeners.add(callback);
      this.subscribers++;
      callback(value);
      return () => {
        listeners.delete(callback);
        this.subscribers--;
      };
    },
  };
}

type FakeClient = PerchClient & { fake: ReturnType<typeof counted<string>> };
const fakeClient = (value: string) => ({ fake: counted(value) }) as unknown as FakeClient;

/** A minimal Perch element: shows the fake store's value, a presence label, and some text. */
class Probe extends PerchElement {
  readonly store = new StoreController(this, (client) => (client as FakeClient).fake);
  content: TemplateResult | string = '';
  protected override render() {
    return html`<p class="row"><span class="first">${this.store.value ?? 'none'}</span><span class="second">${showLabel('online')}</span><span class="ago">${ago(Date.now() - 5 * 60_000)}</span></p>
      <a href="https://example.com/" target="_blank" rel="noopener noreferrer">link</a>${this.content}`;
  }
}
define('perch-probe', Probe);

/** Renders `parts` into a fresh element so its DOM can be inspected. */
async function rendered(parts: unknown): Promise<Probe> {
  const probe = await mount<Probe>('perch-probe');
  probe.content = html`<div class="out">${parts}</div>`;
  probe.requestUpdate();
  await probe.updateComplete;
  return probe;
}

describe('infrastructure', () => {
  afterEach(cleanup);

  describe('client: provider, property and StoreController', () => {
    it('provides the client to components inside <perch-provider>, also through other shadow roots', async () => {
      const provider = document.createElement('perch-provider') as PerchProvider;
      provider.client = fakeClient('from context');
      const outer = document.createElement('div');
      const inner = outer.attachShadow({ mode: 'open' });
      provider.append(outer);
      document.body.append(provider);
      const probe = await mount<Probe>('perch-probe', {}, undefined, document.body);
      expect($(probe, '.first').textContent, 'no client outside the provider').to.equal('none');
      inner.append(probe);
      await probe.updateComplete;
      expect($(probe, '.first').textContent).to.equal('from context');
      provider.remove();
      // Another client on the provider reaches the component.
      document.body.append(provider);
      provider.client = fakeClient('second');
      await provider.updateComplete;
      await probe.updateComplete;
      expect($(probe, '.first').textContent).to.equal('second');
    });

    it('prefers the client property over the provided one', async () => {
      const provider = document.createElement('perch-provider') as PerchProvider;
      provider.client = fakeClient('from context');
      document.body.append(provider);
      const probe = await mount<Probe>('perch-probe', {}, fakeClient('from property'), provider);
      expect($(probe, '.first').textContent).to.equal('from property');
    });

    it('subscribes while connected, unsubscribes when removed, and follows a client change', async () => {
      const first = fakeClient('one');
      const probe = await mount<Probe>('perch-probe', {}, first);
      expect(first.fake.subscribers).to.equal(1);
      expect($(probe, '.first').textContent, 'renders at once from the store').to.equal('one');
      first.fake.set('two');
      await probe.updateComplete;
      expect($(probe, '.first').textContent).to.equal('two');
      probe.remove();
      expect(first.fake.subscribers).to.equal(0);
      document.body.append(probe);
      expect(first.fake.subscribers).to.equal(1);
      const second = fakeClient('other client');
      probe.client = second;
      await probe.updateComplete;
      expect(first.fake.subscribers).to.equal(0);
      expect(second.fake.subscribers).to.equal(1);
      expect($(probe, '.first').textContent).to.equal('other client');
    });

    it('works with a real client: the store renders before connecting (cache first)', async () => {
      const client = clientOf(seededHub(), 'alice');
      const probe = await mount<Probe>('perch-probe', {}, Object.assign(client, { fake: client.status }) as unknown as PerchClient);
      expect($(probe, '.first').textContent).to.equal('[object Object]');
    });
  });

  describe('the context protocol of @lit/context', () => {
    /** A Lit element of a host application that consumes or provides the client with @lit/context itself. */
    class LitConsumer extends LitElement {
      readonly consumer = new ContextConsumer(this, { context: clientContext, subscribe: true });
    }
    class LitProvider extends LitElement {
      readonly provider = new ContextProvider(this, { context: clientContext });
      protected override render() {
        return html`<slot></slot>`;
      }
    }
    define('perch-test-lit-consumer', LitConsumer);
    define('perch-test-lit-provider', LitProvider);

    it("<perch-provider> answers @lit/context's ContextConsumer, and tells it of a new client", async () => {
      const provider = document.createElement('perch-provider') as PerchProvider;
      const first = fakeClient('one');
      provider.client = first;
      document.body.append(provider);
      const consumer = await mount<LitConsumer>('perch-test-lit-consumer', {}, undefined, provider);
      expect(consumer.consumer.value).to.equal(first);
      const second = fakeClient('two');
      provider.client = second;
      await provider.updateComplete;
      expect(consumer.consumer.value).to.equal(second);
    });

    it("a Perch component takes the client from @lit/context's ContextProvider", async () => {
      const provider = await mount<LitProvider>('perch-test-lit-provider');
      provider.provider.setValue(fakeClient('from @lit/context'));
      const probe = await mount<Probe>('perch-probe', {}, undefined, provider);
      expect($(probe, '.first').textContent).to.equal('from @lit/context');
      provider.provider.setValue(fakeClient('changed'));
      await probe.updateComplete;
      expect($(probe, '.first').textContent).to.equal('changed');
    });

    it('the nearest provider wins, and a component taken out of a provider forgets its client', async () => {
      const outer = document.createElement('perch-provider') as PerchProvider;
      const inner = document.createElement('perch-provider') as PerchProvider;
      outer.client = fakeClient('outer');
      inner.client = fakeClient('inner');
      outer.append(inner);
      document.body.append(outer);
      const probe = await mount<Probe>('perch-probe', {}, undefined, inner);
      expect($(probe, '.first').textContent).to.equal('inner');
      document.body.append(probe);
      await probe.updateComplete;
      expect($(probe, '.first').textContent).to.equal('none');
      outer.client = fakeClient('changed');
      await outer.updateComplete;
      await probe.updateComplete;
      expect($(probe, '.first').textContent, 'no longer subscribed').to.equal('none');
      probe.remove();
    });
  });

  describe('define()', () => {
    it('warns with a sentence instead of throwing when a tag is already defined', () => {
      const warnings: unknown[] = [];
      const original = console.warn;
      console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
      try {
        define('perch-provider', class extends HTMLElement {});
        define('perch-provider', PerchProvider);
      } finally {
        console.warn = original;
      }
      expect(warnings).to.have.length(1);
      expect(String(warnings[0])).to.match(/<perch-provider> is already defined.*loaded twice/);
      expect(customElements.get('perch-provider')).to.equal(PerchProvider);
    });
  });

  describe('styles', () => {
    it('resets text styles the host page would otherwise pass down', async () => {
      const page = document.createElement('style');
      page.textContent = `.hostile, .hostile * { font: italic 40px/5 serif; letter-spacing: 7px; word-spacing: 9px; color: rgb(255, 0, 0);
        text-align: right; text-transform: uppercase; text-indent: 30px; direction: rtl; white-space: pre; }`;
      document.head.append(page);
      try {
        const box = document.createElement('div');
        box.className = 'hostile';
        document.body.append(box);
        const probe = await mount<Probe>('perch-probe', {}, fakeClient('x'), box);
        const style = getComputedStyle($(probe, '.first'));
        expect(style.fontStyle).to.equal('normal');
        expect(style.fontSize).to.equal('16px');
        expect(style.letterSpacing).to.equal('normal');
        expect(style.wordSpacing).to.equal('0px');
        expect(style.color).not.to.equal('rgb(255, 0, 0)');
        expect(style.textAlign).to.equal('start');
        expect(style.textTransform).to.equal('none');
        expect(style.direction, 'direction comes from dir, not from CSS').to.equal('ltr');
        expect(style.whiteSpaceCollapse).to.equal('collapse');
      } finally {
        page.remove();
      }
    });

    it('applies --perch-* tokens, light and dark, by media query and by the theme attribute', async () => {
      const probe = await mount<Probe>('perch-probe', {}, fakeClient('x'));
      const background = () => getComputedStyle(probe).backgroundColor;
      await emulateMedia({ colorScheme: 'light' });
      expect(background()).to.equal('rgb(255, 255, 255)');
      try {
        await emulateMedia({ colorScheme: 'dark' });
        expect(background()).to.equal('rgb(29, 29, 33)');
        probe.setAttribute('theme', 'light');
        expect(background()).to.equal('rgb(255, 255, 255)');
      } finally {
        await emulateMedia({ colorScheme: 'light' });
      }
      probe.setAttribute('theme', 'dark');
      expect(background()).to.equal('rgb(29, 29, 33)');
      probe.style.setProperty('--perch-bg', 'rgb(1, 2, 3)');
      probe.style.setProperty('--perch-accent', 'rgb(4, 5, 6)');
      probe.style.setProperty('--perch-font', 'monospace');
      expect(background()).to.equal('rgb(1, 2, 3)');
      expect(getComputedStyle($(probe, 'a')).color).to.equal('rgb(4, 5, 6)');
      expect(getComputedStyle($(probe, 'p')).fontFamily).to.equal('monospace');
    });

    it('mirrors the layout under dir="rtl"', async () => {
      document.documentElement.dir = 'rtl';
      const probe = await mount<Probe>('perch-probe', {}, fakeClient('x'));
      expect(getComputedStyle(probe).direction).to.equal('rtl');
      const first = $(probe, '.first').getBoundingClientRect();
      const second = $(probe, '.second').getBoundingClientRect();
      expect(first.left).to.be.greaterThan(second.left);
    });
  });

  describe('linkify', () => {
    it('links only http, https and mailto URLs, in a new tab without opener or referrer', async () => {
      const probe = await rendered(
        linkify('see https://example.com/a?b=1. and mailto:a@example.com, javascript:alert(1) data:text/html,x ftp://x.org www.x.org'),
      );
      const links = [...probe.shadowRoot!.querySelectorAll('.out a')];
      expect(links.map((a) => a.getAttribute('href'))).to.deep.equal(['https://example.com/a?b=1', 'mailto:a@example.com']);
      for (const a of links) {
        expect(a.getAttribute('target')).to.equal('_blank');
        expect(a.getAttribute('rel')).to.equal('noopener noreferrer');
      }
      expect($(probe, '.out').textContent).to.contain('javascript:alert(1) data:text/html,x ftp://x.org');
    });

    it('renders markup as text, never as HTML', async () => {
      const probe = await rendered(linkify('<img src=x onerror="window.__pwned=1"> <b>bold</b> https://x.org/"><script>'));
      expect(probe.shadowRoot!.querySelectorAll('.out img, .out b, .out script')).to.have.length(0);
      expect($(probe, '.out').textContent).to.contain('<img src=x onerror="window.__pwned=1"> <b>bold</b>');
      expect($(probe, '.out a').getAttribute('href')).to.equal('https://x.org/');
      expect($(probe, '.out').textContent).to.contain('https://x.org/"><script>');
    });

    it('shows mentions and hashtags as spans, or as links when a URL template is configured', async () => {
      const text = 'hi @bob and #launch, not a@b.c or issue#4';
      const plain = await rendered(linkify(text));
      expect([...plain.shadowRoot!.querySelectorAll('.out span')].map((s) => `${s.className}:${s.textContent}`)).to.deep.equal([
        'mention:@bob',
        'tag:#launch',
      ]);
      expect(plain.shadowRoot!.querySelectorAll('.out a')).to.have.length(0);
      const linked = await rendered(linkify(text, { mention: 'https://example.com/u/{}', tag: 'javascript:{}' }));
      expect([...linked.shadowRoot!.querySelectorAll('.out a')].map((a) => a.getAttribute('href'))).to.deep.equal(['https://example.com/u/bob']);
      expect($(linked, '.out span.tag').textContent, 'an unsafe template is not linked').to.equal('#launch');
    });
  });

  describe('avatars', () => {
    it('shows an http(s) photo with the name as alt text, and initials for anything else', async () => {
      const photo = await rendered(avatar({ id: 'b', name: 'Bob', avatar: 'https://example.com/b.png' }, 'Bob'));
      expect($(photo, '.out img').getAttribute('alt')).to.equal('Bob');
      const local = await rendered(avatar({ id: 'd', name: 'Dana', avatar: '/avatars/dana.svg' }, 'Dana'));
      expect($(local, '.out img').getAttribute('src'), 'a path on the page’s own site').to.equal(new URL('/avatars/dana.svg', document.baseURI).href);
      for (const url of ['javascript:alert(1)', 'data:image/png;base64,AAAA', '" onerror="x', '//evil.example/x.png', 'avatars/x.png', undefined]) {
        const probe = await rendered(avatar({ id: 'c', name: 'carol "ann" Danvers', avatar: url } as never, 'carol "ann" Danvers'));
        expect(probe.shadowRoot!.querySelectorAll('.out img')).to.have.length(0);
        expect($(probe, '.out .av').textContent).to.equal('CA');
      }
    });
  });

  describe('localization and formatting', () => {
    afterEach(() => setPerchLocale('en'));

    it('re-renders in Simplified Chinese and Arabic from the lazily loaded catalogues', async () => {
      const probe = await mount<Probe>('perch-probe', {}, fakeClient('x'));
      expect($(probe, '.second').textContent).to.equal('Online');
      await setPerchLocale('zh-Hans');
      await probe.updateComplete;
      expect($(probe, '.second').textContent).to.equal('在线');
      expect($(probe, '.ago').textContent, 'the re-render formats times in the new locale').to.equal('5分钟前');
      await setPerchLocale('ar');
      await probe.updateComplete;
      expect($(probe, '.second').textContent).to.equal('متصل');
      expect($(probe, '.ago').textContent).to.match(/^قبل .* دقائق$/);
      expect(ago(Date.now() - 5 * 60_000), 'Intl follows the locale').to.match(/^قبل .* دقائق$/);
      await setPerchLocale('en');
      await probe.updateComplete;
      expect($(probe, '.second').textContent).to.equal('Online');
    });

    it('formats relative times and days with Intl', () => {
      const now = Date.UTC(2024, 5, 15, 12);
      expect(ago(now - 5 * 60_000, now)).to.equal('5 minutes ago');
      expect(ago(now - 2_000, now)).to.equal('2 seconds ago');
      expect(ago(now - 3 * 864e5, now)).to.equal('3 days ago');
      expect(ago(now - 3597_000, now), 'rounds before choosing the unit').to.equal('1 hour ago');
      expect(dayLabel(now, now)).to.equal('today');
      expect(dayLabel(now - 864e5, now)).to.equal('yesterday');
      expect(dayLabel(Date.UTC(2024, 0, 2, 12), now)).to.equal('Jan 2, 2024');
    });

    it('says "now", not "in 30 seconds", for a time ahead of the reader’s clock', () => {
      const now = Date.UTC(2024, 5, 15, 12);
      expect(ago(now + 30_000, now)).to.equal('now');
      expect(ago(now + 3 * 3600_000, now)).to.equal('now');
    });

    it('has a translation of every msg() text in both catalogues, and no stale entries', async () => {
      const files = [
        'format.ts',
        'status.ts',
        '../profile-card/profile-card.component.ts',
        '../status-box/status-box.component.ts',
        '../buddy-list/buddy-list.component.ts',
        '../chat-pane/chat-pane.component.ts',
        '../feed/feed.component.ts',
      ];
      const sources: string[] = [];
      for (const path of files) {
        const text = await readFile({ path });
        for (const match of text!.matchAll(/msg\((?:'((?:[^'\\]|\\.)*)'|str`((?:[^`\\]|\\.)*)`)/g)) {
          let index = 0;
          sources.push(match[1] ?? match[2]!.replace(/\$\{[^}]*\}/g, () => `\${${index++}}`));
        }
      }
      expect(sources.length).to.be.greaterThan(4);
      const unique = [...new Set(sources.map((s) => s.replace(/\\'/g, "'")))].sort();
      expect(Object.keys(zh).sort(), 'zh-Hans').to.deep.equal(unique);
      expect(Object.keys(ar).sort(), 'ar').to.deep.equal(unique);
    });
  });
});
