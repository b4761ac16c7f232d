/**
 * A small typed event emitter with the part of Node's EventEmitter API the client's handles
 * use (`on`, `once`, `off`, `emit`, ...), so that the same classes run in Node and in
 * browsers (no `node:events`). `Events` maps each event name to its listener's arguments.
 * Unlike Node's, an `error` event without a listener does not throw: the client emits none.
 */
export class TypedEmitter<Events extends Record<string, unknown[]>> {
  private readonly listeners = new Map<keyof Events, { fn: unknown; once: boolean }[]>();

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    return this.add(event, listener, false);
  }

  addListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    return this.add(event, listener, false);
  }

  once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    return this.add(event, listener, true);
  }

  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const i = list.findIndex((l) => l.fn === listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  removeListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.listeners.clear();
    else this.listeners.delete(event);
    return this;
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners in the order they were added; returns whether there were any. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return false;
    for (const l of [...list]) {
      if (l.once) {
        const i = list.indexOf(l);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.listeners.delete(event);
      }
      (l.fn as (...a: Events[E]) => void)(...args);
    }
    return true;
  }

  private add<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void, once: boolean): this {
    let list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, (list = []));
    list.push({ fn: listener, once });
    return this;
  }
}
