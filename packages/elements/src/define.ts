// Registers every Perch element. The provider comes first, so a component's context request
// always finds it (see provider/provider.define.ts).
import './provider/provider.define.js';
import './profile-card/profile-card.define.js';
import './status-box/status-box.define.js';
import './buddy-list/buddy-list.define.js';
import './chat-pane/chat-pane.define.js';
import './feed/feed.define.js';
