import type { FastifyServerOptions } from 'fastify';
import { createRequire } from 'node:module';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>;
/** What @fastify/ajv-compiler and @fastify/fast-json-stringify-compiler export, called: a compiler builder. */
type Build = (...args: unknown[]) => unknown;

const requireFromFastify = () => createRequire(createRequire(import.meta.url).resolve('fastify'));

/**
 * Fastify builds its JSON-schema validator and serializer compilers (ajv, fast-json-stringify)
 * when the instance is made, about a third of its load. The health routes have no schemas; only
 * the admin API's do. These factories load the same compilers fastify would, from fastify's own
 * dependencies, the first time a route with a schema is compiled.
 */
export function lazySchemaCompilers(): CompilersFactory {
  let validator: Build | undefined;
  let serializer: Build | undefined;
  const buildValidator = (...args: unknown[]) => (validator ??= (requireFromFastify()('@fastify/ajv-compiler') as () => Build)())(...args);
  const buildSerializer = (...args: unknown[]) =>
    (serializer ??= (requireFromFastify()('@fastify/fast-json-stringify-compiler') as () => Build)())(...args);
  return { buildValidator: buildValidator as ValidatorFactory, buildSerializer: buildSerializer as SerializerFactory };
}
