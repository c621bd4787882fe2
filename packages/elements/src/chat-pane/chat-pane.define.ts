import '../provider/provider.define.js';
import { define } from '../internal/register.js';
import { PerchChatPane } from './chat-pane.component.js';

define('perch-chat-pane', PerchChatPane);

declare global {
  interface HTMLElementTagNameMap {
    'perch-chat-pane': PerchChatPane;
  }
}
