// @perch/embed as a module: the pieces of the script-tag bundle, for pages and tests that install
// it themselves. `dist/perch.js` (from ./perch.ts) is the one-tag build.
export type { EmbedParts, PerchApi, PerchEventName, PerchEvents } from './api.js';
export { installPerch, VERSION } from './api.js';
export type { ChatTarget, PerchChatWindows, WindowsRuntime } from './chat-windows.js';
export { chatWindowsClass } from './chat-windows.js';
export { deliver, loadPerchScript, SCRIPT_EVENT } from './scripts.js';
export type { EmbedOptions } from './config.js';
export { checkOptions, ConfigError, readScriptTag } from './config.js';
export type { Unread } from './session.js';
export { authOf, clientFor, fetchToken, Session } from './session.js';
