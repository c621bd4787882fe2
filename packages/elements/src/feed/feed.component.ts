import { msg, str } from '../internal/localize.js';
import { html, type TemplateResult } from 'lit';
import type { ConnectionStatus, FeedSource, Id, PerchClient, Post, ReadableStore } from '@perch/core';
import { ago, timeEl } from '../internal/format.js';
import { linkify } from '../internal/linkify.js';
import { avatar, findUser } from '../internal/people.js';
import { PerchElement } from '../internal/perch-element.js';
import { banner, problem } from '../internal/status.js';
import { StoreController } from '../internal/store-controller.js';
import { base } from '../internal/styles.js';
import { Ticker } from '../internal/ticker.js';
import { Virtualizer } from '../internal/virtualizer.js';
import { styles } from './feed.styles.js';

const time = (post: Post) => post.sentAt ?? post.createdAt;

/** The client's `post` events as a store (its value: the latest post), one per client. */
const postEvents = new WeakMap<PerchClient, ReadableStore<Post | undefined>>();
function livePosts(client: PerchClient): ReadableStore<Post | undefined> {
  let store = postEvents.get(client);
  if (!store) {
    let last: Post | undefined;
    postEvents.set(
      client,
      (store = {
        get: () => last,
        subscribe: (callback) => (callback(last), client.on('post', (post) => callback((last = post)))),
      }),
    );
  }
  return store;
}

/**
 * A timeline of status updates: yours and those you follow (`source="home"`), posts that mention
 * you (`mentions`), or one person's (`user:ID`). A WAI-ARIA feed: each post is an `article` with its position; Page Down / Page Up move
 * between posts; `aria-busy` while a page loads. New posts wait behind a "Show new posts" button
 * so nothing moves under the reader; older ones load as you scroll down. Text is linked safely,
 * times are relative and keep updating, posts can be liked and replied to, and a reply says whom
 * it answers ("Replying to Ada"). A page that fails to load says so, with Retry (the focus stays on
 * that line while it retries). Only the posts in view are rendered.
 *
 * @summary A timeline of status updates: home, mentions, or one person's.
 *
 * @csspart post - One post (`article`).
 * @csspart reply-to - The "Replying to …" line of a reply.
 * @csspart new-posts - The "Show new posts" button.
 * @csspart avatar - An author's photo or initials.
 * @csspart banner - The connection state line.
 * @csspart mention - A mention in a post, when `mention-href` is not set.
 * @csspart tag - A hashtag in a post, when `tag-href` is not set.
 *
 * @cssproperty --perch-height - The height when the page gives the element none (default 36em).
 */
export class PerchFeed extends PerchElement {
  static override styles = [base, styles];
  static override properties = { source: {}, mentionHref: { attribute: 'mention-href' }, tagHref: { attribute: 'tag-href' } };

  /** `home` (default), `mentions`, or `user:ID`. */
  declare source: string;
  /** URL template for mentions, `{}` standing for the name (`mention-href`); unset: no links. */
  declare mentionHref: string | undefined;
  /** URL template for hashtags, `{}` standing for the tag (`tag-href`); unset: no links. */
  declare tagHref: string | undefined;

  readonly #timeline = new StoreController(this, (client) => (this.#source().kind === 'home' ? client.timeline : undefined));
  readonly #status = new StoreController(this, (client) => client.status);
  readonly #live = new StoreController(this, livePosts);
  readonly #v = new Virtualizer(this, 120);
  /** Posts of other sources (pages and live ones), by clientId. */
  #known = new Map<string, Post>();
  #inputs: unknown[] = [];
  #posts: Post[] = [];
  #fresh = 0;
  #since: number | undefined;
  #loading = false;
  #complete = false;
  #error = '';
  #stalled: ConnectionStatus | undefined;
  #replying = '';

  constructor() {
    super();
    this.source = 'home';
    new Ticker(this);
    new StoreController(this, (client) => client.roster);
  }

