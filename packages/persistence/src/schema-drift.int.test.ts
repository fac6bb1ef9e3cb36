// schema.prisma and the migration SQL are written by hand, side by side: this test keeps them from
// drifting apart. Every scalar field of every Prisma model must have its column, with the type and
// nullability Prisma expects, in a database migrated by `migrate()`; and every enum its values.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import internals from '@prisma/internals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useTestDatabase } from './testing/index.js';

const schemaPath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'prisma',
  'schema.prisma',
);

/** The PostgreSQL type Prisma maps a field to (its default, or the @db native type). */
function expectedType(
  type: string,
  nativeType: readonly unknown[] | null | undefined,
  enums: Map<string, string>,
): string {
  const native = nativeType?.[0];
  if (native === 'Uuid') return 'uuid';
  if (native === 'Timestamptz') return 'timestamp with time zone';
  if (typeof native === 'string') throw new Error(`add native type ${native} to the drift test`);
  const enumDb = enums.get(type);
  if (enumDb) return `USER-DEFINED:${enumDb}`;
  const defaults: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Boolean: 'boolean',
    Json: 'jsonb',
    DateTime: 'timestamp without time zone',
    Float: 'double precision',
    Bytes: 'bytea',
  };
  const mapped = defaults[type];
  if (!mapped) throw new Error(`add Prisma type ${type} to the drift test`);
  return mapped;
}

const t = useTestDatabase({ beforeAll, afterAll }, { poolSize: 1 });

describe('schema.prisma against the migrated database', () => {
  it('has every model field as a column of the right type and nullability, and every enum value', async () => {
    const dmmf = await internals.getDMMF({ datamodel: readFileSync(schemaPath, 'utf8') });
    const enums = new Map(dmmf.datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
    const { rows } = await t.db.pool.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      udt_name: string;
      is_nullable: 'YES' | 'NO';
    }>(`SELECT table_name, column_name, data_type, udt_name, is_nullable
          FROM information_schema.columns WHERE table_schema = 'public'`);
    const columns = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]));

    const expected: string[] = [];
    const actual: string[] = [];
    for (const model of dmmf.datamodel.models) {
      const table = model.dbName ?? model.name;
      for (const field of model.fields.filter((f) => f.kind !== 'object')) {
        const column = field.dbName ?? field.name;
        const type = expectedType(field.type, field.nativeType, enums);
        expected.push(`${table}.${column} ${type} ${field.isRequired ? 'NOT NULL' : 'NULL'}`);
        const found = columns.get(`${table}.${column}`);
        actual.push(
          found
            ? `${table}.${column} ${found.data_type === 'USER-DEFINED' ? `USER-DEFINED:${found.udt_name}` : found.data_type} ${found.is_nullable === 'NO' ? 'NOT NULL' : 'NULL'}`
            : `${table}.${column} missing`,
        );
      }
    }
    expect(actual).toEqual(expected);

    for (const e of dmmf.datamodel.enums) {
      const values = await t.db.pool.query<{ v: string }>(
        `SELECT unnest(enum_range(NULL::"${e.dbName ?? e.name}"))::text AS v`,
      );
      expect(values.rows.map((r) => r.v)).toEqual(e.values.map((v) => v.dbName ?? v.name));
    }
  });

  it('has no column in the tables of the models that schema.prisma does not know', async () => {
    const dmmf = await internals.getDMMF({ datamodel: readFileSync(schemaPath, 'utf8') });
    const known = new Set(
      dmmf.datamodel.models.flatMap((m) =>
        m.fields
          .filter((f) => f.kind !== 'object')
          .map((f) => `${m.dbName ?? m.name}.${f.dbName ?? f.name}`),
      ),
    );
    const tables = dmmf.datamodel.models.map((m) => m.dbName ?? m.name);
    const { rows } = await t.db.pool.query<{ c: string }>(
      `SELECT table_name || '.' || column_name AS c FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ANY($1)`,
      [tables],
    );
    expect(rows.map((r) => r.c).filter((c) => !known.has(c))).toEqual([]);
  });
});
