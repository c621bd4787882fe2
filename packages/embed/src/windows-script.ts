// perch.windows.js: the chat windows, loaded by perch.js the first time a chat opens in one.
// It brings only the class factory; perch.js supplies Lit and the Perch base element.
import { chatWindowsClass } from './chat-windows.js';
import { deliver } from './scripts.js';

deliver(chatWindowsClass);
