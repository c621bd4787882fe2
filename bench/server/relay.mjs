// The baseline of `npm run bench:server`: a bare `ws` relay doing the same delivery as Perch
// (client i's frame goes to client i^1) with no storage, no validation, no authorisation. Its
// clients are load.mjs's, the same hand-rolled ones that drive Perch.
//   node bench/server/relay.mjs   → prints {"port":N}
import { WebSocketServer } from 'ws';

const sockets = new Map();
const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false }, () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
server.on('connection', (ws, req) => {
  const id = Number(new URL(req.url, 'http://x').searchParams.get('id'));
  sockets.set(id, ws);
  ws.on('message', (data) => {
    const frame = JSON.parse(data);
    sockets.get(frame.to)?.send(JSON.stringify({ from: id, t: frame.t }));
  });
  ws.on('close', () => sockets.delete(id));
});
