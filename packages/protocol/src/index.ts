export type {
  Contact,
  Conversation,
  Cursor,
  FeedSource,
  Id,
  Message,
  MessageState,
  Post,
  Presence,
  PresenceShow,
  Timestamp,
  User,
} from './model.js';
export { checkCharacters, cleanLine, visitorName } from './characters.js';
export type { ErrorCode } from './errors.js';
export { ERROR_CODES, isTransient } from './errors.js';
export { timeOrderedId } from './ids.js';
export { mentions } from './mentions.js';
export type { Validated } from './validate.js';
export {
  MAX_ID_LENGTH,
  MAX_STATUS_LENGTH,
  MAX_TEXT_LENGTH,
  isCount,
  isId,
  isPresenceShow,
  isRecord,
  validateMessage,
  validatePost,
  validatePresence,
  validateStatus,
  validateText,
  validateUser,
} from './validate.js';
export type { ClientFrame, CommandName, Commands, EventName, Events, HelloAuth, ServerFrame, ServerInfo, WelcomeSession } from './frames.js';
export {
  CLOSE,
  COMMAND_ARGS,
  HELLO_TIMEOUT_MS,
  MAX_DEPTH,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  checkText,
  parseFrame,
  validateClientFrame,
  validateServerFrame,
} from './frames.js';
