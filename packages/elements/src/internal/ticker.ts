import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Re-renders the host at every turn of the minute while it is connected (local times, "5
 * minutes ago").
 */
export class Ticker implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {
    this.#timer = setTimeout(() => {
      this.#host.requestUpdate();
      this.hostConnected();
    }, 60_000 - (Date.now() % 60_000));
  }

  hostDisconnected(): void {
    clearTimeout(this.#timer);
  }
}
