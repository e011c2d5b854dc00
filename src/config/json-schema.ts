// deploy/lvsd.schema.json is emitted from the same declarations that validate lvsd.yaml.
import { lvsdConfigSchema } from './model.js';

export function emitJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'lvsd.yaml',
    ...lvsdConfigSchema.jsonSchema(),
  };
}

export function jsonSchemaText(): string {
  return `${JSON.stringify(emitJsonSchema(), null, 2)}\n`;
}
