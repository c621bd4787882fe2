import '../provider/provider.define.js';
import { define } from '../internal/register.js';
import { PerchStatusBox } from './status-box.component.js';

define('perch-status-box', PerchStatusBox);

declare global {
  interface HTMLElementTagNameMap {
    'perch-status-box': PerchStatusBox;
  }
}
