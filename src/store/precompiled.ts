import { CompiledQuery, type Compilable, type DialectAdapter, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Stands in for the parameter at `index` while the query is compiled once. */
class Placeholder {
  constructor(readonly index: number) {}
}

interface Template {
  sql: string;
  /** For each bound parameter: the caller's parameter index, or a constant of the query. */
  parameters: (Placeholder | unknown)[];
}

/**
 * A query of fixed shape that Kysely builds and compiles once per SQL dialect; each run binds
 * new parameters to the compiled SQL. Building and compiling a query costs more than running
 * a small statement on SQLite, so the hottest statements of the delivery path skip it.
 *
 * `build` receives one placeholder per parameter and must use each as a value of the query,
 * never to choose its shape. A value that changes the SQL text, such as the length of a
 * list, needs a query of its own.
 */
export class Precompiled<Row, Parameters extends unknown[]> {
  private readonly templates = new WeakMap<DialectAdapter, Template>();

  constructor(
    private readonly parameterCount: Parameters['length'],
    private readonly build: (db: Kysely<Database>, ...parameters: Parameters) => Compilable<Row>,
  ) {}

  /** Runs the query through `db`, which may be a transaction, and returns its result. */
  async execute(db: Kysely<Database>, ...parameters: Parameters): Promise<{ rows: Row[]; numAffectedRows?: bigint }> {
    const template = this.template(db);
    const bound = template.parameters.map((value) => (value instanceof Placeholder ? parameters[value.index] : value));
    return db.executeQuery<Row>(CompiledQuery.raw(template.sql, bound) as CompiledQuery<Row>);
  }

  private template(db: Kysely<Database>): Template {
    const adapter = db.getExecutor().adapter;
    let template = this.templates.get(adapter);
    if (template === undefined) {
      const placeholders = Array.from({ length: this.parameterCount }, (_, index) => new Placeholder(index)) as unknown as Parameters;
      const compiled = this.build(db, ...placeholders).compile();
      const used = new Set(compiled.parameters.filter((value) => value instanceof Placeholder).map((value) => value.index));
      if (used.size !== this.parameterCount) {
        throw new Error(`A precompiled query used ${used.size} of its ${this.parameterCount} parameters: ${compiled.sql}`);
      }
      template = { sql: compiled.sql, parameters: [...compiled.parameters] };
      this.templates.set(adapter, template);
    }
    return template;
  }
}
