/**
 * A value built on first use and kept for the life of the container: how every function builds its clients and
 * context, so that importing a handler module has no side effects and a warm invocation builds nothing.
 *
 * @example
 * const context = once(() => createApiContext());
 * context(); // built now
 * context(); // the same object
 */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
