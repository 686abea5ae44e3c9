import { createRequire } from "node:module";
import type { ValidatorFactory } from "@fastify/ajv-compiler";
import type { SerializerFactory } from "@fastify/fast-json-stringify-compiler";
import type { FastifyInstance } from "fastify";

type ValidatorCompiler = ReturnType<ValidatorFactory>;
type Validate = ReturnType<ValidatorCompiler>;
type SerializerCompiler = ReturnType<SerializerFactory>;

const deferred = new WeakMap<FastifyInstance, () => number>();

/**
 * Fastify's own compilers (Ajv for requests, fast-json-stringify for responses), each route's
 * schemas compiled on the route's first request instead of at start. Compiling ~100 routes' schemas
 * was ~40% of building the app (issue 14: first answer under a second), and most processes never
 * see most routes (admin, passkeys, federation...), whose compiled code would only take memory.
 * Validation is unchanged: the same compiler, options and schema answer every request; only the
 * moment moves (about a millisecond on a route's first request, and the Ajv instance itself,
 * ~30 ms, on the first request that has a body, query or params to check).
 *
 * A schema that does not compile therefore fails its route's first request (500), not the start:
 * `compileDeferredSchemas(app)` compiles every one, and a test runs it on the whole app.
 */
export function deferredSchemaCompilers(): {
  compilersFactory: { buildValidator: ValidatorFactory; buildSerializer: SerializerFactory };
  /** Lets `compileDeferredSchemas(app)` find these compilers' schemas. */
  attachTo(app: FastifyInstance): void;
} {
  const pending = new Set<() => void>();
  const defer = <T>(compile: () => T): (() => T) => {
    let compiled: T | undefined;
    const get = () => {
      if (compiled === undefined) {
        compiled = compile();
        pending.delete(get);
      }
      return compiled;
    };
    pending.add(get);
    return get;
  };
  const require = createRequire(import.meta.url);

  const buildValidator: ValidatorFactory = (externalSchemas, ajvOptions) => {
    const compiler = defer((): ValidatorCompiler =>
      (require("@fastify/ajv-compiler") as () => ValidatorFactory)()(externalSchemas, ajvOptions),
    );
    return (route) => {
      // With a compilers factory of its own, Fastify no longer lower-cases header schemas for
      // us; Node lower-cases every received header name, so a capital here would never match.
      if (route.httpPart === "headers") assertLowerCaseHeaders(route.schema, `${route.method} ${route.url}`);
      return deferredValidator(defer(() => compiler()(route)));
    };
  };

  const buildSerializer: SerializerFactory = (externalSchemas, serializerOptions) => {
    const compiler = defer((): SerializerCompiler =>
      (
        require("@fastify/fast-json-stringify-compiler") as { SerializerSelector: () => SerializerFactory }
      ).SerializerSelector()(externalSchemas, serializerOptions),
    );
    return (route) => {
      const serialize = defer(() => compiler()(route));
      return (doc: unknown) => serialize()(doc);
    };
  };

  return {
    compilersFactory: { buildValidator, buildSerializer },
    attachTo: (app) =>
      deferred.set(app, () => {
        const left = [...pending];
        for (const compile of left) compile();
        return left.length;
      }),
  };
}

/**
 * A function Fastify can call as the Ajv validator itself: it reads `schemaEnv` (to pass the
 * parent object, as Ajv wants for a root value) and, after a failure, `errors`.
 */
function deferredValidator(compiled: () => Validate): Validate {
  const validate = ((...args: Parameters<Validate>) => compiled()(...args)) as Validate;
  Object.defineProperty(validate, "schemaEnv", { get: () => (compiled() as { schemaEnv?: unknown }).schemaEnv });
  Object.defineProperty(validate, "errors", { get: () => (compiled() as { errors?: unknown }).errors });
  return validate;
}

function assertLowerCaseHeaders(schema: unknown, route: string): void {
  const properties = (schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const required = (schema as { required?: string[] } | undefined)?.required ?? [];
  for (const name of [...Object.keys(properties), ...required])
    if (name !== name.toLowerCase()) throw new Error(`${route}: header schema names "${name}": use lower case`);
}

/** Compiles every schema of `app` not compiled yet and says how many; throws what a broken schema throws. */
export function compileDeferredSchemas(app: FastifyInstance): number {
  return deferred.get(app)?.() ?? 0;
}
