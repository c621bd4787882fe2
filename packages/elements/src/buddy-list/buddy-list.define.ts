import '../provider/provider.define.js';
import { define } from '../internal/register.js';
import { PerchBuddyList } from './buddy-list.component.js';

define('perch-buddy-list', PerchBuddyList);

declare global {
  interface HTMLElementTagNameMap {
    'perch-buddy-list': PerchBuddyList;
  }
}
