/**
 * The value `make` returns, made at the first call and kept. For what is costly to make and not
 * always needed: a module's zod schemas built at their first parse (each schema costs tens of
 * microseconds to build; a command that loads hundreds and parses a few pays for all of them).
 */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
