import '../provider/provider.define.js';
import { define } from '../internal/register.js';
import { PerchFeed } from './feed.component.js';

define('perch-feed', PerchFeed);

declare global {
  interface HTMLElementTagNameMap {
    'perch-feed': PerchFeed;
  }
}
