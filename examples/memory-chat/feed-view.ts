import { PerchError, type Id, type PerchClient, type Post, type User } from '@perch/core';
import { el, linkified, replaceChildren, timeElement, type Cleanup, type View } from './element.js';

/** The status box ("What's happening?") and the home timeline with likes. */
export function feedView(client: PerchClient, me: User, idPrefix: string): View {
  const input = el('textarea', { id: `${idPrefix}-status-box`, name: 'post', rows: 2, placeholder: "What's happening?" });
  const notice = el('p', { class: 'notice', role: 'alert' });
  const form = el(
    'form',
    { class: 'status-box' },
    el('label', { for: input.id, class: 'visually-hidden' }, 'Post a status update'),
    input,
    el('button', { type: 'submit' }, 'Post'),
  );
  const timeline = el('ol', { class: 'timeline', 'aria-label': 'Home timeline' });
  const element = el(
    'section',
    { class: 'card feed', 'aria-labelledby': `${idPrefix}-feed-title` },
    el('h3', { id: `${idPrefix}-feed-title` }, 'Feed'),
    form,
    notice,
    timeline,
  );

  const names = new Map<Id, string>([[me.id, me.name]]);
  const cleanups: Cleanup[] = [];
  let posts: Post[] = [];

  const render = () => {
    replaceChildren(timeline, posts.length ? posts.map(item) : [el('li', { class: 'empty' }, 'Nothing in your feed yet.')]);
  };

  const item = (post: Post): HTMLLIElement => {
    const author = names.get(post.authorId) ?? post.authorId;
    const footer = el('footer', { class: 'post-actions' });
    if (post.state === 'sent' && post.id) {
      const postId = post.id;
      const like = el(
        'button',
        { type: 'button', class: 'like', 'aria-pressed': String(!!post.liked), 'aria-label': `Like (${post.likes})` },
        `♥ ${post.likes}`,
      );
      like.addEventListener('click', () => {
        like.disabled = true;
        client.like(postId, !post.liked).catch((error: unknown) => show(error));
      });
      footer.append(like);
    } else if (post.state === 'pending') {
      footer.append(el('span', { class: 'state' }, 'Posting…'));
    } else {
      const retry = el('button', { type: 'button', class: 'link' }, 'Retry');
      retry.addEventListener('click', () => client.retry(post.clientId));
      footer.append(el('span', { class: 'failure' }, post.error?.message ?? 'Not posted.', ' ', retry));
    }
    return el(
      'li',
      { 'data-state': post.state },
      el(
        'article',
        { class: 'post', 'aria-label': `${author}: ${post.text.slice(0, 60)}` },
        el('header', {}, el('span', { class: 'author' }, author), ' ', timeElement(post.sentAt ?? post.createdAt)),
        el('p', { class: 'text' }, linkified(post.text)),
        footer,
      ),
    );
  };

  const show = (error: unknown) => {
    notice.textContent = error instanceof PerchError ? error.message : String(error);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim() === '') return;
    try {
      client.post(input.value);
      input.value = '';
      notice.textContent = '';
    } catch (error) {
      show(error);
    }
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });

  cleanups.push(
    client.roster.subscribe((roster) => {
      for (const entry of roster) names.set(entry.user.id, entry.user.name);
      render();
    }),
    client.timeline.subscribe((value) => {
      posts = value;
      render();
    }),
  );
  return { element, destroy: () => cleanups.splice(0).forEach((stop) => stop()) };
}
