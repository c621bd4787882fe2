import { define } from '../internal/register.js';
import { PerchProvider } from './provider.component.js';

define('perch-provider', PerchProvider);

declare global {
  interface HTMLElementTagNameMap {
    'perch-provider': PerchProvider;
  }
}
