export type { WebSocketBackendOptions } from './ws-backend.js';
export { ASSUMED_CAPABILITIES, websocketBackend } from './ws-backend.js';
export type { SocketConstructor, SocketLike } from './socket.js';
export { codeForClose } from './close-codes.js';
