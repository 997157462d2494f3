// What the compiler knows of nodes and flows. Nothing here exists at run time: these types let `dependsOn`, a
// flow's nodes and a workflow's `run`/`resume` be checked without annotations.
import type { Node } from './node.js';

/** A dependency as `dependsOn` takes it: the node itself (typed), or its id (input typed by your annotation). */
export type NodeRef = Node<any, any, string, string> | string;

/**
 * Human answers a node may wait for, by nodePath (relative to the node's parent): `{ approve: { ok: boolean } }` for
 * a `HumanInput` with id `approve`. `{}`: the node never asks. `OpenAnswers`: it may ask anywhere (a custom node).
 */
export type AnswerMap = Record<string, unknown>;
/** The answers of a node whose questions the compiler cannot list (custom nodes, agents): any path, any value. */
export type OpenAnswers = { [nodePath: string]: unknown };

/** Type-level facts about a node (read through `InputOf`, `OutputOf`, `AnswersOf`); never set at run time. */
export interface NodeTypes<I, O, A extends AnswerMap> {
  readonly input: I;
  readonly output: O;
  readonly answers: A;
  /** True when the node may be skipped (`when`, `branch`): it then gives its dependents `undefined`. */
  readonly skippable: boolean;
}

/** A node's input type. */
export type InputOf<N> = N extends { readonly '~types'?: NodeTypes<infer I, any, any> } ? I : unknown;
/** A node's output type (for a `Flow`, see `FlowOutput`). */
export type OutputOf<N> = N extends { readonly '~types'?: NodeTypes<any, infer O, any> } ? O : unknown;
/** The human answers a node may wait for, keyed by nodePath. */
export type AnswersOf<N> = N extends { readonly '~types'?: NodeTypes<any, any, infer A> } ? A : OpenAnswers;
/** A node's id as a type (`'draft'`), or `string` when it was not a literal. */
export type IdOf<N> = N extends string ? N : N extends { readonly id: infer Id extends string } ? Id : never;

/** A node created with `when` or `branch`: it may be skipped, and then gives its dependents `undefined`. */
export interface Skippable {
  readonly '~types'?: { readonly skippable: true };
}

/** What a dependency puts in a record input: its output, or `undefined` when it may have been skipped. */
type Delivered<R> = R extends Skippable ? OutputOf<R> | undefined : OutputOf<R>;

/**
 * The input of a node that depends on `D`, as the engine passes it: the run's input without dependencies (typed by
 * your annotation `I`), the dependency's output with one, `{ [id]: output }` with several. A dependency named by
 * id (a string) or a list that is not a tuple says nothing of its type: your annotation `I` decides.
 */
export type NodeInput<D extends readonly NodeRef[], I> = number extends D['length']
  ? I
  : D extends readonly []
    ? I
    : Extract<D[number], string> extends never
      ? D extends readonly [infer Only]
        ? OutputOf<Only>
        : { [R in D[number] as IdOf<R>]: Delivered<R> }
      : I;

/** The ids a node depends on (`string` when they are not known to the compiler). */
export type DepIds<D extends readonly NodeRef[]> = number extends D['length'] ? string : IdOf<D[number]>;

type UnionToIntersection<U> = (U extends unknown ? (arg: U) => void : never) extends (arg: infer X) => void ? X : never;
type IsAny<T> = 0 extends 1 & T ? true : false;

/** The ids of the nodes a node depends on, as the compiler knows them (`string`: not known). */
type DepsOf<N> = N extends { readonly dependsOn: ReadonlyArray<infer Deps> } ? Deps : string;

/** Nodes of `N` that depend on none: they receive the run's input. */
type Roots<N> = N extends unknown ? ([DepsOf<N>] extends [never] ? N : never) : never;

/**
 * What a flow made of the nodes `N` takes as input: every node without dependencies receives it, so it must satisfy
 * all of their inputs. A root whose input is not typed (`any`) adds nothing. `any` when the compiler cannot tell
 * which nodes are roots (nodes whose dependencies it does not know, as in the plain `Flow` type).
 */
export type FlowInput<N> = [Roots<N>] extends [never] ? any : RootInputs<Roots<N>> extends (arg: infer X) => void ? X : never;
/** One function per root: inferring their common argument intersects the inputs (a union would collapse into `unknown`). */
type RootInputs<R> = R extends unknown ? (arg: IsAny<InputOf<R>> extends true ? unknown : InputOf<R>) => void : never;

/**
 * A flow's output, as `Flow.outputOf` builds it: the single sink's output (a node no other depends on), or
 * `{ [sinkId]: output }` with several. `unknown` when the compiler cannot tell which nodes are sinks.
 */
export type FlowOutput<N> = OutputOfSinks<Sinks<N, DepsOf<N>>>;
/** None when some node's dependencies are not known to the compiler. */
type Sinks<N, AllDeps> = string extends AllDeps ? never : N extends unknown ? (IdOf<N> extends AllDeps ? never : N) : never;
type OutputOfSinks<S> = [S] extends [never]
  ? unknown
  : IsUnion<S> extends true
    ? string extends IdOf<S>
      ? unknown
      : Simplify<{ [R in S as IdOf<R>]: Delivered<R> }>
    : Delivered<S>;
/** One object type instead of a mapped one, so editors show `{ b: number }`. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/** The human answers a flow made of the nodes `N` may wait for, by nodePath. */
export type FlowAnswers<N> = [N] extends [never] ? {} : MergeAnswers<N extends unknown ? AnswersOf<N> : never>;

/** One answer map from a union of them (a flow's nodes', a graph's states'). */
export type MergeAnswers<U> = Extract<UnionToIntersection<U>, AnswerMap>;

/** `N`'s answers with its own id replaced by `name` (`check` run as graph state `review` asks at `review`). */
export type RenamedAnswers<N, Name extends string> = string extends keyof AnswersOf<N>
  ? OpenAnswers
  : { [K in keyof AnswersOf<N> as K extends `${IdOf<N>}${infer Rest}` ? `${Name}${Rest}` : never]: AnswersOf<N>[K] };

/** `A`'s paths below `prefix` (`outer/approve` for a subflow `outer`). */
export type PrefixAnswers<Prefix extends string, A> = { [K in keyof A as K extends string ? `${Prefix}${K}` : never]: A[K] };

/** One answer to the question at `nodePath`, as `HumanInput.answer()` makes it and `resume({ answers })` takes it. */
export interface HumanAnswer<P extends string = string, V = unknown> {
  nodePath: P;
  value: V;
  /** Binds the answer to this question (see `ResumeOptions.requestIds`). */
  requestId?: string;
}

/** An answer to any question of the answer map `A`. */
export type AnswerTo<A> = string extends keyof A
  ? HumanAnswer
  : { [P in keyof A & string]: HumanAnswer<P, A[P]> }[keyof A & string];

/**
 * Type-level facts about a flow (or what a workflow is built on), never set at run time. `input` is a function's
 * parameter so an explicit `Workflow<Input>` must give the flow what it takes; `output` is a method's parameter
 * (compared both ways) so `new Workflow<Input, Output>({ flow })` keeps compiling for flows the compiler knows
 * nothing of.
 */
export interface FlowTypes<I, O, A extends AnswerMap> {
  readonly input: (input: I) => void;
  output(output: O): void;
  readonly answers: A;
}