  #source(): FeedSource {
    const source = this.source;
    return source === 'mentions' ? { kind: 'mentions' } : source?.startsWith('user:') ? { kind: 'user', userId: source.slice(5) } : { kind: 'home' };
  }

  protected override willUpdate(): void {
    const client = this.perch;
    const me = client?.user.get();
    const inputs = [client, this.source];
    if (inputs.some((input, i) => input !== this.#inputs[i])) {
      this.#inputs = inputs;
      this.#known = new Map();
      this.#since = undefined;
      this.#complete = false;
      this.#error = '';
    }
    const source = this.#source();
    const post = this.#live.value;
    if (post && source.kind !== 'home') {
      const mentioned = (name = '') => post.text.toLowerCase().includes(`@${name.toLowerCase()}`);
      if (this.#known.has(post.clientId) || (source.kind === 'user' ? post.authorId === source.userId : mentioned(me?.id) || mentioned(me?.name))) {
        this.#known.set(post.clientId, post);
      }
    }
    const all = source.kind === 'home' ? (this.#timeline.value ?? []) : [...this.#known.values()].sort((a, b) => time(b) - time(a));
    // At first everything shows; later arrivals from others wait behind the "new posts" button.
    this.#since ??= all.length ? Math.max(...all.map(time)) : undefined;
    // With #since undefined, `time(p) > undefined` is false: everything shows.
    this.#posts = all.filter((p) => !(time(p) > this.#since!) || p.authorId === me?.id || p.state !== 'sent');
    this.#fresh = all.length - this.#posts.length;
  }

  protected override render(): TemplateResult {
    const client = this.perch;
    const posts = this.#posts;
    const v = this.#v;
    v.window(posts.map((p) => p.clientId));
    const links = { mention: this.mentionHref, tag: this.tagHref };
    // The templates break lines only inside `${}`: whitespace between tags would be bytes shipped.
    const articles = posts.slice(v.start, v.end).map((post, i) => {
      i += v.start;
      const user = client && findUser(client, post.authorId, this);
      const name = user?.name || post.authorId;
      // Whom a reply answers: the backend says; a reply still queued finds its parent in the list.
      const to = post.replyToAuthorId || (post.replyTo && posts.find((p) => p.id === post.replyTo)?.authorId);
      const replying = this.#replying === post.clientId;
      return html`<article part="post" aria-posinset=${i + 1} aria-setsize=${this.#complete ? posts.length : -1} aria-labelledby="h${i}" aria-describedby="t${i}" tabindex=${
        v.tabIndex(i)
      }><header class="row" id="h${i}">${avatar(user, name)}<strong class="u">${name}</strong><span class="mu">${
        timeEl(time(post), ago(time(post)))
      }</span></header>${
        to && html`<p class="mu" part="reply-to">${msg(str`Replying to ${(client && findUser(client, to, this)?.name) || to}`)}</p>`
      }<p class="t u" id="t${i}" dir="auto">${linkify(post.text, links)}</p><footer class="row mu">${
        post.state === 'sent'
          ? html`<button aria-pressed=${!!post.liked} @click=${() => this.#like(post)}>${msg('Like')} ${post.likes || ''}</button><button aria-expanded=${
              replying
            } @click=${() => this.#reply(replying ? '' : post.clientId)}>${msg('Reply')} ${post.replies || ''}</button>`
          : post.state === 'failed'
            ? html`<span class="err">${msg('Not posted.')}</span> <button @click=${() => client?.retry(post.clientId)}>${msg('Retry')}</button>`
            : msg('Posting…')
      }</footer>${
        replying
          ? html`<div class="row"><textarea rows="2" aria-label=${msg(str`Reply to ${name}`)} @keydown=${(e: KeyboardEvent) =>
              e.key === 'Escape' ? this.#reply('') : e.key === 'Enter' && (e.ctrlKey || e.metaKey) && this.#send(post)}></textarea><button class="primary" @click=${
              () => this.#send(post)
            }>${msg('Send')}</button></div>`
          : ''
      }</article>`;
    });
    return html`<div class="f">${banner(this.#status.value)}${
      this.#fresh ? html`<button class="primary new" part="new-posts" @click=${this.#showNew}>${msg(str`Show new posts (${this.#fresh})`)}</button>` : ''
    }<div class="v"><div role=${articles.length || this.#loading ? 'feed' : 'group'} aria-label=${msg('Posts')} aria-busy=${this.#loading} @keydown=${(e: KeyboardEvent) => this.#v.move(e, { PageDown: 1, PageUp: -1 })}>${articles}</div></div><p class="end mu" role="status" tabindex="-1">${
      this.#loading
        ? msg('Loading posts…')
        : this.#error
          ? html`<span class="err">${this.#error}</span> <button @click=${this.#retry}>${msg('Retry')}</button>`
          : posts.length
            ? this.#complete
              ? msg('You are all caught up.')
              : ''
            : msg('No posts yet.')
    }</p></div>`;
  }

  protected override updated(): void {
    const client = this.perch;
    const status = this.#status.value;
    if (!client || this.#loading || this.#complete || this.#error || this.#stalled === status || !this.#v.near(true)) return;
    // The next (older) page, while the reader is near the end; offline, wait for the next status.
    const source = this.#source();
    const before = this.#posts.findLast((p) => p.id)?.id;
    const inputs = this.#inputs;
    this.#loading = true;
    queueMicrotask(() => this.requestUpdate());
    client
      .feed({ source, before })
      .then(
        (page) => {
          if (inputs !== this.#inputs) return;
          for (const post of page.posts) this.#known.set(post.clientId, post);
          this.#complete = page.complete;
        },
        (error: { code?: string }) => {
          if (error.code === 'unavailable') this.#stalled = status;
          else this.#error = problem(error);
        },
      )
      .finally(() => {
        this.#loading = false;
        this.requestUpdate();
      });
  }

  #showNew(): void {
    this.#since = undefined;
    // focusIndex() scrolls and asks for the render that shows them.
    void this.#v.focusIndex(0);
  }

  /**
   * The Retry button goes while the page loads: the focus stays on the line that held it, which
   * tells how the page went (with Retry again, one Tab away, if it failed again).
   */
  #retry(): void {
    this.#error = '';
    this.requestUpdate();
    this.renderRoot.querySelector<HTMLElement>('.end')!.focus();
  }

  async #like(post: Post): Promise<void> {
    try {
      const liked = await this.perch!.like(post.id!, !post.liked);
      if (this.#known.has(liked.clientId)) this.#known.set(liked.clientId, liked);
    } catch (error) {
      this.#error = problem(error);
    }
    this.requestUpdate();
  }

  #reply(clientId: Id): void {
    this.#replying = clientId;
    this.requestUpdate();
    void this.updateComplete.then(() => this.renderRoot.querySelector('textarea')?.focus());
  }

  #send(post: Post): void {
    const text = this.renderRoot.querySelector('textarea')!.value;
    try {
      if (text.trim()) this.perch!.post(text, { replyTo: post.id! });
      this.#reply('');
    } catch (error) {
      this.#error = problem(error);
      this.requestUpdate();
    }
  }
}
