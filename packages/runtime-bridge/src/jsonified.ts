/**
 * What a value of type `T` becomes on the wire: the runtime sends JSON (see json.ts), so a Date arrives as its ISO
 * string, a BigInt or bytes as a string, an Error as `{ name, message, code? }`, a Map as an object, a Set as an array,
 * and functions and symbols not at all. Types only: nothing here exists at run time.
 */
export type Jsonified<T> =
  IsAny<T> extends true
    ? any
    : T extends string | number | boolean | null | undefined
      ? T
      : T extends bigint | Date | Uint8Array
        ? string
        : T extends Error
          ? { name: string; message: string; code?: string }
          : T extends ((...args: any[]) => unknown) | symbol
            ? never
            : T extends ReadonlyMap<unknown, infer V>
              ? Record<string, Jsonified<V>>
              : T extends ReadonlySet<infer V>
                ? Array<Jsonified<V>>
                : T extends readonly unknown[]
                  ? { [K in keyof T]: Jsonified<T[K]> }
                  : T extends object
                    ? { [K in keyof T as T[K] extends ((...args: any[]) => unknown) | symbol ? never : K]: Jsonified<T[K]> }
                    : T;

type IsAny<T> = 0 extends 1 & T ? true : false;
