/** True only when X and Y are the same type (not merely assignable either way). */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

/** Compiles only when its type argument is `true`: `expectType<Equal<A, B>>()`. */
export function expectType<T extends true>(): T | void {}
