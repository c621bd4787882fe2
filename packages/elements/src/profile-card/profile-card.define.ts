import '../provider/provider.define.js';
import { define } from '../internal/register.js';
import { PerchProfileCard } from './profile-card.component.js';

define('perch-profile-card', PerchProfileCard);

declare global {
  interface HTMLElementTagNameMap {
    'perch-profile-card': PerchProfileCard;
  }
}
