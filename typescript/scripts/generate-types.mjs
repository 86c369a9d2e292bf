// Writes src/snapshotTypes.ts, the TypeScript types of a snapshot document, from the one source
// of the format: schemas/snapshot.schema.json. `npm run types` rewrites it; a test regenerates it
// in memory and fails while the checked-in file differs, so the two cannot drift.
//
// It handles the JSON Schema that the snapshot schema uses: objects (properties, required,
// additionalProperties, patternProperties), arrays, enums, consts, type lists, local $refs, allOf.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const SCHEMA = join(HERE, "..", "..", "schemas", "snapshot.schema.json");
export const OUTPUT = join(HERE, "..", "src", "snapshotTypes.ts");

const PRIMITIVES = { string: "string", integer: "number", number: "number", boolean: "boolean", null: "null" };

function typeName(definition) {
  return "Snapshot" + definition.split(/[_-]/).map((part) => part[0].toUpperCase() + part.slice(1)).join("");
}

function comment(text, indent) {
  if (!text) {
    return "";
  }
  const lines = text.replace(/\*\//g, "*\\/").split("\n");
  return lines.length === 1 && lines[0].length < 100
    ? `${indent}/** ${lines[0]} */\n`
    : `${indent}/**\n${lines.map((line) => `${indent} * ${line}`).join("\n")}\n${indent} */\n`;
}

function literal(value) {
  return JSON.stringify(value);
}

function render(schema, indent) {
  if (schema.$ref) {
    const prefix = "#/$defs/";
    if (!schema.$ref.startsWith(prefix)) {
      throw new Error(`only local $refs are supported, not ${schema.$ref}`);
    }
    return typeName(schema.$ref.slice(prefix.length));
  }
  if (schema.allOf) {
    const parts = [];
    for (const part of schema.allOf) {
      if (Object.keys(part).length === 1 && part.required && parts.length > 0) {
        // `{"required": [...]}` after a type: those of its keys become required.
        const type = parts.pop();
        parts.push(`${type} & Required<Pick<${type}, ${part.required.map(literal).join(" | ")}>>`);
        continue;
      }
      parts.push(render(part, indent));
    }
    return parts.join(" & ");
  }
  if ("const" in schema) {
    return literal(schema.const);
  }
  if (schema.enum) {
    return schema.enum.map(literal).join(" | ");
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0) {
    return schema.properties || schema.additionalProperties !== undefined ? object(schema, indent) : "unknown";
  }
  return types.map((type) => {
    if (type === "object") {
      return object(schema, indent);
    }
    if (type === "array") {
      const item = schema.items ? render(schema.items, indent) : "unknown";
      return /[ |&]/.test(item) ? `(${item})[]` : `${item}[]`;
    }
    if (!(type in PRIMITIVES)) {
      throw new Error(`unsupported type ${type}`);
    }
    return PRIMITIVES[type];
  }).join(" | ");
}

function object(schema, indent) {
  const inner = indent + "  ";
  const required = new Set(schema.required ?? []);
  const members = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const key = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : literal(name);
    members.push(`${comment(property.description, inner)}${inner}${key}${required.has(name) ? "" : "?"}: ${render(property, inner)};`);
  }
  for (const [pattern, property] of Object.entries(schema.patternProperties ?? {})) {
    if (pattern !== "^x-") {
      throw new Error(`unsupported pattern ${pattern}`);
    }
    members.push(`${comment(property.description, inner)}${inner}[key: \`x-\${string}\`]: ${render(property, inner)};`);
  }
  const extra = schema.additionalProperties;
  if (extra !== false) {
    // A key the schema does not name: what it says of such keys, or anything (a newer minor
    // version may add fields, which readers ignore).
    const value = extra === undefined || extra === true ? "unknown" : render(extra, inner);
    if (value !== "unknown" && Object.keys(schema.properties ?? {}).length > 0) {
      throw new Error("named properties beside a typed additionalProperties are not supported");
    }
    members.push(`${inner}[key: string]: ${value};`);
  }
  if (members.length === 0) {
    return "Record<string, never>";
  }
  return `{\n${members.join("\n")}\n${indent}}`;
}

/** The file's text for a parsed schema. */
export function generate(schema) {
  const out = [
    "// Generated from schemas/snapshot.schema.json by scripts/generate-types.mjs (`npm run types`).",
    "// Do not edit: a test fails while this file differs from what the script writes.",
    "",
    `${comment(schema.description, "").trimEnd()}`,
    `export interface SnapshotDocument ${object(schema, "")}`,
    "",
  ];
  for (const [name, definition] of Object.entries(schema.$defs ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push(`${comment(definition.description, "")}export type ${typeName(name)} = ${render(definition, "")};`, "");
  }
  return out.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OUTPUT, generate(JSON.parse(readFileSync(SCHEMA, "utf-8"))));
  process.stdout.write(`wrote ${OUTPUT}\n`);
}
